"""Languages and time zones (README's "Languages and time zones"): how a request's language and zone are chosen,
each user's own choice (service, account page, API), times shown and typed in the user's zone, emails in their
recipient's language and zone, and the language switcher before login.

The catalogs of Panel's own text are other work: where a check needs text that is surely translated, it uses a
message of Django's own catalogs ("Enter a whole number." is 输入整数。 in zh-hans), or it checks which
language was active.
"""

import datetime
import os
import re
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.core import mail
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_email.models import EmailDevice

from accounts import services
from accounts.models import User
from core import notify as notify_module
from core.audit import Origin
from core.forms import moment_field
from core.templatetags.moments import format_moment, moment
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import events, page_text, post_login

ROOT = Path(__file__).resolve().parents[2]
TAIPEI = "Asia/Taipei"
# 14:05 UTC is 22:05 in Taipei (UTC+8, no DST).
AFTERNOON = datetime.datetime(2031, 5, 6, 14, 5, 9, tzinfo=UTC)
# Django's own catalog, present whatever Panel's catalogs hold.
DJANGO_MESSAGE, DJANGO_MESSAGE_ZH_HANS = "Enter a whole number.", "输入整数。"


def _html_lang(response):
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1)


@pytest.fixture
def dora(db):
    """A user who chose Traditional Chinese and Taipei's time."""
    return UserFactory(username="dora", email="dora@example.com", language="zh-hant", time_zone=TAIPEI)


# The service: one validator each, the same for the page and the API


def test_the_service_saves_both_and_audits_the_change(origin, carol):
    services.user_set_preferences(origin=origin, user=carol, language="zh-hans", time_zone=TAIPEI)

    carol.refresh_from_db()
    assert (carol.language, carol.time_zone) == ("zh-hans", TAIPEI)
    (event,) = events("user.preferences")
    assert event.target_id == str(carol.pk)
    assert event.details["changes"] == {
        "language": {"from": "", "to": "zh-hans"},
        "time_zone": {"from": "", "to": TAIPEI},
    }


def test_the_service_takes_blank_for_the_browsers_language_and_the_panels_zone(origin, dora):
    services.user_set_preferences(origin=origin, user=dora, language="", time_zone="")

    dora.refresh_from_db()
    assert (dora.language, dora.time_zone) == ("", "")


def test_saving_the_same_values_writes_no_event(origin, dora):
    services.user_set_preferences(origin=origin, user=dora, language="zh-hant", time_zone=TAIPEI)

    assert events("user.preferences") == []


@pytest.mark.parametrize(
    "time_zone",
    [
        "Asia/Taipe",  # unknown
        "asia/taipei",  # IANA names are spelled exactly
        "Asia/Taipe\u0456",  # a Cyrillic і that looks like an i
        "Asia/Taipei\x00",  # a NUL byte
        "Asia/Taipei" + "x" * (3 * 1024 * 1024),  # 3 MB
        "+08:00",
        "../../etc/passwd",
        "Local time",
    ],
    ids=["unknown", "case", "look-alike", "nul", "3MB", "offset", "path", "words"],
)
def test_the_service_refuses_a_time_zone_that_is_not_an_iana_name(origin, carol, time_zone):
    with pytest.raises(ValidationError) as refusal:
        services.user_set_preferences(origin=origin, user=carol, language="", time_zone=time_zone)

    assert refusal.value.message_dict == {"time_zone": ["Choose a time zone by its IANA name, such as Asia/Taipei."]}
    carol.refresh_from_db()
    assert carol.time_zone == ""
    assert events("user.preferences") == []


@pytest.mark.parametrize("language", ["fr", "zh-cn", "zh_Hans", "ZH-HANS", "en\x00", "e" * 3_000_000, None, 7])
def test_the_service_refuses_a_language_the_panel_does_not_have(origin, carol, language):
    with pytest.raises(ValidationError) as refusal:
        services.user_set_preferences(origin=origin, user=carol, language=language, time_zone=TAIPEI)

    assert set(refusal.value.message_dict) == {"language"}
    carol.refresh_from_db()
    assert (carol.language, carol.time_zone) == ("", "")  # nothing saved, not even the good zone


def test_both_refusals_are_told_at_once(origin, carol):
    with pytest.raises(ValidationError) as refusal:
        services.user_set_preferences(origin=origin, user=carol, language="fr", time_zone="Nowhere")

    assert set(refusal.value.message_dict) == {"language", "time_zone"}


# Which language a page is in: the user's own, else the browser's, else PANEL_LANGUAGE


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("zh-CN,zh;q=0.9", "zh-hans"), ("zh-TW", "zh-hant"), ("zh-HK", "zh-hant"), ("fr-FR", "en"), (None, "en")],
)
def test_before_login_the_browsers_language_is_chosen(db, accept_language, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    response = Client().get("/login/", **headers)

    assert _html_lang(response) == expected
    assert response["Content-Language"] == expected


@override_settings(LANGUAGE_CODE="zh-hant")
def test_without_a_browser_preference_the_panels_language_is_chosen(db):
    assert _html_lang(Client().get("/login/")) == "zh-hant"


def test_a_users_own_language_wins_over_the_browsers(dora):
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    client.force_login(dora)

    response = client.get("/account/")

    assert _html_lang(response) == "zh-hant"
    assert response["Content-Language"] == "zh-hant"


def test_a_user_without_a_language_gets_the_browsers(carol):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    client.force_login(carol)

    assert _html_lang(client.get("/account/")) == "zh-hans"


def test_a_request_leaves_the_language_and_zone_as_they_were(dora):
    client = Client()
    client.force_login(dora)

    client.get("/account/")

    assert translation.get_language() == settings.LANGUAGE_CODE
    assert timezone.get_current_timezone_name() == "UTC"


def test_logging_in_with_a_saved_language_switches_to_it_and_keeps_it_after_logout(dora):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    response = post_login(client, "dora", DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hant"
    assert _html_lang(client.get("/account/")) == "zh-hant"
    client.post("/logout/")
    assert _html_lang(client.get("/login/")) == "zh-hant"  # the cookie the login set


# The language switcher before login


def test_the_login_page_has_a_language_switcher_without_inline_script(db):
    text = page_text(Client().get("/login/?next=/users/"))

    form = re.search(
        r'<nav class="language-switcher" aria-label="Language">\s*'
        r'<form method="post" action="/i18n/setlang/">.*?</form>',
        text,
        re.S,
    )
    assert form, text
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert '<input type="hidden" name="next" value="/login/?next=/users/">' in form.group(0)
    options = re.findall(r'<option value="([^"]+)" lang="[^"]+"( selected)?>([^<]+)</option>', form.group(0))
    assert options == [("en", " selected", "English"), ("zh-hans", "", "简体中文"), ("zh-hant", "", "繁體中文")]
    assert "<script>" not in text and "onchange" not in text


def test_the_switcher_sets_the_language_and_goes_back(db):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")  # the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/", "csrfmiddlewaretoken": token})

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert _html_lang(client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")) == "zh-hans"


def test_the_switcher_needs_the_csrf_token_and_refuses_a_foreign_next(db):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/i18n/setlang/", {"language": "zh-hans"}).status_code == 403

    client = Client()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_switcher_is_not_on_pages_after_login(admin_client):
    assert "language-switcher" not in admin_client.get("/account/").content.decode()


# The account page's form


def test_the_account_page_offers_the_languages_and_the_time_zones(client, carol):
    client.force_login(carol)

    text = page_text(client.get("/account/"))

    assert '<option value="" selected>Browser\'s language</option>' in text
    assert '<option value="zh-hans">简体中文</option>' in text
    assert '<option value="zh-hant">繁體中文</option>' in text
    assert '<option value="" selected>Panel default (UTC)</option>' in text
    assert '<option value="Asia/Taipei">Asia/Taipei</option>' in text
    assert 'action="/account/preferences/"' in text


def test_the_account_page_saves_them_and_comes_back_in_the_new_language(client, carol):
    client.force_login(carol)

    response = client.post("/account/preferences/", {"language": "zh-hant", "time_zone": TAIPEI})

    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hant"
    carol.refresh_from_db()
    assert (carol.language, carol.time_zone) == ("zh-hant", TAIPEI)
    (event,) = events("user.preferences")
    assert event.actor == carol
    page = client.get("/account/")
    assert _html_lang(page) == "zh-hant"
    assert '<option value="Asia/Taipei" selected>Asia/Taipei</option>' in page_text(page)


def test_choosing_the_browsers_language_again_forgets_the_cookie(client, dora):
    client.force_login(dora)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"

    response = client.post("/account/preferences/", {"language": "", "time_zone": ""})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""  # deleted
    assert _html_lang(client.get("/account/", HTTP_ACCEPT_LANGUAGE="zh-CN")) == "zh-hans"


def test_a_refused_zone_is_shown_on_its_field_and_nothing_is_saved(client, carol):
    client.force_login(carol)

    response = client.post("/account/preferences/", {"language": "zh-hans", "time_zone": "Asia/Taipe\u0456"})

    assert response.status_code == 400
    assert response.context["preferences_form"].errors == {
        "time_zone": ["Choose a time zone by its IANA name, such as Asia/Taipei."]
    }
    carol.refresh_from_db()
    assert (carol.language, carol.time_zone) == ("", "")


def test_the_account_form_needs_a_post_and_the_csrf_token(carol):
    client = Client(enforce_csrf_checks=True)
    client.force_login(carol)

    assert client.get("/account/preferences/").status_code == 405
    assert client.post("/account/preferences/", {"language": "zh-hans", "time_zone": ""}).status_code == 403
    carol.refresh_from_db()
    assert carol.language == ""


# Times: shown and typed in the user's zone, named


def test_format_moment_names_the_active_zone():
    assert format_moment(AFTERNOON) == "2031-05-06 14:05 UTC"
    with timezone.override(TAIPEI):
        assert format_moment(AFTERNOON) == "2031-05-06 22:05 Asia/Taipei"
        assert format_moment(AFTERNOON, seconds=True) == "2031-05-06 22:05:09 Asia/Taipei"
        # The element's datetime stays the exact instant, in UTC.
        assert moment(AFTERNOON) == '<time datetime="2031-05-06T14:05:09+00:00">2031-05-06 22:05 Asia/Taipei</time>'


def test_a_moment_the_zone_cannot_hold_is_shown_in_utc():
    last = datetime.datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with timezone.override(TAIPEI):
        assert format_moment(last) == "9999-12-31 23:00 UTC"


def test_a_users_pages_show_times_in_their_zone(client, dora):
    User.objects.filter(pk=dora.pk).update(date_joined=AFTERNOON)
    client.force_login(dora)

    text = page_text(client.get("/account/"))

    assert '<time datetime="2031-05-06T14:05:09+00:00">2031-05-06 22:05 Asia/Taipei</time>' in text


def _clean(value, zone):
    field = moment_field("Expires at")
    with timezone.override(zone):
        return field.clean(value), str(field.label)


def test_a_typed_time_is_read_in_the_active_zone_and_the_label_names_it():
    moment_, label = _clean("2031-05-01 18:30", TAIPEI)

    assert moment_.astimezone(UTC) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    assert label == "Expires at (Asia/Taipei)"
    assert _clean("2031-05-01 18:30", "UTC") == (datetime.datetime(2031, 5, 1, 18, 30, tzinfo=UTC), "Expires at (UTC)")


def test_a_time_the_clocks_skip_is_a_form_error():
    # 9 March 2031, New York: the clocks go from 02:00 to 03:00.
    with pytest.raises(ValidationError) as refusal:
        _clean("2031-03-09 02:30", "America/New_York")

    assert refusal.value.messages == [
        "2031-03-09 02:30 does not exist in America/New_York: the clocks skip it. Choose another time."
    ]


def test_a_time_the_clocks_show_twice_is_the_earlier():
    # 2 November 2031, New York: 01:30 happens in summer time (-04:00), then again in winter time (-05:00).
    moment_, _label = _clean("2031-11-02 01:30", "America/New_York")

    assert moment_.astimezone(UTC) == datetime.datetime(2031, 11, 2, 5, 30, tzinfo=UTC)


def test_the_year_9999_is_refused_west_of_utc_and_taken_east_of_it():
    with pytest.raises(ValidationError, match="before the year 9999"):
        _clean("9999-12-31 23:00", "America/New_York")
    moment_, _label = _clean("9999-12-31 23:00", TAIPEI)
    assert moment_.astimezone(UTC) == datetime.datetime(9999, 12, 31, 15, 0, tzinfo=UTC)


def test_a_user_types_an_expiry_in_their_zone(client, admin_user, carol):
    admin_user.time_zone = TAIPEI
    admin_user.save()
    client.force_login(admin_user)
    year = timezone.now().year + 1

    page = page_text(client.get(f"/users/{carol.pk}/expiry/"))
    response = client.post(f"/users/{carol.pk}/expiry/", {"expires_at": f"{year}-05-01 18:30"})

    assert "Account expires at (Asia/Taipei)" in page
    assert response.status_code == 302
    carol.refresh_from_db()
    assert carol.expires_at == datetime.datetime(year, 5, 1, 10, 30, tzinfo=UTC)
    page = page_text(client.get(f"/users/{carol.pk}/expiry/"))
    assert f'value="{year}-05-01 18:30"' in page  # shown back as typed


def test_the_audit_pages_filter_reads_days_in_the_readers_zone(client, admin_user):
    admin_user.time_zone = TAIPEI
    admin_user.save()
    client.force_login(admin_user)

    response = client.get("/audit/", {"since": "2031-05-06", "until": "2031-05-06"})

    form = response.context["form"]
    assert form.is_valid(), form.errors
    assert form.cleaned_data["since"] == datetime.datetime(2031, 5, 5, 16, 0, tzinfo=UTC)  # Taipei's midnight
    assert 'for="id_since">From (Asia/Taipei)</label>' in page_text(response)


def test_the_api_reads_the_audit_filter_in_utc_whatever_the_owners_zone(admin_user):
    admin_user.time_zone = TAIPEI
    admin_user.save()
    script = Script.of(admin_user)

    response = script.call("get", "/api/audit-events", since="2031-05-06")

    assert response.status_code == 200, response.content


# The API: the owner's language and zone; ISO 8601 answers


def test_user_info_shows_the_language_and_time_zone(dora):
    script = Script.of(dora)

    body = script.whoami().json()

    assert (body["language"], body["time_zone"]) == ("zh-hant", TAIPEI)


def test_a_token_request_answers_in_its_owners_language_with_iso_times(dora):
    User.objects.filter(pk=dora.pk).update(date_joined=AFTERNOON)
    script = Script.of(dora)
    script.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = script.whoami()

    assert response["Content-Language"] == "zh-hant"
    assert response.json()["date_joined"] in ("2031-05-06T14:05:09Z", "2031-05-06T14:05:09+00:00")


def test_a_token_of_an_owner_without_a_language_answers_in_the_browsers(carol):
    script = Script.of(carol)
    script.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-TW"

    assert script.whoami()["Content-Language"] == "zh-hant"


def test_the_api_changes_a_users_language_and_time_zone(admin_user, carol):
    script = Script.of(admin_user)

    response = script.call("patch", f"/api/users/{carol.pk}", {"language": "zh-hans", "time_zone": TAIPEI})

    assert response.status_code == 200, response.content
    assert (response.json()["language"], response.json()["time_zone"]) == ("zh-hans", TAIPEI)
    (event,) = events("user.preferences")
    assert event.details["changes"]["time_zone"] == {"from": "", "to": TAIPEI}
    response = script.call("patch", f"/api/users/{carol.pk}", {"time_zone": ""})  # the language stays
    carol.refresh_from_db()
    assert (carol.language, carol.time_zone) == ("zh-hans", "")


def test_the_api_refuses_a_bad_time_zone_on_its_field_and_changes_nothing(admin_user, carol):
    script = Script.of(admin_user)

    response = script.call(
        "patch", f"/api/users/{carol.pk}", {"username": "caroline", "language": "xx", "time_zone": "Asia/Taipe\u0456"}
    )

    assert_error(response, 422, fields={"language", "time_zone"})
    carol.refresh_from_db()
    assert (carol.username, carol.language, carol.time_zone) == ("carol", "", "")


# Emails: in the recipient's language and zone, not the acting browser's


def test_a_notification_is_in_its_recipients_language_and_zone(
    origin, dora, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []

    def spy(template, context):
        seen.append((translation.get_language(), timezone.get_current_timezone_name()))
        return render_to_string(template, context)

    monkeypatch.setattr(notify_module, "render_to_string", spy)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notify_module.notify(
            dora,
            subject=gettext_lazy(DJANGO_MESSAGE),
            template="core/notifications/change.txt",
            context={"what": "test"},
            origin=origin,
        )

    assert seen == [("zh-hant", TAIPEI)]
    (message,) = mail.outbox
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d Asia/Taipei", message.body)


def test_a_lazy_subject_is_translated_for_its_recipient(origin, carol, django_capture_on_commit_callbacks):
    carol.language = "zh-hans"
    carol.save()

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notify_module.notify(
            carol,
            subject=gettext_lazy(DJANGO_MESSAGE),
            template="core/notifications/change.txt",
            context={"what": "test"},
            origin=origin,
        )

    assert mail.outbox[0].subject == f"[{settings.PANEL_NAME}] {DJANGO_MESSAGE_ZH_HANS}"


def test_a_plain_subject_is_translated_for_its_recipient(origin, carol, django_capture_on_commit_callbacks):
    carol.language = "zh-hans"
    carol.save()

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notify_module.notify(
            carol, subject=DJANGO_MESSAGE, template="core/notifications/change.txt", context={"what": "test"}
        )

    assert mail.outbox[0].subject == f"[{settings.PANEL_NAME}] {DJANGO_MESSAGE_ZH_HANS}"


@override_settings(LANGUAGE_CODE="zh-hans", TIME_ZONE=TAIPEI)
def test_a_recipient_who_chose_nothing_gets_the_panels_language_not_the_actors(
    origin, carol, django_capture_on_commit_callbacks
):
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notify_module.notify(
            carol,
            subject=gettext_lazy(DJANGO_MESSAGE),
            template="core/notifications/change.txt",
            context={"what": "test"},
            origin=origin,
        )

    assert mail.outbox[0].subject.endswith(DJANGO_MESSAGE_ZH_HANS)
    assert "Asia/Taipei" in mail.outbox[0].body


def test_a_password_reset_email_is_in_its_recipients_language(dora, monkeypatch):
    seen = []
    original = auth_forms.PasswordResetForm.send_mail

    def spy(self, *args, **kwargs):
        seen.append((translation.get_language(), timezone.get_current_timezone_name()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(auth_forms.PasswordResetForm, "send_mail", spy)
    Client(HTTP_ACCEPT_LANGUAGE="en").post("/password-reset/", {"email": dora.email})

    assert seen == [("zh-hant", TAIPEI)]
    assert len(mail.outbox) == 1


def test_an_email_login_code_is_in_its_recipients_language(dora, monkeypatch):
    from mfa.models import EmailCodeDevice

    seen = []
    original = EmailDevice.send_mail

    def spy(self, body, **kwargs):
        seen.append((translation.get_language(), str(self.get_subject())))
        return original(self, body, **kwargs)

    monkeypatch.setattr(EmailDevice, "send_mail", spy)
    device = EmailCodeDevice.objects.create(user=dora, name="email", confirmed=True)
    with translation.override("en"):
        device.generate_challenge()

    assert [language for language, _subject in seen] == ["zh-hant"]
    assert len(mail.outbox) == 1


def test_a_token_expiry_reminder_names_the_day_on_its_owners_calendar(dora, django_capture_on_commit_callbacks):
    from tokens import services as token_services
    from tokens.models import AccessToken

    token, _secret = token_services.token_create(
        origin=Origin.command("test"), user=dora, name="nightly", long_term=True
    )
    # 20:00 UTC is 04:00 the next day in Taipei; made a month ago, so the week's reminder is due.
    expires_at = timezone.now().replace(hour=20, minute=0, second=0, microsecond=0) + datetime.timedelta(days=3)
    created_at = timezone.now() - datetime.timedelta(days=30)
    AccessToken.objects.filter(pk=token.pk).update(expires_at=expires_at, created_at=created_at)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert token_services.token_expiry_reminders_send(origin=Origin.command("housekeeping")) == 1

    taipei_day = expires_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    (message,) = mail.outbox
    assert f"{taipei_day:%Y-%m-%d %H:%M} Asia/Taipei" in message.subject
    assert f"{taipei_day:%Y-%m-%d %H:%M} Asia/Taipei" in message.body


# Error pages and commands


def test_the_error_pages_name_the_active_language():
    with translation.override("zh-hant"):
        assert '<html lang="zh-hant">' in render_to_string("503.html")
        assert '<html lang="zh-hant">' in render_to_string("500.html")


def test_management_commands_speak_panel_language():
    env = {**os.environ, "PANEL_LANGUAGE": "zh-hans"}
    code = (
        "from django.utils.translation import get_language, gettext; "
        f"print(get_language(), gettext({DJANGO_MESSAGE!r}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.splitlines()[-1].split() == ["zh-hans", DJANGO_MESSAGE_ZH_HANS]
