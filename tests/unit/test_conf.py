"""Configuration from the environment: safe defaults, and a clear refusal of bad values."""

import ipaddress
import re
import runpy
import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import conf, env

VAR = "PANEL_TEST_SETTING"


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    for name in (VAR, *conf.CATALOGUE):
        monkeypatch.delenv(name, raising=False)


# env_bool


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_gives_the_default(default):
    assert env.env_bool(VAR, default) is default


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "on", " on "])
def test_env_bool_reads_true(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    assert env.env_bool(VAR, False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_reads_false(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    assert env.env_bool(VAR, True) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "truee"])
def test_env_bool_refuses_other_values_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR} must be true or false"):
        env.env_bool(VAR, False)


# env_int


def test_env_int_unset_gives_the_default():
    assert env.env_int(VAR, 3600) == 3600


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("42", 42), ("-5", -5), (" 7 ", 7)])
def test_env_int_reads_whole_numbers(monkeypatch, raw, value):
    monkeypatch.setenv(VAR, raw)
    assert env.env_int(VAR, 1) == value


@pytest.mark.parametrize("raw", ["", "abc", "1.5", "1e3", "12h"])
def test_env_int_refuses_other_values_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR} must be a whole number"):
        env.env_int(VAR, 1)


# env_list


def test_env_list_unset_gives_the_default():
    assert env.env_list(VAR, ["localhost"]) == ["localhost"]


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(VAR, " panel.example.com, ,localhost,, [::1] ")
    assert env.env_list(VAR, []) == ["panel.example.com", "localhost", "[::1]"]


def test_env_list_set_empty_gives_an_empty_list(monkeypatch):
    monkeypatch.setenv(VAR, "")
    assert env.env_list(VAR, ["localhost"]) == []


# env_networks


def test_env_networks_unset_gives_the_default():
    assert env.env_networks(VAR, []) == []


def test_env_networks_reads_addresses_and_cidrs_of_both_families(monkeypatch):
    monkeypatch.setenv(VAR, "10.0.0.0/8, 192.0.2.7, 2001:db8::/32, ::1")
    assert env.env_networks(VAR, []) == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
        ipaddress.ip_network("::1/128"),
    ]


def test_env_networks_accepts_a_cidr_with_host_bits_as_its_network(monkeypatch):
    monkeypatch.setenv(VAR, "10.1.2.3/8")
    assert env.env_networks(VAR, []) == [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize("raw", ["proxy.example.com", "10.0.0.0/33", "300.1.1.1", "10.0.0.1, nope", "2001:db8::/129"])
def test_env_networks_refuses_anything_but_addresses_and_cidrs_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env.env_networks(VAR, [])


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
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": "redis://cache.example.com:6379/1",
        # A frozen Redis answers nothing: each call gives up after PANEL_CACHE_TIMEOUT seconds.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


def test_cache_timeout_is_configurable(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache.example.com:6379/1")
    monkeypatch.setenv("PANEL_CACHE_TIMEOUT", "3")
    assert conf.cache()["OPTIONS"] == {"socket_connect_timeout": 3, "socket_timeout": 3}


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


# The catalogue: every variable, its default and its rules


def _readme_rows():
    """README.md's Configuration table as (variable, default, meaning) rows."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[:2] == ["| variable | default | meaning |", "| --- | --- | --- |"]
    parsed = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert len(cells) == 3, row
        name = re.fullmatch(r"`([A-Z0-9_]+)`", cells[0])
        assert name, f"one variable per row, in backticks: {row}"
        parsed.append((name.group(1), cells[1], cells[2]))
    return parsed


def test_readme_lists_exactly_the_catalogues_variables_in_its_order():
    assert [name for name, _, _ in _readme_rows()] == list(conf.CATALOGUE)


def test_readme_shows_each_variables_default_and_meaning_as_the_catalogue_does():
    assert _readme_rows() == [(v.name, v.shown, v.meaning) for v in conf.CATALOGUE.values()]


def test_readme_table_is_what_readme_table_prints():
    assert conf.readme_table() in (ROOT / "README.md").read_text(encoding="utf-8")


def _as_shown(default):
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return ",".join(default)
    return str(default)


@pytest.mark.parametrize("variable", conf.CATALOGUE.values(), ids=lambda variable: variable.name)
def test_the_shown_default_is_the_real_default(variable):
    if variable.default is conf.DERIVED or variable.default in ("", []):
        assert not variable.shown.startswith(("`false`", "`true`")) and variable.shown  # described in words
    else:
        assert variable.shown.startswith(f"`{_as_shown(variable.default)}`")


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("SECRET_KEY", ""),
        ("PANEL_SECRET_KEY_FALLBACKS", []),
        ("DATABASE_URL", ""),
        ("REDIS_URL", ""),
        ("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"]),
        ("CSRF_TRUSTED_ORIGINS", []),
        ("PANEL_DEBUG", False),
        ("PANEL_HTTPS", False),
        ("PANEL_SSL_REDIRECT", True),
        ("PANEL_HSTS_SECONDS", 31536000),
        ("PANEL_HSTS_PRELOAD", False),
        ("PANEL_BEHIND_TLS_PROXY", False),
        ("PANEL_TRUSTED_PROXIES", []),
        ("PANEL_ENCRYPTION_KEYS", []),
        ("PANEL_SESSION_AGE", 43200),
        ("PANEL_SESSION_IDLE_TIMEOUT", 3600),
        ("PANEL_REAUTH_SECONDS", 900),
        ("PANEL_ARGON2_MEMORY_KIB", 19456),
        ("PANEL_ARGON2_TIME_COST", 2),
        ("PANEL_ARGON2_PARALLELISM", 1),
        ("PANEL_CACHE_TIMEOUT", 1),
        ("PANEL_EMAIL_TIMEOUT", 10),
        ("EMAIL_URL", ""),
        ("DEFAULT_FROM_EMAIL", "panel@localhost"),
        ("PANEL_NAME", "Panel"),
        ("PANEL_NOTIFY_NEW_LOGIN", True),
        ("PANEL_REQUIRE_TWO_FACTOR", False),
        ("PANEL_PASSKEY_RP_ID", ""),
        ("PANEL_PASSKEY_ORIGINS", []),
        ("PANEL_ADMIN_USERNAME", "admin"),
        ("PANEL_ADMIN_PASSWORD", ""),
        ("PANEL_AUDIT_RETENTION_DAYS", 365),
        ("PANEL_DB_CONN_MAX_AGE", 300),
        ("PANEL_MANIFEST_STATIC", False),
        ("PANEL_LOG_LEVEL", "INFO"),
        ("PANEL_LOG_FORMAT", "text"),
        ("PANEL_LANGUAGE", "en"),
        ("PANEL_TIME_ZONE", "UTC"),
    ],
)
def test_each_variable_unset_gives_its_default(name, default):
    assert conf.value(name) == default


@pytest.mark.parametrize("name", ["PANEL_TOTP_ISSUER", "PANEL_ADMIN_EMAIL", "PANEL_VAR_DIR"])
def test_a_derived_default_is_given_by_the_reader(name):
    assert conf.value(name, "from elsewhere") == "from elsewhere"
    with pytest.raises(TypeError, match=name):
        conf.value(name)


def test_every_variable_has_a_default_or_is_derived_and_is_covered_above():
    covered = {"PANEL_TOTP_ISSUER", "PANEL_ADMIN_EMAIL", "PANEL_VAR_DIR"}
    params = test_each_variable_unset_gives_its_default.pytestmark[0].args[1]
    covered |= {name for name, _ in params}
    assert covered == set(conf.CATALOGUE)


def test_a_catalogued_default_cannot_be_overridden_by_a_reader():
    with pytest.raises(TypeError, match="PANEL_NAME"):
        conf.value("PANEL_NAME", "Other")


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("PANEL_HSTS_SECONDS", "0", 0),
        ("PANEL_DB_CONN_MAX_AGE", "0", 0),
        ("PANEL_SESSION_AGE", "1", 1),
        ("PANEL_SESSION_IDLE_TIMEOUT", "1", 1),
        ("PANEL_LOG_LEVEL", "WARNING", "WARNING"),
        ("PANEL_LOG_LEVEL", " debug ", "DEBUG"),
        ("PANEL_LOG_LEVEL", "warn", "WARN"),
        ("PANEL_LOG_FORMAT", " JSON ", "json"),
        ("PANEL_NOTIFY_NEW_LOGIN", "false", False),
        ("PANEL_LANGUAGE", "zh-hans", "zh-hans"),
        ("PANEL_LANGUAGE", " ZH-Hant ", "zh-hant"),
        ("PANEL_TIME_ZONE", "Asia/Taipei", "Asia/Taipei"),
        ("PANEL_TIME_ZONE", "America/Argentina/ComodRivadavia", "America/Argentina/ComodRivadavia"),
        (
            "PANEL_ENCRYPTION_KEYS",
            "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
            ["ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="],
        ),
        ("EMAIL_URL", "smtp+tls://mail.example.com:587", "smtp+tls://mail.example.com:587"),
        ("PANEL_TRUSTED_PROXIES", "0.0.0.0/0", [ipaddress.ip_network("0.0.0.0/0")]),  # allowed; a check warns
    ],
)
def test_the_least_and_other_allowed_values_are_accepted(monkeypatch, name, raw, value):
    monkeypatch.setenv(name, raw)
    assert conf.value(name) == value


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("PANEL_SESSION_AGE", "0", "PANEL_SESSION_AGE must be a whole number of seconds, 1 or more, not 0."),
        ("PANEL_SESSION_AGE", "-3600", "PANEL_SESSION_AGE must be a whole number of seconds, 1 or more, not -3600."),
        ("PANEL_SESSION_AGE", "12h", "PANEL_SESSION_AGE must be a whole number, not '12h'."),
        ("PANEL_SESSION_IDLE_TIMEOUT", "0", "PANEL_SESSION_IDLE_TIMEOUT must be a whole number of seconds, 1 or more"),
        ("PANEL_REAUTH_SECONDS", "0", "PANEL_REAUTH_SECONDS must be a whole number of seconds, 1 or more"),
        ("PANEL_CACHE_TIMEOUT", "0", "PANEL_CACHE_TIMEOUT must be a whole number of seconds, 1 or more"),
        ("PANEL_EMAIL_TIMEOUT", "0", "PANEL_EMAIL_TIMEOUT must be a whole number of seconds, 1 or more"),
        ("PANEL_SESSION_IDLE_TIMEOUT", "1.5", "PANEL_SESSION_IDLE_TIMEOUT must be a whole number"),
        ("PANEL_HSTS_SECONDS", "-1", "PANEL_HSTS_SECONDS must be a whole number of seconds, 0 or more, not -1."),
        ("PANEL_HSTS_SECONDS", "a year", "PANEL_HSTS_SECONDS must be a whole number"),
        ("PANEL_DB_CONN_MAX_AGE", "-1", "PANEL_DB_CONN_MAX_AGE must be a whole number of seconds, 0 or more, not -1."),
        ("PANEL_DB_CONN_MAX_AGE", "forever", "PANEL_DB_CONN_MAX_AGE must be a whole number"),
        ("PANEL_LOG_LEVEL", "verbose", "PANEL_LOG_LEVEL must be one of CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, "),
        ("PANEL_LOG_LEVEL", "", "PANEL_LOG_LEVEL must be one of"),
        ("PANEL_LOG_FORMAT", "yaml", "PANEL_LOG_FORMAT must be one of text, json, not 'yaml'."),
        ("PANEL_ENCRYPTION_KEYS", "not-a-key", "PANEL_ENCRYPTION_KEYS must hold Fernet keys"),
        (
            "PANEL_ENCRYPTION_KEYS",
            "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=,c2hvcnQ=",
            "PANEL_ENCRYPTION_KEYS must hold",
        ),
        ("EMAIL_URL", "http://mail.example.com", "EMAIL_URL must start with smtp://, smtp+tls:// or smtp+ssl://."),
        ("PANEL_TRUSTED_PROXIES", "proxy.example.com", "PANEL_TRUSTED_PROXIES: "),
        ("PANEL_LANGUAGE", "fr", "PANEL_LANGUAGE must be one of en, zh-hans, zh-hant, not 'fr'."),
        ("PANEL_LANGUAGE", "zh-cn", "PANEL_LANGUAGE must be one of en, zh-hans, zh-hant, not 'zh-cn'."),
        ("PANEL_LANGUAGE", "", "PANEL_LANGUAGE must be one of"),
        ("PANEL_TIME_ZONE", "Asia/Taipe", "PANEL_TIME_ZONE must be an IANA time zone name such as UTC or Asia/Taipei"),
        ("PANEL_TIME_ZONE", "asia/taipei", "PANEL_TIME_ZONE must be an IANA time zone name"),
        ("PANEL_TIME_ZONE", "Asia/Taipe\u0456", "PANEL_TIME_ZONE must be an IANA time zone name"),  # a Cyrillic і
        ("PANEL_TIME_ZONE", "+08:00", "PANEL_TIME_ZONE must be an IANA time zone name"),
        ("PANEL_TIME_ZONE", "", "PANEL_TIME_ZONE must be an IANA time zone name"),
    ],
)
def test_each_rule_refuses_a_bad_value_naming_the_variable_and_what_is_allowed(monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ImproperlyConfigured) as refusal:
        conf.value(name)
    assert str(refusal.value).startswith(message)


@pytest.mark.parametrize(
    "name", [v.name for v in conf.CATALOGUE.values() if v.read is env.env_bool], ids=lambda name: name
)
def test_each_switch_refuses_what_is_not_true_or_false(monkeypatch, name):
    monkeypatch.setenv(name, "maybe")
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be true or false, not 'maybe'."):
        conf.value(name)


@pytest.mark.parametrize(
    "name", [v.name for v in conf.CATALOGUE.values() if v.read is env.env_int], ids=lambda name: name
)
def test_each_number_refuses_what_is_not_a_whole_number(monkeypatch, name):
    monkeypatch.setenv(name, "ten")
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be a whole number, not 'ten'."):
        conf.value(name)


def test_a_refused_email_url_does_not_repeat_its_password(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtps://panel:s3cret@mail.example.com")
    with pytest.raises(ImproperlyConfigured) as refusal:
        conf.value("EMAIL_URL")
    assert "s3cret" not in str(refusal.value)


def test_a_bad_value_stops_the_database_reader(monkeypatch, tmp_path):
    monkeypatch.setenv("PANEL_DB_CONN_MAX_AGE", "-5")
    with pytest.raises(ImproperlyConfigured, match="PANEL_DB_CONN_MAX_AGE"):
        conf.database(tmp_path)


# panel/settings.py reads the catalogue: the same settings as before for valid input


def _settings(monkeypatch, tmp_path, **environ):
    monkeypatch.setenv("PANEL_VAR_DIR", str(tmp_path / "var"))
    for name, raw in environ.items():
        monkeypatch.setenv(name, raw)
    return runpy.run_path(str(ROOT / "panel" / "settings.py"))


def test_settings_with_nothing_set_are_the_embedded_default(monkeypatch, tmp_path):
    namespace = _settings(monkeypatch, tmp_path)
    assert namespace["VAR_DIR"] == tmp_path / "var"
    assert namespace["DEBUG"] is False
    assert namespace["SECRET_KEY"] == (tmp_path / "var" / "secret_key").read_text(encoding="ascii").strip()
    assert namespace["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert namespace["CSRF_TRUSTED_ORIGINS"] == []
    assert namespace["PANEL_NAME"] == namespace["PANEL_TOTP_ISSUER"] == "Panel"
    assert (namespace["PANEL_TRUSTED_PROXIES"], namespace["PANEL_ENCRYPTION_KEYS"]) == ([], [])
    assert (namespace["SESSION_COOKIE_AGE"], namespace["PANEL_SESSION_IDLE_TIMEOUT"]) == (43200, 3600)
    assert namespace["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert namespace["DATABASES"]["default"]["CONN_MAX_AGE"] == 300
    assert namespace["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert namespace["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert namespace["DEFAULT_FROM_EMAIL"] == "panel@localhost"
    assert namespace["PANEL_REQUIRE_TWO_FACTOR"] is False
    assert (namespace["PANEL_PASSKEY_RP_ID"], namespace["PANEL_PASSKEY_ORIGINS"]) == ("", [])
    assert namespace["STORAGES"]["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert namespace["LOGGING"]["root"]["level"] == "INFO"
    assert (namespace["LANGUAGE_CODE"], namespace["TIME_ZONE"]) == ("en", "UTC")
    assert [code for code, _name in namespace["LANGUAGES"]] == ["en", "zh-hans", "zh-hant"]
    assert namespace["PANEL_HTTPS"] is False
    for https_only in (
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
    ):
        assert https_only not in namespace


PRODUCTION = {
    "SECRET_KEY": "a-production-secret-key-that-is-long-enough-0123456789",
    "PANEL_ENCRYPTION_KEYS": "q9Uw0Y1ZrQ8k3m4b6nV2xT7cJ5hL0pA9sD8fG1jK2lM=",
    "ALLOWED_HOSTS": "panel.example.com",
    "PANEL_HTTPS": "true",
    "PANEL_HSTS_PRELOAD": "true",
    "PANEL_BEHIND_TLS_PROXY": "true",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def test_settings_take_the_panels_language_and_time_zone(monkeypatch, tmp_path):
    namespace = _settings(monkeypatch, tmp_path, PANEL_LANGUAGE="ZH-HANT", PANEL_TIME_ZONE="Asia/Taipei")
    assert (namespace["LANGUAGE_CODE"], namespace["TIME_ZONE"]) == ("zh-hant", "Asia/Taipei")


def test_settings_for_production_from_the_readme(monkeypatch, tmp_path):
    namespace = _settings(monkeypatch, tmp_path, **PRODUCTION)
    assert namespace["SECRET_KEY"] == PRODUCTION["SECRET_KEY"]
    assert namespace["ALLOWED_HOSTS"] == ["panel.example.com"]
    assert namespace["PANEL_HTTPS"] is True
    assert (namespace["SESSION_COOKIE_SECURE"], namespace["CSRF_COOKIE_SECURE"]) == (True, True)
    assert namespace["LANGUAGE_COOKIE_SECURE"] is True
    assert namespace["SECURE_SSL_REDIRECT"] is True
    assert namespace["SECURE_HSTS_SECONDS"] == 31536000
    assert (namespace["SECURE_HSTS_INCLUDE_SUBDOMAINS"], namespace["SECURE_HSTS_PRELOAD"]) == (True, True)
    assert namespace["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert (namespace["SESSION_COOKIE_NAME"], namespace["CSRF_COOKIE_NAME"]) == ("__Host-sessionid", "__Host-csrftoken")
    assert namespace["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert namespace["CACHES"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/15"


# Production refuses to start without its keys; the quick start is not production


@pytest.mark.parametrize(
    ("https", "debug", "hosts", "production"),
    [
        (False, False, ["localhost", "127.0.0.1", "[::1]"], False),  # make run, make test
        (False, True, ["panel.example.com"], False),  # a developer's debug run on a LAN name
        (False, False, ["panel.example.com"], True),
        (False, False, ["localhost", "10.0.0.7"], True),
        (False, False, ["*"], True),
        (True, False, ["localhost"], True),
        (True, True, ["localhost"], True),
    ],
)
def test_production_is_https_or_debug_off_answering_to_a_public_name(https, debug, hosts, production):
    assert conf.is_production(https=https, debug=debug, allowed_hosts=hosts) is production


@pytest.mark.parametrize(
    "environ",
    [{"PANEL_HTTPS": "true"}, {"ALLOWED_HOSTS": "panel.example.com"}],
    ids=["https", "public-host"],
)
@pytest.mark.parametrize("missing", ["SECRET_KEY", "PANEL_ENCRYPTION_KEYS"])
def test_production_without_a_key_refuses_to_load_saying_what_to_set(monkeypatch, tmp_path, environ, missing):
    keys = {name: raw for name, raw in PRODUCTION.items() if name in conf.PRODUCTION_KEYS and name != missing}
    with pytest.raises(ImproperlyConfigured, match=rf"- {missing} is not set: .* Make one with: python3 -c"):
        _settings(monkeypatch, tmp_path, **environ, **keys)
    assert not (tmp_path / "var" / "secret_key").exists()


def test_an_empty_key_counts_as_missing(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        _settings(monkeypatch, tmp_path, **{**PRODUCTION, "SECRET_KEY": ""})


def test_the_refusal_never_repeats_a_key_it_was_given(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured) as refusal:
        _settings(monkeypatch, tmp_path, **{**PRODUCTION, "PANEL_ENCRYPTION_KEYS": ""})
    assert PRODUCTION["SECRET_KEY"] not in str(refusal.value)


def test_secret_key_fallbacks_are_read_in_order(monkeypatch, tmp_path):
    namespace = _settings(monkeypatch, tmp_path, **PRODUCTION, PANEL_SECRET_KEY_FALLBACKS="older, oldest")
    assert namespace["SECRET_KEY_FALLBACKS"] == ["older", "oldest"]


def test_settings_read_every_variable_they_are_given(monkeypatch, tmp_path):
    namespace = _settings(
        monkeypatch,
        tmp_path,
        **PRODUCTION,
        PANEL_DEBUG="false",
        PANEL_SSL_REDIRECT="false",
        PANEL_HSTS_SECONDS="0",
        PANEL_SESSION_AGE="7200",
        PANEL_SESSION_IDLE_TIMEOUT="600",
        PANEL_NAME="Acme admin",
        PANEL_TRUSTED_PROXIES="10.0.0.5",
        CSRF_TRUSTED_ORIGINS="https://panel.example.com",
        DEFAULT_FROM_EMAIL="panel@example.com",
        PANEL_REQUIRE_TWO_FACTOR="yes",
        PANEL_PASSKEY_RP_ID="panel.example.com",
        PANEL_DB_CONN_MAX_AGE="0",
        PANEL_MANIFEST_STATIC="true",
        PANEL_LOG_LEVEL="warning",
        EMAIL_URL="smtp+tls://mail.example.com:587",
    )
    assert (namespace["SECURE_SSL_REDIRECT"], namespace["SECURE_HSTS_SECONDS"]) == (False, 0)
    assert (namespace["SESSION_COOKIE_AGE"], namespace["PANEL_SESSION_IDLE_TIMEOUT"]) == (7200, 600)
    assert namespace["PANEL_NAME"] == namespace["PANEL_TOTP_ISSUER"] == "Acme admin"
    assert namespace["PANEL_TRUSTED_PROXIES"] == [ipaddress.ip_network("10.0.0.5/32")]
    assert namespace["CSRF_TRUSTED_ORIGINS"] == ["https://panel.example.com"]
    assert namespace["DEFAULT_FROM_EMAIL"] == namespace["OTP_EMAIL_SENDER"] == "panel@example.com"
    assert namespace["PANEL_REQUIRE_TWO_FACTOR"] is True
    assert namespace["PANEL_PASSKEY_RP_ID"] == "panel.example.com"
    assert namespace["PANEL_PASSKEY_ORIGINS"] == ["https://panel.example.com"]
    assert namespace["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    assert namespace["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert namespace["LOGGING"]["root"]["level"] == "WARNING"
    assert namespace["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert namespace["EMAIL_PORT"] == 587


def test_every_catalogued_setting_is_a_django_setting(monkeypatch, tmp_path):
    namespace = _settings(monkeypatch, tmp_path, **PRODUCTION)
    for variable in conf.CATALOGUE.values():
        if variable.setting:
            assert variable.setting in namespace, variable.name
        else:
            assert variable.name.startswith("PANEL_ADMIN_")  # read by manage.py ensure_admin


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("PANEL_SESSION_AGE", "0"),
        ("PANEL_SESSION_IDLE_TIMEOUT", "-1"),
        ("PANEL_LOG_LEVEL", "loud"),
        ("PANEL_DB_CONN_MAX_AGE", "-1"),
        ("PANEL_HTTPS", "maybe"),
        ("PANEL_PASSKEY_RP_ID", "10.0.0.1"),
        ("PANEL_LANGUAGE", "de"),
        ("PANEL_TIME_ZONE", "Mars/Olympus_Mons"),
    ],
)
def test_settings_refuse_to_load_with_a_bad_value(monkeypatch, tmp_path, name, raw):
    with pytest.raises(ImproperlyConfigured, match=name):
        _settings(monkeypatch, tmp_path, **{name: raw})


def test_settings_refuse_a_negative_hsts_age_in_production(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="PANEL_HSTS_SECONDS"):
        _settings(monkeypatch, tmp_path, **PRODUCTION, PANEL_HSTS_SECONDS="-1")
