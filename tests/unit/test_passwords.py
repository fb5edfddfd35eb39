"""Generated passwords: always acceptable under Panel's own rules, and unpredictable."""

import string

import pytest
from django.contrib.auth.password_validation import validate_password

from accounts.models import User
from accounts.passwords import generate_password
from accounts.validators import PASSWORD_MAX_LENGTH, password_character_kinds

RUNS = 200


ADMIN = User(username="admin", email="admin@localhost")


@pytest.fixture(scope="module")
def generated():
    return [generate_password(user=ADMIN) for _ in range(RUNS)]


def test_generated_password_always_passes_every_configured_password_rule(generated):
    for password in generated:
        validate_password(password, ADMIN)


def test_generated_password_is_20_characters_long(generated):
    assert PASSWORD_MAX_LENGTH == 20
    assert {len(password) for password in generated} == {20}


def test_generated_password_uses_letters_digits_and_special_characters(generated):
    for password in generated:
        assert password_character_kinds(password) == {"letters", "digits", "special characters"}


def test_generated_password_is_printable_ascii_without_spaces_or_quotes(generated):
    allowed = set(string.ascii_letters + string.digits + string.punctuation) - set("\"'`\\")
    for password in generated:
        assert set(password) <= allowed


def test_generated_passwords_differ_every_time(generated):
    assert len(set(generated)) == RUNS


def test_generated_passwords_draw_on_the_whole_alphabet(generated):
    # 4000 draws from a 74-character alphabet: every character should turn up.
    assert len(set("".join(generated))) > 60


@pytest.mark.parametrize("length", [8, 12])
def test_generated_password_of_a_requested_length_passes_every_rule(length):
    password = generate_password(length)
    assert len(password) == length
    validate_password(password, User(username="admin", email="admin@localhost"))
