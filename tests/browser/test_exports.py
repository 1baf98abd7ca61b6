"""Exporting a filtered order list in Chromium: the export page in the admin's layout, no script error on
the way, and a file named and headed in Chinese."""

import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import Order

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=2, orders=4, stdout=open("/dev/null", "w"))


def test_customer_service_exports_the_succeeded_orders(demo, page, login, screenshot):
    succeeded = sorted(Order.objects.filter(status=Order.Status.SUCCEEDED).values_list("order_no", flat=True))
    assert succeeded
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and script_errors.append(message.text))
    login("service", PASSWORD)

    page.goto("/admin/orders/order/?status__exact=succeeded")
    page.locator(".actions button", has_text="导出").click()
    page.wait_for_url(re.compile(r"/admin/orders/order/export/\?status__exact=succeeded$"))
    card = page.locator("#content-main fieldset.module")
    assert card.locator("label", has_text="订单号").is_visible()
    assert page.locator("#id_format").input_value() == "0"  # xlsx
    screenshot()

    with page.expect_download() as download:
        page.locator("#export_form button[type=submit]").click()
    saved = download.value
    assert saved.suggested_filename == f"订单-{timezone.localdate():%Y-%m-%d}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(open(saved.path(), "rb").read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("订单号", "创建时间", "客户")
    assert sorted(row[0] for row in rows[1:]) == succeeded
    assert {row[11] for row in rows[1:]} == {"已完成"}
    assert script_errors == []
