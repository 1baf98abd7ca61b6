"""Exporting a filtered order list in Chromium: the export page in the admin's layout, no script error on
the way, and a file named and headed in Chinese."""

import io
import re

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from core.exports import export_job_build, export_job_claim
from customers.models import Customer, LedgerEntry
from orders.models import Order

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=2, orders=4, stdout=open("/dev/null", "w"))
    # customer service's data scope is its own customers: here the demo's "service" owns them all
    Customer.objects.update(owner=get_user_model().objects.get(username="service"))


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


def big_export_walk(page, screenshot, list_url: str, list_name: str) -> list[tuple]:
    """From a list, export it past the inline limit: the exports list says it is being prepared; once the
    agent built it, the row offers the file. Returns the downloaded sheet's rows."""
    page.goto(list_url)
    page.locator(".actions button", has_text="导出").click()
    page.wait_for_url(re.compile(r"/export/"))
    page.locator("#export_form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/core/exportjob/$"))
    page.locator(".el-notification", has_text="正在准备").wait_for()
    row = page.locator("#result_list tbody tr").first
    assert "排队中" in row.inner_text()
    screenshot("queued")

    job = export_job_build(export_job_claim(agent="browser-agent"))
    assert job.status == "ready"
    page.reload()
    row = page.locator("#result_list tbody tr").first
    assert "可下载" in row.inner_text() and str(job.rows) in row.inner_text()
    screenshot("ready")
    with page.expect_download() as download:
        row.locator("a", has_text="下载").click()
    assert download.value.suggested_filename == f"{list_name}-{timezone.localdate():%Y-%m-%d}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture
def big_exports(settings, tmp_path):
    settings.EXPORT_INLINE_MAX_ROWS = 2
    settings.EXPORT_ROOT = tmp_path


def test_finance_gets_a_big_ledger_export_from_the_exports_list(demo, big_exports, page, login, screenshot):
    login("finance", PASSWORD)
    rows = big_export_walk(page, screenshot, "/admin/customers/ledgerentry/?kind__exact=charge", "交易记录")
    assert rows[0][:3] == ("ID", "创建时间", "客户")
    charges = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE)
    assert sorted(row[0] for row in rows[1:]) == sorted(charges.values_list("id", flat=True))
    assert {row[4] for row in rows[1:]} == {"下单扣款"}


def test_customer_service_gets_a_big_order_export_and_sees_only_her_own(demo, big_exports, page, login, screenshot):
    login("service", PASSWORD)
    rows = big_export_walk(page, screenshot, "/admin/orders/order/?status__exact=succeeded", "订单")
    succeeded = Order.objects.filter(status=Order.Status.SUCCEEDED).values_list("order_no", flat=True)
    assert sorted(row[0] for row in rows[1:]) == sorted(succeeded)
    page.context.clear_cookies()  # signed out
    login("finance", PASSWORD)
    page.goto("/admin/core/exportjob/")
    assert page.locator("#result_list tbody tr").count() == 0
    screenshot("finance-sees-none")
