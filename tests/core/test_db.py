"""The hot paths' SQL helpers must read and write exactly what the ORM would, on both databases."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.db import row_get, row_insert, row_update
from orders.models import Order, OrderEvent
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _order(customer, product, **fields) -> Order:
    values = dict(
        order_no="20261121120000000000001",
        customer=customer,
        product=product,
        quantity=3,
        target="13800138000",
        unit_price=Decimal("9.50"),
        list_amount=Decimal("28.50"),
        discount_percent=Decimal("15.00"),
        amount=Decimal("24.23"),
        status=Order.Status.PENDING,
        token="token-1",
    )
    return Order(**{**values, **fields})


def _fields(order: Order) -> dict:
    return {field.attname: getattr(order, field.attname) for field in Order._meta.concrete_fields}


def test_row_insert_and_row_get_agree_with_the_orm():
    order = row_insert(_order(CustomerFactory(), ProductFactory()))
    assert order.pk is not None and not order._state.adding
    assert isinstance(order.created_at, datetime) and order.created_at.tzinfo is not None

    by_orm = Order.objects.get(pk=order.pk)
    by_sql = row_get(Order, f"SELECT o.*, 42 AS answer FROM {Order._meta.db_table} o WHERE o.id = %s", [order.pk])
    assert _fields(by_sql) == _fields(by_orm) == _fields(order)
    assert by_sql.answer == 42
    assert by_sql.amount == Decimal("24.23") and by_sql.created_at == by_orm.created_at


def test_row_get_raises_does_not_exist():
    with pytest.raises(Order.DoesNotExist):
        row_get(Order, f"SELECT * FROM {Order._meta.db_table} WHERE id = %s", [0])


def test_row_update_writes_the_named_fields_and_stamps_updated_at():
    order = row_insert(_order(CustomerFactory(), ProductFactory()))
    order.status, order.result, order.memo = Order.Status.RUNNING, "done", "not saved"
    row_update(order, ["status", "result", "updated_at"])
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.result, stored.memo) == (Order.Status.RUNNING, "done", "")
    assert stored.updated_at >= stored.created_at


def test_row_insert_keeps_the_database_constraints():
    customer, product = CustomerFactory(), ProductFactory()
    row_insert(_order(customer, product))
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(_order(customer, product, order_no="20261121120000000000002"))  # the same token
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(_order(customer, product, order_no="20261121120000000000003", token="token-3", quantity=0))
    assert Order.objects.count() == 1


def test_json_fields_go_in_and_come_out_as_the_orm_writes_them():
    order = row_insert(_order(CustomerFactory(), ProductFactory()))
    params = {"error": {"code": "lease_expired", "params": {"agent": "a-1"}}, "amount": "10.00"}
    event = row_insert(OrderEvent(order=order, to_status=Order.Status.PENDING, note_code="retry", note_params=params))
    assert OrderEvent.objects.get(pk=event.pk).note_params == params
    by_sql = row_get(OrderEvent, f"SELECT * FROM {OrderEvent._meta.db_table} WHERE id = %s", [event.pk])
    assert by_sql.note_params == params
