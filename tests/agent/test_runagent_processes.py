"""Several runagent processes share the queue: nothing lost, nothing run or charged twice."""

import signal
from collections import Counter

import pytest
from django.db.models import Count

from agent.models import Agent, SandboxExecution
from customers.models import LedgerEntry
from orders.models import Order, OrderEvent
from tests.agent.conftest import orders_place, statuses, wait_until
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _all_finished(orders):
    return lambda: Order.objects.filter(pk__in=[o.pk for o in orders], status__in=["pending", "running"]).count() == 0


def test_three_agents_execute_500_orders_each_exactly_once(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=5)
    names = ["a1", "a2", "a3"]
    processes = [agents.start(name) for name in names]
    wait_until(lambda: Agent.objects.filter(name__in=names).count() == 3, timeout=30, message="three heartbeats")

    orders = orders_place(customer=rich_customer, product=product, count=500)
    wait_until(_all_finished(orders), timeout=240, interval=0.5, message="500 orders to finish")

    assert statuses(orders) == {"succeeded": 500}
    executions = Counter(SandboxExecution.objects.values_list("order_no", flat=True))
    assert executions == Counter({order.order_no: 1 for order in orders})
    assert set(SandboxExecution.objects.values_list("agent", flat=True)) == set(names)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()
    reconciled()

    for process in processes:
        process.send_signal(signal.SIGTERM)
    assert [process.wait(timeout=30) for process in processes] == [0, 0, 0]
    rows = Agent.objects.filter(name__in=names)
    assert sum(rows.values_list("orders_done", flat=True)) == 500
    assert all(row.stopped_at and row.holding == [] for row in rows)
    assert "Traceback" not in "".join(agents.log(p) for p in processes)


def test_orders_of_a_killed_agent_are_finished_by_the_others_once(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=1500)
    victim = agents.start("victim", concurrency=4, lease_seconds=2)
    wait_until(lambda: Agent.objects.filter(name="victim").exists(), timeout=30, message="the victim's heartbeat")
    orders = orders_place(customer=rich_customer, product=product, count=12)
    held = wait_until(
        lambda: list(Order.objects.filter(lease_owner="victim", status="running").values_list("order_no", flat=True)),
        timeout=30,
        interval=0.05,
        message="the victim to hold orders",
    )
    victim.kill()  # SIGKILL: no release, no last heartbeat, leases simply stop being renewed
    victim.wait(timeout=10)
    survivors = [agents.start(name, concurrency=4, lease_seconds=2) for name in ("s1", "s2")]

    wait_until(_all_finished(orders), timeout=90, interval=0.5, message="the others to finish every order")

    assert statuses(orders) == {"succeeded": 12}
    per_order = SandboxExecution.objects.values("order_no").annotate(n=Count("id"))
    assert max(row["n"] for row in per_order) <= 2
    successes = Counter(
        SandboxExecution.objects.filter(outcome=SandboxExecution.Outcome.SUCCEEDED).values_list("order_no", flat=True)
    )
    assert successes == Counter({order.order_no: 1 for order in orders})
    for order in Order.objects.filter(order_no__in=held):
        assert order.attempts == 2 and order.lease_owner == ""
        assert any("victim" in event.note_text for event in order.events.all())  # its lease expired
    charges = Counter(LedgerEntry.objects.filter(kind="charge").values_list("order_id", flat=True))
    assert charges == Counter({order.pk: 1 for order in orders})
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()
    assert not OrderEvent.objects.filter(order__in=orders, to_status="failed").exists()
    reconciled()
    assert "Traceback" not in "".join(agents.log(p) for p in survivors)
