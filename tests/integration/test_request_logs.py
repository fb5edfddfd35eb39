"""Logs (issue 14): every line says when, how bad, which request, which user and which client; one line per
request and per audit event; X-Request-ID from a trusted proxy or generated, and always answered back."""

import ipaddress
import json
import logging
import re

import pytest
from django.test import Client

from core import logs
from core.audit import Origin
from tests.factories import UserFactory
from tests.integration.conftest import logged_in_client, post_login
from tests.integration.test_api_errors import database_down

pytestmark = pytest.mark.django_db

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
TEXT_LINE = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<level>[A-Z]+) (?P<logger>\S+) "
    r"request_id=(?P<request_id>\S+) user=(?P<user>\S+) ip=(?P<ip>\S+) (?P<message>.*)"
)
PROXY = "10.0.0.5"


class _Lines(logging.Handler):
    def __init__(self, formatter):
        super().__init__()
        self.setFormatter(formatter)
        self.addFilter(logs.ContextFilter())
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def _capture(formatter):
    handler = _Lines(formatter)
    logging.getLogger().addHandler(handler)
    return handler


@pytest.fixture
def text_lines():
    handler = _capture(logs.TextFormatter())
    yield handler.lines
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def json_lines():
    handler = _capture(logs.JsonFormatter())
    yield handler.lines
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def behind_proxy(settings):
    settings.PANEL_TRUSTED_PROXIES = [ipaddress.ip_network(PROXY)]


def _parsed(lines, logger):
    return [TEXT_LINE.fullmatch(line).groupdict() for line in lines if line.split(" ")[2] == logger]


# X-Request-ID


@pytest.mark.parametrize("path", ["/login/", "/no-such-page/", "/livez", "/static/css/panel.css"])
def test_every_answer_carries_a_generated_request_id(path):
    response = Client().get(path)
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


def test_each_request_gets_its_own_id():
    client = Client()
    assert client.get("/login/")["X-Request-ID"] != client.get("/login/")["X-Request-ID"]


def test_the_fault_page_carries_the_request_id_too(text_lines):
    client = logged_in_client(UserFactory(), raise_request_exception=False)
    text_lines.clear()
    with database_down():
        response = client.get("/account/")
    assert response.status_code == 503
    [line] = _parsed(text_lines, "panel.request")
    assert line["request_id"] == response["X-Request-ID"]
    assert line["message"].startswith("GET /account/ 503 ")


def test_a_trusted_proxys_request_id_is_kept(behind_proxy):
    response = Client().get("/login/", REMOTE_ADDR=PROXY, headers={"X-Request-ID": "nginx-7f3a:01"})
    assert response["X-Request-ID"] == "nginx-7f3a:01"


def test_a_clients_own_request_id_is_ignored(behind_proxy):
    response = Client().get("/login/", REMOTE_ADDR="203.0.113.9", headers={"X-Request-ID": "chosen-by-me"})
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize("given", ["two words", "a\tb", "x" * 129, "id=1;user=admin", "é"])
def test_a_malformed_request_id_is_replaced_even_from_the_proxy(behind_proxy, given):
    response = Client().get("/login/", REMOTE_ADDR=PROXY, headers={"X-Request-ID": given})
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


# One line per request


def test_one_line_per_request_with_time_level_id_user_ip_and_what_was_answered(text_lines):
    user = UserFactory(username="alice")
    response = logged_in_client(user).get("/account/?tab=1", REMOTE_ADDR="192.0.2.7")
    [line] = _parsed(text_lines, "panel.request")
    assert line["level"] == "INFO"
    assert (line["request_id"], line["user"], line["ip"]) == (response["X-Request-ID"], f"{user.pk}:alice", "192.0.2.7")
    assert re.fullmatch(r"GET /account/ 200 \d+(\.\d)?ms", line["message"])  # no query string


def test_an_anonymous_request_logs_no_user(text_lines):
    Client().get("/login/")
    [line] = _parsed(text_lines, "panel.request")
    assert line["user"] == "-"


def test_the_client_ip_is_the_one_the_trusted_proxy_names(behind_proxy, text_lines):
    Client().get("/login/", REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": "198.51.100.4"})
    [line] = _parsed(text_lines, "panel.request")
    assert line["ip"] == "198.51.100.4"


def test_a_password_reset_links_token_is_never_logged(text_lines, mailoutbox):
    UserFactory(email="alice@example.com")
    Client().post("/password-reset/", {"email": "alice@example.com"})
    [link] = re.findall(r"http://testserver(/password-reset/\S+/)", mailoutbox[0].body)
    token = link.split("/")[3]
    Client().get(link)
    assert not [line for line in text_lines if token in line]
    assert any(f"GET {link.replace(token, logs.REDACTED)} 302 " in line for line in text_lines)


def test_redact_replaces_only_the_token():
    assert logs.redact("GET /password-reset/MQ/cf3x-0a1b2c3d4e5f/ 302") == "GET /password-reset/MQ/<redacted>/ 302"
    assert logs.redact("/password-reset/MQ/set-password/") == "/password-reset/MQ/set-password/"
    assert logs.redact("/password-reset/sent/") == "/password-reset/sent/"


# One line per audit event, inside its request


def test_an_audit_event_is_logged_with_its_requests_id_and_never_its_details(text_lines):
    UserFactory(username="alice")
    response = post_login(Client(REMOTE_ADDR="192.0.2.8"), "alice")
    [line] = [line for line in _parsed(text_lines, "panel.audit") if "auth.login" in line["message"]]
    assert (line["request_id"], line["ip"]) == (response["X-Request-ID"], "192.0.2.8")
    assert re.fullmatch(
        r"audit action=auth\.login actor=alice target=user:\d+ outcome=success via=web", line["message"]
    )


def test_a_failed_login_logs_neither_the_name_typed_nor_a_password(text_lines):
    post_login(Client(), "Pa55word-typed-as-name", "wrong-password-123")
    audit = "\n".join(line for line in text_lines if " panel.audit " in line)
    assert "outcome=failure" in audit
    assert "Pa55word-typed-as-name" not in audit and "wrong-password-123" not in audit


def test_outside_a_request_a_line_has_no_request_id_user_or_ip(text_lines):
    from core.audit import record

    record(origin=Origin.command("user"), action="user.create", target=UserFactory())
    [line] = _parsed(text_lines, "panel.audit")
    assert (line["request_id"], line["user"], line["ip"]) == ("-", "-", "-")
    assert "actor=operator" in line["message"] and "via=command" in line["message"]


# PANEL_LOG_FORMAT=json


def test_json_lines_are_one_object_each_with_the_same_fields(json_lines):
    user = UserFactory(username="alice")
    response = logged_in_client(user).get("/account/", REMOTE_ADDR="192.0.2.7")
    [entry] = [json.loads(line) for line in json_lines if json.loads(line)["logger"] == "panel.request"]
    assert entry["level"] == "INFO" and entry["time"].endswith("Z")
    assert (entry["request_id"], entry["user"], entry["ip"]) == (
        response["X-Request-ID"],
        f"{user.pk}:alice",
        "192.0.2.7",
    )
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/account/", 200)
    assert isinstance(entry["duration_ms"], float)


def test_a_json_audit_line_carries_the_event_as_fields(json_lines):
    UserFactory(username="alice")
    post_login(Client(), "alice")
    [entry] = [json.loads(line) for line in json_lines if '"auth.login"' in line]
    assert (entry["action"], entry["actor"], entry["outcome"]) == ("auth.login", "alice", "success")


def test_a_traceback_stays_inside_its_json_line(json_lines):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("panel.test").exception("it failed")
    [line] = json_lines
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exception"]
