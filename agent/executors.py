"""Executors carry out one claimed order, chosen by Product.executor.

An executor returns the result text on success or raises ExecutionError saying whether the failure
is transient (worth another attempt) or permanent. Execution is at-least-once: an order may run again
after an agent dies mid-way, so every executor passes the order number as its idempotency key.
"""

import json
import time

import requests
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


def http_execute(order: Order, *, agent: str) -> str:
    """POST the order to the product's endpoint: 2xx done, 4xx permanent, 5xx/timeout/connection transient."""
    product = order.product
    payload = {"order_no": order.order_no, "product": product.code, "quantity": order.quantity, "target": order.target}
    try:
        response = requests.post(
            product.endpoint,
            json=payload,
            headers={"Idempotency-Key": order.order_no},
            timeout=product.timeout_seconds,
        )
    except requests.Timeout as exc:
        raise ExecutionError(f"http: timeout after {product.timeout_seconds}s ({exc.__class__.__name__})", transient=True) from None
    except requests.RequestException as exc:
        raise ExecutionError(f"http: {exc.__class__.__name__}: {exc}"[:500], transient=True) from None
    if 200 <= response.status_code < 300:
        return response.text
    error = f"http: {response.status_code} {response.reason}: {response.text[:300]}"
    raise ExecutionError(error, transient=response.status_code >= 500)


EXECUTORS = {Product.Executor.SANDBOX: sandbox_execute, Product.Executor.HTTP: http_execute}


def order_execute(order: Order, *, agent: str) -> str:
    return EXECUTORS[order.product.executor](order, agent=agent)
