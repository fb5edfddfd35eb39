"""Seed 001's rules for usernames and passwords, one table per rule.

Password rules run through ``validate_password`` so that they are checked as
configured in AUTH_PASSWORD_VALIDATORS, together with Django's common-password
and similarity checks.
"""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.validators import (
    USERNAME_MAX_LENGTH,
    PasswordCharacterKindsValidator,
    PasswordLengthValidator,
    validate_username_available,
    validate_username_characters,
)
from tests.factories import UserFactory

USERNAME_CHARACTERS_MESSAGE = "Username may only contain letters (A-Z, a-z), digits, underscores (_) and hyphens (-)."
TOO_SHORT_MESSAGE = "Password must be at least 8 characters long."
TOO_LONG_MESSAGE = "Password must be at most 20 characters long."
TOO_SIMPLE_MESSAGE = "Password must contain at least two of: letters, digits and special characters."
TOO_COMMON_MESSAGE = "This password is too common."


def _unsaved_user(username="quentin", email="marguerite@example.com"):
    return User(username=username, email=email)


def _password_errors(password, user=None):
    """The messages validate_password gives for ``password``; [] when it is accepted."""
    try:
        validate_password(password, user or _unsaved_user())
    except ValidationError as error:
        return error.messages
    return []


def _username_field_errors(username):
    """The username field's own validators (characters and maximum length)."""
    user = _unsaved_user(username=username)
    try:
        user.clean_fields(exclude=["password", "email", "date_joined", "last_login"])
    except ValidationError as error:
        return error.message_dict.get("username", [])
    return []


# Usernames: letters, digits, _ and -.


@pytest.mark.parametrize(
    "username",
    ["alice", "Alice", "ALICE", "a", "0", "user_1", "user-1", "_", "-", "a_b-c_9", "x" * USERNAME_MAX_LENGTH],
)
def test_username_of_letters_digits_underscores_and_hyphens_is_accepted(username):
    validate_username_characters(username)


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("", id="empty"),
        pytest.param("john doe", id="space"),
        pytest.param(" alice", id="leading-space"),
        pytest.param("alice\n", id="trailing-newline"),
        pytest.param("alice\t", id="tab"),
        pytest.param("josé", id="unicode-letter-e-acute"),
        pytest.param("ålice", id="unicode-letter-a-ring"),
        pytest.param("用户", id="cjk"),
        pytest.param("ａｌｉｃｅ", id="fullwidth-letters"),
        pytest.param("１２３", id="fullwidth-digits"),
        pytest.param("alice@example.com", id="at-sign"),
        pytest.param("alice.smith", id="dot"),
        pytest.param("alice+1", id="plus"),
        pytest.param("al/ice", id="slash"),
        pytest.param("al\\ice", id="backslash"),
        pytest.param("alice'", id="quote"),
        pytest.param("<alice>", id="angle-brackets"),
        pytest.param("al\x00ice", id="nul"),
        pytest.param("alice\u200b", id="zero-width-space"),
    ],
)
def test_username_with_other_characters_is_refused_naming_the_allowed_characters(username):
    with pytest.raises(ValidationError) as refused:
        validate_username_characters(username)
    assert refused.value.messages == [USERNAME_CHARACTERS_MESSAGE]
    assert refused.value.code == "username_characters"


@pytest.mark.parametrize("length", [1, 31, USERNAME_MAX_LENGTH])
def test_username_up_to_32_characters_is_accepted(length):
    assert _username_field_errors("u" * length) == []


@pytest.mark.parametrize("length", [USERNAME_MAX_LENGTH + 1, 100])
def test_username_longer_than_32_characters_is_refused_naming_the_limit(length):
    assert _username_field_errors("u" * length) == [f"Ensure this value has at most 32 characters (it has {length})."]


def test_username_field_runs_the_character_rule():
    assert _username_field_errors("john doe") == [USERNAME_CHARACTERS_MESSAGE]


@pytest.mark.django_db
@pytest.mark.parametrize("candidate", ["alice", "ALICE", "Alice", "aLiCe"])
def test_username_taken_in_any_letter_case_is_refused(candidate):
    UserFactory(username="alice")
    with pytest.raises(ValidationError) as refused:
        validate_username_available(candidate)
    assert refused.value.messages == ["This username is already taken."]


@pytest.mark.django_db
def test_username_of_the_user_being_renamed_is_not_taken_by_itself():
    user = UserFactory(username="alice")
    validate_username_available("ALICE", exclude_pk=user.pk)


@pytest.mark.django_db
def test_unused_username_is_available():
    UserFactory(username="alice")
    validate_username_available("alice2")


# Passwords: 8 to 20 characters, counted as characters.


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("abcd!@#$", id="8-ascii"),
        pytest.param("Zebra-Lamp-42-Cloud!", id="20-ascii"),
        pytest.param("ééééééééé1234567890!", id="20-chars-29-bytes"),
        pytest.param("密码密码密码密码1!", id="10-cjk-chars"),
        pytest.param("éééééé1!", id="8-chars-with-multibyte"),
    ],
)
def test_password_of_8_to_20_characters_passes_the_length_rule(password):
    assert 8 <= len(password) <= 20
    PasswordLengthValidator().validate(password)
    assert TOO_SHORT_MESSAGE not in _password_errors(password)
    assert TOO_LONG_MESSAGE not in _password_errors(password)


def test_password_length_is_counted_in_characters_not_bytes():
    password = "ééééééééé1234567890!"
    assert len(password) == 20
    assert len(password.encode()) > 20
    assert _password_errors(password) == []


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("", id="empty"),
        pytest.param("ab1!", id="4"),
        pytest.param("abc123!", id="7-ascii"),
        pytest.param("éé12!!é", id="7-chars-11-bytes"),
    ],
)
def test_password_shorter_than_8_characters_is_refused_naming_the_minimum(password):
    assert _password_errors(password)[0] == TOO_SHORT_MESSAGE


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Zebra-Lamp-42-Cloud!x", id="21-ascii"),
        pytest.param("éééééééééé1234567890!", id="21-multibyte"),
        pytest.param("Zebra-Lamp-42-" * 10, id="140"),
    ],
)
def test_password_longer_than_20_characters_is_refused_naming_the_maximum(password):
    assert _password_errors(password)[0] == TOO_LONG_MESSAGE


# Passwords: at least two of letters, digits, special characters.


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("abcdefgh", id="letters-only"),
        pytest.param("ABCDEFGHIJ", id="capitals-only"),
        pytest.param("éèêëàâäô", id="unicode-letters-only"),
        pytest.param("12345678", id="digits-only"),
        pytest.param("!!!!!!!!", id="special-only"),
        pytest.param("!@#$%^&*()", id="mixed-special-only"),
        pytest.param("        ", id="spaces-only"),
    ],
)
def test_password_of_one_character_kind_is_refused_naming_the_kinds(password):
    with pytest.raises(ValidationError) as refused:
        PasswordCharacterKindsValidator().validate(password)
    assert refused.value.messages == [TOO_SIMPLE_MESSAGE]
    assert TOO_SIMPLE_MESSAGE in _password_errors(password)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("abcd1234", id="letters-digits"),
        pytest.param("abcd!@#$", id="letters-special"),
        pytest.param("1234!@#$", id="digits-special"),
        pytest.param("Ab1!Ab1!", id="all-three"),
        pytest.param("éééé1234", id="unicode-letters-digits"),
        pytest.param("abcd efgh", id="letters-space"),
    ],
)
def test_password_of_two_or_more_character_kinds_passes_the_kinds_rule(password):
    PasswordCharacterKindsValidator().validate(password)
    assert TOO_SIMPLE_MESSAGE not in _password_errors(password)


# Passwords: Django's common-password list.


@pytest.mark.parametrize("password", ["password1", "qwerty123", "abcd1234", "Abcdefg1", "iloveyou1"])
def test_common_password_is_refused_even_when_it_meets_length_and_kinds(password):
    PasswordLengthValidator().validate(password)
    PasswordCharacterKindsValidator().validate(password)
    assert _password_errors(password) == [TOO_COMMON_MESSAGE]


# Passwords: not too similar to the user's own attributes.


def test_password_too_similar_to_the_username_is_refused():
    user = _unsaved_user(username="jonathan", email="someone@example.com")
    assert _password_errors("jonathan1!", user) == ["The password is too similar to the username."]


def test_password_too_similar_to_the_email_is_refused():
    user = _unsaved_user(username="quentin", email="marguerite@example.com")
    assert _password_errors("marguerite1", user) == ["The password is too similar to the email."]


def test_password_unlike_the_user_attributes_is_accepted():
    user = _unsaved_user(username="jonathan", email="marguerite@example.com")
    assert _password_errors("Zebra-Lamp-42", user) == []


def test_every_failed_password_rule_is_reported_together():
    user = _unsaved_user(username="aaaa", email="aaaa@example.com")
    errors = _password_errors("aaaa", user)
    assert TOO_SHORT_MESSAGE in errors
    assert TOO_SIMPLE_MESSAGE in errors
    assert "The password is too similar to the username." in errors
