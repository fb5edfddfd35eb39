"""Every /api/ error answers the one JSON shape, whoever raised it; a database or cache fault answers 503.

The faults are real: the request runs against a database connection that cannot connect, or a Redis
cache on a port where nothing listens. The few views only a test needs (one that fails, one that
answers an HTML 429, one protected by CSRF) are served by this module as URLconf.
"""

import contextlib
import json
import logging

import pytest
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.services import user_create
from core.audit import Origin
from core.errors import CSRF_DETAIL, RETRY_AFTER
from organisation import scope
from panel import urls as panel_urls
from tests.factories import UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import logged_in_client, page_text

CLOSED_PORT = 1  # nothing listens there: connecting is refused at once
NO_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
    }
}


class Bug(Exception):
    pass


@login_not_required
def _fails(request):
    raise Bug("a bug in a view")


@login_not_required
def _busy(request):
    return HttpResponse("<h1>Slow down</h1>", status=429, headers={"Retry-After": "7"})


@login_not_required
@require_POST
def _form(request):
    return HttpResponse("posted")


urlpatterns = [
    path("api/test/fails", _fails),
    path("api/test/busy", _busy),
    path("api/test/form", _form),
    path("test/fails", _fails),
    *panel_urls.urlpatterns,
]
handler404 = panel_urls.handler404
handler500 = panel_urls.handler500

with_test_views = pytest.mark.urls(__name__)


def assert_unavailable(response):
    assert_error(response, 503)
    assert response["Retry-After"] == str(RETRY_AFTER)


@contextlib.contextmanager
def database_down():
    """The default connection swapped for one to a database that cannot be reached: the driver's own error."""
    original = connections["default"]
    settings_dict = dict(original.settings_dict)
    if original.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-directory/panel.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(CLOSED_PORT))
    down = type(original)(settings_dict, "default")
    connections["default"] = down
    try:
        yield
    finally:
        down.close()
        connections["default"] = original


def browser():
    """Faults reach the handlers, not the test: the client does not re-raise them."""
    return Client(raise_request_exception=False)


# Errors answered outside the API's views


@pytest.mark.django_db
def test_an_unknown_api_path_answers_404():
    assert_error(Client().get("/api/no-such-thing"), 404)


@pytest.mark.django_db
def test_a_wrong_method_answers_405_with_allow():
    response = Client().put("/api/health")

    assert_error(response, 405)
    assert response["Allow"] == "GET"


def test_a_host_not_allowed_answers_400():
    response = Client().get("/api/health", headers={"Host": "evil.example"})

    assert_error(response, 400)


def test_a_browser_session_without_its_csrf_token_answers_403(admin_user):
    session = logged_in_client(admin_user, enforce_csrf_checks=True)

    response = session.post("/api/users", data={"username": "carol"}, content_type="application/json")

    assert assert_error(response, 403)["detail"] == CSRF_DETAIL


@with_test_views
@pytest.mark.django_db
def test_a_csrf_failure_outside_the_api_views_answers_the_same_403():
    response = Client(enforce_csrf_checks=True).post("/api/test/form")

    assert assert_error(response, 403)["detail"] == CSRF_DETAIL


def test_a_body_over_the_upload_limit_answers_413(admin_user, settings):
    script = Script.of(admin_user)
    body = json.dumps({"username": "carol", "padding": "x" * (3 * 1024 * 1024)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = script.call("post", "/api/users", raw=body)

    assert_error(response, 413)


@with_test_views
@pytest.mark.django_db
def test_an_html_error_answer_is_turned_into_the_shape_keeping_its_headers():
    response = Client().get("/api/test/busy")

    assert_error(response, 429)
    assert response["Retry-After"] == "7"


@with_test_views
@pytest.mark.django_db
def test_an_unhandled_exception_answers_500_and_is_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = browser().get("/api/test/fails")

    assert_error(response, 500)
    assert "a bug" not in response.content.decode()
    logged = [record for record in caplog.records if record.name == "django.request"]
    assert logged and isinstance(logged[-1].exc_info[1], Bug)


def test_the_answers_of_the_api_views_keep_their_shape(admin_user):
    script = Script.of(admin_user)

    assert_error(script.call("get", "/api/users/999999"), 404)
    assert_error(script.call("post", "/api/users", raw="{not json"), 400)
    invalid = script.call("post", "/api/users", {"username": ""})
    assert invalid.status_code == 422 and invalid["Content-Type"].startswith("application/json")
    assert set(invalid.json()) == {"detail", "errors"} and invalid.json()["errors"]
    response = Client().get("/api/user/info")
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="panel"'


# Faults: 503 with Retry-After, never 500


def test_a_database_fault_while_authenticating_a_token_answers_503(admin_user):
    script = Script.of(admin_user)
    script.client = browser()

    with database_down():
        response = script.whoami()

    assert_unavailable(response)


def test_a_database_fault_in_a_middleware_answers_503(admin_user):
    session = logged_in_client(admin_user, raise_request_exception=False)

    with database_down():
        response = session.get("/api/user/info")

    assert_unavailable(response)


def test_a_cache_fault_answers_503(admin_user):
    script = Script.of(admin_user)
    script.client = browser()

    with override_settings(CACHES=NO_CACHE):
        response = script.whoami()

    assert_unavailable(response)


def test_the_api_works_again_once_the_fault_is_gone(admin_user):
    script = Script.of(admin_user)
    script.client = browser()
    with database_down():
        assert_unavailable(script.whoami())

    assert script.whoami().status_code == 200


# Pages: unchanged, except that a fault answers 503 rather than 500


def _assert_unavailable_page(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER)
    assert response["Content-Type"].startswith("text/html")
    assert b"Temporarily unavailable" in response.content


def test_a_database_fault_on_a_page_answers_the_503_page(admin_user):
    session = logged_in_client(admin_user, raise_request_exception=False)

    with database_down():
        _assert_unavailable_page(session.get("/"))
        _assert_unavailable_page(browser().get("/healthz"))


def test_a_cache_fault_on_a_page_answers_the_503_page(admin_user, password):
    with override_settings(CACHES=NO_CACHE):
        response = browser().post("/login/", {"username": admin_user.username, "password": password})

    _assert_unavailable_page(response)


# With the cache down, what needs the attempt counters fails closed (logging in, above; API tokens,
# whose failures and replays are counted there) and what only reads the database keeps working.


@pytest.mark.parametrize("path", ["/users/", "/account/", "/audit/", "/roles/", "/companies/"])
def test_pages_that_read_the_database_keep_working_while_the_cache_is_down(admin_user, path):
    session = logged_in_client(admin_user, raise_request_exception=False)

    with override_settings(CACHES=NO_CACHE):
        response = session.get(path)

    assert response.status_code == 200


def test_the_user_list_counts_in_the_database_while_the_cache_is_down(admin_user, caplog):
    UserFactory.create_batch(2)
    session = logged_in_client(admin_user, raise_request_exception=False)

    with override_settings(CACHES=NO_CACHE):
        response = session.get("/users/")

    assert "3 users" in page_text(response)
    assert "counts its users in the database" in caplog.text


def test_a_user_created_while_the_cache_is_down_is_created(admin_user, django_capture_on_commit_callbacks):
    """The cached total is forgotten on commit: run those callbacks, as a real commit would."""
    origin = Origin.command("pytest")
    with override_settings(CACHES=NO_CACHE), django_capture_on_commit_callbacks(execute=True) as callbacks:
        user_create(origin=origin, username="carmen", email="carmen@example.com", password="Quartz-9-Lamp")

    assert callbacks  # forget_user_total ran against the unreachable cache

    assert User.objects.filter(username="carmen").exists()


@with_test_views
@pytest.mark.django_db
def test_a_bug_on_a_page_still_answers_the_500_page():
    response = browser().get("/test/fails")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"Something went wrong" in response.content


@pytest.mark.django_db
def test_an_unknown_page_still_answers_the_404_page():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# A change whose user another request deleted while it ran (see core.locks.lock_user): the
# page and the API answer 404, as they would have a moment later, and nothing is written back.


@pytest.fixture
def deleted_meanwhile(monkeypatch):
    """A user the view found, whose row is deleted before the change takes its lock."""
    stale = User.objects.get(pk=UserFactory(username="gone").pk)
    User.objects.filter(pk=stale.pk).delete()
    monkeypatch.setattr(scope, "user_get", lambda **kwargs: stale)
    return stale


@pytest.mark.django_db
def test_renaming_a_user_deleted_meanwhile_answers_the_404_page(admin_user, deleted_meanwhile):
    response = logged_in_client(admin_user).post(f"/users/{deleted_meanwhile.pk}/username/edit/", {"value": "back"})

    assert response.status_code == 404
    assert not User.objects.filter(pk=deleted_meanwhile.pk).exists()


@pytest.mark.django_db
def test_renaming_a_user_deleted_meanwhile_answers_a_json_404(admin_user, deleted_meanwhile):
    response = Script.of(admin_user).call("patch", f"/api/users/{deleted_meanwhile.pk}", {"username": "back"})

    assert_error(response, 404)
    assert not User.objects.filter(pk=deleted_meanwhile.pk).exists()
