"""The http executor against a real local HTTP server, driven by a real runagent process."""

import json
import threading
import time
from collections import defaultdict
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from customers.models import LedgerEntry
from orders.models import Order, Product
from tests.agent.conftest import orders_place, wait_until
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Provider(BaseHTTPRequestHandler):
    """Behaves per path; the first request of an order (by idempotency key) may misbehave, retries succeed."""

    requests: dict[str, list[tuple[str, dict]]] = defaultdict(list)  # path -> [(idempotency key, body)]
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
