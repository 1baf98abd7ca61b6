import logging
import re

import pytest
from django.core.cache import cache

from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_staff_signs_in_and_sees_the_chinese_admin(page, login, screenshot):
    UserFactory(username="boss", is_staff=True, is_superuser=True)

    login("boss", "pass-word-123")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "boss" in page.content()
    screenshot()


def test_a_customer_signs_in_with_a_texted_code(page, screenshot, caplog):
    from rbac.roles import CUSTOMERS
    from tests.factories import CustomerFactory
    from tests.roles import role_user

    customer = CustomerFactory(mobile="13712340000")
    role_user(CUSTOMERS, customer=customer)
    limits = [f"login-code:{kind}{customer.mobile}" for kind in ("", "sent:", "tries:")]
    cache.delete_many([*limits, "login-code:address:127.0.0.1"])  # a run a minute ago must not count

    page.goto("/admin/login/")
    screenshot("password-page")
    page.click("text=客户：短信验证码登录")
    page.fill("input[name=mobile]", customer.mobile)
    with caplog.at_level(logging.INFO, logger="rbac.sms"):
        page.click("button[name=send]")
        page.locator(".sms-login-message").wait_for()
    send = page.locator("button[name=send]")
    assert send.is_disabled()
    assert re.fullmatch(r"(60|59) 秒后可重新发送", send.inner_text().strip())
    page.wait_for_function("!document.getElementById('sms-send').textContent.includes('60 秒')")
    screenshot("code-sent")
    code = re.search(rf"SMS to {customer.mobile}: .*?(\d{{6}})", caplog.text)[1]
    page.fill("input[name=mobile]", customer.mobile)
    page.fill("input[name=code]", code)
    page.press("input[name=code]", "Enter")  # the Enter key logs in, it does not ask for another code

    page.wait_for_url(re.compile(r"/admin/$"))
    assert "我的订单" in page.content()
    screenshot()
