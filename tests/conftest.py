import logging
import os
from decimal import Decimal

import pytest
from django.conf import settings as project_settings
from django.core.management import call_command

from backoffice.logs import OncePerInterval
from tests.factories import CustomerFactory, ProductFactory, TierFactory, UserFactory
from tests.roles import every_customer_role


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium through Playwright")
    config.addinivalue_line(
        "markers", "replica: needs a real read replica (REPLICA_DATABASE_URLS; the test command's third pass)"
    )


def pytest_collection_modifyitems(config, items):
    """Tests of a read replica run only where one is configured (the test command's third pass, which runs
    them alone): elsewhere they are deselected."""
    if os.environ.get("REPLICA_DATABASE_URLS"):
        return
    deselected = [item for item in items if item.get_closest_marker("replica")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.fixture
def output_dir():
    """Where tests leave artefacts (screenshots); the test command sets TEST_OUTPUT_DIR."""
    path = os.environ.get("TEST_OUTPUT_DIR", "results/test-output")
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _ready_queue_isolated(settings, request):
    """Give every test its own ready-queue key so passes and tests never see each other's pushes."""
    settings.READY_QUEUE_KEY = f"test:ready:{os.getpid()}:{request.node.name}"[:200]
    yield
    if settings.REDIS_URL:
        from orders.queue import ready_queue_client

        try:
            ready_queue_client().delete(settings.READY_QUEUE_KEY)
        except Exception:  # noqa: BLE001 - a test that stops Redis must not fail its neighbours
            pass


@pytest.fixture(autouse=True)
def _repeated_log_lines_forgotten():
    """Each test starts with no log line held back as a repeat (backoffice.logs.OncePerInterval)."""
    for name in project_settings.LOGGING["loggers"]:
        for log_filter in logging.getLogger(name).filters:
            if isinstance(log_filter, OncePerInterval):
                log_filter.forget()


@pytest.fixture
def staff(db):
    """A staff member who sees every customer (a role of data scope "all")."""
    user = UserFactory(is_staff=True)
    user.groups.add(every_customer_role())
    return user


@pytest.fixture
def tier(db):
    return TierFactory(discount_percent=Decimal("0"))


@pytest.fixture
def customer(db, tier):
    return CustomerFactory(tier=tier)


@pytest.fixture
def product(db):
    return ProductFactory()


@pytest.fixture
def reconciled():
    """Call to assert `manage.py reconcile` finds no breach."""

    def check():
        call_command("reconcile")

    return check
