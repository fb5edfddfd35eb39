"""tokens.services against the real database: secrets stored only encrypted, rules, audit events."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts import services as account_services
from core import crypto
from core.models import AuditEvent
from tests.integration.conftest import audit_dump, events
from tokens import services
from tokens.credentials import bearer_string
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 17, 9, 30, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _create(origin, user, **overrides):
    fields = {"expires_at": NOW + timedelta(days=30), **overrides}
    return services.token_create(origin=origin, user=user, **fields)


def _stored_secret(token):
    return crypto.decrypt(AccessToken.objects.get(pk=token.pk).encrypted_secret)


def _database_dump():
    out = StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


# token_create


def test_token_create_returns_a_secret_of_at_least_32_characters(frozen, origin, other_user):
    _, secret = _create(origin, other_user)

    assert len(secret) >= 32


def test_token_create_gives_each_token_its_own_secret(frozen, origin, other_user):
    _, first = _create(origin, other_user)
    _, second = _create(origin, other_user)

    assert first != second


def test_token_create_saves_the_token_for_its_owner(frozen, origin, other_user):
    token, _ = _create(origin, other_user, name="deploy", ip_allowlist=["192.0.2.1", "10.0.0.0/8"])

    stored = AccessToken.objects.get(pk=token.pk)
    assert stored.user == other_user
    assert stored.name == "deploy"
    assert stored.ip_allowlist == ["192.0.2.1", "10.0.0.0/8"]
    assert stored.expires_at == NOW + timedelta(days=30)
    assert stored.created_at == NOW
    assert stored.last_used_at is None
    assert stored.last_used_ip is None


def test_token_create_stores_the_secret_encrypted(frozen, origin, other_user):
    token, secret = _create(origin, other_user)

    stored = AccessToken.objects.get(pk=token.pk)
    assert secret not in stored.encrypted_secret
    assert crypto.decrypt(stored.encrypted_secret) == secret


def test_plain_secret_is_nowhere_in_a_dump_of_the_database(frozen, origin, other_user):
    token, secret = _create(origin, other_user, name="deploy")

    dump = _database_dump()

    assert f'"encrypted_secret": "{token.encrypted_secret}"' in dump  # the dump does hold the token
    assert secret not in dump
    assert bearer_string(token.pk, secret) not in dump


def test_plain_secret_is_nowhere_in_the_serialized_tokens_and_audit_events(frozen, origin, other_user):
    token, secret = _create(origin, other_user)

    serialized = serializers.serialize("json", [*AccessToken.objects.all(), *AuditEvent.objects.all()])

    assert secret not in serialized


def test_token_create_writes_one_token_create_event(frozen, origin, other_user):
    token, _ = _create(origin, other_user, name="deploy", ip_allowlist=["192.0.2.1"])

    (event,) = events("token.create")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.actor == origin.actor
    assert (event.target_type, event.target_id, event.target_name) == ("accesstoken", str(token.pk), str(token))
    assert event.ip == "192.0.2.10"
    assert event.details["owner"] == "bob"
    assert event.details["name"] == "deploy"
    assert event.details["ip_allowlist"] == ["192.0.2.1"]
    assert event.details["expires_at"] == (NOW + timedelta(days=30)).isoformat()


def test_token_create_event_holds_no_secret(frozen, origin, other_user):
    token, secret = _create(origin, other_user)

    dump = audit_dump()

    assert secret not in dump
    assert token.encrypted_secret not in dump


def test_token_create_normalises_the_ip_allowlist(frozen, origin, other_user):
    token, _ = _create(origin, other_user, ip_allowlist=["2001:DB8::1/128", " 192.0.2.1 "])

    assert AccessToken.objects.get(pk=token.pk).ip_allowlist == ["2001:db8::1", "192.0.2.1"]


def test_token_create_with_long_term_expires_ten_years_from_now(frozen, origin, other_user):
    token, _ = services.token_create(origin=origin, user=other_user, long_term=True)

    assert AccessToken.objects.get(pk=token.pk).expires_at == datetime(2036, 5, 17, 9, 30, tzinfo=UTC)


def test_token_create_with_long_term_ignores_a_given_expiry(frozen, origin, other_user):
    token, _ = services.token_create(origin=origin, user=other_user, long_term=True, expires_at=NOW + timedelta(days=1))

    assert AccessToken.objects.get(pk=token.pk).expires_at == datetime(2036, 5, 17, 9, 30, tzinfo=UTC)


def test_token_create_accepts_an_expiry_exactly_ten_years_away(frozen, origin, other_user):
    token, _ = _create(origin, other_user, expires_at=datetime(2036, 5, 17, 9, 30, tzinfo=UTC))

    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_token_create_without_an_expiry_is_refused(frozen, origin, other_user):
    with pytest.raises(ValidationError) as caught:
        services.token_create(origin=origin, user=other_user)

    assert set(caught.value.message_dict) == {"expires_at"}


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        pytest.param({"ip_allowlist": ["not-an-ip"]}, {"ip_allowlist"}, id="invalid-ip"),
        pytest.param({"ip_allowlist": ["192.0.2.1", "192.0.2.1"]}, {"ip_allowlist"}, id="duplicate-ip"),
        pytest.param({"expires_at": NOW}, {"expires_at"}, id="expiry-now"),
        pytest.param({"expires_at": NOW - timedelta(days=1)}, {"expires_at"}, id="expiry-past"),
        pytest.param({"expires_at": NOW + timedelta(days=3653 + 1)}, {"expires_at"}, id="expiry-too-far"),
        pytest.param({"name": "n" * 65}, {"name"}, id="name-too-long"),
        pytest.param(
            {"ip_allowlist": ["nope"], "expires_at": NOW - timedelta(days=1), "name": "n" * 65},
            {"ip_allowlist", "expires_at", "name"},
            id="all-at-once",
        ),
    ],
)
def test_token_create_with_invalid_input_names_the_fields_and_writes_nothing(
    frozen, origin, other_user, overrides, fields
):
    with pytest.raises(ValidationError) as caught:
        _create(origin, other_user, **overrides)

    assert set(caught.value.message_dict) == fields
    assert not AccessToken.objects.exists()
    assert not AuditEvent.objects.exists()


def test_token_create_message_names_the_invalid_ip_entry(frozen, origin, other_user):
    with pytest.raises(ValidationError) as caught:
        _create(origin, other_user, ip_allowlist=["192.0.2.1", "300.1.1.1"])

    (message,) = caught.value.message_dict["ip_allowlist"]
    assert "300.1.1.1" in message


# token_update


def test_token_update_changes_the_ip_allowlist(frozen, origin, other_user):
    token, _ = _create(origin, other_user, ip_allowlist=["192.0.2.1"])

    services.token_update(origin=origin, token=token, ip_allowlist=["198.51.100.0/24"])

    assert AccessToken.objects.get(pk=token.pk).ip_allowlist == ["198.51.100.0/24"]


def test_token_update_changes_the_expiry(frozen, origin, other_user):
    token, _ = _create(origin, other_user)

    services.token_update(origin=origin, token=token, expires_at=NOW + timedelta(days=90))

    assert AccessToken.objects.get(pk=token.pk).expires_at == NOW + timedelta(days=90)


def test_token_update_with_long_term_moves_the_expiry_to_ten_years(frozen, origin, other_user):
    token, _ = _create(origin, other_user)

    services.token_update(origin=origin, token=token, long_term=True)

    assert AccessToken.objects.get(pk=token.pk).expires_at == datetime(2036, 5, 17, 9, 30, tzinfo=UTC)


def test_token_update_keeps_the_secret(frozen, origin, other_user):
    token, secret = _create(origin, other_user)

    services.token_update(
        origin=origin, token=token, ip_allowlist=["192.0.2.1"], expires_at=NOW + timedelta(days=90), name="ci"
    )

    assert _stored_secret(token) == secret


def test_token_update_writes_one_token_update_event_with_the_changes(frozen, origin, other_user):
    token, secret = _create(origin, other_user, ip_allowlist=["192.0.2.1"])

    services.token_update(origin=origin, token=token, ip_allowlist=["192.0.2.2"])

    (event,) = events("token.update")
    assert event.target_id == str(token.pk)
    assert event.details["changes"] == {"ip_allowlist": {"from": ["192.0.2.1"], "to": ["192.0.2.2"]}}
    assert secret not in audit_dump()


def test_token_update_without_a_change_writes_no_event(frozen, origin, other_user):
    token, _ = _create(origin, other_user, ip_allowlist=["192.0.2.1"])

    services.token_update(origin=origin, token=token, ip_allowlist=["192.0.2.1"])

    assert events("token.update") == []


def test_token_update_with_invalid_input_names_the_fields_and_changes_nothing(frozen, origin, other_user):
    token, _ = _create(origin, other_user, ip_allowlist=["192.0.2.1"])

    with pytest.raises(ValidationError) as caught:
        services.token_update(
            origin=origin, token=token, ip_allowlist=["192.0.2.2", "bad"], expires_at=NOW + timedelta(days=4000)
        )

    assert set(caught.value.message_dict) == {"ip_allowlist", "expires_at"}
    stored = AccessToken.objects.get(pk=token.pk)
    assert stored.ip_allowlist == ["192.0.2.1"]
    assert stored.expires_at == NOW + timedelta(days=30)
    assert events("token.update") == []


def test_token_update_checks_the_expiry_against_the_time_of_the_change(frozen, origin, other_user):
    token, _ = _create(origin, other_user)
    frozen.shift(timedelta(days=60))

    with pytest.raises(ValidationError) as caught:
        services.token_update(origin=origin, token=token, expires_at=NOW + timedelta(days=45))

    assert set(caught.value.message_dict) == {"expires_at"}


# token_delete


def test_token_delete_removes_the_token(frozen, origin, other_user):
    token, _ = _create(origin, other_user)
    pk = token.pk

    services.token_delete(origin=origin, token=token)

    assert not AccessToken.objects.filter(pk=pk).exists()


def test_token_delete_writes_one_token_delete_event_without_the_secret(frozen, origin, other_user):
    token, secret = _create(origin, other_user, name="deploy")
    pk = token.pk

    services.token_delete(origin=origin, token=token)

    (event,) = events("token.delete")
    assert (event.target_type, event.target_id) == ("accesstoken", str(pk))
    assert event.details["owner"] == "bob"
    assert secret not in audit_dump()


def test_deleting_the_owner_removes_its_tokens(frozen, origin, other_user, admin_user):
    _create(origin, other_user)
    _create(origin, other_user)
    kept, _ = _create(origin, admin_user)

    account_services.user_delete(origin=origin, user=other_user)

    assert list(AccessToken.objects.values_list("pk", flat=True)) == [kept.pk]


# token_mark_used


def test_token_mark_used_fills_the_last_used_fields(frozen, origin, other_user):
    token, _ = _create(origin, other_user)

    services.token_mark_used(token=token, ip="192.0.2.7")

    stored = AccessToken.objects.get(pk=token.pk)
    assert (stored.last_used_at, stored.last_used_ip) == (NOW, "192.0.2.7")


def test_token_mark_used_again_within_a_minute_from_the_same_ip_writes_nothing(
    frozen, origin, other_user, django_assert_num_queries
):
    token, _ = _create(origin, other_user)
    services.token_mark_used(token=token, ip="192.0.2.7")
    frozen.shift(59)
    token = AccessToken.objects.get(pk=token.pk)

    with django_assert_num_queries(0):
        services.token_mark_used(token=token, ip="192.0.2.7")

    assert AccessToken.objects.get(pk=token.pk).last_used_at == NOW


def test_token_mark_used_a_minute_later_writes_the_new_time(frozen, origin, other_user):
    token, _ = _create(origin, other_user)
    services.token_mark_used(token=token, ip="192.0.2.7")
    frozen.shift(60)
    token = AccessToken.objects.get(pk=token.pk)

    services.token_mark_used(token=token, ip="192.0.2.7")

    assert AccessToken.objects.get(pk=token.pk).last_used_at == NOW + timedelta(seconds=60)


def test_token_mark_used_from_another_ip_writes_at_once(frozen, origin, other_user):
    token, _ = _create(origin, other_user)
    services.token_mark_used(token=token, ip="192.0.2.7")
    frozen.shift(5)
    token = AccessToken.objects.get(pk=token.pk)

    services.token_mark_used(token=token, ip="2001:db8::5")

    stored = AccessToken.objects.get(pk=token.pk)
    assert (stored.last_used_at, stored.last_used_ip) == (NOW + timedelta(seconds=5), "2001:db8::5")


def test_token_mark_used_writes_no_audit_event(frozen, origin, other_user):
    token, _ = _create(origin, other_user)
    before = AuditEvent.objects.count()

    services.token_mark_used(token=token, ip="192.0.2.7")

    assert AuditEvent.objects.count() == before


# reencrypt_secrets


def test_reencrypt_secrets_makes_every_secret_readable_by_the_new_key_alone(settings, frozen, origin, other_user):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PANEL_ENCRYPTION_KEYS = [old_key]
    first, first_secret = _create(origin, other_user)
    second, second_secret = _create(origin, other_user)
    settings.PANEL_ENCRYPTION_KEYS = [new_key, old_key]

    assert services.reencrypt_secrets() == 2

    settings.PANEL_ENCRYPTION_KEYS = [new_key]
    assert _stored_secret(first) == first_secret
    assert _stored_secret(second) == second_secret


def test_before_reencrypt_secrets_the_new_key_alone_cannot_read_the_secrets(settings, frozen, origin, other_user):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PANEL_ENCRYPTION_KEYS = [old_key]
    token, _ = _create(origin, other_user)

    settings.PANEL_ENCRYPTION_KEYS = [new_key]

    with pytest.raises(crypto.InvalidToken):
        _stored_secret(token)


def test_reencrypt_secrets_changes_no_other_field(settings, frozen, origin, other_user):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PANEL_ENCRYPTION_KEYS = [old_key]
    token, _ = _create(origin, other_user, name="deploy", ip_allowlist=["192.0.2.1"])
    settings.PANEL_ENCRYPTION_KEYS = [new_key, old_key]

    services.reencrypt_secrets()

    stored = AccessToken.objects.get(pk=token.pk)
    assert (stored.name, stored.ip_allowlist, stored.expires_at) == ("deploy", ["192.0.2.1"], token.expires_at)
    assert stored.encrypted_secret != token.encrypted_secret
