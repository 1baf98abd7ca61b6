"""A read replica with read-your-writes (core.replicas), against a real one: the test command's third pass runs
these on a MariaDB primary replicating to a replica with GTID (backoffice/scripts/replica_pair.py).

Replication carries committed rows only, hence transactions that commit. A lag is made by stopping the
replica's SQL thread: it applies nothing more until it starts again, so a row written since is on the primary
alone, and a page shows it only if it read the primary.
"""

import csv
import io
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse
from multidb.middleware import pinning_cookie
from multidb.pinning import unpin_this_thread

from agent.worker import Worker
from core.models import ExportJob
from customers.models import Customer
from customers.services import balance_recharge
from orders.admin import OrderResource
from orders.models import Order
from orders.services import order_place
from rbac.roles import CUSTOMER_SERVICE
from tests.agent.conftest import wait_until
from tests.factories import CustomerFactory, ProductFactory
from tests.roles import role_user

pytestmark = [pytest.mark.replica, pytest.mark.django_db(transaction=True, databases=["default", "replica1"])]

LIST_URL = reverse("admin:orders_order_changelist")
ADD_URL = reverse("admin:orders_order_add")
EXPORT_URL = reverse("admin:orders_order_export")
DASHBOARD_DATA_URL = reverse("dashboard_data")


class Replica:
    """The test run's replica (alias replica1): caught up with the primary, or held back."""

    def _query(self, alias: str, sql: str, params=()):
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    def catch_up(self) -> None:
        (position,) = self._query("default", "SELECT @@gtid_binlog_pos")
        assert self._query("replica1", "SELECT MASTER_GTID_WAIT(%s, 30)", [position]) == (0,), "the replica lags 30 s"

    def hold_back(self) -> None:
        """Caught up, then applying nothing more (its SQL thread stopped; it still receives the binary log)."""
        self.catch_up()
        self._query("replica1", "STOP SLAVE SQL_THREAD")

    def release(self) -> None:
        self._query("replica1", "START SLAVE SQL_THREAD")  # only a note when it runs already
        self.catch_up()


@pytest.fixture
def replica():
    unpin_this_thread()  # each test starts as a request that has not written
    replica = Replica()
    yield replica
    replica.release()
    unpin_this_thread()


def placed(customer, product, token: str) -> Order:
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="13800000000", actor=None, token=token)


def listed(client, order: Order, **query) -> bool:
    """Whether the order list (with `query`: a search) shows `order` as a row."""
    return reverse("admin:orders_order_change", args=[order.pk]) in client.get(LIST_URL, query).content.decode()


def exported_order_numbers(client) -> set[str]:
    """The order numbers in the list's CSV export, as its form posts it (every column), in English."""
    client.cookies["django_language"] = "en"
    fields = {f"orderresource_{name}": "on" for name in OrderResource().get_export_order()}
    response = client.post(EXPORT_URL, {"format": "1", "resource": "0", **fields})
    assert response.status_code == 200, response.content[:500]
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8"))))
    column = rows[0].index("Order number")
    return {row[column] for row in rows[1:]}


def test_lists_searches_exports_and_the_dashboard_read_the_replica_and_writes_go_to_the_primary(
    replica, client, customer, product
):
    balance_recharge(customer_id=customer.pk, amount="100.00", actor=None)
    before = placed(customer, product, "before")
    replica.hold_back()
    after = placed(customer, product, "after")  # a service: written on the primary
    assert Order.objects.using("default").filter(pk=after.pk).exists()
    assert not Order.objects.using("replica1").filter(pk=after.pk).exists()

    # Reads outside a transaction come from the replica; inside one on the primary, from the primary.
    assert not Order.objects.filter(pk=after.pk).exists()
    with transaction.atomic():
        assert Order.objects.filter(pk=after.pk).exists()

    # Signed in since the stop: the session, the account and its roles are read from the primary.
    staff = role_user(CUSTOMER_SERVICE)
    assert get_user_model().objects.filter(pk=staff.pk).exists()
    client.force_login(staff)
    assert listed(client, before) and not listed(client, after)
    assert listed(client, before, q=before.order_no) and not listed(client, after, q=after.order_no)
    assert client.get(DASHBOARD_DATA_URL).json()["today"]["orders"] == 1
    assert exported_order_numbers(client) == {before.order_no}  # its form is posted, yet it reads the replica

    replica.release()
    assert listed(client, before) and listed(client, after)
    assert client.get(DASHBOARD_DATA_URL).json()["today"]["orders"] == 2


def test_who_wrote_reads_their_write_back_while_another_user_may_lag(replica, client, customer, product):
    balance_recharge(customer_id=customer.pk, amount="100.00", actor=None)
    client.force_login(role_user(CUSTOMER_SERVICE, username="writer"))
    other = Client()
    other.force_login(role_user(CUSTOMER_SERVICE, username="other"))
    replica.hold_back()

    response = client.post(
        ADD_URL,
        {"customer": str(customer), "product": product.pk, "quantity": "1", "target": "13800000000", "memo": "",
         "idempotency_token": "tok-1", "_save": "Save"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    pin = response.cookies[pinning_cookie()]
    assert (pin["max-age"], pin["httponly"], pin["samesite"]) == (15, True, "Lax")
    order = Order.objects.using("default").get()

    # The writer's pages read the primary while the cookie lasts: their order is there at once.
    assert listed(client, order)
    assert order.order_no in exported_order_numbers(client)
    # Another user's list reads the replica: it shows the order once the replica has it (documented lag).
    assert not listed(other, order)
    # So does the writer's once the cookie has expired (MULTIDB_PINNING_SECONDS).
    del client.cookies[pinning_cookie()]
    assert not listed(client, order)

    replica.release()
    assert listed(other, order)


def test_the_agent_the_services_and_reconcile_read_the_primary(replica, settings, tmp_path):
    settings.EXPORT_CHECK_SECONDS, settings.EXPORT_ROOT = 0.1, tmp_path
    staff = role_user(CUSTOMER_SERVICE)
    replica.hold_back()
    # A customer and a product the replica has not seen: the services find them, and so does the agent,
    # on each of its threads (claim, execute, export).
    newcomer, product = CustomerFactory(), ProductFactory()
    balance_recharge(customer_id=newcomer.pk, amount="50.00", actor=None)
    order = placed(newcomer, product, "newcomer")
    job = ExportJob.objects.create(
        requested_by=staff, model="orders.order", file_format="csv", language="en", file_name="orders.csv"
    )
    worker = Worker(name="replica-agent", poll_interval=0.1, lease_seconds=5, grace_seconds=5)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        succeeded = Order.objects.using("default").filter(pk=order.pk, status=Order.Status.SUCCEEDED)
        wait_until(succeeded.exists, timeout=30, message="the order executed")
        built = ExportJob.objects.using("default").filter(pk=job.pk, status__in=[ExportJob.Status.READY, ExportJob.Status.FAILED])
        job = wait_until(built.first, timeout=30, message="the export built")
    finally:
        worker.stop.set()
        thread.join(timeout=30)
    assert (job.status, job.rows) == (ExportJob.Status.READY, 1), job.error
    assert not Order.objects.using("replica1").filter(pk=order.pk).exists()  # still held back

    call_command("reconcile")
    # A breach on the primary alone: reconcile reads the primary, so it finds it.
    Customer.objects.filter(pk=newcomer.pk).update(balance=F("balance") + 1)
    with pytest.raises(CommandError):
        call_command("reconcile")
