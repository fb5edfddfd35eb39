"""Password reset by email: Django's flow, with Panel's templates, throttling and audit.

The answer is the same whether or not the address belongs to anyone, and so
is its timing: the request only queues the address (core.mail); looking the
account up, making the link and sending it happen after the answer. Requests
are limited per address and per client IP; over the limit nothing is sent,
and the answer still does not change. The second factor is still asked at the
next login: a reset proves only the mailbox.
"""

from functools import partial

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import HttpResponseRedirect
from django.urls import reverse_lazy

from accounts import services
from core import mail
from core.audit import Origin, record
from core.client_ip import get_client_ip, throttle_key
from core.localisation import as_recipient
from core.throttle import FailureLimit

# Counted per email actually sent (a reset link is a side effect on someone's mailbox), in a fixed
# window: refused requests do not extend it, so nobody can keep another person's reset blocked.
RESETS_PER_ADDRESS = FailureLimit(name="reset-address", limit=5, window=3600)
RESETS_PER_IP = FailureLimit(name="reset-ip", limit=20, window=3600)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, writing each email in its recipient's language and time zone (not the requesting browser's)."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        with as_recipient(context["user"]):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "panel/password_reset.html"
    email_template_name = "panel/password_reset_email.txt"
    subject_template_name = "panel/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")
    extra_email_context = {"panel_name": settings.PANEL_NAME}

    def form_valid(self, form):
        address = form.cleaned_data["email"].strip().lower()
        ip = throttle_key(get_client_ip(self.request))
        throttled = RESETS_PER_ADDRESS.blocked(address) or RESETS_PER_IP.blocked(ip)
        record(
            origin=Origin.from_request(self.request),
            action="auth.password_reset_request",
            target_name=address[:128],
            details={"throttled": bool(throttled)},
        )
        if throttled:
            return HttpResponseRedirect(self.get_success_url())
        RESETS_PER_ADDRESS.fail(address)
        RESETS_PER_IP.fail(ip)
        mail.send(partial(form.save, **self._email_options()), about="a password reset link")
        return HttpResponseRedirect(self.get_success_url())

    def _email_options(self):
        """Django's options for ``form.save``, the site read now: the request is answered before they are used."""
        return {
            "domain_override": self.request.get_host(),
            "use_https": self.request.is_secure(),
            "token_generator": self.token_generator,
            "from_email": self.from_email,
            "email_template_name": self.email_template_name,
            "subject_template_name": self.subject_template_name,
            "html_email_template_name": self.html_email_template_name,
            "extra_email_context": self.extra_email_context,
        }


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "panel/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "panel/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        # The service, not form.save(): it checks Panel's rules, ends the user's sessions and audits.
        services.user_set_password(
            origin=Origin.from_request(self.request),
            user=form.user,
            password=form.cleaned_data["new_password1"],
            by_reset=True,
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "panel/password_reset_complete.html"
