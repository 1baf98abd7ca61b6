"""Operations retry a failed order and follow the links between it and its retry; the customer follows
the same links on her own order pages."""

import re

import pytest
from django.core.management import call_command

from customers.models import Customer
from orders.models import Order, Product
from orders.services import order_claim, order_fail, order_place
from tests.browser.test_admin_flows import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def failed(live_server):
    call_command("demo", password=PASSWORD, customers=2, orders=0, stdout=open("/dev/null", "w"))
    alice = Customer.objects.get(user__username="alice")
    product = Product.objects.get(code="GAME-CARD")
    order = order_place(customer_id=alice.pk, product_id=product.pk, quantity=1, target="fail0001", actor=None)
    order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[order.pk])
    return order_fail(order_id=order.pk, agent="a", error="refused", transient=False)


def follow(page, label: str, order_no: str) -> None:
    """Click the order number on the row `label` and wait for that order's page."""
    row = page.locator(".form-row", has=page.locator("label", has_text=label))
    row.get_by_role("link", name=order_no).click()
    page.locator(".field-order_no .readonly", has_text=order_no).wait_for()


def test_operations_retry_a_failed_order_and_follow_the_links_both_ways(failed, page, login, screenshot):
    login("ops", PASSWORD)
    page.goto("/admin/orders/order/?status__exact=failed")
    page.check("#action-toggle")
    page.click(".actions button[data-name=retry_selected]")
    page.wait_for_url(re.compile(r"/admin/orders/order/"))
    retry = Order.objects.get(retry_of=failed)

    page.goto(f"/admin/orders/order/{failed.pk}/change/")
    assert page.locator(".field-retry_of").count() == 0  # nothing to show: no "重试自: -"
    screenshot("failed")
    follow(page, "重试为", retry.order_no)
    assert page.locator(".field-retried_as_order").count() == 0
    screenshot("retry")
    follow(page, "重试自", failed.order_no)
    assert page.url.endswith(f"/admin/orders/order/{failed.pk}/change/")


def test_a_customer_follows_her_retry_on_her_own_order_pages(failed, page, login, screenshot):
    from orders.services import order_retry

    retry = order_retry(order_id=failed.pk, actor=None)
    login("alice", PASSWORD)
    page.goto(f"/admin/orders/myorder/{failed.pk}/change/")
    assert page.locator("input[name=memo]").count() == 0  # a placed order is hers to read, not to change
    follow(page, "重试为", retry.order_no)
    assert page.url.endswith(f"/admin/orders/myorder/{retry.pk}/change/")
    screenshot()
    follow(page, "重试自", failed.order_no)
    assert page.url.endswith(f"/admin/orders/myorder/{failed.pk}/change/")
