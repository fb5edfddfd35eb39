"""The API's OpenAPI schema and docs page: public, complete, and usable offline under the panel's CSP."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.validators import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_MAX_LENGTH
from tokens.validators import MAX_IP_ALLOWLIST_ENTRIES

pytestmark = pytest.mark.django_db

_URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]+)"')
_ABSOLUTE_URL = re.compile(r"(?:https?:)?//[^\s\"'<>]+", re.IGNORECASE)


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
        "operationId": "accounts_api_user_delete",
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
