"""A real agent whose failed order cannot be refunded (the balance is at the column's maximum): that
order fails flagged, and the agent's other orders, and the ones placed after, still finish."""

from decimal import Decimal

import pytest

from agent.models import Agent
from customers.models import LedgerEntry
from customers.money import MONEY_MAX
from customers.services import balance_recharge
from orders.models import Order
from orders.reconcile import ledger_breaches_find
from tests.agent.conftest import orders_place, statuses, wait_until
from tests.factories import CustomerFactory, ProductFactory
from tests.money import balance_fill

pytestmark = pytest.mark.django_db(transaction=True)


def _finished(orders):
    return lambda: not Order.objects.filter(pk__in=[o.pk for o in orders], status__in=["pending", "running"]).exists()


def _refunded(order) -> bool:
    return LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).exists()


def test_an_unrefundable_failure_does_not_stall_the_agent(agents, rich_customer):
    product = ProductFactory(sandbox_delay_ms=20)
    full = CustomerFactory()
    balance_recharge(customer_id=full.pk, amount="100", actor=None)
    blocked = orders_place(customer=full, product=product, count=2, target="will-fail")
    full_fine = orders_place(customer=full, product=product, count=2)
    balance_fill(full, room="5.00")  # each refund of 10.00 would pass the maximum
    others_failing = orders_place(customer=rich_customer, product=product, count=3, target="will-fail")
    others = orders_place(customer=rich_customer, product=product, count=12)

    agent = agents.start("limit-agent", concurrency=2)
    wait_until(_finished(blocked + full_fine + others_failing + others), timeout=60, message="every order to finish")

    for order in blocked:
        order.refresh_from_db()
        assert (order.status, order.lease_owner, _refunded(order)) == ("failed", "", False)
        assert "10.00" in order.last_error and order.last_error.startswith("sandbox")
    assert statuses(full_fine) == {"succeeded": 2}
    assert statuses(others) == {"succeeded": 12}
    assert statuses(others_failing) == {"failed": 3} and all(_refunded(order) for order in others_failing)
    full.refresh_from_db()
    assert full.balance == MONEY_MAX - Decimal("5.00")

    # still claiming: orders placed afterwards finish too
    later = orders_place(customer=rich_customer, product=product, count=4)
    wait_until(_finished(later), timeout=30, message="orders placed afterwards to finish")
    assert statuses(later) == {"succeeded": 4}
    assert agent.poll() is None, agents.log(agent)
    assert "unexpected error" not in agents.log(agent) and "keeper error" not in agents.log(agent)
    heartbeat = wait_until(
        lambda: Agent.objects.filter(name="limit-agent", orders_done=18).first(), timeout=15, message="the heartbeat"
    )
    assert heartbeat.orders_failed == 5
    # reconcile names exactly the two refunds the customer is still owed
    assert sorted(ledger_breaches_find()) == sorted(f"order {o.order_no}: failed but not refunded" for o in blocked)
