"""Change-list controls as staff use them in Chromium."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from core.admin import BoundedCountPaginator
from customers.models import Customer
from orders.models import Order, Product
from tests.browser.test_admin_flows import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=3, orders=6, stdout=open("/dev/null", "w"))
    # customer service's data scope is its own customers: here the demo's "service" owns them all
    Customer.objects.update(owner=get_user_model().objects.get(username="service"))


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


def test_a_list_longer_than_the_count_limit_says_more_than_the_limit(demo, page, login, screenshot):
    customer = Order.objects.order_by("id").first().customer
    product = Product.objects.order_by("id").first()
    # Rows for the count alone, made in one statement: no charge stands behind them, and nothing else reads them.
    Order.objects.bulk_create(
        [
            Order(
                order_no=f"{n:023d}", token=f"bulk-{n}", customer=customer, product=product, quantity=1, target="t",
                unit_price=1, list_amount=1, discount_percent=0, amount=1,
            )
            for n in range(BoundedCountPaginator.COUNT_LIMIT + 1)
        ],
        batch_size=1000,
    )
    login("service", PASSWORD)
    page.goto("/admin/orders/order/")

    assert page.locator("#pagination .el-pagination__total").inner_text() == "超过 10,000 条"
    page.check("#action-toggle")  # the whole page selected: the list offers the rest
    page.locator(".actions .question").wait_for()
    shown = page.locator("#changelist").inner_text()
    assert not re.search(r"(?<!\d)10,?001(?!\d)", shown), "a count reads as if the limit + 1 were the total"
    assert "超过 10,000" in page.locator(".actions .question").inner_text()
    screenshot()
    page.locator(".actions .question a").click()
    assert "超过 10,000" in page.locator(".actions .all").inner_text()
