from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.services import balance_recharge
from orders.errors import InactiveProduct
from orders.models import Product
from orders.pricing import price_list_load
from orders.services import order_place, order_quote
from tests.factories import CustomerFactory, PricePolicyFactory, ProductFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stepped_product():
    product = ProductFactory(unit_price=Decimal("10.00"))
    PricePolicyFactory(product=product, min_quantity=10, unit_price=Decimal("9.00"))
    PricePolicyFactory(product=product, min_quantity=100, unit_price=Decimal("8.50"))
    return product


@pytest.mark.parametrize(
    "quantity, unit_price",
    [(1, "10.00"), (9, "10.00"), (10, "9.00"), (11, "9.00"), (99, "9.00"), (100, "8.50"), (1000, "8.50")],
)
def test_unit_price_is_the_largest_policy_step_reached(stepped_product, quantity, unit_price):
    assert price_list_load(product_id=stepped_product.pk).unit_price(quantity) == Decimal(unit_price)


@pytest.mark.parametrize(
    "discount, unit_price, quantity, list_amount, amount",
    [
        ("0", "10.00", 3, "30.00", "30.00"),
        ("15", "10.00", 3, "30.00", "25.50"),
        ("100", "10.00", 3, "30.00", "0.00"),
        # 0.15 * 0.9 = 0.135 -> 0.14 (half up, not banker's 0.14/0.13)
        ("10", "0.15", 1, "0.15", "0.14"),
        # 0.25 * 0.9 = 0.225 -> 0.23 (banker's rounding would give 0.22)
        ("10", "0.25", 1, "0.25", "0.23"),
        ("12.5", "9.99", 7, "69.93", "61.19"),  # 61.18875 -> 61.19
    ],
)
def test_amount_applies_tier_discount_rounded_half_up(discount, unit_price, quantity, list_amount, amount):
    customer = CustomerFactory(tier=TierFactory(discount_percent=Decimal(discount)))
    product = ProductFactory(unit_price=Decimal(unit_price))
    quote = order_quote(customer_id=customer.pk, product_id=product.pk, quantity=quantity)
    assert (quote.list_amount, quote.discount_percent, quote.amount) == (
        Decimal(list_amount),
        Decimal(discount),
        Decimal(amount),
    )


def test_order_stores_the_price_snapshot(stepped_product, staff):
    customer = CustomerFactory(tier=TierFactory(discount_percent=Decimal("15")))
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    order = order_place(customer_id=customer.pk, product_id=stepped_product.pk, quantity=10, target="x", actor=staff)
    stepped_product.price_policies.update(unit_price=Decimal("1.00"))
    customer.tier.discount_percent = Decimal("50")
    customer.tier.save()
    order.refresh_from_db()
    assert (order.unit_price, order.list_amount, order.discount_percent, order.amount) == (
        Decimal("9.00"),
        Decimal("90.00"),
        Decimal("15"),
        Decimal("76.50"),
    )
    # The queryset update renewed the product's revision: the next order is not priced from the copy.
    later = order_place(customer_id=customer.pk, product_id=stepped_product.pk, quantity=10, target="x", actor=staff)
    assert (later.unit_price, later.amount) == (Decimal("1.00"), Decimal("5.00"))


def test_a_free_order_still_has_its_charge_entry(staff, reconciled):
    customer = CustomerFactory(tier=TierFactory(discount_percent=Decimal("100")))
    order = order_place(customer_id=customer.pk, product_id=ProductFactory().pk, quantity=2, target="x", actor=staff)
    assert order.amount == 0
    assert order.ledger_entries.get().amount == 0
    reconciled()


@pytest.fixture
def place(staff):
    customer = CustomerFactory()
    balance_recharge(customer_id=customer.pk, amount="100000", actor=staff)

    def place(product, quantity):
        return order_place(customer_id=customer.pk, product_id=product.pk, quantity=quantity, target="x", actor=staff)

    return place


def test_the_next_order_sees_every_change_to_the_product_and_its_policies(stepped_product, place):
    assert place(stepped_product, 10).unit_price == Decimal("9.00")  # this process now holds a copy
    policy = stepped_product.price_policies.get(min_quantity=10)
    policy.unit_price = Decimal("8.00")
    policy.save()
    assert place(stepped_product, 10).unit_price == Decimal("8.00")
    PricePolicyFactory(product=stepped_product, min_quantity=5, unit_price=Decimal("9.50"))
    assert place(stepped_product, 5).unit_price == Decimal("9.50")
    policy.delete()
    assert place(stepped_product, 10).unit_price == Decimal("9.50")
    stepped_product.unit_price = Decimal("12.00")
    stepped_product.save()
    assert place(stepped_product, 1).unit_price == Decimal("12.00")
    stepped_product.is_active = False
    stepped_product.save(update_fields=["is_active"])
    with pytest.raises(InactiveProduct):
        place(stepped_product, 1)


def test_a_change_saved_by_another_process_is_seen_through_the_revision(stepped_product, place):
    place(stepped_product, 10)
    # What another process's write leaves in the database (a new revision): this process's copy is not told.
    Product.objects.filter(pk=stepped_product.pk).update(unit_price=Decimal("11.00"))
    assert place(stepped_product, 1).unit_price == Decimal("11.00")


def test_an_unchanged_product_is_priced_without_reading_it_again(stepped_product, place):
    place(stepped_product, 10)
    with CaptureQueriesContext(connection) as queries:
        assert place(stepped_product, 10).unit_price == Decimal("9.00")
    statements = [query["sql"] for query in queries]
    assert any("customers_customer" in sql for sql in statements)
    assert not any("orders_pricepolicy" in sql for sql in statements)


def test_a_policy_edited_in_the_admin_prices_the_next_order(admin_client, stepped_product, place):
    place(stepped_product, 10)
    policies = list(stepped_product.price_policies.order_by("min_quantity"))
    data = {
        "code": stepped_product.code,
        "name": stepped_product.name,
        "unit_price": "10.00",
        "min_quantity": "1",
        "max_quantity": "1000",
        "executor": "sandbox",
        "timeout_seconds": "10",
        "sandbox_delay_ms": "0",
        "is_active": "on",
        "price_policies-TOTAL_FORMS": str(len(policies)),
        "price_policies-INITIAL_FORMS": str(len(policies)),
        "price_policies-MIN_NUM_FORMS": "0",
        "price_policies-MAX_NUM_FORMS": "1000",
    }
    for index, policy in enumerate(policies):
        data |= {
            f"price_policies-{index}-id": str(policy.pk),
            f"price_policies-{index}-product": str(stepped_product.pk),
            f"price_policies-{index}-min_quantity": str(policy.min_quantity),
            f"price_policies-{index}-unit_price": "7.00" if policy.min_quantity == 10 else str(policy.unit_price),
        }
    response = admin_client.post(reverse("admin:orders_product_change", args=[stepped_product.pk]), data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert place(stepped_product, 10).unit_price == Decimal("7.00")


def test_a_policy_moved_to_another_product_leaves_the_first_priced_without_it(stepped_product, place):
    assert place(stepped_product, 10).unit_price == Decimal("9.00")
    policy = stepped_product.price_policies.get(min_quantity=10)
    policy.product = ProductFactory()
    policy.save()
    assert place(stepped_product, 10).unit_price == Decimal("10.00")
