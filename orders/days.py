"""The orders' day summaries (OrderDay): kept on every placement and final transition, computed again
from the orders.

A transaction writes at most one OrderDay row, then at most one LedgerDay row (its ledger entry's):
always in that order, so two transactions never wait for each other's summary rows in a cycle.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Max, Min, Sum

from core.days import day_of, day_range, shard_of
from core.db import row_add
from orders.models import Order, OrderDay


def order_day_add(*, order: Order) -> None:
    """Count a new order in its day; inside order_place, before its charge is posted."""
    row_add(
        OrderDay,
        key={"day": day_of(order.created_at), "shard": shard_of(order.customer_id)},
        add={"orders": 1, "amount": order.amount},
    )


def order_day_finish(*, order: Order, status: str) -> None:
    """Count an order reaching a final status in the day it was placed on; before any refund is posted."""
    row_add(OrderDay, key={"day": day_of(order.created_at), "shard": shard_of(order.customer_id)}, add={status: 1})


def order_days_counted() -> dict[tuple[date, int], dict]:
    """Every day and shard as the orders make them, {(day, shard): {column: value}}: one range query a day
    on the orders' created_at index, so no database time-zone function is needed."""
    bounds = Order.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    days: dict[tuple[date, int], dict] = defaultdict(lambda: defaultdict(int))
    if bounds["first"] is None:
        return days
    day, last = day_of(bounds["first"]), day_of(bounds["last"])
    while day <= last:
        start, end = day_range(day)
        rows = (
            Order.objects.filter(created_at__gte=start, created_at__lt=end)
            .order_by()
            .values_list("customer_id", "status")
            .annotate(count=Count("id"), amount=Sum("amount", output_field=OrderDay._meta.get_field("amount")))
        )
        for customer_id, status, count, amount in rows:
            row = days[day, shard_of(customer_id)]
            row["orders"] += count
            row["amount"] += amount
            if status in OrderDay.FINAL_STATUSES:
                row[status] += count
        day += timedelta(days=1)
    return days


@transaction.atomic
def order_days_rebuild() -> int:
    """Replace every OrderDay with what the orders say; returns the rows written. Run it while no order
    is placed or finishes (one between the two would be lost from its day)."""
    OrderDay.objects.all().delete()
    rows = [OrderDay(day=day, shard=shard, **row) for (day, shard), row in order_days_counted().items()]
    OrderDay.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
