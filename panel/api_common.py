"""What every API router shares: the error schema, the acting origin, the permission check."""

from django.core.exceptions import PermissionDenied
from ninja import Schema

from panel.audit import Origin


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


def errors(*statuses):
    """The error responses an operation documents (every operation can answer 401 and 429)."""
    return {status: ErrorOut for status in sorted({401, 429, *statuses})}


def api_origin(request):
    """Who is acting through the API, and with which token."""
    token = getattr(request, "access_token", None)
    return Origin.from_request(request, via="api", credential=token.pk if token is not None else None)


def require_permission(request, permission):
    if not request.user.has_perm(permission):
        raise PermissionDenied
