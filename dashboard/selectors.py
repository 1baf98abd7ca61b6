"""The dashboard's figures for whoever asks: each block only for those whose permissions open what it
sums, over the customers their data scope covers (a customer: her own orders and ledger).

Days are local days (core.days). Staff's per-day figures come from the day summaries (orders.OrderDay,
customers.LedgerDay), kept in the same transaction as each write, so a page reads a few rows a day whatever
the number of orders; a customer's, and those of staff who see only some customers, are summed from
those customers' orders and entries (the customer indexes). The
24-hour chart counts orders on the created_at indexes.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from agent.selectors import queue_summary
from core.days import day_of, day_start
from customers.models import Customer, LedgerDay, LedgerEntry
from customers.selectors import customer_of, customers_visible_to, visible_to
from orders.models import Order, OrderDay
from rbac.scope import owner_ids_visible_to

DAYS_CHOICES = (7, 30, 90)
DAYS_MAX = 366
RECENT_ORDERS = 10
ORDER_COLUMNS = ("orders", "amount", "succeeded", "failed", "cancelled")
LEDGER_COLUMNS = ("recharges", "debits", "charges", "refunds")


def money(value) -> str:
    return f"{value or Decimal(0):.2f}"


def _scope(user) -> dict:
    """What this user may see: {"all": every customer, "customer": the own customer or None, "orders": bool,
    "money": bool}. Staff see the figures their permissions open over their data scope; a customer her own."""
    customer = customer_of(user)
    if customer is not None:
        return {
            "all": False,
            "customer": customer,
            "orders": user.has_perm("orders.view_myorder"),
            "money": user.has_perm("customers.view_myledgerentry"),
        }
    return {
        "all": owner_ids_visible_to(user) is None,  # the data scope (rbac.scope)
        "customer": None,
        "orders": user.has_perm("orders.view_order"),
        "money": user.has_perm("customers.view_recharge"),
    }


def _day_sums(model, columns, *, first: date, last: date) -> dict[date, dict]:
    rows = model.objects.filter(day__gte=first, day__lte=last).order_by().values("day")
    return {row["day"]: row for row in rows.annotate(**{column: Sum(column) for column in columns})}


def _own_order_days(user, *, first: date) -> dict[date, dict]:
    """Per day, the orders of the customers `user` sees (customers.selectors), summed from the rows."""
    days: dict[date, dict] = defaultdict(lambda: dict.fromkeys(ORDER_COLUMNS, 0))
    orders = visible_to(Order.objects.filter(created_at__gte=day_start(first)).order_by(), user=user)
    for created_at, amount, status in orders.values_list("created_at", "amount", "status"):
        row = days[day_of(created_at)]
        row["orders"] += 1
        row["amount"] += amount
        if status in OrderDay.FINAL_STATUSES:
            row[status] += 1
    return days


def _own_ledger_days(user, *, first: date) -> dict[date, dict]:
    days: dict[date, dict] = defaultdict(lambda: dict.fromkeys(LEDGER_COLUMNS, Decimal(0)))
    entries = visible_to(LedgerEntry.objects.filter(created_at__gte=day_start(first)).order_by(), user=user)
    for created_at, kind, amount in entries.values_list("created_at", "kind", "amount"):
        days[day_of(created_at)][LedgerDay.KIND_COLUMNS[kind]] += abs(amount)
    return days


def _money_totals(rows) -> dict[str, str]:
    return {column: money(sum((row[column] or 0 for row in rows), Decimal(0))) for column in LEDGER_COLUMNS}


def dashboard_data(*, user, days: int) -> dict:
    """The figures, JSON-ready: `days` (oldest first, every day present) with the order columns and the
    recharges this user may see, and the blocks (today, queue, money, customer) they may see."""
    scope = _scope(user)
    customer = scope["customer"]
    today = timezone.localdate()
    month_first = today.replace(day=1)
    first = min(today - timedelta(days=days - 1), month_first)
    order_days, ledger_days = {}, {}
    if scope["all"]:
        if scope["orders"]:
            order_days = _day_sums(OrderDay, ORDER_COLUMNS, first=first, last=today)
        if scope["money"]:
            ledger_days = _day_sums(LedgerDay, LEDGER_COLUMNS, first=first, last=today)
    else:  # a customer, or staff whose data scope is not every customer: the summaries sum everyone's
        if scope["orders"]:
            order_days = _own_order_days(user, first=first)
        if scope["money"]:
            ledger_days = _own_ledger_days(user, first=first)

    data: dict = {"days": []}
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        entry = {"date": day.isoformat()}
        if scope["orders"]:
            row = order_days.get(day, {})
            entry.update({column: row.get(column) or 0 for column in ORDER_COLUMNS})
            entry["amount"] = money(entry["amount"])
        if scope["money"]:
            entry["recharges"] = money(ledger_days.get(day, {}).get("recharges"))
        data["days"].append(entry)

    if scope["orders"]:
        row = order_days.get(today, {})
        counts = {column: row.get(column) or 0 for column in ORDER_COLUMNS}
        finished = counts["succeeded"] + counts["failed"]
        data["today"] = {
            **counts,
            "amount": money(counts["amount"]),
            "in_progress": counts["orders"] - finished - counts["cancelled"],
            # succeeded of those that ended in success or failure (a cancellation is the customer's choice)
            "success_rate": round(counts["succeeded"] / finished, 4) if finished else None,
        }
        data["hours"] = _hours(user=user)
        if customer is None:
            queue = queue_summary()
            data["queue"] = {
                "pending": queue.pending,
                "running": queue.running,
                "oldest_pending_seconds": int(queue.oldest_pending_age.total_seconds()) if queue.oldest_pending_age else None,
                "agents_alive": queue.agents_alive,
            }

    if scope["money"]:
        month = [row for day, row in ledger_days.items() if day >= month_first]
        data["money"] = {
            "today": _money_totals([ledger_days[today]] if today in ledger_days else []),
            "month": _money_totals(month),
        }
        if customer is None:
            total = Sum("balance", output_field=LedgerDay._meta.get_field("recharges"))  # room for the sum
            data["money"]["balances"] = money(customers_visible_to(user=user).aggregate(total=total)["total"])

    if customer is not None:
        data["customer"] = _customer_block(customer=customer, scope=scope, data=data)
    return data


def _hours(*, user) -> list[dict]:
    """Orders placed in each of the last 24 local hours (this one included) by the customers `user` sees,
    oldest first: one indexed range query, each hour a filtered count."""
    now = timezone.localtime()
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    starts = [first + timedelta(hours=n) for n in range(24)]
    orders = visible_to(Order.objects.filter(created_at__gte=first), user=user)
    counts = orders.aggregate(
        **{
            f"h{n}": Count("id", filter=Q(created_at__gte=start, created_at__lt=start + timedelta(hours=1)))
            for n, start in enumerate(starts)
        }
    )
    return [{"hour": f"{start:%Y-%m-%dT%H:00}", "orders": counts[f"h{n}"]} for n, start in enumerate(starts)]


def _customer_block(*, customer: Customer, scope: dict, data: dict) -> dict:
    block = {}
    if scope["money"]:
        customer.refresh_from_db(fields=["balance"])  # the login's cached customer may predate an order
        block["balance"] = money(customer.balance)
        # what she spent: what her orders were charged, less what was refunded
        for period in ("today", "month"):
            sums = data["money"][period]
            block[f"spend_{period}"] = money(Decimal(sums["charges"]) - Decimal(sums["refunds"]))
    if scope["orders"]:
        recent = Order.objects.filter(customer=customer).select_related("product").order_by("-created_at", "-id")
        block["recent_orders"] = [
            {
                "order_no": order.order_no,
                "product": order.product.name,
                "amount": money(order.amount),
                "status": order.status,
                "status_label": str(order.get_status_display()),
                "created_at": timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M"),
            }
            for order in recent[:RECENT_ORDERS]
        ]
    return block
