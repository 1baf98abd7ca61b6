"""Does the order list page stay fast at 1,000,000 orders?

Renders the admin order list and its searches (order number, mobile, name prefix) and status filter
through Django's test client as a customer-service user, on MariaDB, against two generated datasets:
a baseline of 10,000 orders over 100 customers and a big one of 1,000,000 orders over 10,000 customers
(about 100 orders per customer in both, so a page shows the same kind of rows; only the table grows).

Figures: queries per page (at either size and page size never more than the small table's page of 20) and the median render
time at the big size divided by the same at the baseline size (target <= 1.5).

Each dataset lives in its own database (created and migrated here) and is reused across runs.
Generation uses LOAD DATA LOCAL INFILE into the real schema: every index and constraint stays on.

With --scope own or team_tree the user sees only some customers (the data scope): 100, or 2,000 through
a team and its sub-team; the page's rows go through the scope's subquery.

    python bench/admin_changelist.py [--quick] [--json PATH] [--rounds N] [--regenerate] [--show-queries]
                                     [--scope all|own|team_tree]
"""

import argparse
import io
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306")
DATABASE = os.environ.get("BENCH_DATABASE", "bench_admin_changelist")
# The page measures the database, not Redis: sessions and cache stay in process memory.
os.environ.pop("REDIS_URL", None)
os.environ["DATABASE_URL"] = f"{SERVER_URL}/{DATABASE}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("EMBEDDED_DEMO", "1")  # a local run: no SECRET_KEY, plain HTTP

import django  # noqa: E402

django.setup()

import MySQLdb  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command, get_commands  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from backoffice.management.commands.demo import GIVEN, PRODUCTS, SURNAMES, TIERS  # noqa: E402
from customers.models import Customer, Tier  # noqa: E402
from customers.money import quantize_money  # noqa: E402
from customers.selectors import visible_to  # noqa: E402
from orders.models import Order, PricePolicy, Product  # noqa: E402
from orders.pricing import price_list_load  # noqa: E402
from rbac.models import RoleScope, StaffProfile, Team  # noqa: E402
from rbac.roles import CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD  # noqa: E402
from rbac.services import roles_setup  # noqa: E402

FULL = {"small": (100, 10_000), "big": (10_000, 1_000_000)}
QUICK = {"small": (20, 2_000), "big": (1_000, 100_000)}
PAGE_SIZES = (20, 100)
TARGET_RATIO = 1.5
DAYS_SPREAD = 270  # orders spread over the last nine months
BENCH_USER = "bench-service"
SEED = 20260601
QUEUED = 150  # the newest orders are still pending or running, at either size


# --- datasets -------------------------------------------------------------------------------------


def database_use(name: str) -> None:
    """Point the default connection at another database (as Django's test runner does)."""
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name


def raw_connect(name: str | None = None):
    params = connection.get_connection_params()
    params.pop("db", None)
    params.pop("database", None)
    params.pop("init_command", None)
    if name:
        params["database"] = name
    return MySQLdb.connect(local_infile=1, **params)


def dataset_ready(name: str, customers: int, orders: int) -> bool:
    raw = raw_connect()
    try:
        cur = raw.cursor()
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema=%s AND table_name='orders_order'", [name])
        if not cur.fetchone():
            return False
        cur.execute(f"SELECT (SELECT COUNT(*) FROM `{name}`.customers_customer), (SELECT MAX(id) FROM `{name}`.orders_order)")
        return cur.fetchone() == (customers, orders)
    finally:
        raw.close()


def dataset_ensure(name: str, customers: int, orders: int, regenerate: bool) -> None:
    if not regenerate and dataset_ready(name, customers, orders):
        print(f"{name}: reusing {customers:,} customers / {orders:,} orders")
        database_use(name)
        call_command("migrate", verbosity=0)
        return
    started = time.perf_counter()
    raw = raw_connect()
    raw.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    raw.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    raw.close()
    database_use(name)
    call_command("migrate", verbosity=0)
    tiers, products = catalogue_create()
    customer_rows = customers_load(name, customers, tiers)
    orders_load(name, orders, customer_rows, products)
    print(f"{name}: generated {customers:,} customers / {orders:,} orders in {time.perf_counter() - started:.0f} s")


def catalogue_create():
    tiers = [Tier.objects.create(name=name, discount_percent=Decimal(d)) for name, d in TIERS]
    products = []
    for code, name, price, low, high, pattern, policies in PRODUCTS:
        product = Product.objects.create(
            code=code, name=name, unit_price=Decimal(price), min_quantity=low, max_quantity=high, target_pattern=pattern
        )
        for min_quantity, unit_price in policies:
            PricePolicy.objects.create(product=product, min_quantity=min_quantity, unit_price=Decimal(unit_price))
        products.append(product)
    return tiers, products


def load_infile(name: str, table: str, columns: list[str], rows) -> None:
    """Write rows as tab-separated text and LOAD DATA LOCAL INFILE them (\\N is NULL)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8", delete=False) as f:
        for row in rows:
            f.write("\t".join("\\N" if v is None else str(v) for v in row))
            f.write("\n")
        path = f.name
    raw = raw_connect(name)
    try:
        cur = raw.cursor()
        cur.execute("SET NAMES utf8mb4")
        cur.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 ({', '.join(columns)})", [path]
        )
        raw.commit()
    finally:
        raw.close()
        os.unlink(path)


def customers_load(name: str, count: int, tiers) -> list[tuple[int, str, Tier]]:
    rng = random.Random(SEED)
    created = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=DAYS_SPREAD + 30)
    rows, result = [], []
    for i in range(count):
        tier = tiers[rng.randrange(len(tiers))]
        full_name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[rng.randrange(len(GIVEN))]
        mobile = f"138{i:08d}"
        rows.append((i + 1, full_name, mobile, f"c{i}@example.com", tier.pk, "0.00", 1, created.isoformat(sep=" ")))
        result.append((i + 1, mobile, tier))
    load_infile(
        name, "customers_customer", ["id", "name", "mobile", "email", "tier_id", "balance", "is_active", "created_at"], rows
    )
    return result


def orders_load(name: str, count: int, customers, products) -> None:
    rng = random.Random(SEED + 1)
    # One price snapshot per (product, quantity, tier), computed by the real pricing rule.
    prices = {}
    for product in products:
        prices_of_product = price_list_load(product_id=product.pk)
        for quantity in range(product.min_quantity, min(product.max_quantity, 20) + 1):
            unit = prices_of_product.unit_price(quantity)
            list_amount = quantize_money(unit * quantity)
            for tier in Tier.objects.all():
                amount = quantize_money(list_amount * (Decimal(100) - tier.discount_percent) / Decimal(100))
                prices[product.pk, quantity, tier.pk] = (unit, list_amount, tier.discount_percent, amount)
    now = datetime.now(UTC).replace(tzinfo=None)
    start = now - timedelta(days=DAYS_SPREAD)
    step = (now - start) / count
    shanghai = timedelta(hours=8)

    def rows():
        for i in range(count):
            created = start + step * i + timedelta(microseconds=rng.randrange(int(step.total_seconds() * 1e6) or 1))
            if i >= count - QUEUED:
                status = rng.choice(["pending", "pending", "running"])
            else:
                status = rng.choices(["succeeded", "cancelled", "failed"], weights=[85, 9, 6])[0]
            customer_id, mobile, tier = customers[rng.randrange(len(customers))]
            product = products[rng.randrange(len(products))]
            quantity = rng.randint(product.min_quantity, min(product.max_quantity, 20))
            unit, list_amount, discount, amount = prices[product.pk, quantity, tier.pk]
            target = mobile if product.code in ("MOBILE-100", "DATA-10G") else f"player{customer_id:05d}"
            local = created + shanghai
            order_no = f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}{i % 10**6:06d}"
            finished = None if status in ("pending", "running") else created + timedelta(seconds=rng.randint(1, 90))
            stamp = created.isoformat(sep=" ")
            yield (
                i + 1, order_no, customer_id, product.pk, quantity, target, unit, list_amount, discount, amount,
                status, "", stamp, (finished or created).isoformat(sep=" "), f"bench-{i:026d}", 1 if finished else 0,
                "", None if finished is None else finished.isoformat(sep=" "), "",  "",
            )

    columns = [
        "id", "order_no", "customer_id", "product_id", "quantity", "target", "unit_price", "list_amount",
        "discount_percent", "amount", "status", "memo", "created_at", "updated_at", "token", "attempts",
        "lease_owner", "finished_at", "last_error", "result",
    ]
    generated = rows()
    for _ in range(0, count, 200_000):
        load_infile(name, "orders_order", columns, itertools.islice(generated, 200_000))
    raw = raw_connect(name)
    raw.cursor().execute("ANALYZE TABLE orders_order, customers_customer")
    raw.close()


# --- measuring ------------------------------------------------------------------------------------


def bench_user():
    """A customer-service login when the roles exist, else a superuser."""
    User = get_user_model()
    group = Group.objects.filter(name="Customer service").first()
    if group is None and "setup_roles" in get_commands():
        call_command("setup_roles", stdout=io.StringIO())
        group = Group.objects.filter(name="Customer service").first()
    user, _ = User.objects.get_or_create(username=BENCH_USER, defaults={"is_staff": True})
    if group is None:
        user.is_superuser = True
        user.save()
    else:
        user.is_superuser = False
        user.save()
        # Customer service sees its own customers only; this measure is of the whole list (scope "all").
        everyone, _ = Group.objects.get_or_create(name="bench: all customers")
        RoleScope.objects.update_or_create(group=everyone, defaults={"scope": RoleScope.Scope.ALL})
        user.groups.set([group, everyone])
    return user, (f"{group.name}, data scope all" if group else "superuser")


SCOPED = {"own": 100, "team_tree": 2_000}  # customers (the first by id) the scoped user sees


def scoped_user(scope: str):
    """A customer-service user who sees only some customers: "own", an account manager owning the first
    100; "team_tree", the lead of a team whose account manager owns those and whose sub-team's owns the
    rest of the first 2,000."""
    roles = roles_setup()
    User = get_user_model()
    lead_team, _ = Team.objects.get_or_create(name="bench team")
    sub_team, _ = Team.objects.update_or_create(name="bench sub-team", defaults={"parent": lead_team})
    users = {}
    for username, role, team in (
        ("bench-own", CUSTOMER_SERVICE, lead_team),
        ("bench-sub", CUSTOMER_SERVICE, sub_team),
        ("bench-lead", CUSTOMER_SERVICE_LEAD, lead_team),
    ):
        users[username], _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        users[username].groups.set([roles[role].group])
        StaffProfile.objects.update_or_create(user=users[username], defaults={"team": team})
    Customer.objects.update(owner=None)
    Customer.objects.filter(id__lte=SCOPED["own"]).update(owner=users["bench-own"])
    Customer.objects.filter(id__gt=SCOPED["own"], id__lte=SCOPED["team_tree"]).update(owner=users["bench-sub"])
    user = users["bench-own" if scope == "own" else "bench-lead"]
    return user, f"{user.username}, data scope {scope} (the first {SCOPED[scope]:,} customers)"


def pages_for_dataset(user) -> dict[str, str]:
    """The URLs to measure, with search terms picked from the data so each one finds rows in `user`'s scope."""
    visible = visible_to(Order.objects.order_by("-id"), user=user)
    middle = visible.values_list("order_no", flat=True)[visible.count() // 2 :][:1]
    # The eighth customer is in every scoped user's scope.
    mobile, name = Customer.objects.order_by("id").values_list("mobile", "name")[7]
    base = "/admin/orders/order/"
    return {
        "list": base,
        "search order number": f"{base}?q={middle[0]}",
        "search mobile": f"{base}?q={mobile}",
        # A whole name, which one or two customers bear at either size: a shorter prefix matches a share of the
        # customers, so at the big size a list of many times the rows, counted up to the cap (10,000).
        "search name prefix": f"{base}?q={name}",
        "filter status pending": f"{base}?status__exact=pending",
    }


def render(client: Client, url: str) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return elapsed, response


def queries_count(client: Client, url: str) -> tuple[int, list[dict]]:
    with CaptureQueriesContext(connection) as ctx:
        render(client, url)
    return len(ctx.captured_queries), ctx.captured_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scaled down: under a minute")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the datasets even if present")
    parser.add_argument("--show-queries", action="store_true", help="print each page's queries at the big size")
    parser.add_argument("--scope", choices=["all", *SCOPED], default="all", help="the data scope of the user measured")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    rounds = args.rounds or (5 if args.quick else 15)
    suffix = "_quick" if args.quick else ""
    databases = {kind: f"{DATABASE}{suffix}_{kind}" for kind in sizes}

    for kind, (customers, orders) in sizes.items():
        dataset_ensure(databases[kind], customers, orders, args.regenerate)

    model_admin = admin.site._registry.get(Order)
    if model_admin is None:
        raise SystemExit("orders/admin.py does not register Order yet: nothing to measure.")
    default_page_size = model_admin.list_per_page

    clients, urls, role = {}, {}, ""
    for kind in sizes:
        database_use(databases[kind])
        user, role = bench_user() if args.scope == "all" else scoped_user(args.scope)
        clients[kind] = Client()
        clients[kind].force_login(user)
        urls[kind] = pages_for_dataset(user)
    names = list(urls["small"])

    # Queries per page: each dataset at two page sizes.
    queries: dict[str, dict[tuple[str, int], int]] = {name: {} for name in names}
    captured = {}
    for kind in sizes:
        database_use(databases[kind])
        cache.clear()
        for page_size in PAGE_SIZES:
            model_admin.list_per_page = page_size
            for name in names:
                render(clients[kind], urls[kind][name])  # warm the caches first
                count, captured[kind, page_size, name] = queries_count(clients[kind], urls[kind][name])
                queries[name][kind, page_size] = count
    model_admin.list_per_page = default_page_size

    # Render times, interleaving the datasets so drift on a shared machine hits both alike.
    times: dict[tuple[str, str], list[float]] = {(kind, name): [] for kind in sizes for name in names}
    for _ in range(rounds):
        for kind in sizes:
            database_use(databases[kind])
            render(clients[kind], urls[kind]["list"])  # reconnect outside the timing
            for name in names:
                times[kind, name].append(render(clients[kind], urls[kind][name])[0])

    small_orders, big_orders = sizes["small"][1], sizes["big"][1]
    print(
        f"\nOrder list as {role!r}, MariaDB, {rounds} rounds, page size {default_page_size} "
        f"(queries also at {PAGE_SIZES}); {small_orders:,} vs {big_orders:,} orders"
    )
    header = f"{'page':<24}{'queries':>22}{'ms @' + format(small_orders, ','):>16}{'ms @' + format(big_orders, ','):>16}{'ratio':>8}  met"
    print(header)
    print("-" * len(header))
    cases = []
    for name in names:
        small_ms = statistics.median(times["small", name]) * 1000
        big_ms = statistics.median(times["big", name]) * 1000
        ratio = big_ms / small_ms
        counts = queries[name]
        baseline_queries = counts["small", PAGE_SIZES[0]]
        worst_queries = max(counts.values())
        # No query per row and none per table size: never more than the small table's page of 20 (a page
        # that fits the list whole skips the keys-first query, an empty one its rows' lookups).
        queries_met = worst_queries <= baseline_queries
        cell = "/".join(str(counts[k, s]) for k in sizes for s in PAGE_SIZES)
        print(f"{name:<24}{cell:>22}{small_ms:>16.1f}{big_ms:>16.1f}{ratio:>8.2f}  {'yes' if ratio <= TARGET_RATIO and queries_met else 'NO'}")
        cases.append({
            "name": f"{name}: median render time {big_orders:,} / {small_orders:,} orders", "unit": "ms",
            "value": round(big_ms, 2), "baseline": round(small_ms, 2), "ratio": round(ratio, 3),
            "target": TARGET_RATIO, "better": "lower", "met": ratio <= TARGET_RATIO,
        })
        cases.append({
            "name": f"{name}: queries per page (max over sizes {small_orders:,}/{big_orders:,} and page sizes {PAGE_SIZES})",
            "unit": "queries", "value": worst_queries, "baseline": baseline_queries,
            "ratio": round(worst_queries / baseline_queries, 3), "target": 1.0, "better": "lower", "met": queries_met,
        })
    print(f"(queries: {' / '.join(f'{k} x{s}' for k in sizes for s in PAGE_SIZES)})")

    if args.show_queries:
        for name in names:
            print(f"\n== {name} @ {big_orders:,}, page size {PAGE_SIZES[-1]}")
            for q in sorted(captured["big", PAGE_SIZES[-1], name], key=lambda q: -float(q["time"]))[:6]:
                print(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:400]}")

    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases}, indent=2, ensure_ascii=False))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
