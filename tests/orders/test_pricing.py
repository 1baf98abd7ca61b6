from decimal import Decimal

import pytest

from customers.services import balance_recharge
from orders.services import order_place, order_quote, unit_price_for
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
    assert unit_price_for(product=stepped_product, quantity=quantity) == Decimal(unit_price)


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


def test_a_free_order_still_has_its_charge_entry(staff, reconciled):
    customer = CustomerFactory(tier=TierFactory(discount_percent=Decimal("100")))
    order = order_place(customer_id=customer.pk, product_id=ProductFactory().pk, quantity=2, target="x", actor=staff)
    assert order.amount == 0
    assert order.ledger_entries.get().amount == 0
    reconciled()
