"""Orders placed per second through `orders.services.order_place`, against the same transaction in raw SQL.

The baseline runs in the same process layout and the same run: lock the customer (SELECT ... FOR UPDATE),
update the balance, insert the order, insert the ledger entry, commit, through the bare mysqlclient
connection. Cases: one hot customer and 1,000 customers, each with 1 and 4 worker processes, every
worker on its own connection. Raw and service slices of a fixed duration alternate, so both see the
same background load on a shared machine.

    python bench/order_place.py [--quick] [--json PATH] [--database-url mysql://...] [--redis-url URL | --no-redis]

MariaDB only. The database (default `bench_order_place`) is the benchmark's own: it is created and
migrated when needed and its order/customer tables are emptied at the start of every run.
Redis is on by default, as in production: `order_place` pushes every order to the ready-queue on commit.
"""

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/bench_order_place"
SPREAD_CUSTOMERS = 1000
QUANTITY = 10  # hits the product's price policy for 10+, as most real orders do
TARGET = "13800138000"
OPENING_BALANCE = Decimal("100000000.00")
TARGETS = {1: 0.5, 4: 0.4}  # minimum ratio order_place / raw SQL, by worker count
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
    parser.add_argument("--quick", action="store_true", help="scaled down: 5 rounds of 0.7 s slices (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the cases as JSON here")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true", help="measure without the ready-queue push")
    parser.add_argument("--seconds", type=float, help="length of each slice (default 0.7 quick, 2 full)")
    parser.add_argument("--rounds", type=int, help="raw/service slice pairs per case (default 5 quick, 15 full)")
    return parser.parse_args()


def database_prepare(database_url: str) -> None:
    """Create the benchmark's database if missing and bring its schema up to date."""
    import MySQLdb

    url = urlparse(database_url)
    if url.scheme not in {"mysql", "mariadb"}:
        sys.exit("This benchmark measures MariaDB/MySQL: give a mysql:// database URL.")
    name = url.path.lstrip("/")
    server = MySQLdb.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 3306, user=url.username or "root", passwd=url.password or ""
    )
    server.cursor().execute(
        f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    server.close()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"], check=True, env=os.environ)


def fixture_create():
    """An empty order book, a 15 %-off tier, one product with a price policy, 1,000 funded customers."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from customers.models import Customer, LedgerEntry, Tier
    from orders.models import PricePolicy, Product

    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in BENCH_TABLES:
            cursor.execute(f"TRUNCATE TABLE {table}")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
    actor, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    tier = Tier.objects.create(name="bench", discount_percent=Decimal("15"))
    product = Product.objects.create(
        code="BENCH", name="bench top-up", unit_price=Decimal("10.00"), target_pattern=r"1[3-9]\d{9}"
    )
    PricePolicy.objects.create(product=product, min_quantity=10, unit_price=Decimal("9.50"))
    PricePolicy.objects.create(product=product, min_quantity=100, unit_price=Decimal("9.00"))
    customers = Customer.objects.bulk_create(
        Customer(name=f"bench {n}", mobile=f"199{n:08d}", tier=tier, balance=OPENING_BALANCE, created_by=actor)
        for n in range(SPREAD_CUSTOMERS)
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            customer=customer,
            kind=LedgerEntry.Kind.RECHARGE,
            amount=OPENING_BALANCE,
            balance_after=OPENING_BALANCE,
            created_by=actor,
            memo="bench opening balance",
        )
        for customer in customers
    )
    return actor.pk, product.pk, [customer.pk for customer in customers]


class ServicePlacer:
    def __init__(self, *, actor_id: int, product_id: int):
        from django.contrib.auth import get_user_model

        from orders.services import order_place

        self.order_place = order_place
        self.actor = get_user_model().objects.get(pk=actor_id)
        self.product_id = product_id

    def place(self, customer_id: int) -> None:
        # A submission token, as the admin's order form sends one with every save.
        self.order_place(
            customer_id=customer_id,
            product_id=self.product_id,
            quantity=QUANTITY,
            target=TARGET,
            actor=self.actor,
            token=uuid.uuid4().hex,
        )


class RawPlacer:
    """The same money movement by hand: the price is known up front, no events, no queue push."""

    def __init__(self, *, actor_id: int, product_id: int):
        from django.db import connection

        from orders.services import order_no_new

        connection.ensure_connection()  # Django's session settings (READ COMMITTED, strict mode), bare driver
        self.db = connection.connection
        self.cursor = self.db.cursor()
        self.order_no_new = order_no_new
        self.actor_id = actor_id
        self.product_id = product_id
        self.unit_price = Decimal("9.50")
        self.list_amount = self.unit_price * QUANTITY
        self.amount = (self.list_amount * Decimal("0.85")).quantize(Decimal("0.01"))

    def place(self, customer_id: int) -> None:
        import MySQLdb

        cursor = self.cursor
        now = datetime.now(UTC).replace(tzinfo=None)
        cursor.execute("START TRANSACTION")
        try:
            cursor.execute("SELECT balance FROM customers_customer WHERE id = %s FOR UPDATE", (customer_id,))
            (balance,) = cursor.fetchone()
            new_balance = balance - self.amount
            if new_balance < 0:
                raise RuntimeError("bench customer ran out of money")
            cursor.execute("UPDATE customers_customer SET balance = %s WHERE id = %s", (new_balance, customer_id))
            cursor.execute(
                "INSERT INTO orders_order (order_no, customer_id, product_id, quantity, target, unit_price,"
                " list_amount, discount_percent, amount, status, memo, created_by_id, created_at, updated_at,"
                " token, attempts, lease_owner, last_error, result)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', '', %s, %s, %s, %s, 0, '', '', '')",
                (
                    self.order_no_new(),
                    customer_id,
                    self.product_id,
                    QUANTITY,
                    TARGET,
                    self.unit_price,
                    self.list_amount,
                    Decimal("15"),
                    self.amount,
                    self.actor_id,
                    now,
                    now,
                    uuid.uuid4().hex,
                ),
            )
            order_id = cursor.lastrowid
            cursor.execute(
                "INSERT INTO customers_ledgerentry (customer_id, kind, amount, balance_after, order_id,"
                " created_by_id, created_at, memo, memo_code, memo_params)"
                " VALUES (%s, 'charge', %s, %s, %s, %s, %s, '', '', '{}')",
                (customer_id, -self.amount, new_balance, order_id, self.actor_id, now),
            )
            self.db.commit()
        except MySQLdb.IntegrityError:
            self.db.rollback()  # an order number collision: try again, uncounted, as order_place does
            self.place(customer_id)
        except BaseException:
            self.db.rollback()
            raise


PLACERS = {"service": ServicePlacer, "raw": RawPlacer}


def worker(phases, actor_id, product_id, customer_ids, seconds, barrier, results):
    """One process, one connection, both placers: warm up, then for each phase wait for the other
    workers and place orders with that phase's placer until its slice of time is up."""
    placers = {kind: placer_class(actor_id=actor_id, product_id=product_id) for kind, placer_class in PLACERS.items()}
    pick = random.Random(os.getpid()).choice
    for placer in placers.values():
        for _ in range(10):
            placer.place(pick(customer_ids))
    for kind in phases:
        place = placers[kind].place
        barrier.wait()
        count = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            place(pick(customer_ids))
            count += 1
        results.put((kind, count, time.perf_counter() - started))


def case_run(*, workers, rounds, customer_ids, actor_id, product_id, seconds) -> dict[str, float]:
    """Orders per second of each placer, over `rounds` alternating raw and service slices.

    Slices alternate so both placers see the same background load on a shared machine."""
    from django.db import connections

    connections.close_all()  # never share the parent's connection with forked children
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    results = context.Queue()
    phases = ["raw", "service"] * rounds
    processes = [
        context.Process(target=worker, args=(phases, actor_id, product_id, customer_ids, seconds, barrier, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    totals = {kind: [0, 0.0] for kind in PLACERS}
    for _ in phases:
        slices = [results.get(timeout=seconds + 300) for _ in processes]
        kind = slices[0][0]
        totals[kind][0] += sum(count for _, count, _ in slices)
        totals[kind][1] += max(elapsed for _, _, elapsed in slices)
    for process in processes:
        process.join()
        if process.exitcode != 0:
            sys.exit(f"a worker failed (exit code {process.exitcode})")
    return {kind: count / elapsed for kind, (count, elapsed) in totals.items()}


def ledger_check() -> None:
    """Both paths must leave every balance equal to the sum of its ledger, one charge per order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM customers_customer c WHERE c.balance <>"
            " (SELECT COALESCE(SUM(l.amount), 0) FROM customers_ledgerentry l WHERE l.customer_id = c.id)"
        )
        (bad_balances,) = cursor.fetchone()
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM orders_order),"
            " (SELECT COUNT(*) FROM customers_ledgerentry WHERE kind = 'charge')"
        )
        orders, charges = cursor.fetchone()
    if bad_balances or orders != charges:
        sys.exit(f"ledger check FAILED: {bad_balances} balances off, {orders} orders vs {charges} charges")
    print(f"ledger check: all {SPREAD_CUSTOMERS} balances equal their ledger; {orders} orders, {charges} charges")


def main() -> None:
    args = arguments_parse()
    seconds = args.seconds or (0.7 if args.quick else 2.0)
    rounds = args.rounds or (5 if args.quick else 15)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ.setdefault("EMBEDDED_DEMO", "1")  # a local run: no SECRET_KEY, plain HTTP
    os.environ["READY_QUEUE_KEY"] = f"bench:order_place:ready:{os.getpid()}"
    os.environ["LOG_LEVEL"] = "WARNING"
    if args.no_redis:
        os.environ.pop("REDIS_URL", None)
    else:
        os.environ["REDIS_URL"] = args.redis_url
    database_prepare(args.database_url)

    import django

    django.setup()
    from django.conf import settings

    from orders.queue import ready_queue_client

    actor_id, product_id, customer_ids = fixture_create()
    scenarios = {"hot": customer_ids[:1], "spread": customer_ids}
    queue = ready_queue_client()
    print(
        f"order_place vs raw SQL on MariaDB ({urlparse(args.database_url).path.lstrip('/')}), "
        f"{os.cpu_count()} CPUs, {rounds} alternating raw/service slices of {seconds:g} s per case; ready-queue push: "
        + (f"Redis {settings.REDIS_URL}" if queue else "off (no Redis)")
    )
    cases = []
    try:
        for scenario, ids in scenarios.items():
            for workers in (1, 4):
                rates = case_run(
                    workers=workers,
                    rounds=rounds,
                    customer_ids=ids,
                    actor_id=actor_id,
                    product_id=product_id,
                    seconds=seconds,
                )
                value, baseline = rates["service"], rates["raw"]
                ratio = value / baseline
                cases.append(
                    {
                        "name": f"{scenario}/{workers}w",
                        "unit": "orders/s",
                        "value": round(value, 1),
                        "baseline": round(baseline, 1),
                        "ratio": round(ratio, 3),
                        "target": TARGETS[workers],
                        "better": "higher",
                        "met": ratio >= TARGETS[workers],
                    }
                )
                print(f"  {cases[-1]['name']}: done", flush=True)
    finally:
        if queue:
            queue.delete(settings.READY_QUEUE_KEY)
    ledger_check()

    print(f"\n{'case':<11}{'order_place':>14}{'raw SQL':>12}{'ratio':>8}{'target':>8}  met")
    for case in cases:
        print(
            f"{case['name']:<11}{case['value']:>10.1f} o/s{case['baseline']:>8.1f} o/s"
            f"{case['ratio']:>8.2f}{case['target']:>8.2f}  {'yes' if case['met'] else 'NO'}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases}, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
