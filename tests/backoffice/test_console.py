"""What the start command's console and a signing-in user see around ordinary refusals."""

import logging
import sys

import pytest
from django.urls import reverse

from rbac.roles import FINANCE
from tests.roles import role_user

pytestmark = pytest.mark.django_db


def console_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if h.get_name() == "console")


def test_a_403_is_logged_in_one_line_without_its_traceback(client, caplog):
    client.force_login(role_user(FINANCE))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    record = next(r for r in caplog.records if r.name == "django.request")
    handler = console_handler()
    assert handler.filter(record)
    assert "Traceback" not in handler.format(record)


def test_a_500_keeps_its_traceback():
    handler = console_handler()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), sys.exc_info()
        )
    record.status_code = 500
    handler.filter(record)
    assert "Traceback" in handler.format(record)


def test_the_favicon_is_served_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.png")
