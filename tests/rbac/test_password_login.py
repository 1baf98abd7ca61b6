"""The password login takes a username or a customer's mobile; a mobile reaches only a customer account."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from customers.models import Customer
from rbac.login_codes import _digest
from rbac.roles import FINANCE
from tests.factories import CustomerFactory, UserFactory
from tests.rbac.conftest import MOBILE, PASSWORD, password_login, signed_in_user, sms_code_send, sms_login
from tests.roles import role_user

pytestmark = pytest.mark.django_db


def test_the_login_page_asks_for_a_username_or_mobile(client):
    assert "用户名或手机号" in client.get(reverse("admin:login")).content.decode()
    english = client.get(reverse("admin:login"), headers={"accept-language": "en"}).content.decode()
    assert "Username or mobile" in english


@pytest.mark.parametrize("typed", ["alice", MOBILE, f" {MOBILE} "])
def test_a_customer_signs_in_with_the_username_or_the_mobile(client, alice, typed):
    assert password_login(client, typed).status_code == 302
    assert signed_in_user(client) == alice


def test_a_wrong_password_by_mobile_is_refused(client, alice):
    response = password_login(client, MOBILE, "wrong")
    assert response.status_code == 200 and not signed_in_user(client).is_authenticated


def test_a_wrong_password_is_told_in_plain_chinese_without_saying_staff(client, alice):
    page = password_login(client, MOBILE, "wrong").content.decode()
    assert "用户名/手机号或密码不正确（密码区分大小写）。" in page and "工作人员" not in page


def test_the_mobile_of_an_inactive_customer_signs_in_nobody(client, alice):
    Customer.objects.filter(mobile=MOBILE).update(is_active=False)
    assert password_login(client, MOBILE).status_code == 200
    assert password_login(client, "alice").status_code == 302  # the username is the account's own affair


@pytest.fixture
def staff_tied_by_sql(db, fresh_codes):
    """A finance account tied to a customer behind the forms' and services' back."""
    staff = role_user(FINANCE, username="finance")
    customer = CustomerFactory(mobile=MOBILE)
    Customer.objects.filter(pk=customer.pk).update(user=staff)
    return staff


def test_a_staff_account_tied_by_sql_is_not_reached_by_the_mobile(client, staff_tied_by_sql):
    assert password_login(client, MOBILE).status_code == 200
    assert not signed_in_user(client).is_authenticated


def test_a_superuser_tied_by_sql_is_not_reached_by_the_mobile_either(client, fresh_codes, caplog):
    root = UserFactory(username="admin", is_staff=True, is_superuser=True)
    Customer.objects.filter(pk=CustomerFactory(mobile=MOBILE).pk).update(user=root)
    assert password_login(client, MOBILE).status_code == 200
    _response, code = sms_code_send(client, caplog)
    assert code is None


def test_the_sms_login_refuses_a_staff_account_tied_by_sql(client, staff_tied_by_sql, caplog, settings):
    _response, code = sms_code_send(client, caplog)
    assert code is None  # no code for it
    # Even a valid code planted for the mobile signs nobody in.
    cache.set_many({f"login-code:{MOBILE}": _digest(MOBILE, "123456"), f"login-code:tries:{MOBILE}": 0}, 300)
    response = sms_login(client, "123456")
    assert response.status_code == 200 and not signed_in_user(client).is_authenticated


def test_a_username_that_looks_like_a_mobile_wins_over_the_mobile(client, alice):
    UserFactory(username=MOBILE, is_staff=True, password="other-pass-123")
    assert password_login(client, MOBILE).status_code == 200  # alice's password does not open that account
    assert password_login(client, MOBILE, "other-pass-123").status_code == 302
    assert signed_in_user(client).username == MOBILE


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/admin/"])
def test_a_sign_in_with_a_next_that_is_not_allowed_lands_on_the_admin_home(client, alice, next_url):
    response = client.post(
        f"{reverse('admin:login')}?next={next_url}", {"username": "alice", "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
