"""Two-factor pages: the login's verification step, and turning factors on and off.

Everyone manages their own; another user's need ``mfa.reset_two_factor``
(turning it off for someone who lost their device, or enrolling them).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import device_cookies, throttle
from core.audit import Origin
from core.reauth import sudo_required
from core.view_helpers import apply_service_errors, is_htmx, keep_for_next_page, posted, take_kept
from mfa import login_step, selectors, services
from mfa.forms import ConfirmCodeForm, DisableForm, VerifyForm
from mfa.otpauth import base32_key, otpauth_url


def _render(request, template, context, *, status=200, secret=False):
    """A fragment for htmx (into the dialog), else the page around it."""
    context = {**context, "fragment": template}
    response = render(request, template if is_htmx(request) else "mfa/page.html", context, status=status)
    if secret:
        add_never_cache_headers(response)
    return response


# The login's second step


@login_not_required
@require_http_methods(["GET", "POST"])
def login_verify(request):
    user = login_step.pending_user(request)
    if user is None:
        messages.info(request, _("Your login timed out. Enter your password again."))
        return redirect("login")
    if request.method == "POST" and request.POST.get("action") == "send":
        return _send_login_code(request, user)
    methods = selectors.login_methods(user)
    form = VerifyForm(posted(request), methods=methods, chosen=login_step.chosen_method(request))
    unavailable = False
    if request.method == "POST" and form.is_valid():
        try:
            _verify(request, user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
            unavailable = isinstance(error, services.FactorUnavailable)
        else:
            return redirect(login_step.complete(request, user))
    context = {"form": form, "pending": user, "offers_email": "email" in methods}
    if unavailable:
        return _unavailable(render(request, "mfa/login_verify.html", context, status=503))
    return render(request, "mfa/login_verify.html", context, status=400 if form.errors else 200)


def _unavailable(response):
    """The server cannot check this factor now (its key is unreadable): try again later, or another factor."""
    response["Retry-After"] = "300"
    return response


def _send_login_code(request, user):
    login_step.choose_method(request, "email")  # the code asked for is the one to type next (or the one sent)
    try:
        services.email_code_send(origin=Origin.from_request(request), user=user)
    except services.CodeSendRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("A code was sent to your email address. It is valid for 5 minutes."))
    return redirect("mfa:login_verify")


def _verify(request, user, *, method, code):
    """Check the second factor under the login guard; raises ValidationError (Throttled too) if it fails."""
    origin = Origin.from_request(request)
    details = {"method": method}
    with throttle.guarded_attempt(
        origin=origin,
        action="mfa.verify",
        username=user.get_username(),
        target=user,
        details=details,
        device=device_cookies.device_for(request, user.get_username()),  # the owner's browser survives a lockout
        spared=(services.FactorUnavailable,),  # the server's fault, not a guess: no lockout
    ):
        services.verify_login_code(origin=origin, user=user, method=method, code=code)
    if method == "recovery":
        _tell_recovery_codes_left(request, user)


# Few enough that the user should make a new set before they run out.
_RECOVERY_CODES_LOW = 2


def _tell_recovery_codes_left(request, user):
    left = selectors.recovery_codes_left(user)
    if left > _RECOVERY_CODES_LOW:
        told = ngettext(
            "Recovery code accepted. %(count)d recovery code left.",
            "Recovery code accepted. %(count)d recovery codes left.",
            left,
        )
        messages.info(request, told % {"count": left})
        return
    if left:
        warning = ngettext(
            "Recovery code accepted. Only %(count)d recovery code left: "
            '<a href="%(url)s">make new recovery codes</a> before they run out.',
            "Recovery code accepted. Only %(count)d recovery codes left: "
            '<a href="%(url)s">make new recovery codes</a> before they run out.',
            left,
        )
    else:
        warning = _(
            'Recovery code accepted. No recovery codes left: <a href="%(url)s">make new recovery codes</a> '
            "before they run out."
        )
    # The message (from the catalogs) is trusted markup; what goes into it is escaped.
    url = escape(reverse("mfa:two_factor", args=[user.pk]))
    messages.warning(request, mark_safe(warning % {"count": left, "url": url}))  # noqa: S308


@login_not_required
@require_POST
def login_cancel(request):
    login_step.abandon(request)
    return redirect("login")


# Managing a user's second factors


def two_factor(request, user_id):
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    context = {"subject": subject, "state": selectors.status(subject), "own": subject.pk == request.user.pk}
    return render(request, "mfa/two_factor.html", context)


def _qr_svg(text):
    # Imported here, for the one page that shows a QR code, not in every worker (bench/worker_memory.py).
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _enrol_context(subject, device, form):
    url, key = otpauth_url(subject, device), base32_key(device)
    return {
        "subject": subject,
        "device": device,
        "otpauth_url": url,
        "qr_svg": _qr_svg(url),
        "key": key,
        "key_grouped": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),  # easier to read and type
        "form": form,
    }


@require_POST
@sudo_required
def totp_enable(request, user_id):
    """Start enrolling an authenticator app: the QR code, its URL, and the field for the first code."""
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    device = services.totp_begin(origin=Origin.from_request(request), user=subject)
    form = ConfirmCodeForm(initial={"device": device.pk})
    return _render(request, "mfa/_totp_enrol.html", _enrol_context(subject, device, form), secret=True)


def _confirmation(request, subject, find_pending):
    """The posted confirmation form and the pending device it names (None when that enrolment is gone)."""
    form = ConfirmCodeForm(request.POST)
    form.is_valid()
    device = find_pending(subject, form.cleaned_data.get("device"))
    if device is None:
        form.add_error(None, _("This enrolment is no longer open. Start again."))
    return form, device


def _refused_status(request):
    # htmx swaps 200 responses only: a refused code comes back as 200 with its message.
    return 200 if is_htmx(request) else 400


@require_POST
def totp_confirm(request, user_id):
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    form, device = _confirmation(request, subject, selectors.pending_authenticator)
    if device is None:
        return _render(
            request, "mfa/_enrol_closed.html", {"subject": subject, "form": form}, status=_refused_status(request)
        )
    if form.is_valid():
        try:
            codes = services.totp_confirm(
                origin=Origin.from_request(request), user=subject, device=device, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return _show_recovery_codes_once(request, subject, codes, just_enabled=True)
    context = _enrol_context(subject, device, form)
    return _render(request, "mfa/_totp_enrol.html", context, status=_refused_status(request), secret=True)


@require_POST
@sudo_required
def recovery_regenerate(request, user_id):
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    try:
        codes = services.recovery_codes_regenerate(origin=Origin.from_request(request), user=subject)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("mfa:two_factor", user_id=subject.pk)
    return _show_recovery_codes_once(request, subject, codes, just_enabled=False)


def _recovery_codes_kept_for(subject):
    return f"recovery_codes:{subject.pk}"


def _show_recovery_codes_once(request, subject, codes, *, just_enabled):
    """Post/redirect/get: the new codes are kept for the one page after the redirect (reloading makes none)."""
    keep_for_next_page(request, _recovery_codes_kept_for(subject), {"codes": codes, "just_enabled": just_enabled})
    # htmx follows the redirect itself (headers included) and swaps the codes into the dialog.
    return redirect("mfa:recovery_codes_new", user_id=subject.pk)


@require_GET
def recovery_codes_new(request, user_id):
    """The recovery codes just made, this once; afterwards (a reload, Back) the two-factor page."""
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    kept = take_kept(request, _recovery_codes_kept_for(subject))
    if kept is None:
        messages.info(request, _("Recovery codes are shown only once. If you did not save them, make new ones."))
        return redirect("mfa:two_factor", user_id=subject.pk)
    return _render(request, "mfa/_recovery_codes.html", {"subject": subject, **kept}, secret=True)


@require_http_methods(["GET", "POST"])
@sudo_required
def disable(request, user_id):
    """Turn two-factor off: your own with a current code or your password; another's with the permission."""
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    own = subject.pk == request.user.pk
    form = DisableForm(posted(request)) if own else None
    origin = Origin.from_request(request)
    if request.method == "POST" and (not own or form.is_valid()):
        try:
            services.two_factor_turn_off(origin=origin, user=subject, **(form.cleaned_data if own else {}))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Two-factor authentication is off for %(username)s.") % {"username": subject.get_username()}
            )
            return redirect("mfa:two_factor", user_id=subject.pk)
    context = {"subject": subject, "own": own, "form": form}
    return render(request, "mfa/disable.html", context, status=400 if form is not None and form.errors else 200)


@require_POST
@sudo_required
def email_enable(request, user_id):
    """Start email codes for your own login: a code goes to your address, and entering it turns them on."""
    subject = selectors.email_enrolment_subject(actor=request.user, user_id=user_id)
    try:
        device = services.email_begin(origin=Origin.from_request(request), user=subject)
    except services.CodeSendRefused as refused:
        messages.error(request, str(refused))
        return redirect("mfa:two_factor", user_id=subject.pk)
    form = ConfirmCodeForm(initial={"device": device.pk})
    return _render(request, "mfa/_email_enrol.html", {"subject": subject, "form": form})


@require_POST
def email_confirm(request, user_id):
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    form, device = _confirmation(request, subject, selectors.pending_email_device)
    if device is None:
        return _render(
            request, "mfa/_enrol_closed.html", {"subject": subject, "form": form}, status=_refused_status(request)
        )
    if form.is_valid():
        try:
            services.email_confirm(
                origin=Origin.from_request(request), user=subject, device=device, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Logins now need a code sent to your email address."))
            return redirect("mfa:two_factor", user_id=subject.pk)
    return _render(
        request, "mfa/_email_enrol.html", {"subject": subject, "form": form}, status=_refused_status(request)
    )


@require_POST
@sudo_required
def email_disable(request, user_id):
    """Turn email codes off and keep the app; when they are the last factor, turning two-factor off is the way."""
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    try:
        services.email_codes_turn_off(origin=Origin.from_request(request), user=subject)
    except services.LastFactor as refused:
        messages.info(request, " ".join(refused.messages))
        return redirect("mfa:disable", user_id=subject.pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Email codes are off. Logins need a code from your authenticator app."))
    return redirect("mfa:two_factor", user_id=subject.pk)
