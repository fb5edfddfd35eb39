"""Every message a person reads passes through gettext: pages, dialogs, form errors, flash messages, emails,
API error details and the JavaScript catalog, rendered in a pseudo-locale (tests/pseudo_locale.py) in which
every message of the catalogs reads ``⟪message⟫``. Text shown outside the markers either was never marked for
translation, or was marked after the catalogs were last made (``makemessages`` was not re-run): both fail here,
listed page by page. Data (the fixtures' names and addresses, numbers, dates, IP addresses) is told apart by
``DataShown``; the few words allowed as they are, and why, are in ``ALLOWED_AS_THEY_ARE``.

Every named URL pattern is either visited by ``visits()`` or listed in ``NOT_PAGES`` with the reason: a new
URL without a case fails ``test_every_url_pattern_is_visited_or_said_not_to_be_a_page``.
"""

import datetime
import json
import os
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import time_machine
import ua_parser
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.i18n import JavaScriptCatalog

from accounts import services as account_services
from accounts.models import User
from core import errors
from core.audit import EVENTS, Origin
from core.models import AuditEvent
from mfa import services as mfa_services
from mfa.models import AuthenticatorDevice, EmailCodeDevice
from organisation.models import Company
from passkeys.models import Passkey
from tests import pseudo_locale
from tests.e2e.organisation import build_organisation
from tests.factories import (
    DEFAULT_PASSWORD,
    AccessTokenFactory,
    EmailCodeDeviceFactory,
    RecoveryCodeDeviceFactory,
    UserFactory,
    UserSessionFactory,
)
from tests.helpers import SETUP, turn_on_app
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import NEW_PASSWORD, register_passkey, turn_on_email
from tokens import services as token_services
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

PSEUDO = pseudo_locale.PSEUDO
HOST = "localhost"  # a secure context: the passkey pages offer their ceremonies
CHROME_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
# Set when a run should also write its findings as JSON (for a report): PANEL_I18N_FINDINGS=/tmp/findings.json
FINDINGS_FILE = os.environ.get("PANEL_I18N_FINDINGS")

# Shown untranslated on purpose. Each is a name, not a sentence: translating it would be wrong.
ALLOWED_AS_THEY_ARE = {
    "UTC": "the zone's standard abbreviation after a time (format_moment), the same in every language",
    "YYYY": "the date-time inputs' format hint (placeholder YYYY-MM-DD HH:MM): the format typed in every language",
    "MM": "same",
    "DD": "same",
    "HH": "same",
}


def _language_names():
    # Each language is named in its own language in the switcher and the preferences, on purpose.
    return [str(name) for _code, name in settings.LANGUAGES]


# The URL patterns that are not pages a person reads, and why. Names under a namespace listed as "api:" cover it.
NOT_PAGES = {
    "api:": "the JSON API: field names and codes are protocol; its error details are checked by test_api_errors_*",
    "audit_export_csv": "a download of stored audit events (actions, details are data), not a page",
    "audit_export_jsonl": "a download of stored audit events (actions, details are data), not a page",
    "healthz": "a probe for load balancers, answering a status word",
    "set_language": "POST only (Django's set_language): it redirects back to the page it came from",
}


# The pseudo-locale


@pytest.fixture(scope="module")
def pseudo_catalog(tmp_path_factory):
    """The pseudo-locale's catalogs, written once for the module, and Django set to use it by default.

    LANGUAGE_CODE is the pseudo-locale (what a request without a preference, a service outside a request and
    a recipient without a language get), it is one of LANGUAGES (so Accept-Language and a user's saved language
    may pick it) and its directory is first in LOCALE_PATHS. Changing these settings clears the translation
    caches (django.test.signals.language_changed, trans_real's own receiver), on the way in and out.
    """
    directory = tmp_path_factory.mktemp("pseudo-locale")
    built = pseudo_locale.build(directory)
    languages = [*settings.LANGUAGES, (PSEUDO, "⟪Pseudo⟫")]
    with override_settings(LANGUAGE_CODE=PSEUDO, LANGUAGES=languages, LOCALE_PATHS=[directory, *settings.LOCALE_PATHS]):
        translation.activate(PSEUDO)
        yield built
        translation.deactivate()


@pytest.fixture
def pseudo(pseudo_catalog):
    with translation.override(PSEUDO):
        yield pseudo_catalog


def test_the_pseudo_locale_translates_gettext_lazy_and_plurals(pseudo):
    from django.utils.translation import gettext, gettext_lazy, ngettext

    assert gettext("This field is required.") == "⟪This field is required.⟫"  # Django's own, from its catalog
    assert str(gettext_lazy("This field is required.")) == "⟪This field is required.⟫"
    singular = "Ensure this value has at most %(limit_value)d character (it has %(show_value)d)."
    plural = "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d)."
    assert ngettext(singular, plural, 2) % {"limit_value": 2, "show_value": 3} == (
        "⟪Ensure this value has at most 2 characters (it has 3).⟫"
    )
    assert gettext("A sentence nobody marked.") == "A sentence nobody marked."


def test_the_marker_check_tells_marked_text_from_the_rest():
    data = pseudo_locale.Data(values=["alice"], words={"UTC"})
    html = (
        "<title>⟪Users⟫</title><p>⟪Read the <a href='/x' title='Guide'>guide</a>⟫, alice.</p>"
        "<p>2031-05-06 07:08 UTC (192.0.2.1)</p><p>⟪From⟫ 2001:db8::1</p>"
        "<script>var s = 'Not shown';</script><button>Go</button>"
    )

    assert pseudo_locale.unmarked(html, data) == [("text", "Go"), ("<a title>", "Guide")]


# What a page may show as it is


class DataShown(pseudo_locale.Data):
    """The fixtures' own values, read back from the database after the visits (so whatever they made counts)."""

    @classmethod
    def now(cls, *, gone=()):
        """``gone``: names of what the test made and deleted again, which its emails still name."""
        values = [*gone, settings.PANEL_NAME, *_language_names(), *zoneinfo.available_timezones(), *EVENTS]
        values += [value for user in User.objects.all() for value in (user.username, user.email)]
        values += list(Company.objects.values_list("name", flat=True))
        values += list(Group.objects.values_list("name", flat=True))
        values += [name for name in AccessToken.objects.values_list("name", flat=True)]
        values += list(Passkey.objects.values_list("name", flat=True))
        for event in AuditEvent.objects.all():  # the audit log shows each event's details as stored
            values += [event.actor_name or "", event.target_name or ""]
            for key, value in (event.details or {}).items():
                values += [str(key), str(value)]
        parsed = ua_parser.parse(CHROME_ON_LINUX).with_defaults()  # a device is named by its browser and system
        words = {parsed.user_agent.family, parsed.os.family, *ALLOWED_AS_THEY_ARE}
        return cls(values=values, words=words)


# The walk


@dataclass
class Visit:
    """One request as a person's browser makes it, and what it is for the report."""

    what: str
    path: str
    method: str = "get"
    data: dict | Callable = field(default_factory=dict)  # a callable: called when sent (for ids made on the way)
    htmx: bool = False
    who: str = "admin"  # a key of the clients: admin, anonymous, pending (between password and code), plain
    follow: bool = False
    host: str = HOST

    @property
    def label(self):
        return f"{self.method.upper()} {self.path}{' (htmx)' if self.htmx else ''} [{self.what}, as {self.who}]"


def _page_and_fragment(what, path, **kwargs):
    return [Visit(what, path, **kwargs), Visit(f"{what} (dialog)", path, htmx=True, **kwargs)]


def visits(w):
    """Every page and dialog, as ``w`` (the ids of ``world``) makes them reachable; forms re-shown with errors."""
    bad_moment = {"expires_at": "not a moment"}
    return [
        # Before logging in
        Visit("login", "/login/", who="anonymous"),
        Visit(
            "login refused", "/login/", "post", {"username": "nobody", "password": "wrong-password"}, who="anonymous"
        ),
        Visit("passkey login options", "/login/passkey/options/", "post", who="anonymous"),
        Visit("passkey login refused", "/login/passkey/", "post", {"credential": "no"}, who="anonymous"),
        Visit("second factor", "/login/verify/", who="pending"),
        Visit("second factor refused", "/login/verify/", "post", {"method": "totp", "code": "000000"}, who="pending"),
        Visit("second factor by email", "/login/verify/", "post", {"action": "send"}, who="pending"),
        Visit("password reset", "/password-reset/", who="anonymous"),
        Visit("password reset refused", "/password-reset/", "post", {"email": "not an address"}, who="anonymous"),
        Visit("password reset sent", "/password-reset/sent/", who="anonymous"),
        Visit("password reset, a bad link", "/password-reset/MQ/bad-token/", who="anonymous"),
        Visit("password reset, new password", w.reset_path, who="anonymous", follow=True),
        Visit("password reset done", "/password-reset/done/", who="anonymous"),
        Visit("a page that is not there", "/no-such-page/", who="anonymous"),
        # The panel
        Visit("home", "/", follow=True),
        Visit("no permission", "/audit/", who="plain"),
        *_page_and_fragment("users", "/users/"),
        Visit("users of a company", f"/users/?company={w.company}"),
        Visit("users searched", "/users/?q=zzz-nobody"),
        *_page_and_fragment("create user", "/users/new/"),
        Visit("create user refused", "/users/new/", "post", {"username": "no spaces", "email": "x", "password": "a"}),
        *_page_and_fragment("change password", f"/users/{w.alice}/password/"),
        Visit("change password refused", f"/users/{w.alice}/password/", "post", {"password1": "a", "password2": "b"}),
        Visit("own password refused", f"/users/{w.admin}/password/", "post", {"current_password": "wrong"}),
        *_page_and_fragment("delete user", f"/users/{w.alice}/delete/"),
        *_page_and_fragment("account expiry", f"/users/{w.alice}/expiry/"),
        Visit("account expiry refused", f"/users/{w.alice}/expiry/", "post", bad_moment),
        *_page_and_fragment("move user", f"/users/{w.alice}/company/"),
        Visit("enabled switch", f"/users/{w.carol}/enabled/", "post", {"enabled": "false"}, htmx=True),
        Visit("enabled switch refused", f"/users/{w.admin}/enabled/", "post", {"enabled": "false"}, htmx=True),
        Visit("enabled, no JavaScript", f"/users/{w.carol}/enabled/", "post", {"enabled": "true"}, follow=True),
        Visit("user cell", f"/users/{w.alice}/username/", htmx=True),
        *_page_and_fragment("inline edit", f"/users/{w.alice}/email/edit/"),
        Visit("inline edit refused", f"/users/{w.alice}/username/edit/", "post", {"value": "no spaces!"}, htmx=True),
        Visit("inline edit page refused", f"/users/{w.alice}/email/edit/", "post", {"value": "not an address"}),
        *_page_and_fragment("access", f"/users/{w.alice}/access/"),
        *_page_and_fragment("tokens", f"/users/{w.admin}/tokens/"),
        *_page_and_fragment("create token", f"/users/{w.admin}/tokens/new/"),
        Visit(
            "create token refused",
            f"/users/{w.admin}/tokens/new/",
            "post",
            {**bad_moment, "ip_allowlist": "not an address"},
        ),
        Visit("token created", f"/users/{w.admin}/tokens/new/", "post", {"name": "release"}, follow=True),
        *_page_and_fragment("modify token", f"/users/{w.admin}/tokens/{w.token}/edit/"),
        Visit("modify token refused", f"/users/{w.admin}/tokens/{w.token}/edit/", "post", bad_moment),
        *_page_and_fragment("delete token", f"/users/{w.admin}/tokens/{w.token}/delete/"),
        Visit("tokens of someone else", f"/users/{w.alice}/tokens/"),
        *_page_and_fragment("sessions", f"/users/{w.admin}/sessions/"),
        Visit("end a session", f"/users/{w.admin}/sessions/{w.session}/end/", "post", follow=True),
        Visit("end all sessions", f"/users/{w.alice}/sessions/end-all/", "post", follow=True),
        *_page_and_fragment("session policy", f"/users/{w.alice}/session-policy/"),
        Visit("session policy refused", f"/users/{w.alice}/session-policy/", "post", {"expires_at": "never ever"}),
        Visit("two-factor, off", f"/users/{w.admin}/two-factor/"),
        Visit("two-factor, on", f"/users/{w.alice}/two-factor/"),
        Visit("authenticator enrolment", f"/users/{w.admin}/two-factor/app/enable/", "post", htmx=True),
        Visit("authenticator enrolment page", f"/users/{w.admin}/two-factor/app/enable/", "post"),
        Visit(
            "authenticator refused", f"/users/{w.admin}/two-factor/app/confirm/", "post", w.wrong_app_code, htmx=True
        ),
        Visit("authenticator closed", f"/users/{w.alice}/two-factor/app/confirm/", "post", {"code": "1"}, htmx=True),
        Visit("email codes enrolment", f"/users/{w.admin}/two-factor/email/enable/", "post", htmx=True),
        Visit(
            "email codes refused", f"/users/{w.admin}/two-factor/email/confirm/", "post", w.wrong_email_code, htmx=True
        ),
        Visit("email codes off", f"/users/{w.dora}/two-factor/email/disable/", "post", follow=True),
        Visit("new recovery codes", f"/users/{w.alice}/two-factor/recovery-codes/", "post", htmx=True, follow=True),
        Visit("recovery codes shown", f"/users/{w.alice}/two-factor/recovery-codes/new/"),
        *_page_and_fragment("turn off two-factor", f"/users/{w.alice}/two-factor/disable/"),
        *_page_and_fragment("passkeys", f"/users/{w.admin}/passkeys/"),
        Visit("passkeys where they cannot work", f"/users/{w.admin}/passkeys/", host="testserver"),
        Visit("passkeys of someone else", f"/users/{w.alice}/passkeys/"),
        Visit("register passkey page", f"/users/{w.admin}/passkeys/new/"),
        Visit("register passkey refused", f"/users/{w.admin}/passkeys/new/", "post", {"name": ""}),
        Visit("passkey options refused", "/passkeys/register/options/", "post", {"name": ""}),
        Visit("passkey registration refused", "/passkeys/register/", "post", {"credential": "no"}),
        Visit("passkey reauth refused", "/passkeys/reauth/", "post", {"credential": "no"}),
        *_page_and_fragment("delete passkey", f"/users/{w.admin}/passkeys/{w.passkey}/delete/"),
        *_page_and_fragment("companies", "/companies/"),
        *_page_and_fragment("create company", "/companies/new/"),
        Visit("create company refused", "/companies/new/", "post", {"name": ""}),
        *_page_and_fragment("modify company", f"/companies/{w.company}/edit/"),
        *_page_and_fragment("delete company", f"/companies/{w.company}/delete/"),
        Visit("delete company refused", f"/companies/{w.company}/delete/", "post"),
        *_page_and_fragment("roles", "/roles/"),
        *_page_and_fragment("create role", "/roles/new/"),
        Visit("create role refused", "/roles/new/", "post", {"name": ""}),
        *_page_and_fragment("modify role", f"/roles/{w.role}/edit/"),
        *_page_and_fragment("delete role", f"/roles/{w.role}/delete/"),
        Visit("audit log", "/audit/"),
        Visit("audit log refused filter", "/audit/", data={"since": "not a date"}),
        Visit("locks", "/locks/"),
        Visit("account", "/account/"),
        Visit("new-login emails", "/account/notifications/", "post", {"notify_new_login": ""}, follow=True),
        Visit("preferences refused", "/account/preferences/", "post", {"language": "xx", "time_zone": "Mars/Olympus"}),
        Visit("preferences saved", "/account/preferences/", "post", {"language": "", "time_zone": ""}, follow=True),
        Visit("second factor cancelled", "/login/verify/cancel/", "post", who="pending", follow=True),
        Visit("logged out", "/logout/", "post", who="leaving", follow=True),
    ]


@pytest.fixture
def world(admin_user):
    """A panel with something on every page: build_organisation's companies, users, role, tokens, session,
    passkey, lock and two-factor user, plus a user with email codes; returns the ids the visits need."""
    organisation = build_organisation(admin_user)
    alice = organisation.alice
    carol = User.objects.get(username="carol.long-surname")
    dora = UserFactory(username="dora", email="dora@example.com")
    EmailCodeDeviceFactory(user=dora)
    RecoveryCodeDeviceFactory(user=alice)
    session = UserSessionFactory(user=admin_user, user_agent=CHROME_ON_LINUX)
    token = admin_user.access_tokens.order_by("pk").first()
    uid = urlsafe_base64_encode(force_bytes(carol.pk))
    return SimpleNamespace(
        admin=admin_user.pk,
        alice=alice.pk,
        carol=carol.pk,
        dora=dora.pk,
        company=organisation.company.pk,
        role=organisation.company.parent.roles.first().group.pk,
        token=token.pk,
        session=session.pk,
        passkey=admin_user.passkeys.first().pk,
        reset_path=f"/password-reset/{uid}/{default_token_generator.make_token(carol)}/",
        users={"alice": alice, "carol": carol, "dora": dora},
        wrong_app_code=lambda: {"device": _pending(AuthenticatorDevice, admin_user), "code": "000000"},
        wrong_email_code=lambda: {"device": _pending(EmailCodeDevice, admin_user), "code": "000000"},
    )


def _pending(model, user):
    """The id of ``user``'s enrolment of ``model`` (a device) that a visit started and did not confirm."""
    return model.objects.filter(user=user, confirmed=False).latest("pk").pk


def _prefer_the_pseudo_locale():
    """Users who chose a language (once the model has the field) get the pseudo-locale, like the others."""
    if any(f.name == "language" for f in User._meta.get_fields()):
        User.objects.update(language=PSEUDO)


def _clients(admin_user, alice):
    def browser(user=None):
        client = Client(headers={"accept-language": PSEUDO})
        if user is not None:
            client.force_login(user)
        return client

    pending = browser()
    pending.post("/login/", {"username": alice.username, "password": DEFAULT_PASSWORD}, HTTP_HOST=HOST)
    plain = UserFactory(username="plain", email="plain@example.com")
    return {
        "admin": browser(admin_user),
        "anonymous": browser(),
        "pending": pending,
        "plain": browser(plain),
        "leaving": browser(admin_user),
    }


def _check_response(response, data, *, fault=False):
    """What the response shows outside the markers: an HTML page's visible text, a JSON error's messages.

    An answer of 500 or more is a finding of its own, unless ``fault`` (the error pages' own test).
    """
    content_type = response.get("Content-Type", "")
    if response.status_code >= 500 and not fault:
        return [("status", f"answered {response.status_code}")]
    if content_type.startswith("application/json"):
        return [("detail", text) for text in _json_messages(response.json(), data)]
    if content_type.startswith("text/html"):
        return pseudo_locale.unmarked(response.content.decode(), data)
    return []


def _json_messages(body, data):
    """The untranslated messages of a JSON error: its ``detail`` and its fields' ``errors``."""
    if not isinstance(body, dict):
        return []
    texts = [body["detail"]] if isinstance(body.get("detail"), str) else []
    for messages in (body.get("errors") or {}).values() if isinstance(body.get("errors"), dict) else []:
        texts += [message for message in messages if isinstance(message, str)]
    return [text for text in texts if pseudo_locale.unmarked_plain(text, data)]


class Findings:
    """Untranslated text, by where it was shown; fails listing all of it at once."""

    def __init__(self):
        self.by_place = {}

    def add(self, place, found):
        for where, text in found:
            entries = self.by_place.setdefault(place, [])
            if (where, text) not in entries:
                entries.append((where, text))

    def report(self, what):
        if FINDINGS_FILE:
            _append_findings(what, self.by_place)
        lines = [f"{sum(map(len, self.by_place.values()))} untranslated texts in {what}:"]
        for place, found in self.by_place.items():
            lines.append(f"  {place}")
            lines += [f"    {where}: {text[:160]!r}" for where, text in found]
        return "\n".join(lines)


def _append_findings(what, by_place):
    existing = {}
    if os.path.exists(FINDINGS_FILE):
        with open(FINDINGS_FILE) as previous:
            existing = json.load(previous)
    existing[what] = {place: found for place, found in by_place.items()}
    with open(FINDINGS_FILE, "w") as output:
        json.dump(existing, output, ensure_ascii=False, indent=1)


def test_every_page_and_dialog_is_translated(pseudo, admin_user, world, django_capture_on_commit_callbacks):
    _prefer_the_pseudo_locale()
    clients = _clients(admin_user, world.users["alice"])
    findings = Findings()
    responses = []
    with django_capture_on_commit_callbacks(execute=True):
        for visit in visits(world):
            client = clients[visit.who]
            headers = {"HX-Request": "true"} if visit.htmx else {}
            send = getattr(client, visit.method)
            data = visit.data() if callable(visit.data) else visit.data
            response = send(visit.path, data, headers=headers, follow=visit.follow, HTTP_HOST=visit.host)
            responses.append((visit, response))
    data = DataShown.now()
    for visit, response in responses:
        findings.add(visit.label, _check_response(response, data))
    assert not findings.by_place, findings.report("pages and dialogs")


def test_the_error_pages_are_translated(pseudo, rf):
    data = DataShown.now()
    findings = Findings()
    request = rf.get("/users/", headers={"accept-language": PSEUDO})
    for name, response in [("500", errors.server_error(request)), ("503", errors.unavailable(request))]:
        findings.add(f"the {name} page", _check_response(response, data, fault=True))
    assert not findings.by_place, findings.report("error pages")


# Re-authentication ("sudo mode")


def test_the_reauthentication_prompt_is_translated(pseudo, admin_user):
    _prefer_the_pseudo_locale()
    turn_on_app(admin_user)
    findings = Findings()
    start = datetime.datetime(2031, 5, 6, 7, 8, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        client = Client(headers={"accept-language": PSEUDO})
        client.force_login(admin_user)
        clock.shift(settings.PANEL_REAUTH_SECONDS + 1)
        path = f"/users/{admin_user.pk}/tokens/new/"
        asked = client.post(path, {"name": "deploy"}, HTTP_HOST=HOST)
        wrong = {"name": "deploy", "_reauth": "1", "_reauth_password": "wrong", "_reauth_code": "1"}
        refused = client.post(path, wrong, HTTP_HOST=HOST)
        data = DataShown.now()
        findings.add("the prompt", _check_response(asked, data))
        findings.add("the prompt, refused", _check_response(refused, data))
    assert not findings.by_place, findings.report("the re-authentication prompt")


# Every URL has a case


def _named_patterns(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed {pattern.pattern}>", pattern


def _is_javascript_catalog(pattern):
    return getattr(pattern.callback, "view_class", None) is not None and issubclass(
        pattern.callback.view_class, JavaScriptCatalog
    )


def test_every_url_pattern_is_visited_or_said_not_to_be_a_page():
    ids = SimpleNamespace(
        admin=1,
        alice=2,
        carol=3,
        dora=4,
        company=5,
        role=6,
        token=7,
        session=8,
        passkey=9,
        reset_path="/password-reset/MQ/x/",
    )
    ids.wrong_app_code = ids.wrong_email_code = dict
    visited = {resolve(visit.path.split("?")[0]).view_name for visit in visits(ids) if visit.path != "/no-such-page/"}
    missing = []
    for name, pattern in _named_patterns():
        covered = name in visited or name in NOT_PAGES or any(name.startswith(p) for p in NOT_PAGES if p.endswith(":"))
        if not covered and not _is_javascript_catalog(pattern):  # that one: test_the_javascript_catalog_*
            missing.append(f"{name} ({pattern.pattern})")
    assert not missing, (
        "URL patterns with no case in visits() (a GET or POST showing what a person reads) and not in NOT_PAGES "
        "(with why): " + ", ".join(missing)
    )


# Emails


def test_every_email_is_translated(pseudo, admin_user, django_capture_on_commit_callbacks):
    carol = UserFactory(username="carol", email="carol@example.com")
    grant_api_module(carol)
    _prefer_the_pseudo_locale()
    carol.refresh_from_db()
    as_admin = Origin(actor=admin_user, ip="198.51.100.7", user_agent=CHROME_ON_LINUX)
    as_carol = Origin(actor=carol, ip="198.51.100.7", user_agent=CHROME_ON_LINUX)
    anonymous = Client(headers={"accept-language": PSEUDO})

    def token_lifecycle():
        token, _secret = token_services.token_create(origin=as_carol, user=carol, name="deploy", long_term=True)
        token_services.token_update(origin=as_admin, token=token, name="deploy 2")
        token_services.token_delete(origin=as_carol, token=token)
        reminded = AccessTokenFactory(user=carol, name="nightly")
        AccessToken.objects.filter(pk=reminded.pk).update(
            created_at=reminded.expires_at - datetime.timedelta(days=90),
            expires_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2),
        )
        token_services.token_expiry_reminders_send(origin=SETUP)

    def two_factor():
        turn_on_app(carol, origin=as_carol)
        mfa_services.recovery_codes_regenerate(origin=as_carol, user=carol)
        turn_on_email(carol, origin=as_carol)  # sends a code, then says email codes are on
        mfa_services.email_codes_turn_off(origin=as_carol, user=carol)  # the app stays: not the last factor
        mfa_services.two_factor_disable(origin=as_admin, user=carol, reason="test")

    def passkey():
        added, _authenticator = register_passkey(carol)
        from passkeys import services as passkey_services

        passkey_services.passkey_delete(origin=as_carol, passkey=added)

    def passwords_and_address():
        account_services.user_set_password(origin=as_admin, user=carol, password=NEW_PASSWORD)
        account_services.user_set_password(
            origin=Origin(ip="198.51.100.7", user_agent=CHROME_ON_LINUX),
            user=carol,
            password=NEW_PASSWORD,
            by_reset=True,
        )
        account_services.user_update(origin=as_carol, user=carol, email="carol@elsewhere.example")
        account_services.user_update(origin=SETUP, user=carol, email="carol@example.com")

    def through_the_pages():
        anonymous.post("/password-reset/", {"email": "carol@example.com"}, HTTP_HOST=HOST)
        newcomer = Client(headers={"accept-language": PSEUDO, "user-agent": CHROME_ON_LINUX})
        newcomer.post("/login/", {"username": "carol", "password": NEW_PASSWORD}, HTTP_HOST=HOST)

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # what core.notify queued for the commit is sent at the end
        for action in [token_lifecycle, two_factor, passkey, passwords_and_address, through_the_pages]:
            action()
    sent = list(mail.outbox)
    data = DataShown.now(gone=["deploy", "deploy 2", "Laptop"])
    findings = Findings()
    for message in sent:
        place = f"email {message.subject!r} to {', '.join(message.to)}"
        findings.add(place, [("subject", text) for text in pseudo_locale.unmarked_plain(message.subject, data)])
        findings.add(place, [("body", text) for text in pseudo_locale.unmarked_plain(message.body, data)])
    assert len(sent) >= 14, [message.subject for message in sent]  # every kind above was sent
    assert not findings.by_place, findings.report("emails")


# The API's error details


def test_api_errors_details_are_translated(pseudo, admin_user):
    _prefer_the_pseudo_locale()
    grant_api_module(admin_user)
    bearer = AccessTokenFactory(user=admin_user, name="script").bearer
    limited = AccessTokenFactory(user=admin_user, name="read only", permissions=["accounts.view_user"])
    script = Client(headers={"accept-language": PSEUDO, "authorization": f"Bearer {bearer}"})
    anonymous = Client(headers={"accept-language": PSEUDO})
    read_only = Client(headers={"accept-language": PSEUDO, "authorization": f"Bearer {limited.bearer}"})
    calls = [
        ("no credentials", anonymous.get("/api/users")),
        (
            "a wrong token",
            Client(headers={"authorization": "Bearer pnl_1_nope", "accept-language": PSEUDO}).get("/api/users"),
        ),
        ("not found", script.get("/api/users/999999")),
        (
            "refused fields",
            script.post("/api/users", {"username": "no spaces", "email": "x", "password": "a"}, "application/json"),
        ),
        ("not JSON", script.post("/api/users", "{", "application/json")),
        ("no permission", read_only.delete(f"/api/users/{admin_user.pk}")),
        ("a bad expiry", script.post(f"/api/users/{admin_user.pk}/tokens", {"expires_at": "soon"}, "application/json")),
        ("the last user", script.delete(f"/api/users/{admin_user.pk}")),
        ("no such URL", script.get("/api/no-such-thing")),
    ]
    data = DataShown.now()
    findings = Findings()
    for what, response in calls:
        assert response.get("Content-Type", "").startswith("application/json"), (what, response.status_code)
        assert response.status_code >= 400, (what, response.status_code)
        findings.add(f"{what} ({response.status_code})", [("detail", t) for t in _json_messages(response.json(), data)])
    assert not findings.by_place, findings.report("API error details")


# JavaScript


def test_the_javascript_catalog_serves_every_message_of_the_djangojs_catalogs(pseudo):
    patterns = [pattern for _name, pattern in _named_patterns() if _is_javascript_catalog(pattern)]
    assert patterns, "no URL serves django.views.i18n.JavaScriptCatalog (the JavaScript strings' translations)"
    assert pseudo["djangojs"], "no djangojs catalog: panel/locale/zh_Hans/LC_MESSAGES/djangojs.po"
    (name, pattern) = next((n, p) for n, p in _named_patterns() if _is_javascript_catalog(p))
    from django.urls import reverse

    body = Client(headers={"accept-language": PSEUDO}).get(reverse(name)).content.decode()
    catalog = json.loads(body.split("const newcatalog = ", 1)[1].split(";\n", 1)[0])
    missing = [key for key in pseudo["djangojs"] if key.split("\x00")[0] not in catalog]
    assert not missing, f"the JavaScript catalog lacks {missing}"
    wrong = [
        key
        for key, value in catalog.items()
        if not all(form.startswith(pseudo_locale.OPEN) for form in (value if isinstance(value, list) else [value]))
    ]
    assert not wrong, f"served untranslated: {wrong}"
