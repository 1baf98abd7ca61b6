"""Bulk work at scale: each case is one function below, run by name (all of them by default); imports and
exports run their own scripts (bench/bulk_imports.py, bench/bulk_exports.py) and gather their cases.

dashboard: the dashboard page (the home tab) rendered through Django's test client on MariaDB, as an
administrator (every figure, from the day summaries) and as a customer (her own orders and ledger), against
a baseline of 10,000 orders over 100 customers and 1,000,000 orders over 10,000 customers (the datasets of
bench/admin_changelist.py: about 100 orders per customer, spread over nine months). Figure: the median
render time at the big size divided by the same at the baseline size (target <= 1.5). The orders' day
summaries are computed by rebuild_day_summaries; the ledger's, which only count rows a day, are given one
row per order day (the datasets carry no ledger). Printed for comparison: the same 30 days summed straight
from the orders table with an indexed range query, the design the summaries replace.

Each dataset lives in its own database (created and migrated here) and is reused across runs.

    python bench/bulk.py [CASE ...] [--quick] [--json PATH] [--rounds N] [--regenerate]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Sets up Django on MariaDB (BENCH_MYSQL_URL) and makes the order datasets.
import admin_changelist  # noqa: E402
from admin_changelist import database_use, dataset_ensure  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.days import day_start  # noqa: E402
from customers.models import Customer, LedgerDay  # noqa: E402
from orders.days import order_days_rebuild  # noqa: E402
from orders.models import Order, OrderDay  # noqa: E402
from rbac.roles import CUSTOMERS  # noqa: E402
from rbac.services import roles_setup  # noqa: E402

TARGET_DASHBOARD = 1.5


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def case(name: str, unit: str, value: float, baseline: float, target: float, better: str = "lower") -> dict:
    ratio = value / baseline
    met = ratio <= target if better == "lower" else ratio >= target
    return {
        "name": name, "unit": unit, "value": round(value, 2), "baseline": round(baseline, 2), "ratio": round(ratio, 3),
        "target": target, "better": better, "met": met,
    }


# --- dashboard ------------------------------------------------------------------------------------


def summaries_ensure(regenerate: bool) -> None:
    if OrderDay.objects.exists() and not regenerate:
        return
    started = time.perf_counter()
    order_days_rebuild()
    LedgerDay.objects.all().delete()
    LedgerDay.objects.bulk_create(
        LedgerDay(day=row.day, shard=row.shard, recharges=row.amount, charges=row.amount) for row in OrderDay.objects.all()
    )
    print(f"  day summaries rebuilt in {time.perf_counter() - started:.1f} s ({OrderDay.objects.count():,} order days)")


def dashboard_clients() -> dict[str, Client]:
    """An administrator and the customer with the median number of orders, signed in."""
    groups = {name: role.group for name, role in roles_setup().items()}
    User = get_user_model()
    admin_user, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    customer = Customer.objects.order_by("id")[Customer.objects.count() // 2]
    customer_user, _ = User.objects.get_or_create(username="bench-customer", defaults={"is_staff": True})
    customer_user.groups.set([groups[CUSTOMERS]])
    Customer.objects.filter(user=customer_user).exclude(pk=customer.pk).update(user=None)
    customer.user = customer_user
    customer.save(update_fields=["user"])
    clients = {}
    for role, user in (("administrator", admin_user), ("customer", customer_user)):
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


def range_query_seconds() -> float:
    """The last 30 days per day straight from the orders (the design the summaries replace), in one query."""
    started = time.perf_counter()
    first = day_start(timezone.localdate() - timedelta(days=29))
    list(Order.objects.filter(created_at__gte=first).order_by().values("status").annotate(n=Count("id"), s=Sum("amount")))
    return time.perf_counter() - started


def dashboard(args) -> list[dict]:
    sizes = admin_changelist.QUICK if args.quick else admin_changelist.FULL
    suffix = "_quick" if args.quick else ""
    databases = {kind: f"bench_bulk_dashboard{suffix}_{kind}" for kind in sizes}
    clients = {}
    for kind, (customers, orders) in sizes.items():
        dataset_ensure(databases[kind], customers, orders, args.regenerate)
        summaries_ensure(args.regenerate)
        clients[kind] = dashboard_clients()
    rounds = args.rounds or (7 if args.quick else 21)
    times = {(kind, role): [] for kind in sizes for role in ("administrator", "customer")}
    ranges = {kind: [] for kind in sizes}
    for _ in range(rounds):  # the sizes interleaved, so drift on a shared machine hits both alike
        for kind in sizes:
            database_use(databases[kind])
            for role, client in clients[kind].items():
                client.get("/admin/dashboard/")  # reconnect and warm outside the timing
                started = time.perf_counter()
                response = client.get("/admin/dashboard/")
                times[kind, role].append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"the dashboard answered {response.status_code}")
            ranges[kind].append(range_query_seconds())

    small, big = sizes["small"][1], sizes["big"][1]
    print(f"\nDashboard page, MariaDB, {rounds} rounds; {small:,} vs {big:,} orders")
    print(f"{'as':<16}{'ms @' + format(small, ','):>14}{'ms @' + format(big, ','):>16}{'ratio':>8}  met")
    cases = []
    for role in ("administrator", "customer"):
        small_ms, big_ms = median_ms(times["small", role]), median_ms(times["big", role])
        result = case(f"dashboard as {role}: median render time {big:,} / {small:,} orders", "ms", big_ms, small_ms, TARGET_DASHBOARD)
        print(f"{role:<16}{small_ms:>14.1f}{big_ms:>16.1f}{result['ratio']:>8.2f}  {'yes' if result['met'] else 'NO'}")
        cases.append(result)
    small_ms, big_ms = median_ms(ranges["small"]), median_ms(ranges["big"])
    print(f"(for comparison, 30 days summed from the orders by range query: {small_ms:.1f} ms vs {big_ms:.1f} ms, "
          f"ratio {big_ms / small_ms:.1f})")
    return cases


def _script(name: str, args) -> list[dict]:
    """A case measured by a script of its own (its own datasets and processes): run it, take its cases."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, str(Path(__file__).with_name(name)), "--json", out.name]
        subprocess.run([*command, *(["--quick"] if args.quick else [])], check=True)
        return json.loads(Path(out.name).read_text())["cases"]


def imports(args) -> list[dict]:
    """10,000 recharges and 10,000 orders imported, against the services in a loop (bench/bulk_imports.py)."""
    return _script("bulk_imports.py", args)


def exports(args) -> list[dict]:
    """Peak memory exporting 1,000,000 orders against 10,000 (bench/bulk_exports.py)."""
    return _script("bulk_exports.py", args)


CASES = {"dashboard": dashboard, "imports": imports, "exports": exports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", choices=[[], *CASES], help="cases to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="scaled down: under a minute once the datasets exist")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the datasets even if present")
    args = parser.parse_args()
    results = []
    for name in args.cases or CASES:
        results += CASES[name](args)
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": results}, indent=2, ensure_ascii=False))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
