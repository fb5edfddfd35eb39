"""Configuration from the environment: safe defaults, and a clear refusal of bad values."""

import ipaddress
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import conf

VAR = "PANEL_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    for name in (VAR, "SECRET_KEY", "DATABASE_URL", "EMAIL_URL", "REDIS_URL", "PANEL_DB_CONN_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)


# env_bool


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_gives_the_default(default):
    assert conf.env_bool(VAR, default) is default


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "on", " on "])
def test_env_bool_reads_true(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    assert conf.env_bool(VAR, False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_reads_false(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    assert conf.env_bool(VAR, True) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "truee"])
def test_env_bool_refuses_other_values_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR} must be true or false"):
        conf.env_bool(VAR, False)


# env_int


def test_env_int_unset_gives_the_default():
    assert conf.env_int(VAR, 3600) == 3600


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("42", 42), ("-5", -5), (" 7 ", 7)])
def test_env_int_reads_whole_numbers(monkeypatch, raw, value):
    monkeypatch.setenv(VAR, raw)
    assert conf.env_int(VAR, 1) == value


@pytest.mark.parametrize("raw", ["", "abc", "1.5", "1e3", "12h"])
def test_env_int_refuses_other_values_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR} must be a whole number"):
        conf.env_int(VAR, 1)


# env_list


def test_env_list_unset_gives_the_default():
    assert conf.env_list(VAR, ["localhost"]) == ["localhost"]


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(VAR, " panel.example.com, ,localhost,, [::1] ")
    assert conf.env_list(VAR, []) == ["panel.example.com", "localhost", "[::1]"]


def test_env_list_set_empty_gives_an_empty_list(monkeypatch):
    monkeypatch.setenv(VAR, "")
    assert conf.env_list(VAR, ["localhost"]) == []


# env_networks


def test_env_networks_unset_gives_the_default():
    assert conf.env_networks(VAR, []) == []


def test_env_networks_reads_addresses_and_cidrs_of_both_families(monkeypatch):
    monkeypatch.setenv(VAR, "10.0.0.0/8, 192.0.2.7, 2001:db8::/32, ::1")
    assert conf.env_networks(VAR, []) == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
        ipaddress.ip_network("::1/128"),
    ]


def test_env_networks_accepts_a_cidr_with_host_bits_as_its_network(monkeypatch):
    monkeypatch.setenv(VAR, "10.1.2.3/8")
    assert conf.env_networks(VAR, []) == [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize("raw", ["proxy.example.com", "10.0.0.0/33", "300.1.1.1", "10.0.0.1, nope", "2001:db8::/129"])
def test_env_networks_refuses_anything_but_addresses_and_cidrs_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        conf.env_networks(VAR, [])


# secret_key


def test_secret_key_comes_from_the_environment_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert conf.secret_key(tmp_path / "var") == "from-the-environment"
    assert not (tmp_path / "var").exists()


def test_secret_key_is_generated_into_the_var_dir_when_unset(tmp_path):
    var_dir = tmp_path / "var"
    key = conf.secret_key(var_dir)
    assert len(key) >= 50
    assert (var_dir / "secret_key").read_text(encoding="ascii").strip() == key


def test_generated_secret_key_is_reused_on_the_next_start(tmp_path):
    first = conf.secret_key(tmp_path)
    assert conf.secret_key(tmp_path) == first


def test_generated_secret_keys_differ_between_installations(tmp_path):
    assert conf.secret_key(tmp_path / "one") != conf.secret_key(tmp_path / "two")


def test_generated_secret_key_file_is_readable_by_its_owner_only(tmp_path):
    conf.secret_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_generated_secret_key_file_is_never_readable_by_others_even_with_a_permissive_umask(tmp_path):
    import os

    previous = os.umask(0)
    try:
        conf.secret_key(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


# database


def test_database_defaults_to_sqlite_in_the_var_dir(tmp_path):
    config = conf.database(tmp_path / "var")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "var" / "panel.sqlite3")
    assert (tmp_path / "var").is_dir()


def test_default_sqlite_database_waits_for_locks_and_uses_wal(tmp_path):
    options = conf.database(tmp_path)["OPTIONS"]
    assert options["timeout"] == 20
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]


def test_database_reads_a_postgresql_url(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://panel:s%40cret@db.example.com:6432/panel_prod")
    config = conf.database(tmp_path)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("panel_prod", "panel", "s@cret")
    assert (config["HOST"], config["PORT"]) == ("db.example.com", 6432)
    assert "init_command" not in config.get("OPTIONS", {})


def test_database_keeps_connections_for_the_configured_age(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://panel@db.example.com/panel")
    monkeypatch.setenv("PANEL_DB_CONN_MAX_AGE", "60")
    assert conf.database(tmp_path)["CONN_MAX_AGE"] == 60


# cache


def test_cache_defaults_to_local_memory():
    assert conf.cache() == {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def test_cache_reads_a_redis_url(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache.example.com:6379/1")
    assert conf.cache() == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.example.com:6379/1",
    }


# email


def test_email_defaults_to_the_console():
    assert conf.email() == ("django.core.mail.backends.console.EmailBackend", {})


def test_email_reads_an_smtp_tls_url(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://panel%40example.com:p%40ss%3Aword@mail.example.com:587")
    backend, settings = conf.email()
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
    assert settings == {
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "panel@example.com",
        "EMAIL_HOST_PASSWORD": "p@ss:word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_email_reads_an_smtp_ssl_url(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+ssl://mail.example.com:465")
    _, settings = conf.email()
    assert (settings["EMAIL_USE_SSL"], settings["EMAIL_USE_TLS"], settings["EMAIL_PORT"]) == (True, False, 465)


def test_plain_smtp_url_defaults_to_port_25_without_encryption(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp://mail.example.com")
    _, settings = conf.email()
    assert settings["EMAIL_PORT"] == 25
    assert (settings["EMAIL_USE_TLS"], settings["EMAIL_USE_SSL"]) == (False, False)
    assert (settings["EMAIL_HOST_USER"], settings["EMAIL_HOST_PASSWORD"]) == ("", "")


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtps://mail.example.com", "mail.example.com:25", "submission://x"]
)
def test_email_refuses_other_schemes(monkeypatch, url):
    monkeypatch.setenv("EMAIL_URL", url)
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL must start with smtp://"):
        conf.email()
