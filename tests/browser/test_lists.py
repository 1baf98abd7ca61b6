"""Change-list controls as staff use them in Chromium."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import Order
from tests.browser.test_admin_flows import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=3, orders=6, stdout=open("/dev/null", "w"))


def test_picking_one_day_in_the_date_filter_lists_that_days_orders(demo, page, login, screenshot):
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    moved = Order.objects.order_by("id").first()
    # One order from yesterday, late in the evening (local): the one-day range of today must leave it out.
    Order.objects.filter(pk=moved.pk).update(
        created_at=timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(23, 30)))
    )
    login("service", PASSWORD)
    page.goto("/admin/orders/order/")

    page.locator(".el-date-editor").first.click()
    today_cell = page.locator(".el-date-range-picker td.available.today").first
    today_cell.click()
    today_cell.click()  # the same day ends the range
    page.locator("#toolbar button.el-button--primary").click()

    page.wait_for_url(re.compile(r"created_at__lt="))
    query = page.url.split("?", 1)[1]
    assert f"created_at__gte={today:%Y-%m-%d}" in query
    assert f"created_at__lt={today + datetime.timedelta(days=1):%Y-%m-%d}" in query
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == Order.objects.count() - 1
    assert moved.order_no not in page.locator("#result_list").inner_text()
    # The picker shows the day that was picked, not the day after.
    assert page.locator(".el-date-editor input").first.input_value() == f"{today:%Y-%m-%d}"
    screenshot()
