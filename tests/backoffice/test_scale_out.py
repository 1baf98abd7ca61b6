"""Scale-out under failures, with real processes: two gunicorn instances (two sync workers each, in
production mode, reached the way nginx reaches them) and three agents on the test's MariaDB, its read replica and a Redis
server of the test's own. Eight customer-service clients place orders through the admin's add form and
cancel pending ones from the order list for a minute while a web worker is killed (-9), an agent is
killed (-9) and started again, and Redis restarts. Afterwards every order is finished, nothing was
charged or refunded twice, every balance is the sum of its ledger, and `manage.py reconcile` is clean."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db.models import Sum

from agent.models import SandboxExecution
from customers.models import Customer, LedgerEntry
from customers.services import balance_recharge
from orders.models import Order
from rbac.roles import CUSTOMER_SERVICE
from tests.agent.conftest import AgentProcesses, subprocess_database_url, wait_until
from tests.backoffice.conftest import environment_outside_tests, gunicorn_start, gunicorn_stop, production_env
from tests.backoffice.test_health import unused_port
from tests.factories import CustomerFactory, ProductFactory
from tests.redis_servers import RedisServer
from tests.roles import role_user

# The test command's third pass: MariaDB with a read replica (the servers read from it; what a user just wrote,
# the agents and reconcile, from the primary), and Redis.
pytestmark = [
    pytest.mark.replica,
    # The servers and agents see what the test commits, and it theirs.
    pytest.mark.django_db(transaction=True, databases=["default", "replica1"]),
]

CLIENTS = 8
SECONDS = 60
WORKER_KILLED_AT, AGENT_KILLED_AT, REDIS_RESTARTED_AT = 15, 30, 45
DRAIN_STALL_SECONDS = 20  # a queue that does not shrink for this long is stuck (a lease lasts 5 s)
# Plain targets succeed; "flaky" ones fail once and wait pending for a retry (cancellable meanwhile);
# "fail" ones fail for good and are refunded.
TARGETS = ("13800000000", "13800000001", "flaky-0001", "fail-0001")
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's
ADD_PATH = "/admin/orders/order/add/"
LIST_PATH = "/admin/orders/order/"
FINISHED = {Order.Status.SUCCEEDED, Order.Status.FAILED, Order.Status.CANCELLED}


def hidden_value(response: requests.Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', response.text)
    assert found, f"no {name} in the {response.status_code} answer to {response.url}"
    return found.group(1)


class StaffClient:
    """One member of customer service at a browser: signs in through the admin's login form, then places
    orders through the add form (GET it for the CSRF and idempotency tokens, POST it) and now and then
    cancels pending orders from the list, each request to the next server, as a balancer sends them."""

    def __init__(self, *, username: str, customer: Customer, product_id: int, servers: list[str], first: int):
        self.username, self.mobile, self.product_id, self.servers = username, customer.mobile, product_id, servers
        self.turn = first
        self.session = requests.Session()
        self.figures: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.error = ""

    def request(self, method: str, path: str, **data) -> requests.Response | None:
        """The answer, or None when the connection failed (a worker killed under it), which is counted."""
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        self.figures["requests"] += 1
        headers = {"X-Forwarded-Proto": "https", "Origin": server.replace("http://", "https://")}  # as from nginx
        try:
            response = self.session.request(method, server + path, data=data, headers=headers, allow_redirects=False, timeout=30)
        except requests.ConnectionError:
            self.figures["connection errors"] += 1
            return None
        self.statuses[response.status_code] += 1
        # nginx speaks HTTPS to the browser and plain HTTP to gunicorn: the session and CSRF cookies, marked
        # Secure in production mode, go back to gunicorn here as the browser sends them to nginx.
        for cookie in self.session.cookies:
            cookie.secure = False
        return response

    def sign_in(self) -> None:
        page = self.request("GET", "/admin/login/")
        credentials = {"username": self.username, "password": PASSWORD, "next": "/admin/"}
        done = self.request("POST", "/admin/login/", csrfmiddlewaretoken=hidden_value(page, "csrfmiddlewaretoken"), **credentials)
        assert done.status_code == 302 and "login" not in done.headers["Location"], f"{self.username} not signed in"

    def order_place(self, target: str) -> None:
        form = self.request("GET", ADD_PATH)
        if form is None:
            return
        data = {
            "csrfmiddlewaretoken": hidden_value(form, "csrfmiddlewaretoken"),
            "idempotency_token": hidden_value(form, "idempotency_token"),
            "customer": self.mobile, "product": self.product_id, "quantity": "1", "target": target, "memo": "",
            "_save": "Save",
        }
        for press in range(2):  # a Save cut off with its worker is pressed again: the token makes it act once
            self.figures["saves pressed again"] += press
            saved = self.request("POST", ADD_PATH, **data)
            if saved is not None:
                self.figures["orders placed" if saved.status_code == 302 else "orders refused"] += 1
                return

    def orders_cancel(self) -> None:
        """Cancel the newest pending orders on the list (anyone's: other clients' too, and ones an agent
        is claiming right now)."""
        page = self.request("GET", f"{LIST_PATH}?status__exact=pending")
        if page is None:
            return
        selected = re.findall(r'name="_selected_action" value="(\d+)"', page.text)[:2]
        if not selected:
            return
        token = hidden_value(page, "csrfmiddlewaretoken")
        data = {"csrfmiddlewaretoken": token, "action": "cancel_selected", "index": "0", "_selected_action": selected}
        if self.request("POST", LIST_PATH, **data) is not None:
            self.figures["cancels posted"] += len(selected)

    def run(self, stop: threading.Event) -> None:
        try:
            self.sign_in()
            n = 0
            while not stop.is_set():
                self.order_place(TARGETS[n % len(TARGETS)])
                if n % 4 == 3:
                    self.orders_cancel()
                n += 1
        except Exception:  # noqa: BLE001 - reported by the test
            self.error = traceback.format_exc()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # after the command's name: state, ppid
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent == pid:
            found.append(int(stat.parent.name))
    return found


def replica_environment() -> dict:
    return {"REPLICA_DATABASE_URLS": subprocess_database_url("replica1")}


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def web_environment(collected_static, own_redis) -> dict:
    return {
        **environment_outside_tests(),
        **production_env(
            DATABASE_URL=subprocess_database_url(),
            REDIS_URL=own_redis.url(0),
            READY_QUEUE_KEY=settings.READY_QUEUE_KEY,
            STATIC_ROOT=str(collected_static),
            WEB_WORKERS="2",
            WEB_THREADS="1",  # one thread: gunicorn's sync workers
            BEHIND_TLS_PROXY="1",
            PYTHONUNBUFFERED="1",
        ),
        **replica_environment(),
    }


@pytest.fixture
def web_servers(web_environment, tmp_path):
    """Two gunicorn instances: (url, master process, log) each; stopped however the test ends."""
    started = []
    try:
        for n in range(2):
            port, log = unused_port(), tmp_path / f"web{n}.log"
            started.append((f"http://127.0.0.1:{port}", gunicorn_start({**web_environment, "BIND": f"127.0.0.1:{port}"}, log), log))
        yield started
    finally:
        for _url, gunicorn, _log in started:
            gunicorn_stop(gunicorn)


@pytest.fixture
def agent_processes(tmp_path, own_redis):
    processes = AgentProcesses(tmp_path)
    environment = {"REDIS_URL": own_redis.url(0), "ORDER_RETRY_BASE_SECONDS": "2", "ORDER_RETRY_MAX_SECONDS": "4", **replica_environment()}

    def start(name: str):
        return processes.start(name, env=environment, concurrency=4, poll_interval=0.5, lease_seconds=5)

    try:
        yield start
    finally:
        processes.stop_all()


def queue_drain(unfinished) -> None:
    """Wait while the agents take every unfinished order to its end, failing once they stop making progress: how
    long the backlog takes depends on how many orders the clients placed in their minute, which grows as the pages
    get faster (the agents' sandbox runs half a second an order)."""
    left, progressed = unfinished.count(), time.monotonic()
    while left:
        time.sleep(0.5)
        now_left = unfinished.count()
        if now_left < left:
            left, progressed = now_left, time.monotonic()
        elif time.monotonic() - progressed > DRAIN_STALL_SECONDS:
            raise AssertionError(f"the queue stopped draining with {left} orders unfinished")


def test_web_workers_agents_and_redis_fail_under_load_and_no_money_moves_twice(
    web_servers, agent_processes, own_redis, web_environment, tmp_path
):
    begun = time.monotonic()
    product = ProductFactory(sandbox_delay_ms=500)  # orders are in flight when things die
    customers = CustomerFactory.create_batch(CLIENTS)
    for customer in customers:
        balance_recharge(customer_id=customer.pk, amount="100000", actor=None)
    users = [role_user(CUSTOMER_SERVICE, username=f"service-{n}") for n in range(CLIENTS)]
    agents = {name: agent_processes(name) for name in ("agent-1", "agent-2", "agent-3")}
    urls = [url for url, _gunicorn, _log in web_servers]
    clients = [
        StaffClient(username=user.username, customer=customer, product_id=product.pk, servers=urls, first=n)
        for n, (user, customer) in enumerate(zip(users, customers, strict=True))
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=client.run, args=(stop,), daemon=True) for client in clients]
    started = time.monotonic()

    def at(seconds: float) -> None:
        time.sleep(max(0.0, started + seconds - time.monotonic()))

    try:
        for thread in threads:
            thread.start()

        at(WORKER_KILLED_AT)
        master = web_servers[0][1]
        killed_worker = children(master.pid)[0]
        os.kill(killed_worker, signal.SIGKILL)

        at(AGENT_KILLED_AT)
        held = wait_until(
            lambda: Order.objects.filter(lease_owner="agent-1", status=Order.Status.RUNNING).count(),
            timeout=10, interval=0.05, message="agent-1 to hold an order",
        )
        agents["agent-1"].kill()  # no release, no last heartbeat: its leases simply expire
        agents["agent-1"].wait(timeout=10)
        time.sleep(1)
        agents["agent-1"] = agent_processes("agent-1")  # its supervisor starts it again, same name

        at(REDIS_RESTARTED_AT)
        own_redis.restart()  # empty: cached sessions and queued wake-ups are gone

        at(SECONDS)
    finally:
        stop.set()
        for thread in threads:
            if thread.is_alive():
                thread.join(timeout=60)
    client_seconds = time.monotonic() - started

    # Every order is taken to its end: the killed agent's by lease expiry, flaky ones by their retry.
    queue_drain(Order.objects.filter(status__in=[Order.Status.PENDING, Order.Status.RUNNING]))
    drain_seconds = time.monotonic() - started - client_seconds
    for name, process in agents.items():
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, f"{name} did not stop gracefully"
    respawned = children(master.pid)
    assert len(respawned) == 2 and killed_worker not in respawned  # gunicorn replaced the killed worker
    for _url, gunicorn, log in web_servers:
        assert gunicorn_stop(gunicorn) == 0, log.read_text()[-5000:]

    figures = sum((client.figures for client in clients), Counter())
    statuses = sum((client.statuses for client in clients), Counter())
    orders = Counter(Order.objects.values_list("status", flat=True))
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    print(
        f"\nscale-out: {figures['requests']} requests in {client_seconds:.0f} s, HTTP {dict(sorted(statuses.items()))}; "
        f"{figures['orders placed']} orders placed ({sum(orders.values())} in the database: {dict(orders)}); "
        f"{figures['cancels posted']} cancels posted, {orders[Order.Status.CANCELLED]} cancelled; "
        f"{figures['connection errors']} connection errors ({figures['saves pressed again']} saves pressed again), "
        f"{server_errors} 5xx; agent-1 killed holding {held} order(s); drained in {drain_seconds:.0f} s; logs in {tmp_path}"
    )
    assert [client.error for client in clients if client.error] == []
    assert server_errors == 0
    assert set(statuses) <= {200, 302}  # no refused CSRF token, no lost session
    assert figures["orders refused"] == 0
    assert figures["orders placed"] > 100 and orders[Order.Status.CANCELLED] > 0
    assert "Traceback" not in "".join(log.read_text(errors="replace") for log in tmp_path.glob("*.log"))

    assert set(orders) <= FINISHED
    entries = Counter(LedgerEntry.objects.exclude(order=None).values_list("order_id", "kind"))
    assert set(entries.values()) == {1}  # at most one charge and one refund per order
    all_orders = set(Order.objects.values_list("id", flat=True))
    assert {order for order, kind in entries if kind == LedgerEntry.Kind.CHARGE} == all_orders
    refunded = set(Order.objects.filter(status__in=[Order.Status.FAILED, Order.Status.CANCELLED]).values_list("id", flat=True))
    assert {order for order, kind in entries if kind == LedgerEntry.Kind.REFUND} == refunded
    ledger = dict(LedgerEntry.objects.order_by().values("customer").annotate(total=Sum("amount")).values_list("customer", "total"))
    assert {c.pk: c.balance for c in Customer.objects.all()} == {c.pk: ledger.get(c.pk, Decimal("0")) for c in Customer.objects.all()}
    # The provider performed each succeeded order once (a replay after a lost outcome is a duplicate).
    performed = Counter(
        SandboxExecution.objects.filter(outcome=SandboxExecution.Outcome.SUCCEEDED).values_list("order_no", flat=True)
    )
    assert performed == Counter(Order.objects.filter(status=Order.Status.SUCCEEDED).values_list("order_no", flat=True))

    reconcile = subprocess.run(
        [sys.executable, "manage.py", "reconcile"],
        env=web_environment, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    print(f"scale-out: {time.monotonic() - begun:.0f} s from the first order to the last check; reconcile clean")
