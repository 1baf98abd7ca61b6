"""The only writers of customer balances: every change is one immutable ledger entry, under the row lock."""

import uuid
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from customers.errors import IdempotencyConflict, InactiveCustomer, InsufficientBalance
from customers.models import Customer, LedgerEntry, Tier
from customers.money import money_amount_parse


def customer_lock(*, customer_id: int) -> Customer:
    """Lock the customer row. Every money-moving transaction takes this lock first (then the order's).

    The tier's discount comes along as `tier_discount_percent` in the same statement: a subquery,
    unlike select_related's join, reads the shared tier row without locking it. Written as SQL
    because it runs on every order and the ORM's Subquery costs more to compile than to run.
    """
    customers, tiers = Customer._meta.db_table, Tier._meta.db_table
    tier_discount = RawSQL(
        f"SELECT t.discount_percent FROM {tiers} t WHERE t.id = {customers}.tier_id",
        (),
        output_field=Tier._meta.get_field("discount_percent"),
    )
    return Customer.objects.select_for_update().annotate(tier_discount_percent=tier_discount).get(pk=customer_id)


def balance_sufficient_check(*, customer: Customer, amount: Decimal) -> None:
    if amount > customer.balance:
        raise InsufficientBalance(
            _("Insufficient balance: %(balance)s available, %(needed)s needed.")
            % {"balance": customer.balance, "needed": amount}
        )


def ledger_post(
    *,
    customer: Customer,
    kind: str,
    amount: Decimal,
    actor: AbstractBaseUser | None,
    order_id: int | None = None,
    memo: str = "",
    token: str | None = None,
) -> LedgerEntry:
    """Apply a signed amount to a customer locked by `customer_lock` and record it in the ledger."""
    if amount < 0:
        balance_sufficient_check(customer=customer, amount=-amount)
    new_balance = customer.balance + amount
    Customer.objects.filter(pk=customer.pk).update(balance=new_balance)
    customer.balance = new_balance
    return LedgerEntry.objects.create(
        customer=customer,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        order_id=order_id,
        created_by=actor,
        memo=memo,
        token=token,
    )


def _balance_move(
    *, customer_id: int, kind: str, amount, actor, memo: str, token: str | None
) -> LedgerEntry:
    amount = money_amount_parse(amount)
    signed = amount if kind == LedgerEntry.Kind.RECHARGE else -amount
    customer = customer_lock(customer_id=customer_id)
    if token:
        first = LedgerEntry.objects.filter(token=token).first()
        if first is not None:
            if (first.customer_id, first.kind, first.amount) != (customer.pk, kind, signed):
                raise IdempotencyConflict(_("This submission token was already used for a different request."))
            return first
    if not customer.is_active:
        raise InactiveCustomer(_("Customer %(customer)s is inactive.") % {"customer": customer})
    return ledger_post(
        customer=customer, kind=kind, amount=signed, actor=actor, memo=memo, token=token or uuid.uuid4().hex
    )


@transaction.atomic
def balance_recharge(
    *, customer_id: int, amount, actor: AbstractBaseUser | None, memo: str = "", token: str | None = None
) -> LedgerEntry:
    """Add money to a customer's balance. Replaying `token` returns the first entry and moves nothing."""
    return _balance_move(
        customer_id=customer_id, kind=LedgerEntry.Kind.RECHARGE, amount=amount, actor=actor, memo=memo, token=token
    )


@transaction.atomic
def balance_debit(
    *, customer_id: int, amount, actor: AbstractBaseUser | None, memo: str = "", token: str | None = None
) -> LedgerEntry:
    """Take money from a customer's balance; refuses to go below zero."""
    return _balance_move(
        customer_id=customer_id, kind=LedgerEntry.Kind.DEBIT, amount=amount, actor=actor, memo=memo, token=token
    )
