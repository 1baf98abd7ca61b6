"""The dashboard: Shanghai days, each role's figures against a direct query, the JSON contract."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.days import day_range, shard_of
from customers.models import Customer, LedgerDay, LedgerEntry
from customers.services import balance_debit, balance_recharge
from dashboard.selectors import dashboard_data
from orders.models import Order, OrderDay
from orders.services import order_cancel, order_claim, order_fail, order_place, order_succeed
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMERS, FINANCE, OPERATIONS
from tests.factories import CustomerFactory, ProductFactory
from tests.roles import role_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
DAY_KEYS = {"date", "orders", "amount", "succeeded", "failed", "cancelled", "recharges"}
MONEY_RE = re.compile(r"^-?\d+\.\d\d$")

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Set the platform's clock (every timezone.now(), auto_now stamps included) to an aware moment."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def place(customer, product, *, quantity=1):
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=quantity, target="t", actor=None)


def day_entry(data, day: date) -> dict:
    return next(entry for entry in data["days"] if entry["date"] == day.isoformat())


# --- Shanghai days ---------------------------------------------------------------------------------


def test_an_order_at_2330_shanghai_is_that_day_and_one_at_0030_the_next_across_the_month_end(clock, reconciled):
    customer = CustomerFactory()
    product = ProductFactory(unit_price=Decimal("10.00"))
    clock(datetime(2026, 3, 31, 15, 0, tzinfo=UTC))  # 23:00 on 31 March in Shanghai
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    clock(datetime(2026, 3, 31, 15, 30, tzinfo=UTC))  # 23:30 on 31 March in Shanghai
    late = place(customer, product)
    clock(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 April in Shanghai
    early = place(customer, product, quantity=2)
    balance_recharge(customer_id=customer.pk, amount="7", actor=None)
    # The pitfall this guards against: both are 31 March in UTC.
    assert late.created_at.astimezone(UTC).date() == early.created_at.astimezone(UTC).date() == date(2026, 3, 31)

    clock(datetime(2026, 4, 1, 12, 0, tzinfo=SHANGHAI))
    data = dashboard_data(user=role_user(ADMINISTRATORS), days=7)
    march_31, april_1 = day_entry(data, date(2026, 3, 31)), day_entry(data, date(2026, 4, 1))
    assert (march_31["orders"], march_31["amount"], march_31["recharges"]) == (1, "10.00", "100.00")
    assert (april_1["orders"], april_1["amount"], april_1["recharges"]) == (1, "20.00", "7.00")
    assert data["today"]["orders"] == 1
    # This month is April: the 23:30 order and the first recharge belong to March.
    assert data["money"]["month"] == {"recharges": "7.00", "debits": "0.00", "charges": "20.00", "refunds": "0.00"}
    hours = {hour["hour"]: hour["orders"] for hour in data["hours"]}
    assert list(hours)[0] == "2026-03-31T13:00" and list(hours)[-1] == "2026-04-01T12:00"
    assert (hours["2026-03-31T23:00"], hours["2026-04-01T00:00"], sum(hours.values())) == (1, 1, 2)
    # The summaries kept on the writes equal those computed again from the rows.
    reconciled()
    call_command("rebuild_day_summaries")
    assert dashboard_data(user=role_user(ADMINISTRATORS, username="again"), days=7)["days"] == data["days"]


def test_a_final_status_counts_in_the_day_the_order_was_placed(clock, staff):
    customer = CustomerFactory()
    product = ProductFactory(unit_price=Decimal("5.00"))
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    clock(datetime(2026, 1, 31, 23, 30, tzinfo=SHANGHAI))
    cancelled, failed, succeeded = place(customer, product), place(customer, product), place(customer, product)
    clock(datetime(2026, 2, 1, 0, 30, tzinfo=SHANGHAI))  # the next day, and month
    order_cancel(order_id=cancelled.pk, actor=staff)
    order_claim(agent="a", limit=10, lease_seconds=60)
    order_fail(order_id=failed.pk, agent="a", error="no", transient=False)
    order_succeed(order_id=succeeded.pk, agent="a")

    data = dashboard_data(user=role_user(ADMINISTRATORS), days=2)
    january = day_entry(data, date(2026, 1, 31))
    assert {key: january[key] for key in ("orders", "succeeded", "failed", "cancelled")} == {
        "orders": 3, "succeeded": 1, "failed": 1, "cancelled": 1
    }
    assert data["today"]["orders"] == 0
    # The refunds were posted on 1 February: February's money.
    assert data["money"]["today"]["refunds"] == data["money"]["month"]["refunds"] == "10.00"


# --- each role against a direct query --------------------------------------------------------------


@pytest.fixture
def books(staff):
    """Today's business and yesterday's, over two customers: orders in every final status, recharges, a debit."""
    alice, bob = CustomerFactory(), CustomerFactory()
    product = ProductFactory(unit_price=Decimal("3.33"))
    yesterday = timezone.localdate() - timedelta(days=1)
    for customer in (alice, bob):
        balance_recharge(customer_id=customer.pk, amount="500", actor=staff)
    balance_debit(customer_id=bob.pk, amount="12.50", actor=staff)
    orders = [place(customer, product, quantity=n) for n in (1, 2, 3) for customer in (alice, bob)]
    # Yesterday's orders (moved there as if placed then): counted by the rebuild, not by today's figures.
    Order.objects.filter(pk=orders[0].pk).update(created_at=day_range(yesterday)[0] + timedelta(hours=23, minutes=30))
    order_cancel(order_id=orders[1].pk, actor=staff)
    claimed = order_claim(agent="a", limit=2, lease_seconds=60)
    order_succeed(order_id=claimed[0].pk, agent="a")
    order_fail(order_id=claimed[1].pk, agent="a", error="no", transient=False)
    call_command("rebuild_day_summaries")
    return {"alice": alice, "bob": bob}


def expected_today(orders) -> dict:
    start, end = day_range(timezone.localdate())
    today = orders.filter(created_at__gte=start, created_at__lt=end)
    return {
        "orders": today.count(),
        "amount": f"{sum((o.amount for o in today), Decimal(0)):.2f}",
        **{status: today.filter(status=status).count() for status in ("succeeded", "failed", "cancelled")},
    }


def expected_money(entries, start, end) -> dict:
    rows = entries.filter(created_at__gte=start, created_at__lt=end)
    return {
        f"{kind}s": f"{abs(sum((e.amount for e in rows.filter(kind=kind)), Decimal(0))):.2f}"
        for kind in ("recharge", "debit", "charge", "refund")
    }


def get_data(client, user, days=30) -> dict:
    client.force_login(user)
    response = client.get(f"/admin/dashboard/data/?days={days}")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("role", [ADMINISTRATORS, CUSTOMER_SERVICE, OPERATIONS])
def test_order_figures_of_staff_who_see_orders_equal_a_direct_query(client, books, role):
    data = get_data(client, role_user(role))
    assert {key: data["today"][key] for key in ("orders", "amount", "succeeded", "failed", "cancelled")} == expected_today(
        Order.objects.all()
    )
    assert data["queue"]["pending"] == Order.objects.filter(status=Order.Status.PENDING).count()
    assert data["queue"]["running"] == Order.objects.filter(status=Order.Status.RUNNING).count()
    assert data["queue"]["agents_alive"] == 0
    assert sum(day["orders"] for day in data["days"]) == Order.objects.count()
    if role == ADMINISTRATORS:
        assert set(data["days"][0]) == DAY_KEYS and "money" in data
    else:  # no recharge permission: no money figure
        assert "money" not in data and set(data["days"][0]) == DAY_KEYS - {"recharges"}


@pytest.mark.parametrize("role", [ADMINISTRATORS, FINANCE])
def test_money_figures_of_those_who_see_recharges_equal_a_direct_query(client, books, role):
    data = get_data(client, role_user(role))
    today = timezone.localdate()
    assert data["money"]["today"] == expected_money(LedgerEntry.objects.all(), *day_range(today))
    month_start = day_range(today.replace(day=1))[0]
    assert data["money"]["month"] == expected_money(LedgerEntry.objects.all(), month_start, day_range(today)[1])
    assert data["money"]["balances"] == f"{Customer.objects.aggregate(s=Sum('balance'))['s']:.2f}"
    assert day_entry(data, today)["recharges"] == "1000.00"
    if role == FINANCE:  # no order permission: no order figure
        assert {"today", "queue", "hours"}.isdisjoint(data) and set(data["days"][0]) == {"date", "recharges"}


def test_a_customer_gets_only_her_own_figures(client, books):
    alice = books["alice"]
    data = get_data(client, role_user(CUSTOMERS, customer=alice))
    mine = Order.objects.filter(customer=alice)
    assert {key: data["today"][key] for key in ("orders", "amount", "succeeded", "failed", "cancelled")} == expected_today(mine)
    assert sum(day["orders"] for day in data["days"]) == mine.count()
    assert data["money"]["today"] == expected_money(LedgerEntry.objects.filter(customer=alice), *day_range(timezone.localdate()))
    alice.refresh_from_db()
    assert data["customer"]["balance"] == f"{alice.balance:.2f}"
    assert {o["order_no"] for o in data["customer"]["recent_orders"]} == set(mine.values_list("order_no", flat=True))
    charges = expected_money(LedgerEntry.objects.filter(customer=alice), *day_range(timezone.localdate()))
    assert data["customer"]["spend_today"] == f"{Decimal(charges['charges']) - Decimal(charges['refunds']):.2f}"
    assert "queue" not in data and "balances" not in data["money"]  # nobody else's


def test_a_staff_user_without_figures_gets_the_days_alone(client):
    data = get_data(client, role_user(CUSTOMER_SERVICE), days=7)  # a role's permissions, less the orders'
    assert "today" in data
    nobody = role_user(FINANCE, username="nobody")
    nobody.groups.clear()
    data = get_data(client, nobody, days=7)
    assert set(data) == {"days"} and all(set(day) == {"date"} for day in data["days"])


# --- the JSON contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 7, 30, 90])
def test_every_day_is_present_oldest_first_with_the_contract_types(client, books, days):
    data = get_data(client, role_user(ADMINISTRATORS), days=days)
    today = timezone.localdate()
    assert [day["date"] for day in data["days"]] == [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    for day in data["days"]:
        assert set(day) == DAY_KEYS
        assert all(type(day[key]) is int for key in ("orders", "succeeded", "failed", "cancelled"))
        assert MONEY_RE.match(day["amount"]) and MONEY_RE.match(day["recharges"])


@pytest.mark.parametrize("value", ["abc", "0", "-1", "367", "7.5", "", "1e3", "٣"])
def test_a_bad_days_value_is_a_400_with_a_message(client, value):
    client.force_login(role_user(ADMINISTRATORS))
    response = client.get("/admin/dashboard/data/", {"days": value})
    assert response.status_code == 400
    assert "366" in response.json()["error"]
    assert client.get("/admin/dashboard/", {"days": value}).status_code == 400


def test_no_days_means_30_and_signing_in_comes_first(client):
    assert client.get("/admin/dashboard/data/").status_code == 302
    assert len(get_data(client, role_user(ADMINISTRATORS), days=30)["days"]) == 30
    assert len(client.get("/admin/dashboard/data/").json()["days"]) == 30


def test_the_page_shows_a_customer_her_balance_and_no_queue(client, books):
    client.force_login(role_user(CUSTOMERS, customer=books["alice"]))
    page = client.get("/admin/dashboard/").content.decode()
    assert "my-balance" in page and 'id="dashboard-data"' in page and "chart-days" in page
    assert "待执行队列" not in page


def test_a_kept_summary_that_disagrees_is_a_breach_and_the_rebuild_mends_it(books, capsys):
    OrderDay.objects.filter(shard=shard_of(books["alice"].pk)).update(orders=99)
    LedgerDay.objects.filter(shard=shard_of(books["bob"].pk)).delete()
    with pytest.raises(Exception, match="breach"):
        call_command("reconcile")
    errors = capsys.readouterr().err
    assert "orderday" in errors and "ledgerday" in errors
    call_command("rebuild_day_summaries")
    call_command("reconcile")


def test_no_query_asks_the_database_for_a_time_zone(books):
    """MariaDB's CONVERT_TZ answers NULL without its time-zone tables (SQLite's equivalents are Django's
    django_datetime_* functions): the days are worked out in Python instead."""
    with CaptureQueriesContext(connection) as queries:
        dashboard_data(user=role_user(ADMINISTRATORS), days=90)
        dashboard_data(user=role_user(CUSTOMERS, customer=books["alice"]), days=90)
    sql = " ".join(query["sql"] for query in queries.captured_queries).upper()
    assert "SUM(" in sql and "CONVERT_TZ" not in sql and "DJANGO_DATETIME" not in sql
