"""The http executor against a real local HTTP server, driven by a real runagent process, and its
total deadline against a server that drips its reply."""

import json
import threading
import time
from collections import defaultdict
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.executors import ExecutionError, http_execute
from customers.models import LedgerEntry
from orders.models import Order, Product
from tests.agent.conftest import orders_place, wait_until
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Provider(BaseHTTPRequestHandler):
    """Behaves per path; the first request of an order (by idempotency key) may misbehave, retries succeed."""

    requests: dict[str, list[tuple[str, dict]]] = defaultdict(list)  # path -> [(idempotency key, body)]
    cut_at: dict[str, float] = {}  # dripping path -> when the client hung up (time.monotonic())
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Idempotency-Key", "")
        with self.lock:
            seen = [k for k, _ in self.requests[self.path] if k == key]
            self.requests[self.path].append((key, body))
        first = not seen
        if self.path == "/bad":
            return self._reply(400, {"error": "no such target"})
        if self.path == "/down":
            return self._reply(503, {"error": "maintenance"})
        if self.path == "/flaky" and first:
            return self._reply(500, {"error": "oops"})
        if self.path == "/slow" and first:
            time.sleep(2.5)  # beyond the product's 1 s timeout
        if self.path.startswith("/drip-"):
            return self._drip()
        if self.path == "/drip" and first:
            self.path = "/drip-body"
            return self._drip()
        if self.path == "/drop" and first:
            self.close_connection = True
            self.connection.shutdown(2)  # hang up without a status line
            return None
        return self._reply(200, {"reference": f"R-{key}", "path": self.path})

    def _reply(self, status: int, payload: dict):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drip(self):
        """A byte every 0.2 s, for a minute: of the status line and headers (/drip-head), or of a body
        with a length (/drip-body) or read to the close (/drip-open). Never 1 s without a byte."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        body = b" " * 300 + b"{}"
        if self.path == "/drip-head":
            head, body = head + b"X-Padding: " + b"x" * 300 + b"\r\n\r\n", b"{}"
        elif self.path == "/drip-body":
            self.wfile.write(head + b"Content-Length: %d\r\n\r\n" % len(body))
            head = b""
        else:
            self.wfile.write(head + b"Connection: close\r\n\r\n")
            head = b""
        self.close_connection = True
        try:
            for byte in head + body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            self.cut_at[self.path] = time.monotonic()

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the slow reply finds the agent gone after its timeout: expected


@pytest.fixture
def provider():
    Provider.requests = defaultdict(list)
    server = QuietServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# path -> (final status, attempts, requests the server sees)
CASES = {
    "/ok": ("succeeded", 1, 1),
    "/bad": ("failed", 1, 1),
    "/flaky": ("succeeded", 2, 2),
    "/slow": ("succeeded", 2, 2),
    "/drop": ("succeeded", 2, 2),
    "/drip": ("succeeded", 2, 2),  # the first reply drips for a minute: cut at the 1 s deadline
    "/down": ("failed", 3, 3),
}


def test_http_outcomes_status_money_and_idempotency_keys(agents, provider, rich_customer, reconciled):
    placed = {}
    for path in CASES:
        product = ProductFactory(
            executor=Product.Executor.HTTP, endpoint=provider + path, timeout_seconds=1, unit_price=Decimal("7.00")
        )
        placed[path] = orders_place(customer=rich_customer, product=product, count=2)
    every = [order for orders in placed.values() for order in orders]
    agents.start("http-agent", concurrency=6)

    wait_until(
        lambda: not Order.objects.filter(pk__in=[o.pk for o in every], status__in=["pending", "running"]).exists(),
        timeout=60,
        interval=0.2,
        message="every http order to finish",
    )

    for path, (status, attempts, request_count) in CASES.items():
        for order in placed[path]:
            order.refresh_from_db()
            assert (order.status, order.attempts) == (status, attempts), (path, order.last_error)
            keys = [key for key, body in Provider.requests[path] if body["order_no"] == order.order_no]
            assert keys == [order.order_no] * request_count, path
            refunds = LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND)
            assert refunds.count() == (1 if status == "failed" else 0), path
            if status == "succeeded":
                assert json.loads(order.result) == {"reference": f"R-{order.order_no}", "path": path}
            else:
                assert order.last_error.startswith(f"http: {400 if path == '/bad' else 503}")
    body = Provider.requests["/ok"][0][1]
    assert set(body) == {"order_no", "product", "quantity", "target"} and body["quantity"] == 1

    succeeded = sum(len(placed[path]) for path, case in CASES.items() if case[0] == "succeeded")
    rich_customer.refresh_from_db()
    assert rich_customer.balance == Decimal("1000000") - succeeded * Decimal("7.00")
    reconciled()


@pytest.mark.parametrize("path", ["/drip-head", "/drip-body", "/drip-open"])
def test_http_deadline_covers_the_whole_reply_and_cuts_the_connection(provider, path):
    product = Product(code="drip", executor=Product.Executor.HTTP, endpoint=provider + path, timeout_seconds=1)
    order = Order(order_no="20260101120000000000001", product=product, quantity=1, target="13900000000")
    Provider.cut_at = {}
    started = time.monotonic()
    with pytest.raises(ExecutionError) as failure:
        http_execute(order, agent="test")
    assert time.monotonic() - started < 1.5
    assert failure.value.transient and str(failure.value) == "http: timeout after 1s"
    wait_until(lambda: path in Provider.cut_at, timeout=5, message="the server to see the connection cut")
    assert Provider.cut_at[path] - started < 2  # its next byte after the deadline found the client gone


def test_http_reply_in_time_is_read_whole(provider):
    product = Product(code="ok", executor=Product.Executor.HTTP, endpoint=provider + "/ok?x=1", timeout_seconds=1)
    order = Order(order_no="20260101120000000000002", product=product, quantity=3, target="13900000000")
    assert json.loads(http_execute(order, agent="test")) == {"reference": f"R-{order.order_no}", "path": "/ok?x=1"}
    assert Provider.requests["/ok?x=1"][0][1]["quantity"] == 3
