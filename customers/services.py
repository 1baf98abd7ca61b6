"""The only writers of customer balances: every change is one immutable ledger entry, under the row lock."""

import json
import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core.db import row_get, row_insert, row_lock_sql, row_update
from core.validators import text_plain_check
from customers.days import ledger_day_add
from customers.errors import (
    BalanceLimitExceeded,
    CustomerOutOfScope,
    DomainError,
    IdempotencyConflict,
    InactiveCustomer,
    InsufficientBalance,
)
from customers.models import Customer, LedgerEntry, Tier
from customers.money import MONEY_MAX, db_decimal, money_amount_parse
from customers.selectors import customer_visible
from rbac.accounts import customer_account_is
from rbac.models import OperationLog
from rbac.roles import CUSTOMERS
from rbac.services import operation_record


def customer_lock(*, customer_id: int, actor: AbstractBaseUser | None) -> Customer:
    """Lock the customer row (SELECT ... FOR UPDATE). Every money-moving transaction takes this lock
    first (then the order's), and so every one refuses a customer outside the actor's data scope
    (`actor` None: the platform itself, the agent or a command).

    The tier's discount comes along as `tier_discount_percent`, in a subquery: unlike select_related's
    join, it reads the shared tier row without locking it, so one tier's customers never queue on it.
    Written as SQL because it runs on every order (core.db).
    """
    customer = row_get(
        Customer,
        f"SELECT c.*, (SELECT t.discount_percent FROM {Tier._meta.db_table} t WHERE t.id = c.tier_id)"
        f" AS tier_discount_percent FROM {Customer._meta.db_table} c WHERE c.id = %s {row_lock_sql()}",
        [customer_id],
    )
    customer.tier_discount_percent = db_decimal(customer.tier_discount_percent)
    if actor is not None and not customer_visible(user=actor, customer=customer):
        raise CustomerOutOfScope(_("This customer is not in your data scope."))
    return customer


def balance_sufficient_check(*, customer: Customer, amount: Decimal) -> None:
    if amount > customer.balance:
        raise InsufficientBalance(
            _("Insufficient balance: %(balance)s available, %(needed)s needed.")
            % {"balance": customer.balance, "needed": amount}
        )


def balance_room_check(*, customer: Customer, amount: Decimal) -> None:
    """Refuse to add `amount` when the balance would pass what its column holds."""
    if customer.balance + amount > MONEY_MAX:
        raise BalanceLimitExceeded(
            _("The balance of %(customer)s would become %(balance)s, more than the largest balance (%(max)s).")
            % {"customer": customer, "balance": customer.balance + amount, "max": MONEY_MAX}
        )


def ledger_post(
    *,
    customer: Customer,
    kind: str,
    amount: Decimal,
    actor: AbstractBaseUser | None,
    order_id: int | None = None,
    memo: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    token: str | None = None,
) -> LedgerEntry:
    """Apply a signed amount to a customer locked by `customer_lock` and record it in the ledger, with
    a memo staff typed (`memo`) or one of LedgerEntry.Memo (`memo_code` and its `memo_params`)."""
    if amount < 0:
        balance_sufficient_check(customer=customer, amount=-amount)
    else:
        balance_room_check(customer=customer, amount=amount)
    new_balance = customer.balance + amount
    customer.balance = new_balance
    row_update(customer, ["balance"])
    entry = row_insert(LedgerEntry(
        customer=customer,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        order_id=order_id,
        created_by=actor,
        memo=memo,
        memo_code=memo_code,
        memo_params=memo_params or {},
        token=token,
    ))
    ledger_day_add(entry=entry)
    return entry


def _balance_move(
    *, customer_id: int, kind: str, amount, actor, address: str | None, memo: str, token: str | None
) -> LedgerEntry:
    amount = money_amount_parse(amount)
    memo = text_plain_check(memo or "", field="memo")
    signed = amount if kind == LedgerEntry.Kind.RECHARGE else -amount
    customer = customer_lock(customer_id=customer_id, actor=actor)
    if token:
        first = LedgerEntry.objects.filter(token=token).first()
        if first is not None:
            if (first.customer_id, first.kind, first.amount) != (customer.pk, kind, signed):
                raise IdempotencyConflict(_("This submission token was already used for a different request."))
            return first
    if not customer.is_active:
        raise InactiveCustomer(_("Customer %(customer)s is inactive.") % {"customer": customer})
    entry = ledger_post(
        customer=customer, kind=kind, amount=signed, actor=actor, memo=memo, token=token or uuid.uuid4().hex
    )
    operation_record(
        actor=actor, address=address, action=kind, obj=customer, summary=f"{signed:+} → {entry.balance_after}"
    )
    return entry


@transaction.atomic
def balance_recharge(
    *,
    customer_id: int,
    amount,
    actor: AbstractBaseUser | None,
    address: str | None = None,
    memo: str = "",
    token: str | None = None,
) -> LedgerEntry:
    """Add money to a customer's balance. Replaying `token` returns the first entry and moves nothing."""
    return _balance_move(
        customer_id=customer_id, kind=LedgerEntry.Kind.RECHARGE, amount=amount, actor=actor, address=address, memo=memo, token=token
    )


@transaction.atomic
def balance_debit(
    *,
    customer_id: int,
    amount,
    actor: AbstractBaseUser | None,
    address: str | None = None,
    memo: str = "",
    token: str | None = None,
) -> LedgerEntry:
    """Take money from a customer's balance; refuses to go below zero."""
    return _balance_move(
        customer_id=customer_id, kind=LedgerEntry.Kind.DEBIT, amount=amount, actor=actor, address=address, memo=memo, token=token
    )


# --- login accounts -------------------------------------------------------------------------------


def customer_login_check(*, user, customer_id: int | None) -> None:
    """Refuse (DomainError) an account that may not be this customer's login: only a customer account
    (rbac.accounts: the Customers role alone, no superuser, no other role) that no other customer has."""
    if not customer_account_is(user):
        raise DomainError(_("Only a customer account can be a customer's login; staff accounts cannot."))
    if Customer.objects.filter(user=user).exclude(pk=customer_id).exists():
        raise DomainError(_("This account is already another customer's login."))


@transaction.atomic
def customer_login_set(*, customer_id: int, user_id: int | None, actor: AbstractBaseUser | None) -> Customer:
    """Tie a login account to a customer, or untie it (None). Refuses anything but a customer account
    nobody else has; the account row is locked so two customers cannot take it at once."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if user_id is not None:
        user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise DomainError(_("No such login account."))
        customer_login_check(user=user, customer_id=customer.pk)
    customer.user_id = user_id
    customer.save(update_fields=["user"])
    return customer


@transaction.atomic
def customer_login_create(
    *, customer_id: int, username: str, password: str, actor: AbstractBaseUser | None, address: str | None = None
):
    """Create a customer account (staff flag, for the admin; the Customers role alone) and tie it to the
    customer in place of any earlier one. Refuses a taken or malformed username and a weak password."""
    User = get_user_model()
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    user = User(username=username, is_staff=True)
    try:
        user.full_clean(exclude=["password"])
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages)) from None
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get_or_create(name=CUSTOMERS)[0]])
    operation_record(
        actor=actor, address=address, action=OperationLog.Action.ADD, obj=user, summary=f"login of customer {customer.pk}"
    )
    customer.user = user
    customer.save(update_fields=["user"])
    return user


# --- customers from an import ----------------------------------------------------------------------


@transaction.atomic
def customer_upsert(
    *,
    mobile: str,
    changes: dict,
    actor: AbstractBaseUser | None,
    address: str | None = None,
) -> Customer:
    """Create the customer with this mobile, or change the given fields (name, tier, email, is_active)
    of the one that has it; never the balance. Recorded in the operation log as an admin edit is."""
    fields = set(changes) - {"name", "tier", "email", "is_active"}
    if fields:
        raise ValueError(f"customer_upsert cannot set {', '.join(sorted(fields))}")
    customer = Customer.objects.select_for_update().filter(mobile=mobile).first()
    adding = customer is None
    if not adding and actor is not None and not customer_visible(user=actor, customer=customer):
        raise CustomerOutOfScope(_("This customer is not in your data scope."))
    if adding:
        staff = actor if actor is not None and actor.is_authenticated else None
        customer = Customer(mobile=mobile, created_by=staff, owner=staff)  # the importer manages whom they add
    changed = [name for name, value in changes.items() if adding or getattr(customer, name) != value]
    if not changed and not adding:
        return customer
    for name in changed:
        setattr(customer, name, changes[name])
    customer.save() if adding else customer.save(update_fields=changed)
    with translation.override(None):  # Django's change messages name fields untranslated
        labels = [str(capfirst(Customer._meta.get_field(name).verbose_name)) for name in changed]
    message = [{"added": {}}] if adding else [{"changed": {"fields": labels}}]
    action = OperationLog.Action.ADD if adding else OperationLog.Action.CHANGE
    operation_record(actor=actor, address=address, action=action, obj=customer, summary=json.dumps(message))
    return customer
