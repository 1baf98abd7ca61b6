"""The database itself refuses what breaks the money rules, whatever code writes to it."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from customers.models import Customer, LedgerEntry, Tier
from customers.services import balance_recharge
from orders.services import order_place
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _refused(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_balance_cannot_be_negative(customer):
    _refused(lambda: Customer.objects.filter(pk=customer.pk).update(balance=Decimal("-0.01")))


@pytest.mark.parametrize("discount", ["-1", "100.01"])
def test_tier_discount_stays_within_0_and_100(discount):
    _refused(lambda: Tier.objects.create(name="bad", discount_percent=Decimal(discount)))


def test_mobile_is_unique(customer):
    _refused(lambda: CustomerFactory(mobile=customer.mobile))


@pytest.mark.parametrize(
    "kind, amount",
    [("recharge", "0"), ("recharge", "-1"), ("debit", "1"), ("debit", "0"), ("charge", "1"), ("refund", "-1")],
)
def test_ledger_amount_sign_matches_kind(customer, kind, amount):
    _refused(
        lambda: LedgerEntry.objects.create(customer=customer, kind=kind, amount=Decimal(amount), balance_after=0)
    )


def test_staff_movements_cannot_name_an_order_and_order_entries_must(customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    _refused(lambda: LedgerEntry.objects.create(customer=customer, kind="recharge", amount=1, balance_after=91, order=order))
    _refused(lambda: LedgerEntry.objects.create(customer=customer, kind="refund", amount=10, balance_after=100))
    _refused(lambda: LedgerEntry.objects.create(customer=customer, kind="charge", amount=-1, balance_after=0))
