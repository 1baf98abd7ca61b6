from decimal import Decimal

import pytest

from core.imports import ImportXLSX
from customers.models import Customer, LedgerEntry
from customers.services import balance_recharge
from orders.imports import OrderBatch
from orders.models import Order
from rbac.roles import CUSTOMER_SERVICE, FINANCE
from tests.factories import CustomerFactory, PricePolicyFactory, ProductFactory, TierFactory
from tests.imports import confirm, import_url, row_errors, upload, xlsx_file
from tests.orders.test_concurrency import run_threads
from tests.roles import every_customer_role, role_user

ORDERS = "orders_order"


@pytest.fixture
def service(client, db):
    client.force_login(role_user(CUSTOMER_SERVICE))
    return client


@pytest.fixture
def setup(db):
    gold = TierFactory(name="Gold", discount_percent=Decimal("10"))
    a = CustomerFactory(tier=gold, mobile="13800000001")
    b = CustomerFactory(tier=TierFactory(), mobile="13800000002")
    balance_recharge(customer_id=a.pk, amount="100", actor=None)
    balance_recharge(customer_id=b.pk, amount="30", actor=None)
    product = ProductFactory(code="FLOW", unit_price=Decimal("10.00"))
    PricePolicyFactory(product=product, min_quantity=5, unit_price=Decimal("8.00"))
    return a, b, product


def test_mass_order_preview_prices_each_row_and_totals_each_customer(service, setup):
    a, b, product = setup
    preview = upload(service, ORDERS, xlsx_file([["手机号", "产品", "数量", "目标"], [a.mobile, "FLOW", 5, "t1"], [b.mobile, "FLOW", 2, "t2"], [a.mobile, "FLOW", 1, "t3"]]))
    assert preview.context.get("confirm_form") is not None, row_errors(preview)
    rows = preview.context["result"].rows
    assert [row.shown[-1] for row in rows] == ["¥36.00", "¥20.00", "¥9.00"]  # 5 × 8.00 − 10 %, 2 × 10, 1 × 10 − 10 %
    summary = preview.context["result"].summary
    assert summary[0] == (Customer.objects.get(pk=a.pk), 2, "¥45.00", "¥100.00", "¥55.00")
    assert Order.objects.count() == 0


def test_mass_order_confirm_places_every_order(service, setup):
    a, b, product = setup
    preview = upload(service, ORDERS, xlsx_file([["mobile", "product", "quantity", "target"], [a.mobile, "FLOW", 5, "t1"], [b.mobile, "FLOW", 2, "t2"]]))
    assert confirm(service, ORDERS, preview).status_code == 302
    orders = Order.objects.order_by("target")  # placed in the lock order (customer shard), not the file's
    assert [(o.customer_id, o.amount, o.status, o.created_by.groups.exclude(name=every_customer_role().name).get().name) for o in orders] == [
        (a.pk, Decimal("36.00"), "pending", CUSTOMER_SERVICE),
        (b.pk, Decimal("20.00"), "pending", CUSTOMER_SERVICE),
    ]
    assert [Customer.objects.get(pk=c.pk).balance for c in (a, b)] == [Decimal("64.00"), Decimal("10.00")]


def test_mass_order_row_errors(service, setup):
    a, b, product = setup
    preview = upload(
        service,
        ORDERS,
        xlsx_file([
            ["mobile", "product", "quantity", "target"],
            [a.mobile, "NOPE", 1, "t"],
            [a.mobile, "FLOW", "1.5", "t"],
            [a.mobile, "FLOW", 1, ""],
            [b.mobile, "FLOW", 2, "t"],
            [b.mobile, "FLOW", 2, "t"],  # a copy, and past b's balance of 30
            [a.mobile, "FLOW", 2000, "t"],
        ]),
    )
    assert preview.context.get("confirm_form") is None
    errors = row_errors(preview)
    assert set(errors) == {2, 3, 4, 6, 7}
    assert any("30" in error for error in errors[6])  # the balance it passes
    assert Order.objects.count() == 0


def test_mass_order_is_all_or_nothing(service, setup):
    a, b, product = setup
    preview = upload(service, ORDERS, xlsx_file([["mobile", "product", "quantity", "target"], [a.mobile, "FLOW", 1, "t"], [b.mobile, "FLOW", 3, "t"]]))
    balance_recharge(customer_id=a.pk, amount="1", actor=None)
    from customers.services import balance_debit

    balance_debit(customer_id=b.pk, amount="25", actor=None)  # b can no longer pay for 3 × 10
    response = confirm(service, ORDERS, preview)
    assert response.status_code == 200 and set(row_errors(response)) == {3}  # checked again at confirm
    assert Order.objects.count() == 0 and Customer.objects.get(pk=a.pk).balance == Decimal("101.00")


def test_mass_order_file_again_is_refused_and_a_second_confirm_places_nothing(service, setup):
    a, _b, _product = setup
    rows = [["mobile", "product", "quantity", "target"], [a.mobile, "FLOW", 1, "t"]]
    preview = upload(service, ORDERS, xlsx_file(rows))
    assert confirm(service, ORDERS, preview).status_code == 302
    assert confirm(service, ORDERS, preview).status_code == 200
    again = upload(service, ORDERS, xlsx_file(rows))
    assert again.context.get("confirm_form") is None and again.context["result"].file_errors
    assert Order.objects.count() == 1


def test_mass_orders_need_their_permission(client, setup):
    client.force_login(role_user(FINANCE))
    assert client.get(import_url(ORDERS)).status_code == 403
    client.force_login(role_user(CUSTOMER_SERVICE))
    assert client.get(import_url(ORDERS)).status_code == 200
    assert client.get(import_url("orders_myorder")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_mass_order_confirmed_twice_at_once_places_once():
    a = CustomerFactory(mobile="13800000001")
    balance_recharge(customer_id=a.pk, amount="100", actor=None)
    ProductFactory(code="FLOW")
    user = role_user(CUSTOMER_SERVICE)
    dataset = ImportXLSX().create_dataset(xlsx_file([["mobile", "product", "quantity", "target"], [a.mobile, "FLOW", 1, "t"], [a.mobile, "FLOW", 2, "t"]]).read())
    results = []
    assert run_threads(2, lambda _i: results.append(OrderBatch().import_data(dataset, dry_run=False, user=user))) == []
    assert Order.objects.count() == 2 and LedgerEntry.objects.filter(kind="charge").count() == 2
    assert Customer.objects.get(pk=a.pk).balance == Decimal("70.00")
