"""The API's OpenAPI schema and docs page: public, complete, and usable offline under the panel's CSP."""

import hashlib
import hmac
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.validators import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_MAX_LENGTH
from tokens.validators import MAX_IP_ALLOWLIST_ENTRIES

pytestmark = pytest.mark.django_db

_URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]+)"')
_ABSOLUTE_URL = re.compile(r"(?:https?:)?//[^\s\"'<>]+", re.IGNORECASE)
_OPERATION_ID = re.compile(r"[a-z]+(?:_[a-z]+)*")


@pytest.fixture
def anonymous():
    return Client()


def test_openapi_schema_is_public(anonymous):
    response = anonymous.get("/api/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["openapi"].startswith("3.")


def test_openapi_schema_lists_the_signed_request_and_bearer_schemes(anonymous):
    schemes = anonymous.get("/api/openapi.json").json()["components"]["securitySchemes"]

    assert schemes["SignedRequestAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["SignedRequestAuth"]["description"],
    }
    assert "HMAC-SHA256" in schemes["SignedRequestAuth"]["description"]
    assert schemes["BearerTokenAuth"]["type"] == "http"
    assert schemes["BearerTokenAuth"]["scheme"] == "bearer"
    assert "pnl_" in schemes["BearerTokenAuth"]["description"]


def test_every_operation_but_health_requires_a_token(anonymous):
    paths = anonymous.get("/api/openapi.json").json()["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            names = {name for requirement in operation.get("security", []) for name in requirement}
            if path == "/api/health":
                assert not names, (method, path)
            else:
                assert {"SignedRequestAuth", "BearerTokenAuth"} <= names, (method, path)


def test_openapi_schema_documents_the_user_and_token_operations(anonymous):
    paths = anonymous.get("/api/openapi.json").json()["paths"]

    assert {(path, method) for path, operations in paths.items() for method in operations} >= {
        ("/api/user/info", "get"),
        ("/api/users", "get"),
        ("/api/users", "post"),
        ("/api/users/{user_id}", "get"),
        ("/api/users/{user_id}", "patch"),
        ("/api/users/{user_id}", "delete"),
        ("/api/users/{user_id}/password", "put"),
        ("/api/users/{user_id}/tokens", "get"),
        ("/api/users/{user_id}/tokens", "post"),
        ("/api/users/{user_id}/tokens/{token_id}", "patch"),
        ("/api/users/{user_id}/tokens/{token_id}", "delete"),
    }


def test_every_operation_has_a_chosen_snake_case_id(anonymous):
    """Generated clients name their functions after the IDs: ``users_list``, not ``accounts_api_user_list``."""
    paths = anonymous.get("/api/openapi.json").json()["paths"]
    operation_ids = [operation["operationId"] for operations in paths.values() for operation in operations.values()]

    assert len(set(operation_ids)) == len(operation_ids)
    for operation_id in operation_ids:
        assert _OPERATION_ID.fullmatch(operation_id) and "_api_" not in operation_id, operation_id


def test_the_readme_table_names_every_operation(anonymous):
    paths = anonymous.get("/api/openapi.json").json()["paths"]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("**Every endpoint.**") : readme.index("**Answers.**")]

    for operations in paths.values():
        for operation in operations.values():
            assert f"`{operation['operationId']}`" in table, operation["operationId"]


def test_openapi_schema_serves_the_panel_it_comes_from(anonymous):
    assert anonymous.get("/api/openapi.json").json()["servers"] == [{"url": "/", "description": "This panel"}]


def test_openapi_schema_shows_how_to_sign_with_a_worked_example(anonymous):
    description = anonymous.get("/api/openapi.json").json()["components"]["securitySchemes"]["SignedRequestAuth"][
        "description"
    ]
    # Worked out here independently of tokens.signing: token 16, secret s3cr3t, GET /api/users?size=20&page=1.
    canonical = "GET\n/api/users\npage=1&size=20\n" + hashlib.sha256(b"").hexdigest()
    to_sign = "HMAC-SHA256\n1700000000\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(b"s3cr3t", to_sign.encode(), hashlib.sha256).hexdigest()

    assert canonical in description and to_sign in description
    assert f"Authorization: HMAC-SHA256 Credential=16, Signature={expected}" in description
    assert "X-Timestamp: 1700000000" in description


def test_every_operation_documents_503_and_retry_after(anonymous):
    paths = anonymous.get("/api/openapi.json").json()["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path != "/api/health":
                assert {"429", "503"} <= set(responses), (method, path)
            for status in ("429", "503"):
                if status in responses:
                    assert responses[status]["headers"]["Retry-After"]["required"] is True, (method, path, status)


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/users", "get", "200"),
        ("/api/users", "post", "201"),
        ("/api/users/{user_id}/tokens", "post", "201"),
        ("/api/companies", "post", "201"),
    ],
)
def test_main_operations_show_examples_with_the_answers_fields(anonymous, path, method, status):
    schema = anonymous.get("/api/openapi.json").json()
    operation = schema["paths"][path][method]
    answer = operation["responses"][status]["content"]["application/json"]
    answer_schema = schema["components"]["schemas"][answer["schema"]["$ref"].rsplit("/", 1)[1]]

    assert set(answer["example"]) == set(answer_schema["properties"])
    if method == "post":
        body = operation["requestBody"]["content"]["application/json"]
        body_schema = schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
        assert body["example"] and set(body["example"]) <= set(body_schema["properties"])


def test_openapi_schema_states_the_validators_bounds(anonymous):
    schemas = anonymous.get("/api/openapi.json").json()["components"]["schemas"]

    user, token = schemas["UserCreateIn"]["properties"], schemas["TokenCreateIn"]["properties"]
    assert (user["username"]["maxLength"], user["username"]["pattern"]) == (USERNAME_MAX_LENGTH, "^[A-Za-z0-9_-]+$")
    assert (user["password"]["minLength"], user["password"]["maxLength"]) == (PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH)
    assert user["email"]["format"] == "email"
    assert token["ip_allowlist"]["maxItems"] == MAX_IP_ALLOWLIST_ENTRIES
    assert token["name"]["pattern"] == "^[^\\u0000]*$"


def test_openapi_schema_links_a_new_user_and_a_new_token_to_the_calls_on_them(anonymous):
    paths = anonymous.get("/api/openapi.json").json()["paths"]

    user_links = paths["/api/users"]["post"]["responses"]["201"]["links"]
    token_links = paths["/api/users/{user_id}/tokens"]["post"]["responses"]["201"]["links"]
    assert user_links["DeleteUser"] == {
        "operationId": "users_delete",
        "parameters": {"user_id": "$response.body#/id"},
    }
    assert token_links["DeleteToken"]["parameters"] == {
        "user_id": "$request.path.user_id",
        "token_id": "$response.body#/id",
    }


def test_docs_page_is_public(anonymous):
    response = anonymous.get("/api/docs")

    assert response.status_code == 200
    assert "/api/openapi.json" in response.content.decode()


def test_docs_page_loads_nothing_from_another_host(anonymous):
    html = anonymous.get("/api/docs").content.decode()

    assert _ABSOLUTE_URL.findall(html) == []


def test_docs_page_assets_are_served_by_the_panel(anonymous):
    html = anonymous.get("/api/docs").content.decode()
    assets = _URL_ATTRIBUTE.findall(html)
    assert any(asset.endswith(".js") for asset in assets)
    assert any(asset.endswith(".css") for asset in assets)

    for asset in assets:
        assert urlsplit(asset).netloc == "", asset
        response = anonymous.get(asset)
        assert response.status_code == 200, asset
        if hasattr(response, "close"):
            response.close()


def test_docs_page_keeps_the_strict_content_security_policy(anonymous):
    policy = anonymous.get("/api/docs")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy


def test_docs_page_has_no_inline_script(anonymous):
    html = anonymous.get("/api/docs").content.decode()

    # The only <script> without src is JSON data, which the CSP does not execute.
    for attributes in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
