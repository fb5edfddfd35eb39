"""Which relying party a request's passkey ceremonies belong to, and the configuration that names it.

Browsers allow WebAuthn only in a secure context (HTTPS, or http://localhost)
and only for a domain name; the request's own host is trusted as the RP ID only
when ALLOWED_HOSTS names it exactly, so that a forged Host header cannot pick it.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from passkeys import relying_party
from passkeys.relying_party import NEEDS_HTTPS, PasskeysUnavailable, RelyingParty, for_request, origin_problem

NOT_SET_UP = "an operator must set PANEL_PASSKEY_RP_ID"
NEEDS_A_NAME = "Passkeys need a domain name"


@pytest.fixture(autouse=True)
def _unconfigured(settings):
    """No RP ID configured, no proxy trusted, a few hosts allowed by name."""
    settings.PANEL_PASSKEY_RP_ID = ""
    settings.PANEL_PASSKEY_ORIGINS = []
    settings.PANEL_NAME = "Panel"
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.ALLOWED_HOSTS = ["localhost", "dev.localhost", "panel.example.com"]


def _request(host, *, secure=False, **headers):
    return RequestFactory().get("/passkeys/login/options/", secure=secure, HTTP_HOST=host, headers=headers)


# origin_problem


@pytest.mark.parametrize(
    ("origin", "rp_id"),
    [
        ("http://localhost", "localhost"),
        ("http://localhost:8000", "localhost"),
        ("http://dev.localhost:3000", "localhost"),
        ("https://localhost", "localhost"),
        ("https://panel.example.com", "panel.example.com"),
        ("https://panel.example.com:8443", "panel.example.com"),
        ("https://panel.example.com", "example.com"),
        ("https://a.b.example.com", "example.com"),
    ],
)
def test_origin_problem_accepts_an_origin_on_its_rp_id(origin, rp_id):
    assert origin_problem(origin, rp_id) is None


@pytest.mark.parametrize(
    ("origin", "rp_id", "problem"),
    [
        ("http://panel.example.com", "panel.example.com", "is not HTTPS"),
        ("http://localhost.example.com", "localhost.example.com", "is not HTTPS"),
        ("https://evil.example", "panel.example.com", "is not on the RP ID"),
        ("https://notexample.com", "example.com", "is not on the RP ID"),
        ("https://example.com", "panel.example.com", "is not on the RP ID"),
        ("https://panel.example.com/panel", "panel.example.com", "is not an origin"),
        ("https://panel.example.com/", "panel.example.com", "is not an origin"),
        ("https://panel.example.com?next=/", "panel.example.com", "is not an origin"),
        ("https://panel.example.com#top", "panel.example.com", "is not an origin"),
        ("ftp://panel.example.com", "panel.example.com", "is not an origin"),
        ("panel.example.com", "panel.example.com", "is not an origin"),
        ("", "panel.example.com", "is not an origin"),
        ("https://192.0.2.1", "192.0.2.1", "must be a domain name"),
        ("https://[2001:db8::1]", "2001:db8::1", "must be a domain name"),
        ("https://panel.example.com", "", "must be a domain name"),
    ],
)
def test_origin_problem_names_what_is_wrong(origin, rp_id, problem):
    assert problem in origin_problem(origin, rp_id)


# for_request: the request's own host


def test_localhost_over_http_is_a_relying_party():
    assert for_request(_request("localhost:8000")) == RelyingParty("localhost", "Panel", ("http://localhost:8000",))


def test_a_localhost_subdomain_over_http_is_a_relying_party():
    assert for_request(_request("dev.localhost:8000")) == RelyingParty(
        "dev.localhost", "Panel", ("http://dev.localhost:8000",)
    )


def test_http_on_another_name_needs_https():
    with pytest.raises(PasskeysUnavailable) as unavailable:
        for_request(_request("panel.example.com"))

    assert str(unavailable.value) == NEEDS_HTTPS


def test_https_on_a_host_named_in_allowed_hosts_is_a_relying_party():
    assert for_request(_request("panel.example.com", secure=True)) == RelyingParty(
        "panel.example.com", "Panel", ("https://panel.example.com",)
    )


def test_the_port_is_part_of_the_origin_not_of_the_rp_id():
    assert for_request(_request("panel.example.com:8443", secure=True)) == RelyingParty(
        "panel.example.com", "Panel", ("https://panel.example.com:8443",)
    )


def test_the_host_is_compared_ignoring_case():
    assert for_request(_request("Panel.Example.COM", secure=True)) == RelyingParty(
        "panel.example.com", "Panel", ("https://panel.example.com",)
    )


def test_the_panel_name_is_the_rp_name(settings):
    settings.PANEL_NAME = "Acme admin"

    assert for_request(_request("localhost")).name == "Acme admin"


@pytest.mark.parametrize("wildcard", ["*", ".example.com"])
def test_a_host_allowed_only_through_a_wildcard_needs_the_operator(settings, wildcard):
    settings.ALLOWED_HOSTS = [wildcard]

    with pytest.raises(PasskeysUnavailable, match=NOT_SET_UP):
        for_request(_request("panel.example.com", secure=True))


def test_localhost_allowed_only_through_a_wildcard_needs_the_operator(settings):
    settings.ALLOWED_HOSTS = ["*"]

    with pytest.raises(PasskeysUnavailable, match=NOT_SET_UP):
        for_request(_request("localhost:8000"))


@pytest.mark.parametrize("host", ["192.0.2.1", "192.0.2.1:8443", "[2001:db8::1]", "[2001:db8::1]:8443"])
def test_an_ip_address_is_refused_over_https(settings, host):
    settings.ALLOWED_HOSTS = ["192.0.2.1", "[2001:db8::1]"]

    with pytest.raises(PasskeysUnavailable, match=NEEDS_A_NAME):
        for_request(_request(host, secure=True))


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "192.0.2.1"])
def test_an_ip_address_is_refused_over_http(settings, host):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "[::1]", "192.0.2.1"]

    with pytest.raises(PasskeysUnavailable) as unavailable:
        for_request(_request(host))

    assert str(unavailable.value) == NEEDS_HTTPS


# for_request: behind a TLS-terminating proxy


def test_https_reported_by_a_trusted_proxy_is_secure(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert for_request(_request("panel.example.com", **{"X-Forwarded-Proto": "https"})) == RelyingParty(
        "panel.example.com", "Panel", ("https://panel.example.com",)
    )


def test_a_trusted_proxy_reporting_http_is_not_secure(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    with pytest.raises(PasskeysUnavailable) as unavailable:
        for_request(_request("panel.example.com", **{"X-Forwarded-Proto": "http"}))

    assert str(unavailable.value) == NEEDS_HTTPS


def test_a_forged_forwarded_proto_does_not_make_a_request_secure():
    with pytest.raises(PasskeysUnavailable) as unavailable:
        for_request(_request("panel.example.com", **{"X-Forwarded-Proto": "https"}))

    assert str(unavailable.value) == NEEDS_HTTPS


def test_a_forged_forwarded_proto_does_not_change_the_localhost_origin():
    assert for_request(_request("localhost:8000", **{"X-Forwarded-Proto": "https"})).origins == (
        "http://localhost:8000",
    )


# for_request: PANEL_PASSKEY_RP_ID and PANEL_PASSKEY_ORIGINS configured


@pytest.fixture
def configured(settings):
    settings.PANEL_PASSKEY_RP_ID = "example.com"
    settings.PANEL_PASSKEY_ORIGINS = ["https://panel.example.com", "https://admin.example.com"]
    settings.ALLOWED_HOSTS = ["panel.example.com", "admin.example.com", "other.example.com", "localhost"]
    return settings


@pytest.mark.parametrize("host", ["panel.example.com", "admin.example.com"])
def test_a_configured_origin_uses_the_configured_rp(configured, host):
    assert for_request(_request(host, secure=True)) == RelyingParty(
        "example.com", "Panel", ("https://panel.example.com", "https://admin.example.com")
    )


def test_a_configured_rp_id_is_used_even_when_hosts_are_allowed_by_wildcard(configured):
    configured.ALLOWED_HOSTS = ["*"]

    assert for_request(_request("panel.example.com", secure=True)).id == "example.com"


@pytest.mark.parametrize(
    ("host", "secure"),
    [("other.example.com", True), ("panel.example.com:8443", True), ("localhost:8000", False)],
)
def test_an_origin_that_is_not_configured_is_refused(configured, host, secure):
    with pytest.raises(PasskeysUnavailable) as unavailable:
        for_request(_request(host, secure=secure))

    assert str(unavailable.value) == (
        "Passkeys are set up for https://panel.example.com, https://admin.example.com; "
        "open the panel there to use them."
    )


def test_a_configured_origin_over_plain_http_needs_https(configured):
    with pytest.raises(PasskeysUnavailable) as unavailable:
        for_request(_request("panel.example.com"))

    assert str(unavailable.value) == NEEDS_HTTPS


# passkeys.relying_party.configured


@pytest.fixture
def env(monkeypatch):
    """Set PANEL_PASSKEY_RP_ID and PANEL_PASSKEY_ORIGINS (None: unset)."""
    monkeypatch.delenv("PANEL_PASSKEY_RP_ID", raising=False)
    monkeypatch.delenv("PANEL_PASSKEY_ORIGINS", raising=False)

    def set_env(rp_id=None, origins=None):
        if rp_id is not None:
            monkeypatch.setenv("PANEL_PASSKEY_RP_ID", rp_id)
        if origins is not None:
            monkeypatch.setenv("PANEL_PASSKEY_ORIGINS", origins)

    return set_env


@pytest.mark.parametrize(("rp_id", "origins"), [(None, None), ("", ""), ("  ", " , ")])
def test_unset_means_no_configured_relying_party(env, rp_id, origins):
    env(rp_id, origins)

    assert relying_party.configured() == ("", [])


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        ("panel.example.com", ["https://panel.example.com"]),
        (" Panel.Example.COM ", ["https://panel.example.com"]),
        ("localhost", ["https://localhost"]),
    ],
)
def test_an_rp_id_alone_means_https_on_it(env, rp_id, origins):
    env(rp_id=rp_id)

    assert relying_party.configured() == (rp_id.strip().lower(), origins)


@pytest.mark.parametrize(
    ("origins", "expected"),
    [
        ("https://panel.example.com", ("panel.example.com", ["https://panel.example.com"])),
        (
            "https://Panel.Example.com/, https://admin.panel.example.com:8443",
            ("panel.example.com", ["https://panel.example.com", "https://admin.panel.example.com:8443"]),
        ),
        ("http://localhost:8000", ("localhost", ["http://localhost:8000"])),
    ],
)
def test_origins_alone_take_the_rp_id_from_the_first(env, origins, expected):
    env(origins=origins)

    assert relying_party.configured() == expected


def test_an_rp_id_and_origins_on_its_subdomains(env):
    env(rp_id="example.com", origins="https://panel.example.com,https://admin.example.com")

    assert relying_party.configured() == ("example.com", ["https://panel.example.com", "https://admin.example.com"])


@pytest.mark.parametrize(
    ("rp_id", "origins", "problem"),
    [
        ("example.com", "https://example.org", "is not on the RP ID"),
        ("panel.example.com", "https://panel.example.com,https://evil.example", "is not on the RP ID"),
        (None, "http://panel.example.com", "is not HTTPS"),
        ("example.com", "http://panel.example.com", "is not HTTPS"),
        ("192.0.2.1", None, "must be a domain name"),
        (None, "https://192.0.2.1", "must be a domain name"),
        (None, "https://[2001:db8::1]", "must be a domain name"),
        (None, "https://panel.example.com/panel", "is not an origin"),
        ("panel.example.com", "https://panel.example.com/panel/", "is not an origin"),
        (None, "panel.example.com", "must be a domain name"),
        ("panel.example.com", "ftp://panel.example.com", "is not an origin"),
    ],
)
def test_a_bad_configuration_is_refused_at_startup(env, rp_id, origins, problem):
    env(rp_id, origins)

    with pytest.raises(ImproperlyConfigured, match="PANEL_PASSKEY_ORIGINS") as error:
        relying_party.configured()

    assert problem in str(error.value)
