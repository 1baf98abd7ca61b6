"""A real runagent process and executions that run past their product's maximum run time."""

import signal
import time

import pytest
from django.utils import translation
from django.utils.translation import gettext

from agent.models import Agent, SandboxExecution
from customers.models import LedgerEntry
from orders.models import Order
from tests.agent.conftest import orders_place, statuses, wait_until
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _status(order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def _deadline_error(seconds: int) -> str:
    with translation.override("zh-hans"):  # the agent writes in the platform's language
        return gettext("Still running after %(seconds)s s, the maximum run time.") % {"seconds": seconds}


def test_a_hung_execution_is_retried_then_fails_and_the_other_orders_go_on(agents, rich_customer, reconciled):
    hanging = ProductFactory(sandbox_delay_ms=60_000, max_run_seconds=1, max_attempts=2)
    quick = ProductFactory(sandbox_delay_ms=300)
    [stuck] = orders_place(customer=rich_customer, product=hanging, count=1)
    others = orders_place(customer=rich_customer, product=quick, count=20)
    agent = agents.start("deadline", concurrency=2, lease_seconds=3)

    wait_until(lambda: _status(stuck) == "failed", timeout=30, interval=0.1, message="the hung order to fail")
    # Both threads hang on it in turn; without fresh threads in their place the others would wait a minute.
    wait_until(lambda: statuses(others) == {"succeeded": 20}, timeout=30, message="the other orders to finish")

    stuck.refresh_from_db()
    assert (stuck.attempts, stuck.lease_owner, stuck.lease_expires_at) == (2, "", None)
    assert stuck.last_error == _deadline_error(1)
    steps = list(stuck.events.order_by("id").values_list("from_status", "to_status"))
    assert steps == [("", "pending"), ("pending", "running"), ("running", "pending"), ("pending", "running"), ("running", "failed")]
    assert LedgerEntry.objects.filter(order=stuck, kind=LedgerEntry.Kind.REFUND).count() == 1
    assert not SandboxExecution.objects.filter(order_no=stuck.order_no).exists()  # both threads are still asleep
    wait_until(lambda: Agent.objects.get(name="deadline").orders_failed == 1, timeout=10, message="the heartbeat")
    row = Agent.objects.get(name="deadline")
    assert stuck.order_no not in row.holding

    started = time.monotonic()
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert time.monotonic() - started < 3  # does not wait for the threads it gave up on
    log = agents.log(agent)
    assert log.count("giving it up") == 2 and "Traceback" not in log
    row.refresh_from_db()
    assert (row.orders_done, row.orders_failed, row.holding) == (20, 1, [])
    assert row.stopped_at is not None
    reconciled()


def test_a_late_outcome_is_dropped_and_the_next_attempt_finishes_the_order(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=2500, max_run_seconds=1)
    [order] = orders_place(customer=rich_customer, product=product, count=1)
    # A 3 s backoff: the first attempt comes back (at 2.5 s) while the order waits for its second.
    agent = agents.start("late", concurrency=1, lease_seconds=3, env={"ORDER_RETRY_BASE_SECONDS": "3", "ORDER_RETRY_MAX_SECONDS": "3"})

    wait_until(
        lambda: order.events.filter(from_status="running", to_status="pending").exists(),
        timeout=30, interval=0.05, message="the first attempt to be given up",
    )
    product.max_run_seconds = 10  # the next attempt may take its time
    product.save()
    wait_until(
        lambda: SandboxExecution.objects.filter(order_no=order.order_no).exists(),
        timeout=10, interval=0.05, message="the first attempt to come back",
    )
    wait_until(lambda: "returned after its deadline" in agents.log(agent), timeout=5, message="the late outcome")
    order.refresh_from_db()
    assert (order.status, order.attempts, order.result) == ("pending", 1, "")  # its success was not recorded

    wait_until(lambda: _status(order) == "succeeded", timeout=30, message="the second attempt")
    order.refresh_from_db()
    assert order.attempts == 2
    outcomes = list(SandboxExecution.objects.filter(order_no=order.order_no).values_list("attempt", "outcome"))
    # The provider did it once: the second attempt replays the first, late, success (the idempotency key).
    assert outcomes == [(1, SandboxExecution.Outcome.SUCCEEDED), (2, SandboxExecution.Outcome.DUPLICATE)]
    assert not LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).exists()
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert "Traceback" not in agents.log(agent)
    reconciled()


def test_a_late_outcome_never_finishes_a_later_attempt_of_the_same_agent(agents, rich_customer, reconciled):
    # Each attempt runs 2.5 s and is given up after 1-2 s; the next one starts 0.2 s later, so each late
    # success comes back while this agent holds the order again, on its next attempt.
    product = ProductFactory(sandbox_delay_ms=2500, max_run_seconds=1, max_attempts=3)
    [order] = orders_place(customer=rich_customer, product=product, count=1)
    agent = agents.start("overlap", concurrency=2, lease_seconds=3)

    wait_until(lambda: _status(order) == "failed", timeout=30, message="the order to fail")
    wait_until(
        lambda: agents.log(agent).count("returned after its deadline") == 3, timeout=10, message="three late outcomes"
    )
    order.refresh_from_db()
    assert (order.attempts, order.result, order.last_error) == (3, "", _deadline_error(1))
    assert LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).count() == 1
    assert SandboxExecution.objects.filter(order_no=order.order_no).count() == 3
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert "Traceback" not in agents.log(agent)
    reconciled()
