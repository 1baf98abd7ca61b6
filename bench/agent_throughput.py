"""Agent throughput, dispatch latency and memory on MariaDB + Redis (issue 4 §5).

(a) sandbox delay 0, one agent: orders completed per second against a raw-SQL loop doing the same
    claim-and-complete writes, measured in the same run (target >= 0.5x);
(b) sandbox delay 50 ms, total concurrency 16 over 1, 2 and 4 agent processes against the bound
    concurrency / delay = 320/s (target >= 0.8x);
(c) dispatch latency from commit to running, p50 and p95, with Redis and with polling only
    (target p50 < 50 ms with Redis);
(d) agent resident memory after 1,000 and after 10,000 orders (target growth < 20 %).

It creates (and recreates) its own database. Usage:
    python bench/agent_throughput.py [--quick] [--json PATH]
        [--mysql mysql://root@127.0.0.1:3306/bench_agent] [--redis redis://127.0.0.1:6379/0]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def database_recreate(url: str) -> None:
    import MySQLdb

    parts = urlparse(url)
    link = MySQLdb.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                           passwd=parts.password or "")
    cursor = link.cursor()
    name = parts.path.lstrip("/")
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    link.close()


def django_setup(args) -> None:
    os.environ.update(DATABASE_URL=args.mysql, REDIS_URL=args.redis, READY_QUEUE_KEY=args.queue_key, LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ.setdefault("EMBEDDED_DEMO", "1")  # a local run: no SECRET_KEY, plain HTTP
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- fixtures --------------------------------------------------------------------------------------


def customers_make(count: int):
    from customers.models import Customer, Tier
    from customers.services import balance_recharge

    tier = Tier.objects.create(name=f"bench {uuid.uuid4().hex[:6]}", discount_percent=0)
    customers = []
    for i in range(count):
        customer = Customer.objects.create(name=f"bench {i}", mobile=f"1{uuid.uuid4().int % 10**10:010d}", tier=tier)
        balance_recharge(customer_id=customer.pk, amount="90000000", actor=None)
        customers.append(customer)
    return customers


def product_make(delay_ms: int):
    from orders.models import Product

    return Product.objects.create(code=f"B{uuid.uuid4().hex[:8]}", name="bench", unit_price="0.01",
                                  sandbox_delay_ms=delay_ms, max_quantity=10)


def orders_place(customers, product, count: int) -> list[int]:
    """Place through order_place (the real charge) on one thread per customer."""
    from django.db import connection

    from orders.services import order_place

    ids: list[int] = []
    lock = threading.Lock()

    def place(customer, n):
        try:
            for _ in range(n):
                order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="bench", actor=None)
                with lock:
                    ids.append(order.pk)
        finally:
            connection.close()

    share = [count // len(customers) + (1 if i < count % len(customers) else 0) for i in range(len(customers))]
    threads = [threading.Thread(target=place, args=(c, n)) for c, n in zip(customers, share, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids


def ready_queue_clear(args) -> None:
    import redis

    redis.Redis.from_url(args.redis).delete(args.queue_key)


def backlog_run(args, ids: list[int], **agent_options) -> None:
    """Hold the backlog back until every agent process is up (start-up is not throughput), then
    release it at once and wake the agents, and wait for the last order."""
    import redis
    from django.utils import timezone

    from orders.models import Order

    Order.objects.filter(pk__in=ids).update(available_at=timezone.now() + timedelta(days=1))
    ready_queue_clear(args)
    agents = Agents(args, **agent_options)
    agents.ready_wait()
    Order.objects.filter(pk__in=ids).update(available_at=None)
    redis.Redis.from_url(args.redis).rpush(args.queue_key, *ids[: 4 * len(agents.procs)])
    finished_wait(ids)
    agents.stop()


class Agents:
    def __init__(self, args, *, processes: int, concurrency: int, redis_url: str | None = None, poll: float = 1.0):
        env = {**os.environ, "REDIS_URL": args.redis if redis_url is None else redis_url, "LOG_LEVEL": "WARNING"}
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(BASE_DIR / "manage.py"), "runagent", "--name", f"bench-{uuid.uuid4().hex[:6]}",
                 "--concurrency", str(concurrency), "--poll-interval", str(poll)],
                env=env, cwd=BASE_DIR,
            )
            for _ in range(processes)
        ]

    def ready_wait(self) -> None:
        from agent.models import Agent

        deadline = time.monotonic() + 60
        while Agent.objects.filter(pid__in=[p.pid for p in self.procs], stopped_at__isnull=True).count() < len(self.procs):
            if time.monotonic() > deadline:
                raise SystemExit("agents did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.wait(timeout=60)


def finished_wait(ids: list[int], *, timeout: float = 1800) -> None:
    from orders.models import Order

    deadline = time.monotonic() + timeout
    while Order.objects.filter(pk__in=ids, status__in=["pending", "running"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("orders did not finish")
        time.sleep(0.2)


def completed_per_second(ids: list[int]) -> float:
    from django.db.models import Max, Min

    from orders.models import Order

    span = Order.objects.filter(pk__in=ids).aggregate(first=Min("started_at"), last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    return len(ids) / seconds


# --- (a) one agent against a raw-SQL loop ----------------------------------------------------------


def raw_sql_loops(ids: list[int], *, threads: int) -> float:
    """The same writes the agent makes (claim, its events, the sandbox record, completion, its event)
    as plain SQL, on as many connections as the agent has threads: what the database allows."""
    from django.db import connection

    def loop(agent: str):
        try:
            raw_sql_loop(agent=agent, batch=2)
        finally:
            connection.close()

    workers = [threading.Thread(target=loop, args=(f"raw-sql-{i}",)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(ids) / (time.perf_counter() - started)


def raw_sql_loop(*, agent: str, batch: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        while True:
            # Read candidates without locks, then lock a few by primary key (see order_claim for why).
            cursor.execute(
                "SELECT id FROM orders_order WHERE status='pending' AND (available_at IS NULL OR available_at <= NOW(6)) "
                "ORDER BY id LIMIT 50"
            )
            candidates = [row[0] for row in cursor.fetchall()]
            if not candidates:
                break
            cursor.execute("START TRANSACTION")
            claimed = []
            for start in range(0, len(candidates), batch):
                chunk = candidates[start : start + batch]
                cursor.execute(
                    f"SELECT id FROM orders_order WHERE id IN ({','.join(['%s'] * len(chunk))}) AND status='pending' "
                    "FOR UPDATE SKIP LOCKED",
                    chunk,
                )
                claimed = [row[0] for row in cursor.fetchall()]
                if claimed:
                    break
            if not claimed:
                cursor.execute("COMMIT")
                continue
            marks = ",".join(["%s"] * len(claimed))
            cursor.execute(
                f"UPDATE orders_order SET status='running', lease_owner=%s, lease_expires_at=NOW(6) + INTERVAL 60 SECOND, "
                f"attempts=attempts+1, started_at=NOW(6), available_at=NULL WHERE id IN ({marks}) AND status='pending'",
                [agent, *claimed],
            )
            cursor.execute(f"SELECT id, order_no, attempts FROM orders_order WHERE id IN ({marks})", claimed)
            rows = cursor.fetchall()
            cursor.executemany(
                "INSERT INTO orders_orderevent (order_id, from_status, to_status, agent, note, note_code, note_params,"
                " created_at) "
                "VALUES (%s, 'pending', 'running', %s, '', '', '{}', NOW(6))",
                [(pk, agent) for pk, _, _ in rows],
            )
            cursor.execute("COMMIT")
            for pk, order_no, attempts in rows:
                cursor.execute(
                    "INSERT INTO agent_sandboxexecution (order_no, attempt, agent, outcome, created_at) "
                    "VALUES (%s, %s, %s, 'succeeded', NOW(6))",
                    [order_no, attempts, agent],
                )
                cursor.execute("START TRANSACTION")
                cursor.execute("SELECT id FROM orders_order WHERE id=%s FOR UPDATE", [pk])
                cursor.execute(
                    "UPDATE orders_order SET status='succeeded', result='{}', finished_at=NOW(6), lease_owner='', "
                    "lease_expires_at=NULL, updated_at=NOW(6) WHERE id=%s AND status='running' AND lease_owner=%s",
                    [pk, agent],
                )
                cursor.execute(
                    "INSERT INTO orders_orderevent (order_id, from_status, to_status, agent, note, note_code, note_params,"
                " created_at) "
                    "VALUES (%s, 'running', 'succeeded', %s, '', '', '{}', NOW(6))",
                    [pk, agent],
                )
                cursor.execute("COMMIT")


def case_a(args, customers, n: int) -> list[dict]:
    product = product_make(0)
    one_loop = raw_sql_loops(orders_place(customers, product, n), threads=1)
    four_loops = raw_sql_loops(orders_place(customers, product, n), threads=4)
    ids = orders_place(customers, product, n)
    backlog_run(args, ids, processes=1, concurrency=4)
    value = completed_per_second(ids)
    return [
        case("(a) delay 0, 1 agent x 4 threads vs 1 raw-SQL loop", "orders/s", value, one_loop, 0.5, "higher"),
        case("(a) delay 0, 1 agent x 4 threads vs 4 raw-SQL loops", "orders/s", value, four_loops, 0.5, "higher"),
    ]


# --- (b) delay 50 ms, concurrency 16 over 1, 2, 4 processes -----------------------------------------


def case_b(args, customers, n: int) -> list[dict]:
    cases = []
    for processes in (1, 2, 4):
        product = product_make(50)
        ids = orders_place(customers, product, n)
        backlog_run(args, ids, processes=processes, concurrency=16 // processes)
        cases.append(case(f"(b) delay 50 ms, {processes} process(es) x {16 // processes} threads vs 320/s bound",
                          "orders/s", completed_per_second(ids), 16 / 0.050, 0.8, "higher"))
    return cases


# --- (c) dispatch latency ----------------------------------------------------------------------------


def dispatch_latencies(args, customers, samples: int, *, redis: bool) -> list[float]:
    from orders.models import Order
    from orders.services import order_place

    product = product_make(0)
    ready_queue_clear(args)
    agents = Agents(args, processes=1, concurrency=4, redis_url=None if redis else "", poll=1.0)
    agents.ready_wait()
    time.sleep(1.5)  # let it settle into waiting
    latencies = []
    for i in range(samples):
        order = order_place(customer_id=customers[0].pk, product_id=product.pk, quantity=1, target="bench", actor=None)
        committed = time.time()
        while not (started := Order.objects.filter(pk=order.pk).values_list("started_at", flat=True).get()):
            time.sleep(0.002)
        latencies.append(max(started.timestamp() - committed, 0) * 1000)
        time.sleep(0.05 + (i % 7) * 0.037)  # spread commits over the poll cycle
    agents.stop()
    return latencies


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def case_c(args, customers, samples: int) -> list[dict]:
    with_redis = dispatch_latencies(args, customers, samples, redis=True)
    polling = dispatch_latencies(args, customers, samples, redis=False)
    return [
        case("(c) dispatch p50, Redis (baseline: polling only)", "ms", percentile(with_redis, 50),
             percentile(polling, 50), None, "lower", absolute_target=50.0),
        case("(c) dispatch p95, Redis (baseline: polling only)", "ms", percentile(with_redis, 95),
             percentile(polling, 95), None, "lower"),
        case("(c) dispatch p50, polling only, 1 s interval", "ms", percentile(polling, 50), None, None, "lower"),
        case("(c) dispatch p95, polling only, 1 s interval", "ms", percentile(polling, 95), None, None, "lower"),
    ]


# --- (d) memory --------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def case_d(args, customers, first: int, total: int) -> list[dict]:
    from orders.models import Order

    product = product_make(0)
    orders_place(customers, product, total)
    ready_queue_clear(args)
    agents = Agents(args, processes=1, concurrency=4)
    pid = agents.procs[0].pid
    rss_first = None
    while True:
        done = Order.objects.filter(product=product, status="succeeded").count()
        if rss_first is None and done >= first:
            rss_first = rss_kib(pid)
        if done >= total:
            rss_last = rss_kib(pid)
            break
        time.sleep(0.05)
    agents.stop()
    return [case(f"(d) agent RSS after {total:,} vs after {first:,} orders", "MiB", rss_last / 1024, rss_first / 1024,
                 1.2, "lower")]


# --- report ------------------------------------------------------------------------------------------


def case(name, unit, value, baseline, ratio_target, better, absolute_target=None) -> dict:
    ratio = value / baseline if baseline else None
    if absolute_target is not None:
        target, met = absolute_target, value < absolute_target
    elif ratio_target is not None:
        target = ratio_target
        met = ratio >= ratio_target if better == "higher" else ratio < ratio_target
    else:
        target, met = None, None
    return {"name": name, "unit": unit, "value": round(value, 2), "baseline": baseline and round(baseline, 2),
            "ratio": ratio and round(ratio, 3), "target": target, "better": better, "met": met}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scaled down, under a minute")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1:3306/bench_agent")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    args.queue_key = f"bench:agent:ready:{os.getpid()}"
    database_recreate(args.mysql)
    django_setup(args)

    customers = customers_make(4)
    if args.quick:
        cases = case_a(args, customers, 150) + case_b(args, customers, 320) + case_c(args, customers, 6)
        cases += case_d(args, customers, 150, 600)
    else:
        cases = case_a(args, customers, 2000) + case_b(args, customers, 3200) + case_c(args, customers, 60)
        cases += case_d(args, customers, 1000, 10000)

    print(f"{'case':<66} {'value':>10} {'baseline':>10} {'ratio':>7} {'target':>7} met")
    for c in cases:
        print(f"{c['name']:<66} {c['value']:>10} {c['baseline'] if c['baseline'] is not None else '-':>10} "
              f"{c['ratio'] if c['ratio'] is not None else '-':>7} {c['target'] if c['target'] is not None else '-':>7} "
              f"{'-' if c['met'] is None else 'yes' if c['met'] else 'NO'}  ({c['unit']})")
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases}, indent=2))


if __name__ == "__main__":
    main()
