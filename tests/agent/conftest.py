"""Real `manage.py runagent` processes against the test database (and Redis when the pass has it)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections

from customers.services import balance_recharge
from orders.models import Order
from orders.services import order_place

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"


def subprocess_database_url(alias: str = "default") -> str:
    """The URL of the database this test runs on (or of its read replica `alias`), for the processes it starts."""
    db = connections[alias].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"mysql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


def wait_until(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class AgentProcesses:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, *args: str, env: dict | None = None, **options) -> subprocess.Popen:
        defaults = {"concurrency": 4, "poll_interval": 0.2, "lease_seconds": 5, "grace_seconds": 5}
        argv = [sys.executable, str(MANAGE_PY), "runagent", "--name", name, *args]
        for key, value in (defaults | options).items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        environment = {
            **os.environ,
            "DATABASE_URL": subprocess_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "READY_QUEUE_KEY": settings.READY_QUEUE_KEY,
            "ORDER_RETRY_BASE_SECONDS": "0.2",
            "ORDER_RETRY_MAX_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **(env or {}),
        }
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "ab")
        process = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR)
        log.close()
        self.processes.append((process, log_path))
        return process

    def log(self, process: subprocess.Popen) -> str:
        path = next(path for p, path in self.processes if p is process)
        return path.read_text(errors="replace")

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def agents(tmp_path, request):
    processes = AgentProcesses(tmp_path)
    yield processes
    processes.stop_all()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for _, path in processes.processes:
            print(f"--- {path.name}\n{path.read_text(errors='replace')[-5000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def rich_customer(customer):
    balance_recharge(customer_id=customer.pk, amount="1000000", actor=None)
    customer.refresh_from_db()
    return customer


def orders_place(*, customer, product, count: int, target: str = "13900000000") -> list[Order]:
    return [
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target=target, actor=None)
        for _ in range(count)
    ]


def statuses(orders) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts
