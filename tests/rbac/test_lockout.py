"""Lockout (django-axes) for the password and the SMS-code login alike: per user (a mobile is its account)
and per address, with a cool-off; administrators unlock in the admin, and the operation log records it."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rbac.addresses import client_address
from rbac.models import LoginLog, OperationLog
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE
from tests.rbac.conftest import MOBILE, password_login, signed_in_user, sms_code_send, sms_login
from tests.roles import role_user

pytestmark = pytest.mark.django_db
LOCKED = "登录失败次数过多"
LOCKOUTS = reverse("admin:axes_accessattempt_changelist")


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def refused_as_locked(response) -> bool:
    page = response.content.decode()
    return response.status_code == 429 and LOCKED in page and "15 分钟" in page and 'id="login-form"' in page


def test_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused(client, alice):
    for _ in range(2):
        response = password_login(client, "alice", "wrong")
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    assert refused_as_locked(password_login(client, "alice", "wrong"))
    assert refused_as_locked(password_login(client, "alice"))
    assert not signed_in_user(client).is_authenticated


def test_a_mobile_and_its_account_are_one_user_whatever_the_login_page_and_address(client, alice, caplog):
    password_login(client, "alice", "wrong", address="203.0.113.1")
    password_login(client, MOBILE, "wrong", address="203.0.113.2")
    _response, code = sms_code_send(client, caplog, address="203.0.113.3")
    assert code is not None
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    locked = sms_login(client, wrong, address="203.0.113.3")
    assert locked.status_code == 429 and LOCKED in locked.content.decode()
    assert refused_as_locked(password_login(client, "alice", address="203.0.113.4"))
    assert refused_as_locked(password_login(client, MOBILE, address="203.0.113.4"))
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"alice"}


def test_an_address_is_locked_for_every_user(client, alice):
    for name in ("nobody-1", "nobody-2", "nobody-3"):
        password_login(client, name, "wrong", address="203.0.113.1")
    assert refused_as_locked(password_login(client, "alice", address="203.0.113.1"))
    assert password_login(client, "alice", address="203.0.113.2").status_code == 302


def test_sms_code_failures_lock_no_code_is_sent_and_the_right_code_is_refused(client, alice, caplog):
    _response, code = sms_code_send(client, caplog)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(2):
        assert sms_login(client, wrong).status_code == 200
    assert sms_login(client, wrong).status_code == 429
    refused = sms_login(client, code)
    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    assert not signed_in_user(client).is_authenticated
    response, another = sms_code_send(client, caplog)
    assert another is None and LOCKED in response.content.decode()

    AccessAttempt.objects.all().delete()  # unlocked: the code, never tried while locked, still works
    assert sms_login(client, code).status_code == 302
    assert signed_in_user(client) == alice


def test_the_lock_ends_after_the_cool_off(client, alice):
    for _ in range(3):
        password_login(client, "alice", "wrong")
    assert refused_as_locked(password_login(client, "alice"))
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert password_login(client, "alice").status_code == 302


def test_an_administrator_sees_the_lockout_and_unlocks_it_in_the_admin(client, alice):
    for _ in range(3):
        password_login(client, MOBILE, "wrong", address="203.0.113.1")
    administrator = role_user(ADMINISTRATORS)
    staff = Client()
    staff.force_login(administrator)
    listing = staff.get(LOCKOUTS, {"q": MOBILE})
    assert listing.status_code == 200
    rows = list(listing.context_data["cl"].result_list)
    assert [(row.username, row.ip_address, row.user_total, row.address_total) for row in rows] == [
        ("alice", "203.0.113.1", 3, 3)
    ]
    assert "icon-yes" in listing.content.decode()  # shown as locked

    response = staff.post(LOCKOUTS, {"action": "unlock_selected", "_selected_action": [row.pk for row in rows]})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    logged = OperationLog.objects.get(object_type="axes.accessattempt")
    assert (logged.actor, logged.action, logged.object_id) == (administrator, "unlock", str(rows[0].pk))
    assert (logged.object_repr, logged.summary) == ("alice @ 203.0.113.1", "3")

    assert password_login(client, MOBILE, address="203.0.113.1").status_code == 302
    assert signed_in_user(client) == alice


def test_a_lockout_row_is_read_only_and_unlocked_only_by_the_recorded_action(client, alice):
    for _ in range(3):
        password_login(client, "alice", "wrong")
    attempt = AccessAttempt.objects.get()
    staff = Client()
    staff.force_login(role_user(ADMINISTRATORS))
    assert staff.get(reverse("admin:axes_accessattempt_change", args=[attempt.pk])).status_code == 200
    assert staff.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}).status_code == 403
    listing = staff.get(LOCKOUTS).content.decode()
    assert "unlock_selected" in listing and "delete_selected" not in listing
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_only_administrators_see_and_unlock_lockouts(client, alice):
    for _ in range(3):
        password_login(client, "alice", "wrong")
    attempt = AccessAttempt.objects.get()
    staff = Client()
    staff.force_login(role_user(CUSTOMER_SERVICE))
    assert staff.get(LOCKOUTS).status_code == 403
    staff.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    staff.post(LOCKOUTS, {"action": "unlock_selected", "_selected_action": [attempt.pk]})
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_the_form_data_axes_keeps_hides_the_password_and_the_code(client, alice, caplog):
    password_login(client, "alice", "secret-guess-1")
    _response, code = sms_code_send(client, caplog)
    sms_login(client, f"{(int(code) + 1) % 10**6:06d}")
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "secret-guess-1" not in stored and f"{(int(code) + 1) % 10**6:06d}" not in stored and MOBILE not in stored


# --- the client address ---------------------------------------------------------------------------


def test_a_forwarded_address_is_ignored_unless_the_proxy_is_configured(client, alice, settings, rf):
    password_login(client, "alice", "wrong", address="10.0.0.2", HTTP_X_REAL_IP="198.51.100.7")
    assert AccessAttempt.objects.get().ip_address == LoginLog.objects.get().address == "10.0.0.2"
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="198.51.100.7")) == "10.0.0.2"

    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_REAL_IP", "REMOTE_ADDR"]
    password_login(client, "alice", "wrong", address="10.0.0.2", HTTP_X_REAL_IP="198.51.100.7")
    assert LoginLog.objects.filter(address="198.51.100.7").exists()
    assert AccessAttempt.objects.filter(ip_address="198.51.100.7").exists()
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="198.51.100.7")) == "198.51.100.7"
