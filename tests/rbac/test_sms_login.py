"""Customers log in with a code texted to their mobile; the page neither leaks accounts nor allows guessing."""

import logging
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from rbac.roles import CUSTOMERS
from tests.factories import CustomerFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db
URL = reverse("sms_login")
INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Forget codes and rate limits (the test client's address, every mobile these tests use)."""
    mobiles = ["13712345678", "13700000001", "13700000002", "13800000000", "13800000001", "13712340000"]
    keys = ["login-code:address:127.0.0.1"] + [
        f"login-code:{kind}{mobile}" for mobile in mobiles for kind in ("", "sent:", "tries:")
    ]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def customer():
    customer = CustomerFactory(mobile="13712345678")
    role_user(CUSTOMERS, customer=customer)
    return customer


def code_request(client, mobile, caplog) -> tuple[str, str | None]:
    """Ask for a code; the page's text and the code the SMS carried (None when no SMS went out)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rbac.sms"):
        response = client.post(URL, {"mobile": mobile, "send": "1"})
    assert response.status_code == 200
    texts = re.findall(r"SMS to (\d+): .*?(\d{6})", caplog.text)
    assert all(to == mobile for to, _code in texts)
    return response.content.decode(), texts[-1][1] if texts else None


def test_the_password_login_page_links_to_the_sms_login(client):
    assert URL in client.get(reverse("admin:login")).content.decode()
    page = client.get(URL).content.decode()
    assert 'name="mobile"' in page and "短信验证码" in page  # Chinese by default


def test_a_customer_logs_in_with_the_texted_code_once(client, customer, caplog):
    page, code = code_request(client, customer.mobile, caplog)
    assert code is not None and "验证码" in page
    response = client.post(URL, {"mobile": customer.mobile, "code": code, "login": "1"})
    assert response.status_code == 302 and response["Location"] == INDEX
    assert client.get(INDEX).context["user"] == customer.user

    client.logout()
    again = client.post(URL, {"mobile": customer.mobile, "code": code, "login": "1"})
    assert again.status_code == 200 and not again.wsgi_request.user.is_authenticated


def test_an_unknown_mobile_gets_the_same_answer_and_no_sms(client, customer, caplog):
    known_page, _code = code_request(client, customer.mobile, caplog)
    unknown_page, unknown_code = code_request(client, "13800000000", caplog)
    assert unknown_code is None
    message = re.compile(r'sms-login-message"[^>]*>([^<]*)<')
    assert message.findall(unknown_page) == message.findall(known_page) != []


def test_a_customer_without_a_login_or_inactive_gets_no_code(client, caplog):
    CustomerFactory(mobile="13700000001")  # no login account
    inactive = CustomerFactory(mobile="13700000002", is_active=False)
    role_user(CUSTOMERS, customer=inactive, username="inactive")
    for mobile in ("13700000001", "13700000002"):
        assert code_request(client, mobile, caplog)[1] is None


def test_five_wrong_codes_burn_the_code(client, customer, caplog):
    _page, code = code_request(client, customer.mobile, caplog)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        response = client.post(URL, {"mobile": customer.mobile, "code": wrong, "login": "1"})
        assert "errornote" in response.content.decode()
    response = client.post(URL, {"mobile": customer.mobile, "code": code, "login": "1"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


def test_one_code_a_minute_per_mobile(client, customer, caplog):
    assert code_request(client, customer.mobile, caplog)[1] is not None
    page, code = code_request(client, customer.mobile, caplog)
    assert code is None and "errornote" in page


def test_codes_per_address_are_limited(client, customer, settings, caplog):
    settings.LOGIN_CODES_PER_ADDRESS = 2
    for n in range(2):
        code_request(client, f"1380000000{n}", caplog)
    page, code = code_request(client, customer.mobile, caplog)
    assert code is None and "errornote" in page


@pytest.mark.parametrize("mobile", ["", "123", "12345678901", "1391234567x", "<script>alert(1)</script>"])
def test_a_bad_mobile_is_a_form_error_never_a_500(client, mobile, caplog):
    page, code = code_request(client, mobile, caplog)
    assert code is None and "errornote" in page
    assert "<script>alert(1)</script>" not in page


def test_logging_in_needs_a_code_and_never_redirects_off_site(client, customer, caplog):
    response = client.post(URL, {"mobile": customer.mobile, "login": "1"})
    assert response.status_code == 200 and "errornote" in response.content.decode()
    _page, code = code_request(client, customer.mobile, caplog)
    response = client.post(
        URL, {"mobile": customer.mobile, "code": code, "login": "1", "next": "https://elsewhere.example/"}
    )
    assert response["Location"] == INDEX


def test_no_codes_while_the_cache_is_down_and_no_500(client, customer, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True},
        }
    }
    page, code = code_request(client, customer.mobile, caplog)
    assert code is None and "短信验证码登录暂不可用" in page
    response = client.post(URL, {"mobile": customer.mobile, "code": "123456", "login": "1"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated

