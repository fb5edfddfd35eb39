"""Forms only collect input; accounts.services checks every rule and reports per field."""

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from accounts.models import User
from accounts.validators import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    REQUIRED_MESSAGES,
    validate_language,
    validate_time_zone,
)
from core.env import available_time_zones
from core.forms import moment_field, untouched_moment
from organisation import scope


def _password_help():
    return _("%(min)d to %(max)d characters, with at least two of: letters, digits, special characters.") % {
        "min": PASSWORD_MIN_LENGTH,
        "max": PASSWORD_MAX_LENGTH,
    }


PASSWORD_HELP = lazy(_password_help, str)()
NO_COMPANY = gettext_lazy("— No company: panel staff, who see every user —")


def _required(field):
    return {"required": REQUIRED_MESSAGES[field]}


def _password_field(label, help_text=""):
    return forms.CharField(
        label=label,
        strip=False,
        error_messages=_required("password"),
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def _expiry_field():
    return moment_field(
        gettext_lazy("Account expires at"),
        help_text=gettext_lazy(
            "After this moment the user can no longer log in, and their tokens stop working. Empty: never."
        ),
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        error_messages=_required("username"),
        help_text=gettext_lazy("Letters, digits, underscores (_) and hyphens (-)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = _password_field(gettext_lazy("Password"), PASSWORD_HELP)
    email = forms.CharField(
        label=pgettext_lazy("user field", "Email"),
        error_messages=_required("email"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    company = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=gettext_lazy("Related company"),
        help_text=gettext_lazy("The user manages and sees this company and its subsidiaries. Choose carefully."),
    )
    parent = forms.ModelChoiceField(queryset=User.objects.none(), required=False, widget=forms.HiddenInput)
    expires_at = _expiry_field()

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = scope.visible_companies(actor)
        self.fields["parent"].queryset = scope.visible_users(actor)
        if scope.is_unrestricted(actor):
            self.fields["company"].empty_label = NO_COMPANY
        else:
            self.fields["company"].required = True
            self.fields["company"].empty_label = None


class ExpiryForm(forms.Form):
    expires_at = _expiry_field()
    whole_company = forms.BooleanField(required=False)

    def __init__(self, *args, user, company_size=0, **kwargs):
        super().__init__(*args, **kwargs)
        if user.company_id is None:
            del self.fields["whole_company"]
        else:
            self.fields["whole_company"].label = ngettext(
                "Apply to all %(count)d account of %(company)s",
                "Apply to all %(count)d accounts of %(company)s",
                company_size,
            ) % {"count": company_size, "company": user.company.name}
            self.fields["whole_company"].help_text = _(
                "Not to its subsidiaries. You confirm the number on the next step."
            )

    def clean_expires_at(self):
        return untouched_moment(self.cleaned_data["expires_at"], self.initial.get("expires_at"))


class UserFieldForm(forms.Form):
    """One inline-edited value: a username or an email."""

    value = forms.CharField(required=False, strip=False)


class SetPasswordForm(forms.Form):
    password = _password_field(gettext_lazy("New password"), PASSWORD_HELP)


class ChangeOwnPasswordForm(forms.Form):
    current_password = forms.CharField(
        label=gettext_lazy("Current password"),
        strip=False,
        error_messages=_required("current_password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    password = _password_field(gettext_lazy("New password"), PASSWORD_HELP)


class MoveForm(forms.Form):
    company = forms.ModelChoiceField(queryset=None, required=False, label=gettext_lazy("Related company"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = scope.visible_companies(actor)
        if scope.is_unrestricted(actor):
            self.fields["company"].empty_label = NO_COMPANY
        else:
            self.fields["company"].required = True
            self.fields["company"].empty_label = None


class NotificationsForm(forms.Form):
    """The account page's switch for the emails about logins from new browsers (an unticked box is off)."""

    notify_new_login = forms.BooleanField(
        label=gettext_lazy("Email me when my account is logged in to from a new browser"),
        required=False,
        help_text=gettext_lazy(
            "Emails about changes to your password, email, second factors, passkeys and tokens are always sent."
        ),
    )


class PreferencesForm(forms.Form):
    """The account page's language and time zone; the validators the service runs check them here too."""

    language = forms.CharField(
        label=gettext_lazy("Language"), required=False, widget=forms.Select, validators=[validate_language]
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        required=False,
        widget=forms.Select,
        validators=[validate_time_zone],
        help_text=gettext_lazy("Every date and time is shown in it, and the times you type are read in it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language named in its own language (settings.LANGUAGES), so that anyone finds theirs.
        self.fields["language"].widget.choices = [("", _("Browser's language")), *settings.LANGUAGES]
        # Translators: the empty choice of the time zone list; %(zone)s is an IANA name such as UTC.
        default = _("Panel default (%(zone)s)") % {"zone": settings.TIME_ZONE}
        zones = sorted(available_time_zones())
        self.fields["time_zone"].widget.choices = [("", default), *((zone, zone) for zone in zones)]


class EnabledForm(forms.Form):
    """The user list's Enabled switch; anything but "true" or "false" is refused, not read as "off"."""

    enabled = forms.TypedChoiceField(
        choices=[("true", pgettext_lazy("switch", "On")), ("false", pgettext_lazy("switch", "Off"))],
        coerce=lambda value: value == "true",
    )
