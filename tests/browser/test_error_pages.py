"""A refused or missing page answers with the platform's own page in Chinese, and a way back to the home
page in the whole window, also from inside one of simpleui's tabs."""

import re

import pytest
from django.core.management import call_command

from customers.models import Customer
from orders.models import Order
from orders.services import order_place
from tests.browser.test_admin_flows import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=2, orders=0, stdout=open("/dev/null", "w"))


def assert_error_page(page, status_code: int, response, heading: str) -> None:
    assert response.status == status_code
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("main h1").inner_text() == heading
    assert page.title() == f"{heading} | 订单平台"
    card = page.locator("main").bounding_box()
    assert card["width"] > 300 and card["x"] > 0  # the styled card, not a bare text page


def test_a_refused_page_says_so_in_chinese_and_leads_home(demo, page, login, screenshot):
    login("finance", PASSWORD)  # finance has no orders list
    assert_error_page(page, 403, page.goto("/admin/orders/order/"), "无权访问")
    assert "管理员" in page.locator("main p").first.inner_text()
    screenshot()
    page.get_by_role("link", name="返回首页").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    assert page.locator("aside .el-menu-item").count() > 0  # the admin's home, with its menu


def test_someone_elses_order_is_not_found_in_chinese(demo, page, login, screenshot):
    alice = Customer.objects.get(user__username="alice")
    other = Customer.objects.exclude(pk=alice.pk).first()
    product = Order._meta.get_field("product").related_model.objects.get(code="VIP-MONTH")
    theirs = order_place(customer_id=other.pk, product_id=product.pk, quantity=1, target="other-tv", actor=None)
    login("alice", PASSWORD)
    assert_error_page(page, 404, page.goto(f"/admin/orders/myorder/{theirs.pk}/change/"), "未找到")
    assert theirs.order_no not in page.content()
    screenshot()
    assert_error_page(page, 404, page.goto("/admin/no-such-page/"), "未找到")


def test_the_way_back_from_a_tab_opens_home_in_the_whole_window(demo, page, login, screenshot):
    login("finance", PASSWORD)
    page.locator("aside .el-submenu__title").first.click()
    page.locator("aside .el-submenu .el-menu-item").first.click()  # opens that list in a tab
    page.wait_for_function("document.querySelectorAll('iframe').length > 1")  # the home tab's and this one's
    tab = next(frame for frame in page.frames[::-1] if frame is not page.main_frame and "/dashboard/" not in frame.url)
    tab.wait_for_url(lambda url: "/admin/" in url)  # the list has loaded: a goto before that is cut off by it
    tab.goto(f"{page.url.split('/admin/')[0]}/admin/orders/order/")  # a refused page inside that tab
    assert tab.locator("main h1").inner_text() == "无权访问"
    screenshot("in-tab")
    tab.get_by_role("link", name="返回首页").click()
    page.wait_for_load_state()
    page.locator("aside .el-menu-item").first.wait_for()
    # The whole window shows the home page again: one admin, not an admin nested in its own tab.
    assert page.url.endswith("/admin/")
    assert all(frame.locator("aside").count() == 0 for frame in page.frames if frame is not page.main_frame)
