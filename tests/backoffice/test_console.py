"""What the console shows: ordinary refusals in one line, JSON lines when asked; and what a signing-in user sees."""

import json
import logging
import sys
from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from backoffice.logs import JsonLines
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


def test_json_lines_hold_one_object_per_record_with_the_traceback_when_there_is_one():
    formatter = JsonLines()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.getLogger("orders").makeRecord(
            "orders", logging.ERROR, __file__, 1, "placing %s\nfailed", ("订单 42",), sys.exc_info()
        )
    line = formatter.format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert set(fields) == {"time", "level", "logger", "message", "exc"}
    assert (fields["level"], fields["logger"], fields["message"]) == ("ERROR", "orders", "placing 订单 42\nfailed")
    assert fields["exc"].startswith("Traceback") and "RuntimeError: boom" in fields["exc"]
    assert datetime.fromisoformat(fields["time"]).utcoffset() == timedelta(0)
    plain = logging.getLogger("orders").makeRecord("orders", logging.INFO, __file__, 1, "ok", (), None)
    assert "exc" not in json.loads(formatter.format(plain))
