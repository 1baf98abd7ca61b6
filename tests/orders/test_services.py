from decimal import Decimal

import pytest

from customers.errors import IdempotencyConflict, InactiveCustomer, InsufficientBalance
from customers.models import LedgerEntry
from customers.services import balance_debit, balance_recharge
from orders.errors import InactiveProduct, InvalidQuantity, InvalidTransition, TargetMismatch
from orders.models import Order, OrderEvent
from orders.services import (
    order_cancel,
    order_claim,
    order_fail,
    order_lease_renew,
    order_place,
    order_release,
    order_requeue_expired,
    order_retry,
    order_succeed,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
Status = Order.Status
AGENT = "agent-1"


@pytest.fixture
def funded(customer, staff):
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    return customer


def place(customer, product, staff, **kwargs):
    kwargs.setdefault("quantity", 2)
    kwargs.setdefault("target", "13800000000")
    return order_place(customer_id=customer.pk, product_id=product.pk, actor=staff, **kwargs)


def balance(customer):
    customer.refresh_from_db()
    return customer.balance


def test_order_place_charges_and_queues(funded, product, staff, reconciled):
    order = place(funded, product, staff, quantity=3)
    assert order.status == Status.PENDING
    assert order.amount == Decimal("30.00")
    assert balance(funded) == Decimal("970.00")
    charge = LedgerEntry.objects.get(order=order)
    assert (charge.kind, charge.amount, charge.balance_after) == ("charge", Decimal("-30.00"), Decimal("970.00"))
    event = order.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("", Status.PENDING, staff)
    assert len(order.order_no) == 23 and order.order_no.isdigit()
    reconciled()


@pytest.mark.parametrize("quantity", [0, -1, "0", "-3", "1.5", 1.5, "abc", "", None, True, "1e3", 1001])
def test_bad_quantities_are_refused_and_write_nothing(funded, product, staff, quantity):
    with pytest.raises(InvalidQuantity):
        place(funded, product, staff, quantity=quantity)
    assert not Order.objects.exists()
    assert balance(funded) == Decimal("1000")


def test_quantity_below_the_product_minimum_is_refused(funded, staff):
    product = ProductFactory(min_quantity=5, max_quantity=10)
    with pytest.raises(InvalidQuantity):
        place(funded, product, staff, quantity=4)
    assert place(funded, product, staff, quantity=5).quantity == 5
    assert place(funded, product, staff, quantity="10").quantity == 10


def test_order_larger_than_the_balance_is_refused(funded, product, staff):
    with pytest.raises(InsufficientBalance):
        place(funded, product, staff, quantity=101)
    assert not Order.objects.exists()
    place(funded, product, staff, quantity=100)
    assert balance(funded) == 0


def test_inactive_customer_or_product_is_refused(funded, product, staff):
    product.is_active = False
    product.save()
    with pytest.raises(InactiveProduct):
        place(funded, product, staff)
    product.is_active = True
    product.save()
    funded.is_active = False
    funded.save()
    with pytest.raises(InactiveCustomer):
        place(funded, product, staff)
    assert not Order.objects.exists()


@pytest.mark.parametrize("target", ["1380000000", "138000000001", "23800000000", "x13800000000", "", "   "])
def test_target_must_match_the_product_pattern(funded, staff, target):
    product = ProductFactory(target_pattern=r"1[3-9]\d{9}")
    with pytest.raises(TargetMismatch):
        place(funded, product, staff, target=target)
    assert not Order.objects.exists()


def test_replaying_a_token_returns_the_first_order(funded, product, staff):
    first = place(funded, product, staff, token="form-token-1")
    again = place(funded, product, staff, token="form-token-1")
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    with pytest.raises(IdempotencyConflict):
        place(funded, product, staff, token="form-token-1", quantity=5)


def test_cancel_refunds_a_pending_order(funded, product, staff, reconciled):
    order = place(funded, product, staff)
    order_cancel(order_id=order.pk, actor=staff, note="customer asked")
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert balance(funded) == Decimal("1000")
    refund = LedgerEntry.objects.get(order=order, kind="refund")
    assert refund.amount == order.amount
    assert list(order.events.values_list("from_status", "to_status", "note")) == [
        ("", "pending", ""),
        ("pending", "cancelled", "customer asked"),
    ]
    reconciled()


def claim(order):
    claimed = order_claim(agent=AGENT, limit=1, lease_seconds=60, order_ids=[order.pk])
    assert [o.pk for o in claimed] == [order.pk]
    return claimed[0]


def test_claim_then_succeed(funded, product, staff, reconciled):
    order = place(funded, product, staff)
    running = claim(order)
    assert (running.status, running.attempts, running.lease_owner) == (Status.RUNNING, 1, AGENT)
    done = order_succeed(order_id=order.pk, agent=AGENT, result='{"ok": true}')
    assert (done.status, done.result, done.lease_owner) == (Status.SUCCEEDED, '{"ok": true}', "")
    assert balance(funded) == Decimal("980.00")
    reconciled()


def test_claim_takes_oldest_ready_orders_only(funded, product, staff):
    orders = [place(funded, product, staff) for _ in range(3)]
    assert [o.pk for o in order_claim(agent=AGENT, limit=2, lease_seconds=60)] == [orders[0].pk, orders[1].pk]
    assert [o.pk for o in order_claim(agent="other", limit=5, lease_seconds=60)] == [orders[2].pk]
    assert order_claim(agent="other", limit=5, lease_seconds=60) == []


def test_permanent_failure_fails_and_refunds(funded, product, staff, reconciled):
    order = place(funded, product, staff)
    claim(order)
    failed = order_fail(order_id=order.pk, agent=AGENT, error="rejected upstream", transient=False)
    assert (failed.status, failed.last_error) == (Status.FAILED, "rejected upstream")
    assert balance(funded) == Decimal("1000")
    reconciled()


def test_transient_failure_retries_with_backoff_until_attempts_run_out(funded, staff, settings, reconciled):
    settings.ORDER_RETRY_BASE_SECONDS = 0
    product = ProductFactory(max_attempts=2)
    order = place(funded, product, staff)
    claim(order)
    retried = order_fail(order_id=order.pk, agent=AGENT, error="timeout", transient=True)
    assert (retried.status, retried.attempts, retried.lease_owner) == (Status.PENDING, 1, "")
    claim(order)
    failed = order_fail(order_id=order.pk, agent=AGENT, error="timeout", transient=True)
    assert (failed.status, failed.attempts) == (Status.FAILED, 2)
    assert balance(funded) == Decimal("1000")
    reconciled()


def test_backoff_keeps_a_retried_order_from_being_claimed_early(funded, product, staff, settings):
    settings.ORDER_RETRY_BASE_SECONDS = 60
    order = place(funded, product, staff)
    claim(order)
    retried = order_fail(order_id=order.pk, agent=AGENT, error="timeout", transient=True)
    assert retried.available_at is not None
    assert order_claim(agent=AGENT, limit=10, lease_seconds=60) == []


def test_release_returns_the_order_without_counting_the_attempt(funded, product, staff):
    order = place(funded, product, staff)
    claim(order)
    released = order_release(order_id=order.pk, agent=AGENT, note="shutting down")
    assert (released.status, released.attempts, released.lease_owner) == (Status.PENDING, 0, "")
    assert claim(order).attempts == 1


def test_expired_lease_returns_the_order_to_pending_then_fails_it_on_the_last_attempt(funded, staff, settings, reconciled):
    settings.ORDER_RETRY_BASE_SECONDS = 0
    product = ProductFactory(max_attempts=2)
    order = place(funded, product, staff)
    order_claim(agent=AGENT, limit=1, lease_seconds=-1)
    assert order_requeue_expired() == 1
    order.refresh_from_db()
    assert (order.status, order.attempts) == (Status.PENDING, 1)
    order_claim(agent=AGENT, limit=1, lease_seconds=-1)
    assert order_requeue_expired() == 1
    order.refresh_from_db()
    assert order.status == Status.FAILED
    assert balance(funded) == Decimal("1000")
    reconciled()


def test_a_renewed_lease_is_not_requeued(funded, product, staff):
    order = place(funded, product, staff)
    order_claim(agent=AGENT, limit=1, lease_seconds=-1)
    assert order_lease_renew(agent=AGENT, order_ids=[order.pk], lease_seconds=60) == 1
    assert order_lease_renew(agent="someone-else", order_ids=[order.pk], lease_seconds=60) == 0
    assert order_requeue_expired() == 0


# Every (from, to) pair the lifecycle table forbids, attempted through the service that would make it.
def _to_status(order, status, staff):
    if status == Status.RUNNING:
        claim(order)
    elif status == Status.SUCCEEDED:
        claim(order)
        order_succeed(order_id=order.pk, agent=AGENT)
    elif status == Status.FAILED:
        claim(order)
        order_fail(order_id=order.pk, agent=AGENT, error="x", transient=False)
    elif status == Status.CANCELLED:
        order_cancel(order_id=order.pk, actor=staff)


REFUSED = [
    (Status.RUNNING, "cancel"),
    (Status.SUCCEEDED, "cancel"),
    (Status.FAILED, "cancel"),
    (Status.CANCELLED, "cancel"),
    (Status.PENDING, "succeed"),
    (Status.CANCELLED, "succeed"),
    (Status.SUCCEEDED, "succeed"),
    (Status.FAILED, "succeed"),
    (Status.PENDING, "fail"),
    (Status.CANCELLED, "fail"),
    (Status.SUCCEEDED, "fail"),
    (Status.PENDING, "release"),
    (Status.SUCCEEDED, "release"),
    (Status.CANCELLED, "release"),
]


@pytest.mark.parametrize("status, action", REFUSED)
def test_transitions_outside_the_lifecycle_are_refused(funded, product, staff, status, action, reconciled):
    order = place(funded, product, staff)
    _to_status(order, status, staff)
    before = (balance(funded), LedgerEntry.objects.count(), OrderEvent.objects.count())
    call = {
        "cancel": lambda: order_cancel(order_id=order.pk, actor=staff),
        "succeed": lambda: order_succeed(order_id=order.pk, agent=AGENT),
        "fail": lambda: order_fail(order_id=order.pk, agent=AGENT, error="x", transient=False),
        "release": lambda: order_release(order_id=order.pk, agent=AGENT),
    }[action]
    with pytest.raises(InvalidTransition):
        call()
    order.refresh_from_db()
    assert order.status == status
    assert (balance(funded), LedgerEntry.objects.count(), OrderEvent.objects.count()) == before
    reconciled()


def test_an_agent_cannot_finish_an_order_another_agent_holds(funded, product, staff):
    order = place(funded, product, staff)
    claim(order)
    with pytest.raises(InvalidTransition):
        order_succeed(order_id=order.pk, agent="intruder")
    with pytest.raises(InvalidTransition):
        order_fail(order_id=order.pk, agent="intruder", error="x", transient=False)


def test_claim_never_takes_finished_or_cancelled_orders(funded, product, staff):
    for status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.RUNNING):
        _to_status(place(funded, product, staff), status, staff)
    assert order_claim(agent="other", limit=10, lease_seconds=60) == []


def test_a_taken_order_number_is_retried_with_a_fresh_one(funded, product, staff, monkeypatch, reconciled):
    first = place(funded, product, staff)
    numbers = iter([first.order_no, "20261121000000000000001"])
    monkeypatch.setattr("orders.services.order_no_new", lambda: next(numbers))
    second = place(funded, product, staff)
    assert second.order_no == "20261121000000000000001"
    assert LedgerEntry.objects.filter(kind="charge").count() == 2
    reconciled()


def test_replaying_a_token_after_the_first_order_spent_the_balance_returns_it(funded, product, staff):
    first = place(funded, product, staff, quantity=100, token="all-in")
    assert balance(funded) == 0
    assert place(funded, product, staff, quantity=100, token="all-in").pk == first.pk
    assert LedgerEntry.objects.filter(kind="charge").count() == 1


# --- retrying failed orders --------------------------------------------------------------------------


def failed_order(customer, product, staff):
    order = place(customer, product, staff)
    claim(order)
    return order_fail(order_id=order.pk, agent=AGENT, error="provider refused", transient=False)


def test_retry_places_a_failed_order_again_at_todays_price_once(funded, product, staff, reconciled):
    failed = failed_order(funded, product, staff)
    assert balance(funded) == Decimal("1000")  # the failure was refunded
    product.unit_price = Decimal("12.00")
    product.save()

    retry = order_retry(order_id=failed.pk, actor=staff)
    assert (retry.status, retry.customer_id, retry.product_id, retry.quantity, retry.target) == (
        Status.PENDING, funded.pk, product.pk, failed.quantity, failed.target
    )
    assert retry.pk != failed.pk and (retry.retry_of, retry.memo) == (failed, "")
    failed.refresh_from_db()
    assert failed.retried_as == retry
    assert (retry.unit_price, retry.amount) == (Decimal("12.00"), Decimal("24.00"))
    assert balance(funded) == Decimal("976.00")

    assert order_retry(order_id=failed.pk, actor=staff) == retry  # a second click: the same retry
    assert balance(funded) == Decimal("976.00")
    assert Order.objects.count() == 2
    reconciled()


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, Status.SUCCEEDED, Status.CANCELLED])
def test_only_failed_orders_can_be_retried(funded, product, staff, status, reconciled):
    order = place(funded, product, staff)
    _to_status(order, status, staff)
    before = (balance(funded), Order.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(InvalidTransition):
        order_retry(order_id=order.pk, actor=staff)
    assert (balance(funded), Order.objects.count(), LedgerEntry.objects.count()) == before
    reconciled()


def test_a_retry_the_balance_cannot_pay_is_refused_and_writes_nothing(funded, product, staff, reconciled):
    failed = failed_order(funded, product, staff)
    balance_debit(customer_id=funded.pk, amount="990", actor=staff)
    with pytest.raises(InsufficientBalance):
        order_retry(order_id=failed.pk, actor=staff)
    assert balance(funded) == Decimal("10.00") and Order.objects.count() == 1
    reconciled()

