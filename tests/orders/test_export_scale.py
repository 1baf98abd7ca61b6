"""Exports that scale: the list's filters, search and viewer apply; rows come in chunks with no query per
row; past EXPORT_INLINE_MAX_ROWS the export is queued, built by the agent and offered on the exports list."""

import csv
import io
import os
import threading
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agent.worker import Worker
from core import exports
from core.exports import export_job_build, export_job_claim, export_jobs_expire
from core.models import ExportJob
from customers.services import balance_recharge
from orders.admin import OrderResource
from orders.models import Order
from orders.services import order_place
from rbac.roles import CUSTOMER_SERVICE, CUSTOMERS, FINANCE
from tests.agent.conftest import wait_until
from tests.factories import CustomerFactory, UserFactory
from tests.roles import role_user

ORDER_EXPORT = reverse("admin:orders_order_export")
MY_ORDER_EXPORT = reverse("admin:orders_myorder_export")
LEDGER_EXPORT = reverse("admin:customers_ledgerentry_export")
EXPORTS = reverse("admin:core_exportjob_changelist")


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


def orders_for(customer, product, count: int, *, target: str = "t") -> list[Order]:
    balance_recharge(customer_id=customer.pk, amount="10000", actor=None)
    return [
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target=target, actor=None)
        for _i in range(count)
    ]


@pytest.fixture
def two_customers(db, product):
    alice, bob = CustomerFactory(name="Alice", mobile="13800000001"), CustomerFactory(name="Bob", mobile="13800000002")
    return orders_for(alice, product, 3, target="=alice"), orders_for(bob, product, 4)


def user_client(user, language="en") -> Client:
    client = Client(raise_request_exception=False)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def post_export(client, url, fmt="csv", query=""):
    data = {"format": {"xlsx": "0", "csv": "1"}[fmt], "resource": "0"}
    data |= {f"orderresource_{name}": "on" for name in OrderResource().get_export_order()}
    return client.post(f"{url}?{query}" if query else url, data)


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def order_numbers(rows) -> list[str]:
    return [row[0] for row in rows[1:]]


# --- inline: filters, search, scope --------------------------------------------------------------------


@pytest.mark.django_db
def test_an_export_applies_the_lists_search_and_filters(two_customers):
    alice_orders, bob_orders = two_customers
    client = user_client(role_user(CUSTOMER_SERVICE))
    by_mobile = csv_rows(post_export(client, ORDER_EXPORT, query="q=13800000002").getvalue())
    assert sorted(order_numbers(by_mobile)) == sorted(o.order_no for o in bob_orders)
    Order.objects.filter(pk=alice_orders[0].pk).update(status=Order.Status.SUCCEEDED)
    succeeded = csv_rows(post_export(client, ORDER_EXPORT, query="status__exact=succeeded").getvalue())
    assert order_numbers(succeeded) == [alice_orders[0].order_no]
    both = csv_rows(post_export(client, ORDER_EXPORT, query="q=Alice&status__exact=pending").getvalue())
    assert sorted(order_numbers(both)) == sorted(o.order_no for o in alice_orders[1:])


@pytest.mark.django_db
def test_a_customer_exports_only_her_own_orders_and_not_the_staff_list(two_customers):
    alice_orders, _bob_orders = two_customers
    alice = role_user(CUSTOMERS, customer=alice_orders[0].customer)
    client = user_client(alice)
    rows = csv_rows(post_export(client, MY_ORDER_EXPORT).getvalue())
    assert sorted(order_numbers(rows)) == sorted(o.order_no for o in alice_orders)
    assert post_export(client, ORDER_EXPORT).status_code == 403
    assert post_export(client, LEDGER_EXPORT).status_code == 403


@pytest.mark.django_db
def test_finance_exports_the_ledger_but_not_the_orders(two_customers):
    client = user_client(role_user(FINANCE))
    assert post_export(client, ORDER_EXPORT).status_code == 403
    data = {"format": "1", "resource": "0", "ledgerentryresource_id": "on", "ledgerentryresource_kind": "on"}
    response = client.post(f"{LEDGER_EXPORT}?q=13800000001&kind__exact=charge", data)
    assert response.status_code == 200
    rows = csv_rows(response.getvalue())
    assert len(rows) == 1 + 3


@pytest.mark.django_db
def test_rows_come_in_chunks_with_no_query_per_row(superuser_client, customer, product, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 4)
    placed = orders_for(customer, product, 10)

    def export_queries() -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            rows = csv_rows(post_export(superuser_client, ORDER_EXPORT).getvalue())
        return len(queries), order_numbers(rows)

    count_10, numbers = export_queries()
    assert numbers == [o.order_no for o in reversed(placed)]  # each row once, newest first, across chunks
    orders_for(customer, product, 1)  # 11 rows: three chunks again, one row more in the last
    count_11, numbers = export_queries()
    assert len(numbers) == 11 and count_11 == count_10


@pytest.fixture
def superuser_client(db):
    return user_client(UserFactory(username="root", is_staff=True, is_superuser=True))


# --- past the limit: queued, built by the agent, offered on the exports list ---------------------------


@pytest.fixture
def small_limit(settings):
    settings.EXPORT_INLINE_MAX_ROWS = 2


@pytest.mark.django_db
def test_a_big_export_is_queued_and_built_as_its_requester_sees_the_list(two_customers, small_limit):
    alice_orders, bob_orders = two_customers
    service = role_user(CUSTOMER_SERVICE)
    client = user_client(service, "zh-hans")
    response = post_export(client, ORDER_EXPORT, "xlsx", query="q=Alice")
    assert (response.status_code, response["Location"]) == (302, EXPORTS)
    job = ExportJob.objects.get()
    assert (job.requested_by, job.status, job.query, job.file_format) == (service, "queued", "q=Alice", "xlsx")
    assert job.file_name == f"订单-{timezone.localdate():%Y-%m-%d}.xlsx"
    assert "正在准备" in " ".join(str(m) for m in get_messages(response.wsgi_request))

    Order.objects.filter(pk=alice_orders[0].pk).update(target="=HYPERLINK(1)")
    job = export_job_build(export_job_claim(agent="a1"))
    assert (job.status, job.rows, job.agent) == ("ready", 3, "a1")
    assert job.expires_at > timezone.now() + timedelta(hours=71)
    sheet = openpyxl.load_workbook(job.file.path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("订单号", "创建时间", "客户") and {row[11] for row in rows[1:]} == {"待执行"}
    assert sorted(row[0] for row in rows[1:]) == sorted(o.order_no for o in alice_orders)
    assert "'=HYPERLINK(1)" in [row[6] for row in rows[1:]]
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]

    listed = client.get(EXPORTS)
    assert job.file_name in listed.content.decode()
    download = client.get(reverse("admin:core_exportjob_download", args=[job.pk]))
    assert download.status_code == 200 and download.getvalue()[:2] == b"PK"
    assert "filename*=utf-8''%E8%AE%A2%E5%8D%95-" in download["Content-Disposition"]


@pytest.mark.django_db
def test_a_customers_queued_export_holds_her_own_orders_alone(two_customers, small_limit):
    alice_orders, _bob = two_customers
    client = user_client(role_user(CUSTOMERS, customer=alice_orders[0].customer))
    assert post_export(client, MY_ORDER_EXPORT).status_code == 302
    job = export_job_build(export_job_claim(agent="a1"))
    assert sorted(order_numbers(csv_rows(job.file.read()))) == sorted(o.order_no for o in alice_orders)


@pytest.mark.django_db
def test_each_person_sees_and_downloads_only_their_own_exports(two_customers, small_limit):
    first, second = role_user(CUSTOMER_SERVICE, username="first"), role_user(CUSTOMER_SERVICE, username="second")
    post_export(user_client(first), ORDER_EXPORT)
    job = export_job_build(export_job_claim(agent="a1"))
    download = reverse("admin:core_exportjob_download", args=[job.pk])

    other = user_client(second)
    assert list(other.get(EXPORTS).context_data["cl"].result_list) == []
    assert other.get(download).status_code == 404
    assert other.get(reverse("admin:core_exportjob_change", args=[job.pk])).status_code in (302, 404)
    root = user_client(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert list(root.get(EXPORTS).context_data["cl"].result_list) == [job]
    assert root.get(download).status_code == 200
    # finance may export (the ledger), so has an exports list, but not this file
    assert user_client(role_user(FINANCE)).get(download).status_code == 404
    first.groups.set(role_user(FINANCE, username="f2").groups.all())  # exports the ledger, no longer the orders
    assert user_client(first).get(download).status_code == 403
    first.groups.clear()  # exports nothing: no exports list at all
    assert user_client(first).get(download).status_code == 404


@pytest.mark.django_db
def test_a_requester_who_lost_the_permission_gets_a_failed_export(two_customers, small_limit):
    service = role_user(CUSTOMER_SERVICE)
    post_export(user_client(service), ORDER_EXPORT)
    service.groups.clear()
    job = export_job_build(export_job_claim(agent="a1"))
    assert job.status == "failed" and not job.file and job.error


@pytest.mark.django_db
def test_expired_exports_lose_their_file_and_keep_the_record(two_customers, small_limit):
    client = user_client(role_user(CUSTOMER_SERVICE))
    post_export(client, ORDER_EXPORT)
    job = export_job_build(export_job_claim(agent="a1"))
    path = job.file.path
    assert export_jobs_expire() == 0
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert export_jobs_expire() == 1
    job.refresh_from_db()
    assert job.status == "expired" and not job.file
    assert not os.path.exists(path)
    assert client.get(reverse("admin:core_exportjob_download", args=[job.pk])).status_code == 404


@pytest.mark.django_db
def test_one_agent_claims_an_export_and_a_stale_build_is_claimed_again(two_customers, small_limit):
    post_export(user_client(role_user(CUSTOMER_SERVICE)), ORDER_EXPORT)
    job = export_job_claim(agent="a1")
    assert job is not None and export_job_claim(agent="a2") is None
    ExportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(seconds=exports.STALE_SECONDS + 1))
    assert export_job_claim(agent="a2").pk == job.pk


@pytest.mark.django_db
def test_a_stopping_agent_puts_its_export_back_in_the_queue(customer, product, small_limit, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)
    orders_for(customer, product, 5)
    post_export(user_client(role_user(CUSTOMER_SERVICE)), ORDER_EXPORT)
    stop = threading.Event()
    stop.set()
    job = export_job_build(export_job_claim(agent="a1"), stop=stop)
    assert job.status == "queued"
    assert ExportJob.objects.get().status == "queued" and not ExportJob.objects.get().file


@pytest.mark.django_db(transaction=True)
def test_the_running_agent_builds_queued_exports(two_customers, small_limit, settings):
    settings.EXPORT_CHECK_SECONDS = 0.1
    post_export(user_client(role_user(CUSTOMER_SERVICE)), ORDER_EXPORT, query="q=13800000002")
    worker = Worker(name="exporting-agent", poll_interval=0.1, lease_seconds=5, grace_seconds=5)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        job = wait_until(
            lambda: ExportJob.objects.filter(status="ready").first(), timeout=30, message="the export built"
        )
    finally:
        worker.stop.set()
        thread.join(timeout=30)
    assert (job.agent, job.rows) == ("exporting-agent", 4)
