"""Balances at the column's limit, for the tests of what happens there."""

import uuid
from decimal import Decimal

from django.db import transaction

from customers.models import LedgerEntry
from customers.money import MONEY_MAX
from customers.services import customer_lock, ledger_post


def balance_fill(customer, *, room: str) -> Decimal:
    """Bring the customer's balance to MONEY_MAX - room with one recharge entry, as the ledger would
    after many large recharges (one typed recharge is at most 99,999,999.99). Returns the balance."""
    with transaction.atomic():
        locked = customer_lock(customer_id=customer.pk, actor=None)
        amount = MONEY_MAX - Decimal(room) - locked.balance
        ledger_post(customer=locked, kind=LedgerEntry.Kind.RECHARGE, amount=amount, actor=None, token=uuid.uuid4().hex)
    customer.refresh_from_db()
    return customer.balance
