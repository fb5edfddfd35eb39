"""The flows that compose the apps: the login page, the landing redirect, and your account page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.forms import NotificationsForm, PreferencesForm
from core import localisation, navigation
from core.audit import Origin
from core.view_helpers import apply_service_errors
from mfa import login_step
from mfa import selectors as mfa_selectors
from panel.forms import LoginForm
from passkeys import selectors as passkey_selectors
from tokens import selectors as token_selectors
from usersessions import selectors as session_selectors


class PanelLoginView(LoginView):
    template_name = "panel/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if login_step.needs_second_step(user):
            login_step.begin(self.request, user, redirect_to=self.get_success_url())
            return redirect("mfa:login_verify")
        return super().form_valid(form)


def home(request):
    """Send a user to the first module they may open, else to their own account."""
    modules = navigation.items_for(request.user)
    return redirect(modules[0].url if modules else "account")


def account(request):
    """Your details and your security settings, each with how much of it you have."""
    return _account_page(request)


def _account_page(request, *, preferences_form=None):
    user = request.user
    preferences_form = preferences_form or PreferencesForm(
        initial={"language": user.language, "time_zone": user.time_zone}
    )
    context = {
        "account": user,
        "two_factor": mfa_selectors.status(user),
        "passkey_count": passkey_selectors.passkeys_of(owner=user).count(),
        "session_count": session_selectors.active_sessions(owner=user).count(),
        "token_count": token_selectors.tokens_of(owner=user).count(),
        "notifications_form": NotificationsForm(initial={"notify_new_login": user.notify_new_login}),
        "new_login_emails_panel_wide": settings.PANEL_NOTIFY_NEW_LOGIN,
        "preferences_form": preferences_form,
    }
    return render(request, "panel/account.html", context, status=400 if preferences_form.errors else 200)


@require_POST
def account_preferences(request):
    """Save your own language and time zone; a refused value is shown on its field."""
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            account_services.user_set_preferences(
                origin=Origin.from_request(request), user=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            # In the language just chosen: the middleware activated the one saved before.
            with translation.override(localisation.language_of(request.user) or translation.get_language()):
                messages.success(request, _("Your language and time zone are saved."))
            response = redirect("account")
            if not request.user.language:  # the browser's: forget the switcher's (or a former saved) choice
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)
            return response
    return _account_page(request, preferences_form=form)


@require_POST
def account_notifications(request):
    """Turn your own new-login emails on or off."""
    form = NotificationsForm(request.POST)
    form.is_valid()  # a lone optional checkbox: always valid
    on = form.cleaned_data["notify_new_login"]
    account_services.user_set_notifications(origin=Origin.from_request(request), user=request.user, notify_new_login=on)
    messages.success(request, _("Emails about new logins are on.") if on else _("Emails about new logins are off."))
    return redirect("account")
