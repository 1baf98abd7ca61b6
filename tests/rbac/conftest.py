import logging
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from rbac.roles import CUSTOMERS
from tests.factories import CustomerFactory
from tests.roles import role_user

MOBILE = "13712345678"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's
ADDRESSES = ["127.0.0.1", "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "198.51.100.7"]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Sign-in tests check many passwords; the default hasher's cost is the point in production only."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fresh_codes():
    """Forget SMS codes and their rate limits for MOBILE and the addresses these tests use."""
    keys = [f"login-code:{kind}{MOBILE}" for kind in ("", "sent:", "tries:")]
    keys += [f"login-code:address:{address}" for address in ADDRESSES]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def alice(db, fresh_codes):
    """A customer with the mobile MOBILE and her customer account "alice" (password PASSWORD)."""
    customer = CustomerFactory(mobile=MOBILE)
    return role_user(CUSTOMERS, customer=customer, username="alice")


def password_login(client, username, password=PASSWORD, address="127.0.0.1", **extra):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def sms_code_send(client, caplog, mobile=MOBILE, address="127.0.0.1"):
    """Ask for a code; the response and the code the SMS carried (None when none went out)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rbac.sms"):
        response = client.post(reverse("sms_login"), {"mobile": mobile, "send": "1"}, REMOTE_ADDR=address)
    codes = re.findall(rf"SMS to {mobile}: .*?(\d{{6}})", caplog.text)
    return response, codes[-1] if codes else None


def sms_login(client, code, mobile=MOBILE, address="127.0.0.1", **extra):
    return client.post(
        reverse("sms_login"), {"mobile": mobile, "code": code, "login": "1"}, REMOTE_ADDR=address, **extra
    )


def signed_in_user(client):
    return client.get(reverse("admin:index")).wsgi_request.user
