"""Rows imported per second (batch recharge, mass orders) against the services called in a loop, in the same run.

Each phase runs in a fresh process (so its peak RSS is its own): the import reads an XLSX file of N
rows (one a customer), checks every row and writes them all in one transaction through the services,
as the confirm step does (core.imports); the baseline calls balance_recharge / order_place once a row
in a plain loop, each call its own transaction, as a script would. Phases alternate baseline, import,
baseline, import (--rounds, default 2), so both see the same background load; each figure is the best run.
The loop is also run inside one transaction (the import's single commit), to show what the import's
reading and checks cost beyond the services. The preview (the same checks without writes) of a fresh file is timed too, and every phase's peak RSS
printed: the process reading and writing 10,000 rows against the one that only calls the services.

    python bench/bulk_imports.py [--quick] [--json PATH] [--database-url mysql://... | sqlite:///path]

The database (default MariaDB `bench_bulk_imports`) is the benchmark's own: created and migrated when
needed and emptied at the start of every run. Redis is off: the ready-queue push is not what is measured.
"""

import argparse
import io
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/bench_bulk_imports"
TARGET_RATIO = 0.7  # import rows/s ÷ service loop rows/s
BENCH_TABLES = [  # emptied at the start of a run; children first
    "rbac_operationlog",
    "orders_orderevent",
    "customers_ledgerentry",
    "orders_order",
    "customers_customer",
    "orders_pricepolicy",
    "orders_product",
    "customers_tier",
]


def arguments_parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows a file instead of 10,000 (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the cases as JSON here")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--rows", type=int, help="rows a file (default 1,000 quick, 10,000 full)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each phase; each figure is the best run")
    return parser.parse_args()


def environment_set(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    os.environ.setdefault("EMBEDDED_DEMO", "1")  # a local run: no SECRET_KEY, plain HTTP
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("REDIS_URL", None)


def database_prepare(database_url: str) -> None:
    url = urlparse(database_url)
    if url.scheme in {"mysql", "mariadb"}:
        import MySQLdb

        server = MySQLdb.connect(
            host=url.hostname or "127.0.0.1", port=url.port or 3306, user=url.username or "root", passwd=url.password or ""
        )
        server.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{url.path.lstrip('/')}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        server.close()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"], check=True, env=os.environ)


def django_ready(database_url: str) -> None:
    environment_set(database_url)
    import django

    django.setup()


def fixture_create(rows: int) -> None:
    """`rows` customers without money, a product, and the two staff users."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from customers.models import Customer, Tier
    from orders.models import Product
    from rbac.roles import CUSTOMER_SERVICE, FINANCE
    from rbac.services import roles_setup

    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in BENCH_TABLES:
            cursor.execute(f"DELETE FROM {table}")
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
    # Finance sees every customer; the account manager in customer service owns them all (the data scope).
    roles_setup()
    User = get_user_model()
    users = {}
    for name, role in (("bench-finance", FINANCE), ("bench-service", CUSTOMER_SERVICE)):
        users[name], _created = User.objects.update_or_create(username=name, defaults={"is_staff": True})
        users[name].groups.set([Group.objects.get(name=role)])
    tier = Tier.objects.create(name="bench", discount_percent="5")
    Customer.objects.bulk_create(
        Customer(name=f"bench {i}", mobile=f"138{i:08d}", tier=tier, owner=users["bench-service"]) for i in range(rows)
    )
    Product.objects.create(code="BENCH", name="bench", unit_price="10.00", min_quantity=1, max_quantity=1000, sandbox_delay_ms=0)


def spreadsheet(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    content = io.BytesIO()
    book.save(content)
    return content.getvalue()


def phase(database_url: str, kind: str, how: str, rows: int, results) -> None:
    """One measured phase, in its own process: `kind` recharge or order, `how` import, loop or one transaction."""
    django_ready(database_url)
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from core.imports import ImportXLSX
    from customers.imports import RechargeBatch
    from customers.models import Customer
    from customers.services import balance_recharge
    from orders.imports import OrderBatch
    from orders.models import Product
    from orders.services import order_place

    run = uuid.uuid4().hex[:8]
    mobiles = dict(Customer.objects.order_by("id").values_list("mobile", "id")[:rows])
    product = Product.objects.get(code="BENCH")
    if kind == "recharge":
        actor = get_user_model().objects.get(username="bench-finance")
        table = [["手机号", "金额", "备注"], *[[mobile, "100.00", f"bench {run}"] for mobile in mobiles]]
        batch, call = RechargeBatch, lambda row: balance_recharge(
            customer_id=mobiles[row[0]], amount=row[1], memo=row[2], actor=actor, token=uuid.uuid4().hex
        )
    else:
        actor = get_user_model().objects.get(username="bench-service")
        table = [["mobile", "product", "quantity", "target"], *[[mobile, "BENCH", 1, f"t{run}"] for mobile in mobiles]]
        batch, call = OrderBatch, lambda row: order_place(
            customer_id=mobiles[row[0]], product_id=product.pk, quantity=row[2], target=row[3], actor=actor, token=uuid.uuid4().hex
        )
    content = spreadsheet(table)
    started = time.perf_counter()
    if how == "import":
        result = batch().import_data(ImportXLSX().create_dataset(content), dry_run=False, user=actor)
        assert not result.has_errors() and result.applied == rows, result.file_errors[:3] or result.error_rows()[:3]
        elapsed = time.perf_counter() - started
    elif how == "loop":
        for row in table[1:]:
            call(row)
        elapsed = time.perf_counter() - started
    else:  # "one transaction": the loop with the import's single commit, to see what the import adds
        with transaction.atomic():
            for row in table[1:]:
                call(row)
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put({"rate": rows / elapsed, "seconds": elapsed, "peak_mb": peak_mb})


def preview_time(database_url: str, kind: str, rows: int, results) -> None:
    """The preview (checks, no writes) of a fresh file of `rows` rows."""
    django_ready(database_url)
    from django.contrib.auth import get_user_model

    from core.imports import ImportXLSX
    from customers.imports import RechargeBatch
    from customers.models import Customer
    from orders.imports import OrderBatch

    mobiles = list(Customer.objects.order_by("id").values_list("mobile", flat=True)[:rows])
    run = uuid.uuid4().hex[:8]
    if kind == "recharge":
        batch, table = RechargeBatch, [["mobile", "amount", "memo"], *[[m, "1.00", run] for m in mobiles]]
        actor = get_user_model().objects.get(username="bench-finance")
    else:
        batch, table = OrderBatch, [["mobile", "product", "quantity", "target"], *[[m, "BENCH", 1, run] for m in mobiles]]
        actor = get_user_model().objects.get(username="bench-service")
    content = spreadsheet(table)
    started = time.perf_counter()
    result = batch().import_data(ImportXLSX().create_dataset(content), dry_run=True, user=actor)
    assert not result.has_errors(), result.error_rows()[:3]
    results.put({"seconds": time.perf_counter() - started, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def in_process(target, *args):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=target, args=(*args, results))
    process.start()
    value = results.get()
    process.join()
    if process.exitcode:
        sys.exit(f"{target.__name__}{args[1:]} failed")
    return value


def main() -> None:
    args = arguments_parse()
    rows = args.rows or (1_000 if args.quick else 10_000)
    environment_set(args.database_url)
    database_prepare(args.database_url)
    django_ready(args.database_url)
    fixture_create(rows)
    from django.db import connections

    connections.close_all()
    print(f"imports vs the services in a loop, {rows:,} rows a file, {urlparse(args.database_url).scheme}, {os.cpu_count()} CPUs")
    cases, notes = [], []
    for kind, service in (("recharge", "balance_recharge"), ("order", "order_place")):
        measured = {"loop": [], "import": [], "one transaction": []}
        for _round in range(args.rounds):
            for how in measured:
                measured[how].append(in_process(phase, args.database_url, kind, how, rows))
                print(f"  {kind} {how}: {measured[how][-1]['rate']:.0f} rows/s, peak RSS {measured[how][-1]['peak_mb']:.0f} MB", flush=True)
        best = {how: max(runs, key=lambda run: run["rate"]) for how, runs in measured.items()}
        ratio = best["import"]["rate"] / best["loop"]["rate"]
        cases.append({
            "name": f"import {rows} {kind}s vs {service} loop",
            "unit": "rows/s",
            "value": round(best["import"]["rate"], 1),
            "baseline": round(best["loop"]["rate"], 1),
            "ratio": round(ratio, 3),
            "target": TARGET_RATIO,
            "better": "higher",
            "met": ratio >= TARGET_RATIO,
        })
        preview = in_process(preview_time, args.database_url, kind, rows)
        one = max(run["rate"] for run in measured["one transaction"])
        notes.append(
            f"{kind}: the loop in one transaction (the import's single commit) {one:.0f} rows/s, import ÷ it "
            f"{best['import']['rate'] / one:.2f}; preview of {rows:,} rows {preview['seconds']:.2f} s (peak RSS {preview['peak_mb']:.0f} MB); "
            f"import peak RSS {max(run['peak_mb'] for run in measured['import']):.0f} MB, "
            f"loop peak RSS {max(run['peak_mb'] for run in measured['loop']):.0f} MB"
        )

    print(f"\n{'case':<40}{'import':>12}{'loop':>12}{'ratio':>8}{'target':>8}  met")
    for case in cases:
        print(
            f"{case['name']:<40}{case['value']:>8.0f} r/s{case['baseline']:>8.0f} r/s"
            f"{case['ratio']:>8.2f}{case['target']:>8.2f}  {'yes' if case['met'] else 'NO'}"
        )
    for note in notes:
        print(note)
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases}, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
