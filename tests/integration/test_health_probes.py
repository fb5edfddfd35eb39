"""Liveness and readiness for load balancers (reliability issue): answered without a public Host header,
over plain HTTP even when the panel redirects everything else to HTTPS, and readiness is honest about
the database and the cache."""

import time

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

# A probe from the local network: the node's own address as the Host, plain HTTP.
PROBE = {"HTTP_HOST": "10.1.2.3:8000", "REMOTE_ADDR": "10.1.2.3"}


@pytest.fixture
def https_only(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["panel.example.com"]


def test_liveness_answers_a_local_probe_over_plain_http(https_only):
    response = Client().get("/livez", **PROBE)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_checks_the_database_and_the_cache(https_only):
    response = Client().get("/readyz", **PROBE)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_other_pages_still_refuse_that_host_and_redirect_to_https(https_only):
    assert Client().get("/login/", HTTP_HOST="panel.example.com").status_code == 301
    assert Client().get("/login/", **PROBE).status_code == 400


def test_readiness_says_the_cache_is_down_quickly_with_retry_after(settings):
    # A real Redis client, pointed at a port where nothing listens.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    started = time.monotonic()
    response = Client().get("/readyz", **PROBE)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {"status": "unavailable", "database": "ok", "cache": "unavailable"}
    assert elapsed < 5
