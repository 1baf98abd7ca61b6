"""The ledger's day summaries (LedgerDay): kept on every posting, computed again from the entries."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Sum

from core.days import day_of, day_range, shard_of
from core.db import row_add
from customers.models import LedgerDay, LedgerEntry


def ledger_day_add(*, entry: LedgerEntry) -> None:
    """Count a new entry in its day; inside ledger_post, after any OrderDay row the transaction writes
    (the order of the summary rows' locks: order day, then ledger day)."""
    row_add(
        LedgerDay,
        key={"day": day_of(entry.created_at), "shard": shard_of(entry.customer_id)},
        add={LedgerDay.KIND_COLUMNS[entry.kind]: abs(entry.amount)},
    )


def ledger_days_counted() -> dict[tuple[date, int], dict[str, Decimal]]:
    """Every day and shard as the ledger entries make them, {(day, shard): {column: sum}}: one range query
    a day on the entries' created_at index, so no database time-zone function is needed."""
    bounds = LedgerEntry.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    days: dict[tuple[date, int], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if bounds["first"] is None:
        return days
    day, last = day_of(bounds["first"]), day_of(bounds["last"])
    while day <= last:
        start, end = day_range(day)
        sums = (
            LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
            .order_by()
            .values_list("customer_id", "kind")
            .annotate(total=Sum("amount", output_field=LedgerDay._meta.get_field("recharges")))  # room for the sum
        )
        for customer_id, kind, total in sums:
            days[day, shard_of(customer_id)][LedgerDay.KIND_COLUMNS[kind]] += abs(total)
        day += timedelta(days=1)
    return days


@transaction.atomic
def ledger_days_rebuild() -> int:
    """Replace every LedgerDay with what the ledger says; returns the rows written. Run it while nothing
    posts to the ledger (a posting between the two would be lost from its day)."""
    LedgerDay.objects.all().delete()
    rows = [LedgerDay(day=day, shard=shard, **sums) for (day, shard), sums in ledger_days_counted().items()]
    LedgerDay.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
