"""One validator per rule (seed 001), shared by forms, services and operator commands.

Password validators follow Django's AUTH_PASSWORD_VALIDATORS protocol so that
``django.contrib.auth.password_validation.validate_password`` runs them together
with Django's common-password and similarity checks.
"""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.env import available_time_zones
from core.localisation import language_codes
from core.templatetags.moments import format_moment
from core.validators import add_years, clean_moment

USERNAME_MAX_LENGTH = 32
# The characters a username may hold, as a regular-expression class body: the validator below and
# the API schema's pattern are built from it.
USERNAME_CHARACTERS = "A-Za-z0-9_-"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 20
LANGUAGE_MAX_LENGTH = 16
TIME_ZONE_MAX_LENGTH = 64  # the longest IANA name is 32 characters

validate_username_characters = RegexValidator(
    regex=rf"\A[{USERNAME_CHARACTERS}]+\Z",
    message=gettext_lazy("Username may only contain letters (A-Z, a-z), digits, underscores (_) and hyphens (-)."),
    code="username_characters",
)


def validate_username_available(username, *, exclude_pk=None):
    """Usernames are unique ignoring case: ``Admin`` and ``admin`` cannot both exist."""
    from accounts.models import User

    taken = User.objects.filter(username__iexact=username)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(_("This username is already taken."), code="username_taken")


class PasswordLengthValidator:
    """8 to 20 characters, counted as characters, not bytes."""

    def validate(self, password, user=None):
        if len(password) < PASSWORD_MIN_LENGTH:
            raise ValidationError(
                _("Password must be at least %(min)d characters long.") % {"min": PASSWORD_MIN_LENGTH},
                code="password_too_short",
            )
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValidationError(
                _("Password must be at most %(max)d characters long.") % {"max": PASSWORD_MAX_LENGTH},
                code="password_too_long",
            )

    def get_help_text(self):
        return _("%(min)d to %(max)d characters.") % {"min": PASSWORD_MIN_LENGTH, "max": PASSWORD_MAX_LENGTH}


def password_character_kinds(password):
    """Which of the three kinds (letters, digits, special characters) ``password`` uses."""
    kinds = set()
    for char in password:
        if char.isdecimal():
            kinds.add("digits")
        elif char.isalpha():
            kinds.add("letters")
        else:
            kinds.add("special characters")
    return kinds


class PasswordCharacterKindsValidator:
    """At least two of: letters, digits, special characters."""

    def validate(self, password, user=None):
        if len(password_character_kinds(password)) < 2:
            raise ValidationError(
                _("Password must contain at least two of: letters, digits and special characters."),
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("At least two of: letters, digits and special characters.")


# What a blank required field is told, by the forms, the services and the API alike.
REQUIRED_MESSAGES = {
    "username": gettext_lazy("Username is required."),
    "email": gettext_lazy("Email is required."),
    "password": gettext_lazy("Password is required."),
    "current_password": gettext_lazy("Your current password is required."),
}


ACCOUNT_EXPIRY_MAX_YEARS = 100


def validate_account_expiry(expires_at, *, now=None):
    """An account's expiry is empty (never) or a moment in the future, at most 100 years away, with its time zone."""
    if expires_at is None:
        return
    if timezone.is_naive(expires_at):
        raise ValidationError(_("The expiry must include a time zone."), code="naive")
    expires_at, now = clean_moment(expires_at), now or timezone.now()
    if expires_at <= now:
        raise ValidationError(_("Choose a moment in the future, or leave it empty for never."), code="past")
    if expires_at > add_years(now, ACCOUNT_EXPIRY_MAX_YEARS):
        raise ValidationError(
            _("Choose a moment at most %(years)d years away, or leave it empty for never.")
            % {"years": ACCOUNT_EXPIRY_MAX_YEARS},
            code="too_far",
        )


def validate_sub_user_expiry(expires_at, *, parent):
    """A sub-user expires no later than its parent user (never, if the parent never does)."""
    if parent.expires_at is None or (expires_at is not None and expires_at <= parent.expires_at):
        return
    raise ValidationError(
        _("A sub-user cannot expire later than its parent %(name)s (%(when)s).")
        % {"name": parent.username, "when": format_moment(parent.expires_at)},
        code="after_parent",
    )


def validate_language(language):
    """A user's language: one of the panel's (settings.LANGUAGES), or blank to follow the browser."""
    if language != "" and language not in language_codes():
        raise ValidationError(_("Choose one of the panel's languages."), code="language")


def validate_time_zone(time_zone):
    """A user's time zone: an IANA name this system knows, spelled exactly, or blank for the panel's."""
    if time_zone != "" and time_zone not in available_time_zones():
        raise ValidationError(_("Choose a time zone by its IANA name, such as Asia/Taipei."), code="time_zone")
