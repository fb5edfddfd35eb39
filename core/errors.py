"""The API's one error shape.

Every error under /api/ answers ``{"detail": "<sentence>", "errors": {"<field>": ["<message>"]} | null}``
as JSON. ``error_response`` is the one place that builds it: the API's exception handlers
(panel.api), the two-factor middleware and the passkey endpoints all call it.
"""

from django.http import JsonResponse

CSRF_DETAIL = "CSRF check failed: send the X-CSRFToken header."

# What a status means when nothing more precise was said.
DETAILS = {
    401: "Authentication required: send an access token.",
    403: "You do not have permission to do this.",
    404: "Not found.",
    413: "The request body is too large.",
}


def error_response(status, detail, errors=None, headers=None):
    """The one error answer: ``{"detail": detail, "errors": errors}`` with ``status`` and ``headers``."""
    return JsonResponse({"detail": detail, "errors": errors}, status=status, headers=headers)
