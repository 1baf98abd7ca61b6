from decimal import Decimal

import pytest

from customers.errors import IdempotencyConflict, InactiveCustomer, InsufficientBalance, InvalidAmount
from customers.models import LedgerEntry
from customers.services import balance_debit, balance_recharge

pytestmark = pytest.mark.django_db


def test_balance_recharge_adds_money_with_one_ledger_entry(customer, staff, reconciled):
    entry = balance_recharge(customer_id=customer.pk, amount="100.50", actor=staff, memo="cash")
    customer.refresh_from_db()
    assert customer.balance == Decimal("100.50")
    assert (entry.kind, entry.amount, entry.balance_after, entry.created_by) == ("recharge", Decimal("100.50"), Decimal("100.50"), staff)
    assert LedgerEntry.objects.count() == 1
    reconciled()


def test_balance_debit_takes_money_and_refuses_to_go_below_zero(customer, staff, reconciled):
    balance_recharge(customer_id=customer.pk, amount=Decimal("50"), actor=staff)
    entry = balance_debit(customer_id=customer.pk, amount=Decimal("20.25"), actor=staff)
    assert (entry.amount, entry.balance_after) == (Decimal("-20.25"), Decimal("29.75"))
    with pytest.raises(InsufficientBalance):
        balance_debit(customer_id=customer.pk, amount=Decimal("29.76"), actor=staff)
    balance_debit(customer_id=customer.pk, amount=Decimal("29.75"), actor=staff)
    customer.refresh_from_db()
    assert customer.balance == 0
    assert LedgerEntry.objects.count() == 3
    reconciled()


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-5", "10.001", "100000000.00", "99999999.995", "abc", "", "NaN", "Infinity", "1e3x", 12.5]
)
def test_bad_amounts_are_refused_and_write_nothing(customer, staff, amount):
    with pytest.raises(InvalidAmount):
        balance_recharge(customer_id=customer.pk, amount=amount, actor=staff)
    with pytest.raises(InvalidAmount):
        balance_debit(customer_id=customer.pk, amount=amount, actor=staff)
    customer.refresh_from_db()
    assert customer.balance == 0
    assert not LedgerEntry.objects.exists()


def test_the_largest_amount_is_accepted(customer, staff):
    balance_recharge(customer_id=customer.pk, amount="99999999.99", actor=staff)
    customer.refresh_from_db()
    assert customer.balance == Decimal("99999999.99")


def test_inactive_customer_is_refused(customer, staff):
    customer.is_active = False
    customer.save()
    with pytest.raises(InactiveCustomer):
        balance_recharge(customer_id=customer.pk, amount="10", actor=staff)
    assert not LedgerEntry.objects.exists()


def test_replaying_a_token_returns_the_first_entry_and_moves_no_money(customer, staff):
    first = balance_recharge(customer_id=customer.pk, amount="10", actor=staff, token="tok-1")
    again = balance_recharge(customer_id=customer.pk, amount="10", actor=staff, token="tok-1")
    assert again.pk == first.pk
    customer.refresh_from_db()
    assert customer.balance == Decimal("10")
    debit = balance_debit(customer_id=customer.pk, amount="4", actor=staff, token="tok-2")
    assert balance_debit(customer_id=customer.pk, amount="4", actor=staff, token="tok-2").pk == debit.pk
    customer.refresh_from_db()
    assert customer.balance == Decimal("6")


def test_a_token_reused_for_another_request_is_refused(customer, staff):
    balance_recharge(customer_id=customer.pk, amount="10", actor=staff, token="tok-1")
    with pytest.raises(IdempotencyConflict):
        balance_recharge(customer_id=customer.pk, amount="11", actor=staff, token="tok-1")
    with pytest.raises(IdempotencyConflict):
        balance_debit(customer_id=customer.pk, amount="10", actor=staff, token="tok-1")
    assert LedgerEntry.objects.count() == 1


def test_ledger_entries_are_immutable(customer, staff):
    entry = balance_recharge(customer_id=customer.pk, amount="10", actor=staff)
    entry.amount = Decimal("1000")
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
