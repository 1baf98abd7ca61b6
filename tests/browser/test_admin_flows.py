"""The three everyday flows, driven through Chromium: place an order, recharge, a customer's own view."""

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.text import capfirst

from core.models import ExportJob
from core.money import money_display
from customers.models import Customer, MyLedgerEntry
from orders.models import MyOrder, Order, Product
from orders.services import order_place

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    """Demo tiers, products, three customers (mobiles 13800000000-2) and one login per role."""
    call_command("demo", password=PASSWORD, customers=3, orders=0, stdout=open("/dev/null", "w"))


def customer_pick(page, field: str, digits: str, customer: Customer) -> None:
    """Type a few digits, wait for the suggestion naming the customer, and take it (a native datalist
    popup is browser chrome Playwright cannot click, so the input gets the suggestion's value as a click would)."""
    page.locator(f"#id_{field}").press_sequentially(digits, delay=50)
    option = page.locator(f"#id_{field}_datalist option[value='{customer}']")
    option.wait_for(state="attached")
    assert page.locator(f"#id_{field}_datalist option").count() == 1
    page.fill(f"#id_{field}", option.get_attribute("value"))


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


def test_customer_service_places_an_order_with_the_price_preview(demo, page, login, screenshot):
    customer = Customer.objects.get(mobile="13800000000")  # service's own (the demo's data scope)
    product = Product.objects.get(code="MOBILE-100")
    login("service", PASSWORD)

    page.goto("/admin/orders/order/add/")
    customer_pick(page, "customer", "000", customer)
    page.select_option("#id_product", value=str(product.pk))
    page.fill("#id_quantity", "2")
    page.fill("#id_target", customer.mobile)
    # 2 x 98.00 = 196.00 list; the customer's tier takes its discount off.
    expected = (Decimal("196.00") * (100 - customer.tier.discount_percent) / 100).quantize(Decimal("0.01"))
    preview_amount = page.locator("#order-preview dd[data-key=amount]")
    page.wait_for_function("document.querySelector('#order-preview dd[data-key=amount]').textContent !== '–'")
    assert preview_amount.inner_text() == money_display(expected)
    assert page.locator("#order-preview dd[data-key=balance]").inner_text() == money_display(customer.balance)
    page.click("button[name=_save]")

    page.wait_for_url(re.compile(r"/admin/orders/order/(\?.*)?$"))
    order = Order.objects.get(customer=customer)
    assert (order.status, order.amount, order.quantity) == (Order.Status.PENDING, expected, 2)
    row = page.locator("#result_list tr", has_text=order.order_no)
    assert row.locator(".order-status-pending").inner_text() == zh(Order.Status.PENDING.label)
    screenshot()


def test_finance_recharges_a_customer_and_sees_the_new_balance(demo, page, login, screenshot):
    customer = Customer.objects.get(mobile="13800000001")
    new_balance = customer.balance + Decimal("500.00")
    login("finance", PASSWORD)

    page.goto("/admin/customers/recharge/add/")
    customer_pick(page, "customer", "001", customer)
    page.fill("#id_amount", "500")
    page.fill("#id_memo", "门店现金充值")
    page.click("button[name=_save]")

    page.wait_for_url(re.compile(r"/admin/customers/recharge/(\?.*)?$"))
    customer.refresh_from_db()
    assert customer.balance == new_balance
    row = page.locator("#result_list tbody tr", has_text="门店现金充值")
    assert customer.name in row.inner_text()
    assert money_display(new_balance) in row.inner_text()
    screenshot()


def test_customer_sees_only_her_menu_and_her_orders(demo, page, login, screenshot):
    alice = Customer.objects.get(user__username="alice")
    other = Customer.objects.exclude(pk=alice.pk).first()
    product = Product.objects.get(code="VIP-MONTH")
    mine = order_place(customer_id=alice.pk, product_id=product.pk, quantity=1, target="alice-tv", actor=None)
    theirs = order_place(customer_id=other.pk, product_id=product.pk, quantity=1, target="other-tv", actor=None)
    login("alice", PASSWORD)

    # The left menu's entries (the leaves: app headings are only groupings).
    entries = page.locator("aside .el-menu-item")
    entries.first.wait_for()
    menu = {text.strip() for text in entries.all_text_contents()}
    # Home, and nothing but her own orders and ledger, and the exports she asked for.
    assert len(menu) == 4
    hers = {capfirst(zh(model._meta.verbose_name_plural)) for model in (MyOrder, MyLedgerEntry, ExportJob)}
    assert hers < menu
    # Her home page opens with her balance (in the home tab's frame or the page itself).
    balance = page.frame_locator("iframe").first.locator(".my-balance") if page.locator("iframe").count() else page.locator(".my-balance")
    alice.refresh_from_db()
    assert money_display(alice.balance) in balance.inner_text()
    screenshot("menu")

    page.goto("/admin/orders/myorder/")
    listed = page.locator("#result_list").inner_text()
    assert mine.order_no in listed
    assert theirs.order_no not in listed
    screenshot()


def test_a_refused_order_shows_on_its_field_and_writes_nothing(demo, page, login, screenshot):
    customer = Customer.objects.get(mobile="13800000000")  # service's own (the demo's data scope)
    product = Product.objects.get(code="MOBILE-100")  # 1 to 100 per order
    login("service", PASSWORD)

    page.goto("/admin/orders/order/add/")
    reason = page.locator("#order-preview [data-key=error]")
    assert not reason.is_visible()  # no empty note before there is a reason
    customer_pick(page, "customer", "000", customer)
    page.select_option("#id_product", value=str(product.pk))
    page.fill("#id_quantity", "101")
    page.fill("#id_target", customer.mobile)
    reason.wait_for(state="visible")  # the preview says why before the save is tried
    page.click("button[name=_save]")

    page.wait_for_load_state()
    quantity_error = page.locator(".form-row.field-quantity .errorlist")
    assert "100" in quantity_error.inner_text()
    assert not Order.objects.exists() and customer.ledger_entries.count() == 1  # the demo's opening recharge
    reason.wait_for(state="visible")  # the form shown again previews its figures at once
    screenshot()

    page.fill("#id_quantity", "2")
    page.click("button[name=_save]")
    page.wait_for_url(re.compile(r"/admin/orders/order/(\?.*)?$"))
    assert Order.objects.get().quantity == 2
