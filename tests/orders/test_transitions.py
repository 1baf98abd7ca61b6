"""The lifecycle table (Order.TRANSITIONS) alone decides which status changes happen: every service
refuses a from-status the table does not allow, and stops moving orders along an edge taken out of it."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import LedgerEntry
from customers.services import balance_recharge
from orders.errors import InvalidTransition
from orders.models import Order, OrderEvent
from orders.services import (
    order_cancel,
    order_claim,
    order_fail,
    order_place,
    order_release,
    order_requeue_expired,
    order_succeed,
)

pytestmark = pytest.mark.django_db
Status = Order.Status
AGENT = "agent-1"

# Each service that changes a status: how to call it on an order, and the edge it takes.
SERVICES = {
    "order_cancel": (lambda order: order_cancel(order_id=order.pk, actor=None), Status.PENDING, Status.CANCELLED),
    "order_claim": (lambda order: order_claim(agent=AGENT, limit=5, lease_seconds=60), Status.PENDING, Status.RUNNING),
    "order_succeed": (lambda order: order_succeed(order_id=order.pk, agent=AGENT), Status.RUNNING, Status.SUCCEEDED),
    "order_fail transient": (
        lambda order: order_fail(order_id=order.pk, agent=AGENT, error="timeout", transient=True),
        Status.RUNNING,
        Status.PENDING,
    ),
    "order_fail": (
        lambda order: order_fail(order_id=order.pk, agent=AGENT, error="no", transient=False),
        Status.RUNNING,
        Status.FAILED,
    ),
    "order_release": (lambda order: order_release(order_id=order.pk, agent=AGENT), Status.RUNNING, Status.PENDING),
    "order_requeue_expired": (lambda order: order_requeue_expired(), Status.RUNNING, Status.PENDING),
}


@pytest.fixture
def order(customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)


def order_put(order: Order, status: str) -> Order:
    """Put the order in `status` as if it got there, held by AGENT under an expired lease."""
    Order.objects.filter(pk=order.pk).update(
        status=status, lease_owner=AGENT, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    order.refresh_from_db()
    return order


def written(order: Order) -> tuple:
    order.refresh_from_db()
    return order.status, order.updated_at, OrderEvent.objects.count(), LedgerEntry.objects.count()


@pytest.mark.parametrize(
    "service, from_status",
    [
        (service, from_status)
        for service, (_call, _from, to_status) in SERVICES.items()
        for from_status in Status.values
        if to_status not in Order.TRANSITIONS[from_status]
    ],
)
def test_every_service_refuses_a_from_status_the_table_does_not_allow(order, service, from_status):
    call, _from, _to = SERVICES[service]
    before = written(order_put(order, from_status))
    if service in {"order_claim", "order_requeue_expired"}:
        # They pick their orders by status: one in another status is left alone, not refused.
        call(order)
    else:
        with pytest.raises(InvalidTransition):
            call(order)
    assert written(order) == before


@pytest.mark.parametrize("service", SERVICES)
def test_an_edge_taken_out_of_the_table_is_refused(order, service, monkeypatch, settings):
    settings.ORDER_RETRY_BASE_SECONDS = 0
    call, from_status, to_status = SERVICES[service]
    before = written(order_put(order, from_status))
    monkeypatch.setitem(Order.TRANSITIONS, from_status, tuple(s for s in Order.TRANSITIONS[from_status] if s != to_status))
    with pytest.raises(InvalidTransition):
        call(order)
    assert written(order) == before


@pytest.mark.parametrize("service", SERVICES)
def test_each_edge_of_the_table_is_taken_and_recorded(order, service, settings):
    settings.ORDER_RETRY_BASE_SECONDS = 0
    call, from_status, to_status = SERVICES[service]
    order_put(order, from_status)
    call(order)
    order.refresh_from_db()
    event = order.events.last()
    assert (order.status, event.from_status, event.to_status) == (to_status, from_status, to_status)


def test_the_table_covers_every_status_and_only_statuses():
    assert set(Order.TRANSITIONS) == set(Status.values)
    assert {to for targets in Order.TRANSITIONS.values() for to in targets} <= set(Status.values)


def test_the_database_takes_exactly_the_known_statuses(order):
    for status in Status.values:
        Order.objects.filter(pk=order.pk).update(status=status)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(status="archived")
    constraint = next(c for c in Order._meta.constraints if c.name == "order_status_known")
    assert sorted(constraint.condition.children[0][1]) == sorted(Status.values)
