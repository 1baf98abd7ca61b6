from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, LedgerEntry
from customers.services import balance_recharge
from orders.models import Order
from orders.services import order_cancel, order_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(customer, product, staff):
    balance_recharge(customer_id=customer.pk, amount="100", actor=staff)
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=2, target="t", actor=staff)


def breaches(capsys) -> str:
    with pytest.raises(CommandError):
        call_command("reconcile")
    return capsys.readouterr().err


def test_clean_books_reconcile(order, capsys):
    call_command("reconcile")
    assert "no breach" in capsys.readouterr().out


def test_a_balance_changed_behind_the_ledger_is_a_breach(order, customer, capsys):
    Customer.objects.filter(pk=customer.pk).update(balance=Decimal("1000"))
    assert "!= ledger sum" in breaches(capsys)


def test_an_order_without_its_charge_is_a_breach(order, customer, capsys):
    # Bypass the model's immutability the way a stray SQL script would.
    LedgerEntry.objects.filter(order=order)._raw_delete(LedgerEntry.objects.db)
    Customer.objects.filter(pk=customer.pk).update(balance=Decimal("100"))
    assert "0 charge entries" in breaches(capsys)


def test_a_cancelled_order_without_refund_is_a_breach(order, capsys):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    assert "cancelled but not refunded" in breaches(capsys)


def test_a_refund_on_a_succeeded_order_is_a_breach(order, staff, capsys):
    order_cancel(order_id=order.pk, actor=staff)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.SUCCEEDED)
    assert "refunded but succeeded" in breaches(capsys)


def test_a_charge_that_differs_from_the_amount_is_a_breach(order, capsys):
    Order.objects.filter(pk=order.pk).update(amount=Decimal("1.00"))
    assert "!= -amount" in breaches(capsys)
