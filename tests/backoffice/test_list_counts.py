"""What a change list says about its size."""

import pytest
from django.urls import reverse

from core.admin import BoundedCountPaginator
from orders.admin import OrderAdmin
from orders.services import order_place
from rbac.roles import CUSTOMER_SERVICE
from tests.roles import role_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_orders(customer, product, staff):
    from customers.services import balance_recharge

    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    for _ in range(5):
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=staff)


def order_list(client, **params):
    client.force_login(role_user(CUSTOMER_SERVICE))
    return client.get(reverse("admin:orders_order_changelist"), params).content.decode()


def test_a_count_that_stopped_at_its_limit_says_more_than_the_limit(client, five_orders, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "COUNT_LIMIT", 3)
    monkeypatch.setattr(OrderAdmin, "list_per_page", 2)
    page = order_list(client, status="pending")
    assert "超过 3 条" in page
    assert "4 条结果" not in page and 'layout="total' not in page


def test_a_count_below_the_limit_is_the_total(client, five_orders, monkeypatch):
    monkeypatch.setattr(OrderAdmin, "list_per_page", 2)
    page = order_list(client, status="pending")
    assert "5 条结果" in page and "超过" not in page
    assert 'layout="total, prev, pager, next, jumper"' in page


def test_the_search_box_says_what_it_matches(client, db):
    page = order_list(client)
    assert 'class="search-help small quiet" v-pre' in page
    assert "订单号、手机号或目标（精确匹配），或客户名称的开头部分。" in page


def test_counts_read_with_thousands_separators(client, five_orders, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "COUNT_LIMIT", 1000)
    monkeypatch.setattr(OrderAdmin, "list_per_page", 2)
    monkeypatch.setattr(BoundedCountPaginator, "count", 1001)  # as if the limit had been passed
    page = order_list(client)
    assert "超过 1,000 条" in page and "1001 条" not in page and "1001 个" not in page
    assert "选中全部订单（超过 1,000 个）" in page and "已选中全部（超过 1,000 个）" in page
