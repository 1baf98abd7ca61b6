"""The dashboard in the home tab, driven through Chromium: its charts drawn, its figures in a table."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from core.money import money_display
from customers.models import Customer, LedgerEntry
from customers.services import balance_recharge
from orders.models import Product
from orders.services import order_place

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=3, orders=0, stdout=open("/dev/null", "w"))
    alice = Customer.objects.get(mobile="13800000000")
    product = Product.objects.get(code="VIP-MONTH")
    for quantity in (1, 2, 3):
        order_place(customer_id=alice.pk, product_id=product.pk, quantity=quantity, target="alice-tv", actor=None)
    balance_recharge(customer_id=alice.pk, amount=Decimal("88.80"), actor=None)
    return alice


def dashboard(page):
    """The home tab's frame, once its charts have drawn (ECharts animates them in for a second)."""
    frame = page.frame_locator("iframe").first
    frame.locator("#chart-days canvas").first.wait_for()
    page.wait_for_timeout(1500)
    return frame


def page_screenshot(page, screenshot, suffix: str) -> None:
    """The dashboard page itself, whole (the home tab's frame cuts it at the window's height)."""
    page.goto("/admin/dashboard/")
    page.locator("#chart-days canvas").first.wait_for()
    page.wait_for_timeout(1500)
    screenshot(suffix)


def test_finance_sees_the_money_of_the_day_and_the_month_in_charts_and_a_table(page, login, screenshot, demo):
    login("finance", PASSWORD)
    frame = dashboard(page)
    assert frame.locator("#chart-hours").count() == 0  # order figures are not finance's
    money = frame.locator(".dashboard-money").inner_text()
    assert "充值" in money and "退款" in money
    frame.locator(".dashboard-table summary").click()
    recharged = sum(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RECHARGE).values_list("amount", flat=True))
    assert money_display(recharged) in frame.locator(".dashboard-table tbody tr").first.inner_text()
    screenshot()
    page_screenshot(page, screenshot, "page")


def test_a_customer_sees_her_balance_orders_and_spend(page, login, screenshot, demo):
    login("alice", PASSWORD)
    frame = dashboard(page)
    frame.locator("#chart-hours canvas").first.wait_for()
    demo.refresh_from_db()
    assert money_display(demo.balance) in frame.locator(".my-balance").inner_text()
    assert frame.locator(".dashboard-recent tbody tr").count() == 3
    assert "待执行队列" not in frame.locator(".dashboard").inner_text()
    frame.locator("a", has_text="7 天").click()
    frame.locator(".dashboard-range a.active", has_text="7 天").wait_for()
    dashboard(page)
    assert frame.locator(".dashboard-table tbody tr").count() == 7
    screenshot()
    page_screenshot(page, screenshot, "page")
