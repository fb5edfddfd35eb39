"""Calling the JSON API as a script would (a Bearer access token) or as the panel's pages do (a session
and its CSRF token), through Django's test client."""

import json

from django.conf import settings
from django.contrib.auth.models import Permission
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from core.audit import Origin
from tokens.credentials import bearer_string
from tokens.services import token_create

NO_BODY = object()


def grant_api_module(user):
    """Let ``user``'s tokens call the API at all; each endpoint still checks its own permission."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="accounts", codename="use_api"))


class Script:
    """A script calling the API with one Bearer string."""

    def __init__(self, bearer):
        self.bearer = bearer
        self.client = Client()

    @classmethod
    def of(cls, user, **fields):
        """A script holding a fresh long-term token of ``user``, who is given the API module (accounts.use_api)."""
        grant_api_module(user)
        token, secret = token_create(origin=Origin.command("pytest"), user=user, long_term=True, **fields)
        script = cls(bearer_string(token.pk, secret))
        script.user, script.token, script.secret = user, token, secret
        return script

    def call(self, method, path, body=NO_BODY, *, raw=None, content_type="application/json", **query):
        """``body`` is sent as JSON, ``raw`` as given, ``query`` as the query string of a body-less call."""
        kwargs = self._credentials()
        if body is not NO_BODY:
            raw = json.dumps(body)
        if raw is not None:
            return self.client.generic(method.upper(), path, raw, content_type=content_type, **kwargs)
        return getattr(self.client, method.lower())(path, query, **kwargs)

    def _credentials(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.bearer}"}

    def whoami(self):
        return self.call("get", "/api/user/info")


class Browser(Script):
    """A logged-in browser calling the API with its session cookie and CSRF token, as the panel's pages do.

    The only way to create or change credentials through the API: token requests are refused those.
    """

    def __init__(self, user):
        self.user, self.token, self.bearer = user, None, None
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(user)
        request = RequestFactory().get("/")
        self.csrf = get_token(request)  # the masked token a page would embed; the cookie holds its secret
        self.client.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]

    @classmethod
    def of(cls, user):
        return cls(user)

    def _credentials(self):
        return {"HTTP_X_CSRFTOKEN": self.csrf}


def assert_error(response, status, fields=None):
    """``response`` is the API's one error shape with ``status``; ``fields`` are the keys of ``errors``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    if fields is None:
        assert body["errors"] is None
    else:
        assert set(body["errors"]) == set(fields)
        assert all(messages and all(isinstance(m, str) and m for m in messages) for messages in body["errors"].values())
    return body
