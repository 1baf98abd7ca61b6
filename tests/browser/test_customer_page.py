"""Finance goes from a customer's page to a recharge of that customer, and the debit form shows the balance
of the customer picked from the suggestions."""

import re

import pytest
from django.core.management import call_command

from core.money import money_display
from customers.models import Customer
from tests.browser.test_admin_flows import customer_pick

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=3, orders=0, stdout=open("/dev/null", "w"))


def test_finance_recharges_from_the_customer_page_and_sees_balances_on_the_forms(demo, page, login, screenshot):
    customer = Customer.objects.get(mobile="13800000001")
    login("finance", PASSWORD)

    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    tools = page.locator("a.customer-tool")
    assert tools.all_inner_texts() == ["该客户的交易记录", "充值", "扣款"]  # finance opens no orders
    screenshot("customer")
    tools.filter(has_text="充值").click()

    page.wait_for_url(re.compile(r"/admin/customers/recharge/add/\?customer="))
    assert page.locator("#id_customer").input_value() == str(customer)
    balance = page.locator("#balance-preview")
    balance.filter(has_text=money_display(customer.balance)).wait_for()
    screenshot("recharge")

    other = Customer.objects.get(mobile="13800000002")
    page.goto("/admin/customers/debit/add/")
    assert balance.inner_text() == "–"
    customer_pick(page, "customer", "002", other)
    balance.filter(has_text=money_display(other.balance)).wait_for()
    screenshot("debit")
