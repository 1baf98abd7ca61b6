"""An account manager's day in Chromium: only their own customers, in the list, the search and the
order form's suggestions; an order for one of them; no way to a colleague's."""

import re

import pytest
from django.core.management import call_command

from customers.models import Customer
from orders.models import Order, Product
from tests.browser.test_admin_flows import PASSWORD, customer_pick

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(live_server):
    """Six demo customers spread over four account managers: service owns 13800000000 and 13800000004."""
    call_command("demo", password=PASSWORD, customers=6, orders=0, stdout=open("/dev/null", "w"))


def test_an_account_manager_sees_and_serves_only_their_own_customers(demo, page, login, screenshot):
    mine = list(Customer.objects.filter(owner__username="service").order_by("mobile"))
    colleagues = Customer.objects.filter(owner__username="service2").first()
    assert [c.mobile for c in mine] == ["13800000000", "13800000004"]
    login("service", PASSWORD)

    page.goto("/admin/customers/customer/")
    listed = page.locator("#result_list tbody tr")
    assert listed.count() == 2 and "13800000001" not in page.locator("#result_list").inner_text()
    screenshot("list")
    page.goto(f"/admin/customers/customer/?q={colleagues.mobile}")
    assert page.locator("#result_list tbody tr").count() == 0

    page.goto("/admin/orders/order/add/")
    page.locator("#id_customer").press_sequentially("1380000000", delay=30)
    page.wait_for_function("document.querySelectorAll('#id_customer_datalist option').length > 0")
    page.wait_for_timeout(500)  # the last keystroke's answer
    offered = page.locator("#id_customer_datalist option").evaluate_all("options => options.map(o => o.value)")
    assert offered and all(str(c) in offered for c in mine) and str(colleagues) not in offered
    page.goto("/admin/orders/order/add/")
    customer_pick(page, "customer", "004", mine[1])
    page.select_option("#id_product", value=str(Product.objects.get(code="MOBILE-100").pk))
    page.fill("#id_quantity", "1")
    page.fill("#id_target", mine[1].mobile)
    page.click("button[name=_save]")
    page.wait_for_url(re.compile(r"/admin/orders/order/(\?.*)?$"))
    assert Order.objects.filter(customer=mine[1], created_by__username="service").count() == 1
    screenshot("ordered")

    response = page.goto(f"/admin/customers/customer/{colleagues.pk}/change/")
    assert response.status == 404 and "未找到" in page.content()
    screenshot("colleague")
