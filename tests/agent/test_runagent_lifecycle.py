"""One runagent process: sandbox outcomes, --once, cancel racing a claim, SIGTERM, Redis outage."""

import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from agent.models import Agent, SandboxExecution
from customers.models import LedgerEntry
from orders.errors import InvalidTransition
from orders.models import Order
from orders.services import order_cancel
from tests.agent.conftest import MANAGE_PY, orders_place, statuses, subprocess_database_url, wait_until
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = SandboxExecution.Outcome


def _finished(orders):
    return lambda: not Order.objects.filter(pk__in=[o.pk for o in orders], status__in=["pending", "running"]).exists()


def _refunds(order) -> int:
    return LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).count()


def test_sandbox_fail_is_permanent_and_flaky_succeeds_on_retry(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=0)
    failing = orders_place(customer=rich_customer, product=product, count=2, target="will-fail")
    flaky = orders_place(customer=rich_customer, product=product, count=2, target="flaky-line")
    agents.start("sandbox-agent")
    wait_until(_finished(failing + flaky), timeout=30, message="sandbox orders to finish")

    for order in failing:
        order.refresh_from_db()
        assert (order.status, order.attempts, _refunds(order)) == ("failed", 1, 1)
        assert list(SandboxExecution.objects.filter(order_no=order.order_no).values_list("outcome", flat=True)) == [
            Outcome.FAILED
        ]
    for order in flaky:
        order.refresh_from_db()
        assert (order.status, order.attempts, _refunds(order)) == ("succeeded", 2, 0)
        assert list(SandboxExecution.objects.filter(order_no=order.order_no).values_list("outcome", flat=True)) == [
            Outcome.TRANSIENT,
            Outcome.SUCCEEDED,
        ]
    reconciled()


def test_once_drains_what_is_ready_and_exits(rich_customer, settings):
    product = ProductFactory(sandbox_delay_ms=0)
    orders = orders_place(customer=rich_customer, product=product, count=6)
    env = {
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "READY_QUEUE_KEY": settings.READY_QUEUE_KEY,
        "PATH": "/usr/bin:/bin",
        "EMBEDDED_DEMO": "1",  # no SECRET_KEY in this bare environment
    }
    done = subprocess.run(
        [sys.executable, str(MANAGE_PY), "runagent", "--once", "--name", "once", "--concurrency", "2"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert statuses(orders) == {"succeeded": 6}
    assert Agent.objects.get(name="once").orders_done == 6


def test_cancel_racing_claims_has_exactly_one_winner_per_order(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=100)
    agents.start("racer", concurrency=2, poll_interval=0.05)
    wait_until(lambda: Agent.objects.filter(name="racer").exists(), timeout=30, message="the agent's heartbeat")
    orders = orders_place(customer=rich_customer, product=product, count=30)
    wait_until(
        lambda: Order.objects.filter(pk__in=[o.pk for o in orders], status="running").exists(),
        timeout=30, interval=0.01, message="the agent to start claiming",
    )

    lost = []
    for order in reversed(orders):  # the agent claims oldest first, cancels come from the newest: they meet
        try:
            order_cancel(order_id=order.pk, actor=None)
        except InvalidTransition:
            lost.append(order.pk)
    wait_until(_finished(orders), timeout=60, message="the claimed orders to finish")

    counts = statuses(orders)
    assert counts.get("cancelled") and counts.get("succeeded") and set(counts) == {"cancelled", "succeeded"}
    assert counts["succeeded"] == len(lost)
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        executions = SandboxExecution.objects.filter(order_no=order.order_no).count()
        if order.status == "cancelled":
            assert (executions, _refunds(order), order.attempts) == (0, 1, 0)
        else:
            assert (executions, _refunds(order)) == (1, 0)
    reconciled()


def test_sigterm_lets_in_flight_orders_finish_within_the_grace_period(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=1000)
    agent = agents.start("graceful", concurrency=2, grace_seconds=10)
    orders = orders_place(customer=rich_customer, product=product, count=4)
    wait_until(
        lambda: Order.objects.filter(lease_owner="graceful", status="running").count() >= 2,
        timeout=30, interval=0.05, message="orders in flight",
    )
    time.sleep(0.3)  # both threads are inside the 1 s execution
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0

    # The two executing finished; the others (still pending, or claimed and waiting for a thread) were
    # never started and are pending again.
    assert statuses(orders) == {"succeeded": 2, "pending": 2}
    assert SandboxExecution.objects.count() == 2
    assert not Order.objects.filter(pk__in=[o.pk for o in orders], status="pending").exclude(attempts=0).exists()
    row = Agent.objects.get(name="graceful")
    assert row.stopped_at is not None and row.holding == [] and row.orders_done == 2
    reconciled()


def test_sigterm_releases_what_cannot_finish_within_the_grace_period(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=4000)
    agent = agents.start("impatient", concurrency=2, grace_seconds=0.5)
    orders = orders_place(customer=rich_customer, product=product, count=2)
    wait_until(
        lambda: Order.objects.filter(lease_owner="impatient", status="running").count() == 2,
        timeout=30, interval=0.05, message="two orders in flight",
    )
    started = time.monotonic()
    agent.send_signal(signal.SIGINT)
    assert agent.wait(timeout=15) == 0
    assert time.monotonic() - started < 3.5  # did not wait for the 4 s executions

    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        assert (order.status, order.attempts, order.lease_owner, order.lease_expires_at) == ("pending", 0, "", None)
        assert order.events.last().note_code == "agent_stopping"
    assert not SandboxExecution.objects.exists()
    assert Agent.objects.get(name="impatient").holding == []
    reconciled()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_unreachable_agent_polls_and_recovers_when_it_returns(agents, rich_customer, reconciled, tmp_path):
    port = _free_port()
    product = ProductFactory(sandbox_delay_ms=0)
    agent = agents.start("no-redis", env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, poll_interval=0.3)

    placed = []
    stop = threading.Event()

    def keep_placing():
        try:
            while not stop.is_set():
                placed.extend(orders_place(customer=rich_customer, product=product, count=1))
                time.sleep(0.05)
        finally:
            connection.close()

    placer = threading.Thread(target=keep_placing)
    placer.start()
    try:
        wait_until(lambda: len(placed) >= 20, timeout=30, message="orders to keep coming")
    finally:
        stop.set()
        placer.join()
    wait_until(_finished(placed), timeout=30, message="every order to complete by polling")
    assert statuses(placed) == {"succeeded": len(placed)}
    assert "ready-queue unreachable" in agents.log(agent)

    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: "ready-queue reachable again" in agents.log(agent), timeout=30, message="recovery")
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    log = agents.log(agent)
    assert "Traceback" not in log and log.count("ready-queue unreachable") <= 2
    reconciled()


@pytest.mark.skipif(connection.vendor != "mysql", reason="kills the agent's MariaDB connections")
def test_agent_survives_its_database_connections_being_killed(agents, rich_customer, reconciled):
    product = ProductFactory(sandbox_delay_ms=300)
    agent = agents.start("blip", concurrency=4, lease_seconds=3)
    orders = orders_place(customer=rich_customer, product=product, count=24)
    for _ in range(3):
        wait_until(
            lambda: Order.objects.filter(pk__in=[o.pk for o in orders], status="running").exists(),
            timeout=30, interval=0.02, message="orders in flight",
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            )
            for (connection_id,) in cursor.fetchall():
                cursor.execute(f"KILL CONNECTION {int(connection_id)}")
        time.sleep(0.5)

    wait_until(_finished(orders), timeout=90, interval=0.2, message="every order to finish after the blips")
    assert agent.poll() is None  # still running
    assert statuses(orders) == {"succeeded": 24}
    assert "database unavailable" in agents.log(agent)
    assert "Traceback" not in agents.log(agent)
    reconciled()
