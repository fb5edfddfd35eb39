"""With PANEL_REQUIRE_TWO_FACTOR on, a user without a second factor must set one up before anything else."""

from django.conf import settings
from django.contrib import messages
from django.utils.translation import gettext as _

from core.errors import error_response
from core.view_helpers import page_redirect
from mfa import selectors as mfa_selectors
from passkeys import selectors as passkey_selectors

# What such a user may still open: the enrolment pages, and the way out.
_ENROLMENT_VIEWS = {
    "mfa:two_factor",
    "mfa:totp_enable",
    "mfa:totp_confirm",
    "mfa:email_enable",
    "mfa:email_confirm",
    "logout",
}


class RequireTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.PANEL_REQUIRE_TWO_FACTOR or not request.user.is_authenticated:
            return None
        # Token requests never get here as a logged-in user: they authenticate inside the API view.
        match = request.resolver_match
        own_enrolment = view_kwargs.get("user_id") in (None, request.user.pk)
        if match is None or (match.view_name in _ENROLMENT_VIEWS and own_enrolment):
            return None
        if mfa_selectors.has_second_factor(request.user):
            return None
        # A passkey login was two factors in one, as long as the user still has a passkey.
        if passkey_selectors.logged_in_by_passkey(request):
            return None
        message = _("This panel requires two-factor authentication: set it up to continue.")
        if match.namespace == "api":
            return error_response(403, message)
        messages.info(request, message)
        return page_redirect(request, "mfa:two_factor", user_id=request.user.pk)
