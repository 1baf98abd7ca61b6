"""The date drill-down above the big lists spans the list's first and last day, on any page and in any order,
reading from the database only what the page's rows do not tell."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.services import balance_recharge
from orders.admin import OrderAdmin
from orders.models import Order
from orders.services import order_place
from rbac.roles import CUSTOMER_SERVICE
from tests.roles import role_user

pytestmark = pytest.mark.django_db

DAYS = (5, 9, 20)  # of March 2026, local time
TITLE_RE = re.compile(r'<a class="el-tag el-tag--plain el-tag--small" href="[^"]*">([^<]*)</a>')
DATE_READ_RE = re.compile(r"ORDER BY .{0,40}created_at.{0,3} (ASC|DESC) LIMIT 1\b|ORDER BY 1 (ASC|DESC) LIMIT 1\b")


@pytest.fixture
def orders_on_three_days(customer, product, staff):
    balance_recharge(customer_id=customer.pk, amount="100", actor=staff)
    for day in DAYS:
        order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=staff)
        noon = datetime.datetime(2026, 3, day, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
        Order.objects.filter(pk=order.pk).update(created_at=noon)


def drilldown(client, **params) -> tuple[list[str], int]:
    """The drill-down's day links, and how many first-or-last-date reads the page ran."""
    client.force_login(role_user(CUSTOMER_SERVICE))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("admin:orders_order_changelist"), params).content.decode()
    box = page[page.index('class="xfull date-hierarchy"'):]
    box = box[: box.index("</div>")]
    return TITLE_RE.findall(box), sum(1 for query in queries if DATE_READ_RE.search(query["sql"]))


MARCH_5_TO_20 = [f"03月{day}日" for day in range(5, 21)]


@pytest.mark.parametrize(
    ("per_page", "params", "date_reads"),
    [
        (20, {}, 0),  # the page is the whole list
        (20, {"o": "-2"}, 0),  # whole, sorted by something else
        (2, {}, 1),  # newest first: the first row is the last day
        (2, {"o": "7"}, 1),  # oldest first: the first row is the first day
        (2, {"p": "2"}, 2),  # a later page tells neither end
        (2, {"o": "-2"}, 2),  # sorted by the customer: neither
    ],
)
def test_the_drilldown_spans_the_whole_list(client, orders_on_three_days, monkeypatch, per_page, params, date_reads):
    monkeypatch.setattr(OrderAdmin, "list_per_page", per_page)
    days, reads = drilldown(client, **params)
    assert days == MARCH_5_TO_20
    assert reads == date_reads


def test_an_empty_list_offers_no_dates_and_reads_none(client, orders_on_three_days):
    assert drilldown(client, q="nobody-has-this") == ([], 0)
