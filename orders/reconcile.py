"""Checks every money invariant of the design; each breach is one readable line.

Sums are done in Python on Decimals, not in SQL: SQLite adds decimals as floating point.

The three tables are read in one transaction that sees one snapshot of the database, so orders
placed while it runs cannot look like breaches (a balance already charged, its ledger entry not yet
read). On MariaDB/MySQL that is a REPEATABLE READ transaction (the session's own level, read committed,
is restored after); on SQLite any transaction reads one snapshot (and, opened IMMEDIATE, holds off
writers while it runs).
"""

from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction

from customers.days import ledger_days_counted
from customers.models import Customer, LedgerDay, LedgerEntry
from orders.days import order_days_counted
from orders.models import Order, OrderDay

Kind = LedgerEntry.Kind


@contextmanager
def snapshot_read():
    """A transaction whose reads all see the database as it was at its first read."""
    if connection.vendor != "mysql":
        with transaction.atomic():
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    try:
        with transaction.atomic():
            yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {connection.isolation_level.upper()}")


def ledger_breaches_find() -> list[str]:
    with snapshot_read():
        return _breaches_find() + _day_summary_breaches()


def _day_summary_breaches() -> list[str]:
    """The dashboard's day summaries against the orders and entries they sum (rebuild_day_summaries
    repairs them)."""
    breaches = []
    for model, counted in ((OrderDay, order_days_counted()), (LedgerDay, ledger_days_counted())):
        columns = [field.name for field in model._meta.concrete_fields if field.name not in ("id", "day", "shard")]
        kept = {(row["day"], row["shard"]): row for row in model.objects.values("day", "shard", *columns)}
        for key in sorted(kept.keys() | counted.keys()):
            expected = {column: counted.get(key, {}).get(column, 0) for column in columns}
            found = {column: kept.get(key, {}).get(column, 0) for column in columns}
            if expected != found:
                day, shard = key
                breaches.append(
                    f"{model._meta.model_name} {day} shard {shard}: kept {found} != counted {expected}"
                    " (manage.py rebuild_day_summaries)"
                )
    return breaches


def _breaches_find() -> list[str]:
    breaches = []
    totals: dict[int, Decimal] = defaultdict(Decimal)
    order_entries: dict[int, list[tuple[str, Decimal, int]]] = defaultdict(list)
    entries = LedgerEntry.objects.order_by("customer_id", "id").values_list(
        "pk", "customer_id", "kind", "amount", "balance_after", "order_id"
    )
    for pk, customer_id, kind, amount, balance_after, order_id in entries.iterator(chunk_size=5000):
        expected = totals[customer_id] + amount
        if balance_after != expected:
            breaches.append(f"ledger entry {pk}: balance_after {balance_after} != previous + amount ({expected})")
        if expected < 0:
            breaches.append(f"ledger entry {pk}: balance went negative ({expected})")
        totals[customer_id] = expected
        if order_id is not None:
            order_entries[order_id].append((kind, amount, customer_id))

    for pk, mobile, balance in Customer.objects.values_list("pk", "mobile", "balance").iterator(chunk_size=5000):
        if balance != totals.get(pk, Decimal(0)):
            breaches.append(f"customer {pk} ({mobile}): balance {balance} != ledger sum {totals.get(pk, Decimal(0))}")
        if balance < 0:
            breaches.append(f"customer {pk} ({mobile}): negative balance {balance}")

    orders = Order.objects.values_list("pk", "order_no", "customer_id", "amount", "status")
    for pk, order_no, customer_id, amount, status in orders.iterator(chunk_size=5000):
        breaches += _order_breaches(order_no, customer_id, amount, status, order_entries.pop(pk, []))
    return breaches


def _order_breaches(order_no, customer_id, amount, status, entries) -> list[str]:
    breaches = []
    charges = [a for kind, a, _ in entries if kind == Kind.CHARGE]
    refunds = [a for kind, a, _ in entries if kind == Kind.REFUND]
    if len(charges) != 1:
        breaches.append(f"order {order_no}: {len(charges)} charge entries, expected exactly 1")
    elif charges[0] != -amount:
        breaches.append(f"order {order_no}: charge {charges[0]} != -amount {amount}")
    if len(refunds) > 1:
        breaches.append(f"order {order_no}: {len(refunds)} refund entries")
    if refunds and status not in Order.REFUNDED_STATUSES:
        breaches.append(f"order {order_no}: refunded but {status}")
    if not refunds and status in Order.REFUNDED_STATUSES:
        breaches.append(f"order {order_no}: {status} but not refunded")
    if refunds and refunds[0] != amount:
        breaches.append(f"order {order_no}: refund {refunds[0]} != amount {amount}")
    if any(entry_customer != customer_id for _, _, entry_customer in entries):
        breaches.append(f"order {order_no}: a ledger entry belongs to another customer")
    return breaches
