"""The hot paths' SQL helpers must read and write exactly what the ORM would, on both databases."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from core.db import cursor_shared, row_get, row_insert, row_update
from orders.models import Order
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


@pytest.mark.skipif(connection.vendor != "mysql", reason="the START TRANSACTION backend is MariaDB/MySQL's")
@pytest.mark.django_db(transaction=True)
def test_atomic_blocks_start_one_transaction_and_roll_back():
    def session() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@in_transaction, @@autocommit")
            return cursor.fetchone()

    customer, product = CustomerFactory(), ProductFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        # Opened by START TRANSACTION: autocommit was never switched off, so nothing switches it back.
        assert session() == (1, 1)
        row_insert(_order(customer, product))
        raise RuntimeError("roll back")
    assert session() == (0, 1)
    assert not Order.objects.exists()
    with transaction.atomic():
        row_insert(_order(customer, product))
    assert session() == (0, 1) and Order.objects.count() == 1


def _cursors_used(run) -> list:
    used = []

    def note_cursor(execute, sql, params, many, context):
        used.append(context["cursor"])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note_cursor):
        run()
    return used


def test_statements_in_a_cursor_shared_block_run_on_one_cursor():
    customer, product = CustomerFactory(), ProductFactory()

    def two_inserts(run):
        row_insert(_order(customer, product, order_no=f"{run}1", token=f"{run}1"))
        row_insert(_order(customer, product, order_no=f"{run}2", token=f"{run}2"))

    def two_inserts_shared():
        with cursor_shared():
            two_inserts("shared")

    apart, shared = _cursors_used(lambda: two_inserts("apart")), _cursors_used(two_inserts_shared)
    assert len(apart) == 2 and apart[0] is not apart[1]
    assert len(shared) == 2 and shared[0] is shared[1]


def test_a_failed_statement_leaves_no_shared_cursor_behind():
    customer, product = CustomerFactory(), ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic(), cursor_shared():
        row_insert(_order(customer, product, token="same"))
        row_insert(_order(customer, product, order_no="2", token="same"))
    row_insert(_order(customer, product, token="other"))  # on the block's closed cursor, had it stayed
    assert Order.objects.filter(token="other").exists()
