import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from customers.models import Customer, LedgerEntry
from customers.services import balance_recharge
from orders.models import Order
from orders.reconcile import _breaches_find, ledger_breaches_find, snapshot_read
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


@pytest.mark.django_db(transaction=True)
def test_reads_inside_the_snapshot_do_not_see_a_write_committed_meanwhile(customer, staff):
    balance_recharge(customer_id=customer.pk, amount="100", actor=staff)

    def recharge_elsewhere():
        try:
            balance_recharge(customer_id=customer.pk, amount="5", actor=None)
        finally:
            connection.close()

    with snapshot_read():
        assert LedgerEntry.objects.filter(customer=customer).count() == 1  # the snapshot starts here
        writer = threading.Thread(target=recharge_elsewhere)
        writer.start()
        if connection.vendor == "mysql":
            writer.join()  # on SQLite the writer waits for this transaction to end
        assert Customer.objects.get(pk=customer.pk).balance == Decimal("100.00")
        assert _breaches_find() == []
    writer.join()
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("105.00")


@pytest.mark.django_db(transaction=True)
def test_reconcile_finds_no_breach_while_money_moves(customer, product, staff):
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    stop = threading.Event()
    writer_errors = []

    def place_and_recharge():
        try:
            while not stop.is_set():
                balance_recharge(customer_id=customer.pk, amount="10", actor=None)  # what the order costs
                order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
        except Exception as error:  # noqa: BLE001 - reported by the test
            writer_errors.append(error)
        finally:
            connection.close()

    writer = threading.Thread(target=place_and_recharge)
    writer.start()
    found, checks = [], 0
    try:
        while LedgerEntry.objects.count() < 60 and checks < 500:  # till the writer has really written meanwhile
            found += ledger_breaches_find()
            checks += 1
    finally:
        stop.set()
        writer.join()
    assert writer_errors == []
    assert found == []
