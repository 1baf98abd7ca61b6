"""Executors carry out one claimed order, chosen by Product.executor.

An executor returns the result text on success or raises ExecutionError saying whether the failure
is transient (worth another attempt) or permanent. Execution is at-least-once: an order may run again
after an agent dies mid-way, so every executor passes the order number as its idempotency key.
"""

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

from django.db import connection

from agent.models import SandboxExecution
from core.db import row_insert
from orders.models import Order, Product


class ExecutionError(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


def _sandbox_succeeded_before(order_no: str) -> bool:
    # SQL, not the ORM: it runs for every order the agent executes (see core.db).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {SandboxExecution._meta.db_table} WHERE order_no = %s AND outcome = %s LIMIT 1",
            [order_no, SandboxExecution.Outcome.SUCCEEDED],
        )
        return cursor.fetchone() is not None


def sandbox_execute(order: Order, *, agent: str) -> str:
    """Succeeds after the product's delay; a target containing "fail" fails permanently and one
    containing "flaky" fails transiently on its first attempt. Like a real provider honouring an
    idempotency key, it replays an earlier success instead of performing it twice."""
    time.sleep(order.product.sandbox_delay_ms / 1000)
    Outcome = SandboxExecution.Outcome
    if "fail" in order.target:
        outcome, error = Outcome.FAILED, "sandbox: target rejected"
    elif "flaky" in order.target and order.attempts <= 1:
        outcome, error = Outcome.TRANSIENT, "sandbox: temporary failure"
    elif _sandbox_succeeded_before(order.order_no):
        outcome, error = Outcome.DUPLICATE, ""
    else:
        outcome, error = Outcome.SUCCEEDED, ""
    row_insert(SandboxExecution(order_no=order.order_no, attempt=order.attempts, agent=agent, outcome=outcome))
    if error:
        raise ExecutionError(error, transient=outcome == Outcome.TRANSIENT)
    return json.dumps({"sandbox": "ok", "order_no": order.order_no})


class _Deadline:
    """Shuts a connection's socket down once `seconds` have passed, from a timer thread: a blocked
    connect, send or read then fails at once. A socket timeout alone bounds each read, so a server
    sending a byte at a time could hold the request for ever."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float):
        self.connection = connection
        self.sock: socket.socket | None = None  # once connected: a reply read to the close takes it from the connection
        self.passed = threading.Event()
        self.timer = threading.Timer(seconds, self._cut)
        self.timer.daemon = True

    def _cut(self) -> None:
        self.passed.set()  # before reading sock: a connect that ends now sees the flag (http_post checks it)
        sock = self.sock or self.connection.sock  # (connecting: the TLS handshake is cut too)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


def http_post(url: str, *, body: bytes, headers: dict[str, str], seconds: float) -> tuple[int, str, bytes]:
    """POST and read the whole reply within `seconds` in all (connect, send, headers and body), or raise
    TimeoutError. Name resolution is the one step it cannot cut short (the resolver's own timeout)."""
    parts = urlsplit(url)
    Connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = Connection(parts.hostname, parts.port, timeout=seconds)
    deadline = _Deadline(connection, seconds)
    deadline.timer.start()
    try:
        connection.connect()
        deadline.sock = connection.sock
        if deadline.passed.is_set():
            raise TimeoutError
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException):
        if deadline.passed.is_set():
            raise TimeoutError from None
        raise
    finally:
        deadline.timer.cancel()
        connection.close()
    if deadline.passed.is_set():
        raise TimeoutError  # a reply without a length reads to the end, and the cut looks like its end
    return response.status, response.reason, data


def http_execute(order: Order, *, agent: str) -> str:
    """POST the order to the product's endpoint: 2xx done, 4xx permanent, 5xx/timeout/connection transient.
    The product's timeout bounds the whole request, reply included."""
    product = order.product
    payload = {"order_no": order.order_no, "product": product.code, "quantity": order.quantity, "target": order.target}
    try:
        status, reason, data = http_post(
            product.endpoint,
            body=json.dumps(payload).encode(),
            headers={"Idempotency-Key": order.order_no},
            seconds=product.timeout_seconds,
        )
    except TimeoutError:
        raise ExecutionError(f"http: timeout after {product.timeout_seconds}s", transient=True) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ExecutionError(f"http: {exc.__class__.__name__}: {exc}"[:500], transient=True) from None
    text = data.decode("utf-8", errors="replace")
    if 200 <= status < 300:
        return text
    error = f"http: {status} {reason}: {text[:300]}"
    raise ExecutionError(error, transient=status >= 500)


EXECUTORS = {Product.Executor.SANDBOX: sandbox_execute, Product.Executor.HTTP: http_execute}


def order_execute(order: Order, *, agent: str) -> str:
    return EXECUTORS[order.product.executor](order, agent=agent)
