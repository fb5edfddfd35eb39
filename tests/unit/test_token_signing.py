"""AcePanel-compatible request signing (DESIGN.md) and the Bearer string, as pure functions."""

import hashlib

import pytest

from tokens import credentials, signing

EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
VECTOR_SIGNATURE = "0acf9b3e9bcb3340df2c789e4009fb2f710cc995022c1359af5322616875da16"
SIGNATURE = "ab" * 32
SECRET = "S" * 43


# The published vector


def test_published_vector_canonical_request():
    canonical = signing.canonical_request("GET", "/api/user/info", "page=1&size=20", b"")

    assert canonical == f"GET\n/api/user/info\npage=1&size=20\n{EMPTY_BODY_SHA256}"


def test_published_vector_signs_to_the_published_signature():
    canonical = signing.canonical_request("GET", "/api/user/info", "page=1&size=20", b"")

    assert signing.signature("docs-demo-token", "1700000000", canonical) == VECTOR_SIGNATURE


def test_published_vector_signs_the_same_whatever_the_order_of_the_query():
    canonical = signing.canonical_request("GET", "/api/user/info", "size=20&page=1", b"")

    assert signing.signature("docs-demo-token", "1700000000", canonical) == VECTOR_SIGNATURE


def test_signature_is_lowercase_hex_of_64_characters():
    canonical = signing.canonical_request("GET", "/api/user/info", "", b"")

    value = signing.signature("docs-demo-token", "1700000000", canonical)

    assert len(value) == 64
    assert value == value.lower()
    int(value, 16)


def test_signature_depends_on_the_timestamp():
    canonical = signing.canonical_request("GET", "/api/user/info", "page=1&size=20", b"")

    assert signing.signature("docs-demo-token", "1700000001", canonical) != VECTOR_SIGNATURE


def test_signature_depends_on_the_secret():
    canonical = signing.canonical_request("GET", "/api/user/info", "page=1&size=20", b"")

    assert signing.signature("docs-demo-tokem", "1700000000", canonical) != VECTOR_SIGNATURE


# The canonical request


def test_canonical_request_upper_cases_the_method():
    assert signing.canonical_request("post", "/api/users", "", b"").startswith("POST\n")


def test_canonical_request_ends_with_the_sha256_of_the_exact_body_bytes():
    body = b'{"username": "carol"}'

    canonical = signing.canonical_request("POST", "/api/users", "", body)

    assert canonical.split("\n")[3] == hashlib.sha256(body).hexdigest()


def test_canonical_request_without_a_query_has_an_empty_third_line():
    assert signing.canonical_request("GET", "/api/users", "", b"").split("\n")[2] == ""


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("size=20&page=1", "page=1&size=20"),
        ("b=2&a=1&c=3", "a=1&b=2&c=3"),
    ],
)
def test_canonical_query_sorts_the_keys(query, canonical):
    assert signing.canonical_query(query) == canonical


def test_canonical_query_keeps_the_values_of_a_repeated_key_in_their_order():
    assert signing.canonical_query("tag=z&b=1&tag=a&tag=m") == "b=1&tag=z&tag=a&tag=m"


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("q=a b", "q=a+b"),
        ("q=a%20b", "q=a+b"),
        ("q=a+b", "q=a+b"),
        ("path=/etc/passwd", "path=%2Fetc%2Fpasswd"),
        ("path=%2fetc", "path=%2Fetc"),
        ("name=%C3%A9t%C3%A9", "name=%C3%A9t%C3%A9"),
        ("x=a%26b", "x=a%26b"),
    ],
)
def test_canonical_query_uses_form_style_escaping(query, canonical):
    assert signing.canonical_query(query) == canonical


def test_canonical_query_keeps_blank_values():
    assert signing.canonical_query("search=&page=1") == "page=1&search="


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/user/info", "/api/user/info"),
        ("/panel/api/user/info", "/api/user/info"),
        ("/hosting/panel/api/users/3", "/api/users/3"),
    ],
)
def test_api_path_is_the_path_from_api_on(path, expected):
    assert signing.api_path(path) == expected


def test_api_path_skips_a_prefix_that_merely_starts_with_api():
    assert signing.api_path("/apis/api/user/info") == "/api/user/info"


def test_canonical_request_under_a_prefix_equals_the_one_without():
    prefixed = signing.canonical_request("GET", "/panel/api/user/info", "page=1&size=20", b"")

    assert prefixed == signing.canonical_request("GET", "/api/user/info", "page=1&size=20", b"")


# The Authorization header


def test_parse_authorization_reads_credential_and_signature():
    value = f"HMAC-SHA256 Credential=16, Signature={VECTOR_SIGNATURE}"

    assert signing.parse_authorization(value) == (16, VECTOR_SIGNATURE)


def test_parse_authorization_accepts_fields_without_a_space_after_the_comma():
    assert signing.parse_authorization(f"HMAC-SHA256 Credential=16,Signature={SIGNATURE}") == (16, SIGNATURE)


def test_parse_authorization_accepts_the_fields_in_either_order():
    assert signing.parse_authorization(f"HMAC-SHA256 Signature={SIGNATURE}, Credential=16") == (16, SIGNATURE)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("HMAC-SHA256", id="scheme-only"),
        pytest.param(f"hmac-sha256 Credential=16, Signature={SIGNATURE}", id="lowercase-scheme"),
        pytest.param(f"HMAC-SHA1 Credential=16, Signature={SIGNATURE}", id="other-algorithm"),
        pytest.param(f"Bearer Credential=16, Signature={SIGNATURE}", id="bearer-scheme"),
        pytest.param("HMAC-SHA256 Credential=16", id="no-signature"),
        pytest.param(f"HMAC-SHA256 Signature={SIGNATURE}", id="no-credential"),
        pytest.param(f"HMAC-SHA256 Credential=16, Credential=17, Signature={SIGNATURE}", id="repeated-credential"),
        pytest.param(f"HMAC-SHA256 Credential=16, Signature={SIGNATURE}, Extra=1", id="extra-field"),
        pytest.param(f"HMAC-SHA256 Credential 16, Signature={SIGNATURE}", id="field-without-equals"),
        pytest.param(f"HMAC-SHA256 Credential=, Signature={SIGNATURE}", id="empty-credential"),
        pytest.param(f"HMAC-SHA256 Credential=abc, Signature={SIGNATURE}", id="non-numeric-credential"),
        pytest.param(f"HMAC-SHA256 Credential=-16, Signature={SIGNATURE}", id="negative-credential"),
        pytest.param(f"HMAC-SHA256 Credential=１６, Signature={SIGNATURE}", id="non-ascii-digits"),
        pytest.param(f"HMAC-SHA256 Credential={'9' * 20}, Signature={SIGNATURE}", id="credential-too-long"),
        pytest.param("HMAC-SHA256 Credential=16, Signature=", id="empty-signature"),
        pytest.param(f"HMAC-SHA256 Credential=16, Signature={SIGNATURE[:-2]}", id="short-signature"),
        pytest.param(f"HMAC-SHA256 Credential=16, Signature={SIGNATURE}00", id="long-signature"),
        pytest.param(f"HMAC-SHA256 Credential=16, Signature={SIGNATURE.upper()}", id="uppercase-signature"),
        pytest.param(f"HMAC-SHA256 Credential=16, Signature={'g' * 64}", id="non-hex-signature"),
    ],
)
def test_parse_authorization_refuses_a_malformed_header(value):
    assert signing.parse_authorization(value) is None


# The Bearer string


def test_bearer_string_has_the_recognisable_prefix():
    assert credentials.bearer_string(16, SECRET) == f"pnl_16_{SECRET}"


def test_parse_bearer_reads_the_token_id_and_secret():
    assert credentials.parse_bearer(f"pnl_16_{SECRET}") == (16, SECRET)


def test_parse_bearer_reads_back_a_fresh_bearer_string():
    secret = credentials.new_secret()

    assert credentials.parse_bearer(credentials.bearer_string(12345, secret)) == (12345, secret)


def test_parse_bearer_keeps_underscores_and_dashes_inside_the_secret():
    secret = "a_b-c" + "x" * 40

    assert credentials.parse_bearer(f"pnl_7_{secret}") == (7, secret)


def test_new_secret_is_at_least_32_url_safe_characters():
    secret = credentials.new_secret()

    assert len(secret) >= 32
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_new_secret_differs_each_time():
    assert credentials.new_secret() != credentials.new_secret()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param(SECRET, id="secret-only"),
        pytest.param(f"16_{SECRET}", id="no-prefix"),
        pytest.param(f"PNL_16_{SECRET}", id="uppercase-prefix"),
        pytest.param(f"ghp_16_{SECRET}", id="other-prefix"),
        pytest.param(f"pnl__{SECRET}", id="no-id"),
        pytest.param(f"pnl_0_{SECRET}", id="zero-id"),
        pytest.param(f"pnl_016_{SECRET}", id="leading-zero-id"),
        pytest.param(f"pnl_-16_{SECRET}", id="negative-id"),
        pytest.param(f"pnl_{'9' * 20}_{SECRET}", id="id-too-long"),
        pytest.param("pnl_16_", id="no-secret"),
        pytest.param(f"pnl_16_{'S' * 31}", id="secret-too-short"),
        pytest.param(f"pnl_16_{'S' * 129}", id="secret-too-long"),
        pytest.param(f"pnl_16_{SECRET[:-1]}=", id="secret-with-padding"),
        pytest.param(f"pnl_16_{SECRET[:-1]}.", id="secret-with-dot"),
        pytest.param(f"pnl_16_{SECRET} ", id="trailing-space"),
        pytest.param(f" pnl_16_{SECRET}", id="leading-space"),
        pytest.param(f"pnl_16_{SECRET}\n", id="trailing-newline"),
    ],
)
def test_parse_bearer_refuses_what_is_not_a_bearer_string(value):
    assert credentials.parse_bearer(value) is None
