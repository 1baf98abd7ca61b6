"""Signed-in users: administrators see who is signed in and sign a visit out; a visit also ends when
its account is deactivated or its password changes."""

import pytest
from django.test import Client
from django.urls import reverse

from rbac.models import OperationLog, SignedInSession
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE
from tests.roles import role_user

pytestmark = pytest.mark.django_db

HOME = reverse("admin:index")
SESSIONS = reverse("admin:rbac_signedinsession_changelist")


@pytest.fixture
def visit():
    """Customer service signed in through the login page, and its browser."""
    user = role_user(CUSTOMER_SERVICE)
    user.set_password("pass-word-123")
    user.save()
    browser = Client(REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="Firefox 140")
    response = browser.post(reverse("admin:login"), {"username": user.username, "password": "pass-word-123"})
    assert response.status_code == 302 and browser.get(HOME).status_code == 200
    return user, browser


def test_a_sign_in_is_listed_for_administrators_with_its_address(client, visit):
    user, _browser = visit
    client.force_login(role_user(ADMINISTRATORS))
    rows = client.get(SESSIONS).context_data["cl"].result_list
    mine = [row for row in rows if row.user_id == user.pk]
    assert len(mine) == 1 and mine[0].address == "10.0.0.7" and mine[0].user_agent == "Firefox 140"


def test_customer_service_cannot_see_the_list(client, visit):
    client.force_login(role_user(CUSTOMER_SERVICE, username="other"))
    assert client.get(SESSIONS).status_code == 403


def test_an_administrator_signs_a_visit_out_on_its_next_request(client, visit):
    user, browser = visit
    admin = role_user(ADMINISTRATORS)
    client.force_login(admin)
    row = SignedInSession.objects.get(user=user)
    response = client.post(SESSIONS, {"action": "sign_out_selected", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert browser.get(HOME).status_code == 302  # to the login page
    assert not SignedInSession.objects.filter(user=user).exists()
    assert OperationLog.objects.filter(action=OperationLog.Action.SIGN_OUT, actor=admin).count() == 1


@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_deactivation_or_a_new_password_ends_the_visit(visit, change):
    user, browser = visit
    if change == "deactivate":
        user.is_active = False
    else:
        user.set_password("another-pass-456")
    user.save()
    assert browser.get(HOME).status_code == 302
    assert not SignedInSession.objects.filter(user=user).exists()


def test_signing_out_forgets_the_visit(visit):
    user, browser = visit
    browser.post(reverse("admin:logout"))
    assert not SignedInSession.objects.filter(user=user).exists()
