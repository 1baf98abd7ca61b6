"""The load balancer's probes: /healthz and /readyz."""

import logging
import socket

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from tests.backoffice.conftest import django_run, production_env

pytestmark = pytest.mark.django_db


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def production_middleware(settings):
    """The probes as a balancer meets them in production: HTTPS-only, and its Host (the machine's
    address) not among the allowed hosts."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["bo.example.com"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_probe_answers_ok_over_plain_http_to_any_host_without_session_or_csrf(production_middleware, path):
    client = Client(enforce_csrf_checks=True)
    sessions = Session.objects.count()
    for response in (client.get(path, headers={"host": "10.0.0.7:8000"}), client.post(path)):
        assert (response.status_code, response.content) == (200, b"ok")
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
        assert not response.cookies
    assert Session.objects.count() == sessions
    # The same client is still refused elsewhere: only the probes skip host validation and the redirect.
    assert client.get("/admin/login/", headers={"host": "bo.example.com"}).status_code == 301


def test_readyz_checks_redis_when_it_is_configured(client, settings):
    if not settings.REDIS_URL:
        pytest.skip("this pass runs without Redis")
    assert (client.get("/readyz").status_code, client.get("/readyz").content) == (200, b"ok")


def test_readyz_names_a_stopped_redis_and_nothing_more_and_django_logs_no_error(client, settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{unused_port()}/15"  # nothing listens there
    with caplog.at_level(logging.INFO):
        response = client.get("/readyz")
    assert (response.status_code, response.content) == (503, b"redis")
    assert client.get("/healthz").status_code == 200  # the process itself is fine
    assert not [r for r in caplog.records if r.name == "django.request"]
    warning = next(r for r in caplog.records if r.name == "backoffice.health")
    assert warning.levelno == logging.WARNING and "Redis does not answer" in warning.getMessage()


def test_readyz_names_an_unreachable_database_in_a_production_process():
    # A fresh process in production mode whose database and Redis both refuse connections.
    done = django_run(
        """
        from django.test import Client

        response = Client().get("/readyz", headers={"host": "10.0.0.7:8000"})
        print(response.status_code, repr(response.content.decode()))
        """,
        **production_env(
            DATABASE_URL=f"mysql://root@127.0.0.1:{unused_port()}/bo_prod",
            REDIS_URL=f"redis://127.0.0.1:{unused_port()}/15",
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "503 'database\\nredis'"
    # Why is logged, as warnings; django.request's "Service Unavailable" error is not.
    assert "the database does not answer" in done.stderr and "Redis does not answer" in done.stderr
    assert "Service Unavailable" not in done.stderr and "ERROR" not in done.stderr
