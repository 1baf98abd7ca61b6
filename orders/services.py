"""The only writers of order status and order money (through customers.services.ledger_post).

Locks are always taken customer row first, then order row, so a cancel and an agent's failure
refund on the same order serialise instead of deadlocking.
"""

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import row_get, row_insert, row_lock_sql, row_update
from core.validators import text_plain_check
from customers.errors import (
    BalanceLimitExceeded,
    CustomerOutOfScope,
    DomainError,
    IdempotencyConflict,
    InactiveCustomer,
)
from customers.models import Customer, LedgerEntry
from customers.money import MONEY_MAX, quantize_money
from customers.selectors import customer_visible
from customers.services import balance_sufficient_check, customer_lock, ledger_post
from orders.days import order_day_add, order_day_finish
from orders.errors import InactiveProduct, InvalidQuantity, InvalidTransition, OrderError, TargetMismatch
from orders.models import Order, OrderEvent, OrderNote, Product, note_render, order_note
from orders.pricing import PriceList, price_list, price_list_load
from orders.queue import ready_queue_push
from rbac.models import OperationLog
from rbac.services import operation_record

Status = Order.Status
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quote:
    unit_price: Decimal
    list_amount: Decimal
    discount_percent: Decimal
    amount: Decimal
    balance: Decimal


def quantity_parse(value) -> int:
    """A whole number above zero; "3", 3 and 3.0-free strings only (no floats, no bools)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidQuantity(_("The quantity must be a whole number."))
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d+", value):
            raise InvalidQuantity(_("The quantity must be a whole number."))
    try:
        quantity = int(value)
    except (TypeError, ValueError):
        raise InvalidQuantity(_("The quantity must be a whole number.")) from None
    if quantity <= 0:
        raise InvalidQuantity(_("The quantity must be greater than zero."))
    return quantity


def _order_rules_check(*, customer: Customer, product: Product, quantity: int, target: str | None = None) -> None:
    if not customer.is_active:
        raise InactiveCustomer(_("Customer %(customer)s is inactive.") % {"customer": customer})
    if not product.is_active:
        raise InactiveProduct(_("Product %(product)s is not available.") % {"product": product})
    if not product.min_quantity <= quantity <= product.max_quantity:
        raise InvalidQuantity(
            _("The quantity for %(product)s must be between %(min)s and %(max)s.")
            % {"product": product, "min": product.min_quantity, "max": product.max_quantity}
        )
    if target is not None and product.target_pattern and not re.fullmatch(product.target_pattern, target):
        raise TargetMismatch(
            _("“%(target)s” is not a valid target for %(product)s.") % {"target": target, "product": product}
        )


def _quote(*, prices: PriceList, quantity: int, discount: Decimal, balance: Decimal) -> Quote:
    unit_price = prices.unit_price(quantity)
    discount = quantize_money(discount)  # SQLite returns it without its scale (15, not 15.00)
    list_amount = quantize_money(unit_price * quantity)
    if list_amount > MONEY_MAX:
        raise InvalidQuantity(
            _("%(quantity)s at %(unit_price)s comes to more than the largest amount (%(max)s).")
            % {"quantity": quantity, "unit_price": unit_price, "max": MONEY_MAX}
        )
    amount = quantize_money(list_amount * (Decimal(100) - discount) / Decimal(100))
    return Quote(unit_price, list_amount, discount, amount, balance)


def order_quote(*, customer_id: int, product_id: int, quantity) -> Quote:
    """The price an order would have now (for the live preview); writes nothing."""
    quantity = quantity_parse(quantity)
    customer = Customer.objects.select_related("tier").get(pk=customer_id)
    return order_price(customer=customer, prices=price_list_load(product_id=product_id), quantity=quantity)


def order_price(*, customer: Customer, prices: PriceList, quantity: int, target: str | None = None) -> Quote:
    """The price of an order of a customer (its tier loaded) from a product's price list, its rules
    checked (the target's too when given); writes nothing and queries nothing (an import prices
    thousands of rows with it)."""
    _order_rules_check(customer=customer, product=prices.product, quantity=quantity, target=target)
    return _quote(prices=prices, quantity=quantity, discount=customer.tier.discount_percent, balance=customer.balance)


def order_no_new() -> str:
    """Readable and time-sortable: local time to the millisecond, then 6 random digits."""
    now = timezone.localtime()
    return f"{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}{secrets.randbelow(10**6):06d}"


# --- the one writer of order status --------------------------------------------------------------


def _transition_check(*, order_no: str, from_status: str, to_status: str) -> None:
    if to_status not in Order.TRANSITIONS[from_status]:
        raise InvalidTransition(
            _("Order %(order_no)s is %(status)s; it cannot become %(to)s.")
            % {"order_no": order_no, "status": Status(from_status).label, "to": Status(to_status).label}
        )


def _event_new(*, order: Order, from_status: str, to_status: str, actor=None, agent: str = "", note: str | dict = "") -> OrderEvent:
    """An order's event; `note` is plain text (staff's, an agent's) or one of the platform's (order_note)."""
    if isinstance(note, dict):
        note = {"note_code": note["code"], "note_params": note["params"]}
    else:
        note = {"note": note}
    return OrderEvent(order=order, from_status=from_status, to_status=to_status, actor=actor, agent=agent, **note)


def _order_transition(
    *, order: Order, to_status: str, actor=None, agent: str = "", note: str | dict = "", **fields
) -> Order:
    """Move a locked order to `to_status` if the lifecycle table allows it: write the status and the
    `fields` that go with it, and record the event.

    The caller holds the order's row lock, taken after its customer's where money moves (_order_lock).
    """
    from_status = order.status
    _transition_check(order_no=order.order_no, from_status=from_status, to_status=to_status)
    order.status = to_status
    for name, value in fields.items():
        setattr(order, name, value)
    row_update(order, ["status", *fields, "updated_at"])
    row_insert(_event_new(order=order, from_status=from_status, to_status=to_status, actor=actor, agent=agent, note=note))
    return order


def _orders_transition(
    *, order_ids: list[int], from_status: str, to_status: str, agent: str, note_for, **fields
) -> list[Order]:
    """_order_transition for many orders at once (the agent's claim): one conditional UPDATE of those
    still in `from_status`, one INSERT of their events. Returns the orders it moved, products loaded.

    Rows another transaction moved first are left out by the UPDATE's WHERE, so two callers never
    both move one order; the moved rows are found again by the values just written.
    """
    _transition_check(order_no="", from_status=from_status, to_status=to_status)
    now = timezone.now()
    Order.objects.filter(pk__in=order_ids, status=from_status).update(status=to_status, updated_at=now, **fields)
    written = {name: value for name, value in fields.items() if not hasattr(value, "resolve_expression")}
    moved = list(
        Order.objects.select_related("product").filter(pk__in=order_ids, status=to_status, **written).order_by("id")
    )
    OrderEvent.objects.bulk_create(
        _event_new(order=order, from_status=from_status, to_status=to_status, agent=agent, note=note_for(order))
        for order in moved
    )
    return moved


def order_place(
    *,
    customer_id: int,
    product_id: int,
    quantity,
    target: str,
    actor: AbstractBaseUser | None,
    address: str | None = None,
    token: str | None = None,
    memo: str = "",
) -> Order:
    """Charge the customer and queue the order. Replaying `token` returns the first order."""
    return _order_place_new(**locals(), action=OperationLog.Action.PLACE)


def _order_place_new(
    *,
    customer_id: int,
    product_id: int,
    quantity,
    target: str,
    actor,
    address,
    token,
    memo: str,
    action: str,
    retry_of_id: int | None = None,
) -> Order:
    """order_place, recorded in the operation log as `action` (a retry is recorded as such)."""
    quantity = quantity_parse(quantity)
    target = text_plain_check((target or "").strip(), field="target")
    memo = text_plain_check(memo or "", field="memo")
    token = token or uuid.uuid4().hex
    for _attempt in range(5):
        order_no = order_no_new()
        try:
            return _order_place(
                order_no=order_no,
                customer_id=customer_id,
                product_id=product_id,
                quantity=quantity,
                target=target,
                actor=actor,
                address=address,
                token=token,
                memo=memo,
                action=action,
                retry_of_id=retry_of_id,
            )
        except (IntegrityError, DomainError) as error:
            # The unique token, not a lookup on every order, detects a replay: the replayed insert
            # fails (or an earlier rule fails now that the first order spent the balance), the
            # transaction rolls back, and the first order is returned.
            first = _order_replayed(token=token, customer_id=customer_id, product_id=product_id, quantity=quantity, target=target)
            if first is not None:
                return first
            # A taken order number (two orders in the same millisecond drawing the same 6 digits) is
            # retried with the whole transaction: too rare for a savepoint on every insert.
            if isinstance(error, IntegrityError) and Order.objects.filter(order_no=order_no).exists():
                continue
            raise
    raise OrderError(_("Could not allocate an order number; please try again."))


def _order_replayed(*, token: str, customer_id: int, product_id: int, quantity: int, target: str) -> Order | None:
    first = Order.objects.filter(token=token).first()
    if first is None:
        return None
    if (first.customer_id, first.product_id, first.quantity, first.target) != (
        int(customer_id),
        int(product_id),
        quantity,
        target,
    ):
        raise IdempotencyConflict(_("This submission token was already used for a different request."))
    return first


@transaction.atomic
def _order_place(
    *,
    order_no: str,
    customer_id: int,
    product_id: int,
    quantity: int,
    target: str,
    actor,
    address: str | None,
    token: str,
    memo: str,
    action: str,
    retry_of_id: int | None,
) -> Order:
    if not target:
        raise TargetMismatch(_("The target is required."))
    customer = customer_lock(customer_id=customer_id, actor=actor)
    prices = price_list(product_id=product_id, revision=_product_revision(product_id=product_id))
    product = prices.product
    _order_rules_check(customer=customer, product=product, quantity=quantity, target=target)
    quote = _quote(prices=prices, quantity=quantity, discount=customer.tier_discount_percent, balance=customer.balance)
    balance_sufficient_check(customer=customer, amount=quote.amount)
    order = Order(
        order_no=order_no,
        customer=customer,
        product_id=product.pk,  # not the shared copy (orders.pricing): callers may change what they get
        quantity=quantity,
        target=target,
        unit_price=quote.unit_price,
        list_amount=quote.list_amount,
        discount_percent=quote.discount_percent,
        amount=quote.amount,
        status=Status.PENDING,
        created_by=actor,
        token=token,
        memo=memo,
        retry_of_id=retry_of_id,
    )
    row_insert(order)
    order_day_add(order=order)  # before the charge's ledger day (orders.days)
    ledger_post(customer=customer, kind=LedgerEntry.Kind.CHARGE, amount=-order.amount, actor=actor, order_id=order.pk)
    row_insert(_event_new(order=order, from_status="", to_status=Status.PENDING, actor=actor))  # born, not moved
    summary = f"{product.code} × {quantity} = {order.amount}"
    operation_record(actor=actor, address=address, action=action, obj=order, summary=summary)
    transaction.on_commit(lambda: ready_queue_push(order.pk))
    return order


def _product_revision(*, product_id: int) -> int | None:
    """The product's revision alone (orders.pricing), in one small statement: a plain read, so
    customers buying one product never queue on its row. Read after the customer's lock, it is at
    least as recent as the lock."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT revision FROM {Product._meta.db_table} WHERE id = %s", [product_id])
        row = cursor.fetchone()
    return row[0] if row else None


def _order_row_lock(*, order_id: int) -> Order:
    """The order, its row locked (its product is read when needed, unlocked)."""
    return row_get(Order, f"SELECT * FROM {Order._meta.db_table} WHERE id = %s {row_lock_sql()}", [order_id])


def _order_lock(*, order_id: int, actor) -> tuple[Customer, Order]:
    """Lock the order's customer, then the order itself (the platform's lock order)."""
    customer_id = Order.objects.filter(pk=order_id).values_list("customer_id", flat=True).get()
    customer = customer_lock(customer_id=customer_id, actor=actor)
    return customer, _order_row_lock(order_id=order_id)


def _order_refund(*, customer: Customer, order: Order, actor=None, **memo) -> None:
    ledger_post(customer=customer, kind=LedgerEntry.Kind.REFUND, amount=order.amount, actor=actor, order_id=order.pk, **memo)


@transaction.atomic
def order_cancel(
    *, order_id: int, actor: AbstractBaseUser | None, address: str | None = None, note: str = ""
) -> Order:
    """Cancel a pending order and refund it. A running or finished order cannot be cancelled."""
    customer, order = _order_lock(order_id=order_id, actor=actor)
    _order_transition(order=order, to_status=Status.CANCELLED, actor=actor, note=note, finished_at=timezone.now())
    order_day_finish(order=order, status=Status.CANCELLED)
    _order_refund(customer=customer, order=order, actor=actor, memo=note)
    operation_record(
        actor=actor, address=address, action=OperationLog.Action.CANCEL, obj=order, summary=f"+{order.amount}"
    )
    return order


def order_retry(*, order_id: int, actor: AbstractBaseUser | None, address: str | None = None) -> Order:
    """Place a failed order again: a new order for the same customer, product, quantity and target,
    priced and charged today (the failed one was refunded). Retrying the same failed order again
    returns that first retry, so a double click charges once.

    Not atomic itself: a failed order never changes again, and order_place runs its own transaction.
    """
    failed = Order.objects.select_related("customer").get(pk=order_id)
    if actor is not None and not customer_visible(user=actor, customer=failed.customer):
        raise CustomerOutOfScope(_("This customer is not in your data scope."))  # before telling its status
    if failed.status != Status.FAILED:
        raise InvalidTransition(
            _("Order %(order_no)s is %(status)s; only failed orders can be retried.")
            % {"order_no": failed.order_no, "status": failed.get_status_display()}
        )
    return _order_place_new(
        customer_id=failed.customer_id,
        product_id=failed.product_id,
        quantity=failed.quantity,
        target=failed.target,
        actor=actor,
        address=address,
        token=f"retry-{failed.order_no}",
        memo="",
        action=OperationLog.Action.RETRY,
        retry_of_id=failed.pk,
    )


# --- agent-side transitions ------------------------------------------------------------------------


@transaction.atomic
def order_claim(*, agent: str, limit: int, lease_seconds: float, order_ids: list[int] | None = None) -> list[Order]:
    """Move up to `limit` ready pending orders (oldest first, or among `order_ids`) to running
    under this agent's lease.

    Skips rows other agents have locked where the backend can; the conditional update makes the
    claim safe everywhere else, so two agents never hold the same order.
    """
    now = timezone.now()
    ready = (
        Order.objects.filter(status=Status.PENDING)
        .filter(Q(available_at__isnull=True) | Q(available_at__lte=now))
        .order_by("id")
    )
    if order_ids is not None:
        ready = ready.filter(pk__in=order_ids)
    # Lock the oldest candidates a few at a time, never more than still needed: locking `ready` itself
    # makes the database read and lock every ready row before sorting, and every other agent's
    # SKIP LOCKED then comes back empty. The list is long enough for agents claiming together.
    candidates = list(ready.values_list("id", flat=True)[: limit * 2 + 50])
    ids: list[int] = []
    position = 0
    while len(ids) < limit and position < len(candidates):
        chunk = candidates[position : position + limit - len(ids)]
        position += len(chunk)
        locked = Order.objects.filter(pk__in=chunk, status=Status.PENDING).order_by()
        if connection.features.has_select_for_update_skip_locked:
            locked = locked.select_for_update(skip_locked=True)
        ids += sorted(locked.values_list("id", flat=True))
    if not ids:
        return []
    return _orders_transition(
        order_ids=ids,
        from_status=Status.PENDING,
        to_status=Status.RUNNING,
        agent=agent,
        note_for=lambda order: order_note(OrderNote.ATTEMPT, n=order.attempts),
        lease_owner=agent,
        lease_expires_at=now + timedelta(seconds=lease_seconds),
        attempts=F("attempts") + 1,
        started_at=now,
        available_at=None,
    )


def order_lease_renew(*, agent: str, order_ids: list[int], lease_seconds: float) -> int:
    """Extend this agent's leases; returns how many it still holds."""
    return Order.objects.filter(pk__in=order_ids, status=Status.RUNNING, lease_owner=agent).update(
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds)
    )


def _held_check(*, order: Order, agent: str) -> None:
    if order.status != Status.RUNNING or order.lease_owner != agent:
        raise InvalidTransition(
            _("Order %(order_no)s is no longer held by %(agent)s.") % {"order_no": order.order_no, "agent": agent}
        )


LEASE_CLEARED = {"lease_owner": "", "lease_expires_at": None}


@transaction.atomic
def order_succeed(*, order_id: int, agent: str, result: str = "") -> Order:
    order = _order_row_lock(order_id=order_id)  # no money moves: the order's lock alone
    _held_check(order=order, agent=agent)
    order_day_finish(order=order, status=Status.SUCCEEDED)
    return _order_transition(
        order=order, to_status=Status.SUCCEEDED, agent=agent, result=result, finished_at=timezone.now(), **LEASE_CLEARED
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt, capped."""
    seconds = settings.ORDER_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.ORDER_RETRY_MAX_SECONDS))


def _fail_or_retry(*, customer: Customer, order: Order, error: str | dict, transient: bool, agent: str) -> Order:
    """`error`: the agent's text, or a note of the platform's (order_note). last_error keeps it in words."""
    if transient and order.attempts < order.product.attempts_allowed:
        return _order_transition(
            order=order,
            to_status=Status.PENDING,
            agent=agent,
            note=order_note(OrderNote.RETRY, error=error),
            last_error=note_render(error),
            available_at=timezone.now() + retry_delay(order.attempts),
            **LEASE_CLEARED,
        )
    note = error
    order_day_finish(order=order, status=Status.FAILED)  # before the refund's ledger day (orders.days)
    try:
        _order_refund(customer=customer, order=order, memo_code=LedgerEntry.Memo.ORDER_FAILED)
    except BalanceLimitExceeded as refused:
        # Failed all the same: a running order would hold its agent and come back for ever. The
        # missing refund shows in last_error and in reconcile until order_refund_complete posts it.
        note = order_note(OrderNote.REFUND_NOT_POSTED, error=error, amount=str(order.amount), max=str(MONEY_MAX))
        logger.error("order %s failed without its refund: %s", order.order_no, refused.message)
    return _order_transition(
        order=order,
        to_status=Status.FAILED,
        agent=agent,
        note=note,
        last_error=note_render(note),
        finished_at=timezone.now(),
        **LEASE_CLEARED,
    )


@transaction.atomic
def order_fail(*, order_id: int, agent: str, error: str, transient: bool) -> Order:
    """Record a failed attempt: back to pending with backoff while attempts remain and the failure
    is transient, else failed with the refund in the same transaction."""
    customer, order = _order_lock(order_id=order_id, actor=None)
    _held_check(order=order, agent=agent)
    return _fail_or_retry(customer=customer, order=order, error=error, transient=transient, agent=agent)


@transaction.atomic
def order_refund_complete(
    *, order_id: int, actor: AbstractBaseUser | None, address: str | None = None
) -> Order:
    """Post the refund a failed order is still owed (its customer's balance had no room for it when
    it failed); refused while there is still no room, and for an order that is not owed one."""
    customer, order = _order_lock(order_id=order_id, actor=actor)
    owed = order.status == Status.FAILED and not LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).exists()
    if not owed:
        raise InvalidTransition(
            _("Order %(order_no)s is not a failed order waiting for its refund.") % {"order_no": order.order_no}
        )
    amount = {"amount": str(order.amount)}
    _order_refund(customer=customer, order=order, actor=actor, memo_code=LedgerEntry.Memo.REFUND_OWED, memo_params=amount)
    # The status stays failed: an event of its own, not a transition, records who posted the refund.
    note = order_note(OrderNote.REFUND_POSTED, **amount)
    row_insert(_event_new(order=order, from_status=Status.FAILED, to_status=Status.FAILED, actor=actor, note=note))
    operation_record(
        actor=actor, address=address, action=OperationLog.Action.REFUND, obj=order, summary=f"+{order.amount}"
    )
    return order


@transaction.atomic
def order_release(*, order_id: int, agent: str, note: str | dict = "") -> Order:
    """Give a claimed order back untouched (agent shutting down); the attempt is not counted."""
    order = _order_row_lock(order_id=order_id)  # no money moves: the order's lock alone
    _held_check(order=order, agent=agent)
    return _order_transition(
        order=order, to_status=Status.PENDING, agent=agent, note=note, attempts=max(order.attempts - 1, 0), **LEASE_CLEARED
    )


def order_requeue_expired() -> int:
    """Return orders whose agent stopped renewing its lease (it died) to pending, or fail and refund
    them when that was their last attempt. Each order in its own short transaction."""
    expired_ids = list(
        Order.objects.filter(status=Status.RUNNING, lease_expires_at__lt=timezone.now()).values_list("id", flat=True)[:500]
    )
    done = 0
    for order_id in expired_ids:
        with transaction.atomic():
            customer, order = _order_lock(order_id=order_id, actor=None)
            if order.status != Status.RUNNING or order.lease_expires_at >= timezone.now():
                continue  # renewed or finished meanwhile
            error = order_note(OrderNote.LEASE_EXPIRED, agent=order.lease_owner)
            _fail_or_retry(customer=customer, order=order, error=error, transient=True, agent=order.lease_owner)
            done += 1
    return done
