"""The import screens in Chromium: finance's batch recharge (a file with errors, then a good one,
previewed and confirmed) and customer service's mass order, each reached from the left menu, with no
script error on the way."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.models import Customer
from orders.models import Order, Product
from tests.imports import xlsx_file

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=3, orders=0, stdout=open("/dev/null", "w"))
    # customer service's data scope is its own customers: here the demo's "service" owns them all
    Customer.objects.update(owner=get_user_model().objects.get(username="service"))


def spreadsheet(tmp_path, name, rows):
    path = tmp_path / name
    path.write_bytes(xlsx_file(rows).read())
    return path


def watched(page) -> list[str]:
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def menu_open(page, group: str, entry: str) -> None:
    page.goto("/admin/")
    page.locator(".el-submenu__title", has_text=group).click()
    page.locator(".el-menu-item", has_text=entry).click()


def upload(page, path) -> None:
    frame = page.frame_locator("iframe").last if page.locator("iframe").count() else page
    frame.locator("input[type=file]").set_input_files(str(path))
    frame.locator("#id_format").select_option("0")
    frame.locator("#upload-import button[type=submit]").click()


def test_finance_imports_a_batch_recharge(demo, page, login, screenshot, tmp_path):
    errors = watched(page)
    a, b = Customer.objects.order_by("id")[:2]
    before = [a.balance, b.balance]
    login("finance", PASSWORD)
    menu_open(page, "财务", "批量充值")
    frame = page.frame_locator("iframe").last
    frame.locator("#import-template").wait_for()
    screenshot("upload")

    page.goto("/admin/customers/recharge/import/")
    bad = spreadsheet(tmp_path, "bad.xlsx", [["手机号", "金额", "备注"], [a.mobile, "100", "<b>月度</b>"], ["13900000000", "5", ""], [b.mobile, "abc", ""]])
    upload(page, bad)
    page.locator("#import-row-errors").wait_for()
    assert page.locator("#confirm-import").count() == 0
    assert "没有手机号为 13900000000 的客户" in page.locator("#import-row-errors").inner_text()
    screenshot("errors")

    good = spreadsheet(tmp_path, "good.xlsx", [["手机号", "金额", "备注"], [a.mobile, "100", "<b>月度</b>"], [b.mobile, "20.5", "=1+2"]])
    upload(page, good)
    preview = page.locator("#import-preview")
    preview.wait_for()
    assert "<b>月度</b>" in preview.inner_text()  # shown as the text it is
    screenshot("preview")
    page.locator("#confirm-import button").click()
    page.wait_for_url(re.compile(r"/admin/customers/recharge/$"))
    page.locator(".el-notification", has_text="已导入 2 行").wait_for()  # the toast comes a moment after the page
    screenshot("done")
    assert [Customer.objects.get(pk=c.pk).balance for c in (a, b)] == [before[0] + 100, before[1] + Decimal("20.50")]
    assert errors == []


def test_customer_service_previews_and_places_a_mass_order(demo, page, login, screenshot, tmp_path):
    errors = watched(page)
    customers = list(Customer.objects.order_by("id")[:2])
    product = Product.objects.filter(is_active=True).order_by("id").first()
    login("service", PASSWORD)
    menu_open(page, "订单", "批量下单")
    page.frame_locator("iframe").last.locator("#import-template").wait_for()
    page.goto("/admin/orders/order/import/")
    rows = [["手机号", "产品", "数量", "目标"], *[[c.mobile, product.code, product.min_quantity, "13800138000"] for c in customers]]
    upload(page, spreadsheet(tmp_path, "orders.xlsx", rows))
    page.locator("#import-summary").wait_for()
    screenshot("preview")
    page.locator("#confirm-import button").click()
    page.wait_for_url(re.compile(r"/admin/orders/order/$"))
    screenshot("done")
    assert Order.objects.filter(token__startswith="import-").count() == 2
    page.goto("/admin/customers/customer/import/")
    page.locator("#import-template").wait_for()
    screenshot("customers")
    assert errors == []
