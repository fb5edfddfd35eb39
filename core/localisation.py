"""Each request's language and time zone, and each email's (README's "Languages and time zones").

The language of a page: the logged-in user's own (their account page's choice), else the browser's
(the language switcher's cookie, else Accept-Language: Django's LocaleMiddleware), else PANEL_LANGUAGE.
An API request authenticated by an access token answers in its owner's language, else Accept-Language.
The time zone: the user's own, else PANEL_TIME_ZONE. An email is written in its recipient's language,
else PANEL_LANGUAGE (never the browser's of whoever acted), and shows times in the recipient's zone.

core imports no app: these read the ``language`` and ``time_zone`` of whatever user they are given
(accounts.models.User; blank means "not chosen").
"""

import zoneinfo
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone, translation

from core.env import available_time_zones


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def language_of(user) -> str:
    """``user``'s own language, or "" when they chose none (or there is no user)."""
    language = getattr(user, "language", "") or ""
    return language if language in language_codes() else ""


def time_zone_of(user) -> zoneinfo.ZoneInfo:
    """``user``'s own time zone, else the panel's (PANEL_TIME_ZONE)."""
    name = getattr(user, "time_zone", "") or ""
    if name in available_time_zones():
        return zoneinfo.ZoneInfo(name)
    return timezone.get_default_timezone()


def activate_for(request, user):
    """For the rest of this request: ``user``'s language if they chose one (else the browser's stays), their zone.

    Called by UserLocaleMiddleware for a session's user, and by tokens.authentication for a token's owner;
    the middleware puts back what was active before once the answer is made.
    """
    language = language_of(user)
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language
    timezone.activate(time_zone_of(user))


@contextmanager
def as_recipient(user):
    """Inside: ``user``'s language (else PANEL_LANGUAGE, not the acting browser's) and time zone."""
    with translation.override(language_of(user) or settings.LANGUAGE_CODE), timezone.override(time_zone_of(user)):
        yield


class UserLocaleMiddleware:
    """After authentication: the logged-in user's language and time zone for the request (activate_for).

    A user who chose a language also gets it in the language cookie, so that the login page after they
    log out (or their session ends) stays in their language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        user = user if user is not None and user.is_authenticated else None
        with ExitStack() as restore:
            restore.enter_context(translation.override(translation.get_language()))
            restore.enter_context(timezone.override(timezone.get_current_timezone()))
            activate_for(request, user)
            response = self.get_response(request)
            # LocaleMiddleware would name the browser's language, put back by then.
            response.headers.setdefault("Content-Language", translation.get_language())
        # The session's user now: whoever just logged in, or nobody after a logout (not a token's owner).
        user = getattr(request, "user", None)
        language = language_of(user) if _session_user(request, user) else ""
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            _set_language_cookie(response, language)
        return response


def _session_user(request, user):
    """Whether ``user`` is the one the request's session is logged in as."""
    session = getattr(request, "session", None)
    return user is not None and session is not None and session.get(SESSION_KEY) == str(user.pk)


def _set_language_cookie(response, language):
    """The cookie Django's set_language view sets, with the same settings."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@receiver(user_logged_in, dispatch_uid="core.localisation.logged_in")
def _switch_at_login(sender, request, user, **kwargs):
    """Logging in switches to the user's own language and zone at once: what the login request still says
    (a message, the next page's redirect) is theirs. Only in a request the middleware serves (LocaleMiddleware
    set its LANGUAGE_CODE), whose end puts back the previous language: not a test's force_login."""
    if hasattr(request, "LANGUAGE_CODE"):
        activate_for(request, user)
