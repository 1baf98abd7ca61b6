"""Every sign-in and every failed one leaves a login-log row: who, when, address, browser, method, what was
typed; never the password or the code."""

import pytest
from django.forms.models import model_to_dict

from rbac.models import LoginLog
from tests.rbac.conftest import MOBILE, PASSWORD, password_login, sms_code_send, sms_login

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (test)"


def only_row() -> LoginLog:
    [row] = LoginLog.objects.all()
    return row


def row_text(row) -> str:
    return " ".join(str(value) for value in model_to_dict(row).values())


@pytest.mark.parametrize("typed", ["alice", MOBILE])
def test_a_password_sign_in_is_recorded(client, alice, typed):
    assert password_login(client, typed, address="203.0.113.1", HTTP_USER_AGENT=BROWSER).status_code == 302
    row = only_row()
    assert (row.user, row.username, row.method, row.succeeded, row.locked_out) == (alice, typed, "password", True, False)
    assert (row.address, row.user_agent) == ("203.0.113.1", BROWSER) and row.created_at is not None
    assert PASSWORD not in row_text(row)


@pytest.mark.parametrize("typed, known", [("alice", True), (MOBILE, True), ("nobody", False)])
def test_a_failed_password_sign_in_is_recorded(client, alice, typed, known):
    assert password_login(client, typed, "wrong-guess-1", address="203.0.113.1", HTTP_USER_AGENT=BROWSER).status_code == 200
    row = only_row()
    assert (row.user, row.username, row.method, row.succeeded) == (alice if known else None, typed, "password", False)
    assert (row.address, row.user_agent) == ("203.0.113.1", BROWSER)
    assert "wrong-guess-1" not in row_text(row)


def test_sms_sign_ins_and_failures_are_recorded_without_the_code(client, alice, caplog):
    _response, code = sms_code_send(client, caplog, address="203.0.113.1")
    assert not LoginLog.objects.exists()  # asking for a code is no sign-in
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    sms_login(client, wrong, address="203.0.113.1", HTTP_USER_AGENT=BROWSER)
    assert sms_login(client, code, address="203.0.113.1", HTTP_USER_AGENT=BROWSER).status_code == 302
    failed, succeeded = LoginLog.objects.order_by("id")
    for row, ok in ((failed, False), (succeeded, True)):
        assert (row.user, row.username, row.method, row.succeeded) == (alice, MOBILE, "sms", ok)
        assert (row.address, row.user_agent) == ("203.0.113.1", BROWSER)
        assert code not in row_text(row) and wrong not in row_text(row)


def test_a_refusal_by_the_lockout_is_recorded_as_locked_out(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    password_login(client, "alice", "wrong")
    password_login(client, "alice", "wrong")  # reaches the limit
    password_login(client, "alice")  # the right password, refused
    rows = list(LoginLog.objects.order_by("id").values_list("succeeded", "locked_out"))
    assert rows == [(False, False), (False, True), (False, True)]
