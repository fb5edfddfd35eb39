"""Each request of a logged-in session: the account must still be allowed to log in."""

from django.contrib import messages
from django.contrib.auth import logout

from accounts.selectors import login_refusal


class AccountValidityMiddleware:
    """Logs a session out once its account is disabled or has expired, and says why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            refusal = login_refusal(request.user)
            if refusal:
                logout(request)
                messages.info(request, refusal)
        return self.get_response(request)
