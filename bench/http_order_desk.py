"""The order desk over HTTP: orders placed and pages served per second by the admin, against bare pages.

The benchmark starts gunicorn (4 sync workers) on MariaDB + Redis and one agent, signs in N clients
(1 and 8, threads; quick: 8 only), and runs each case alternated with its baseline on the same server:
(a) customer service places an order through the order add form (GET the form, POST it, 302);
(b) a customer places an order through "My orders" (the same, on its own add form);
(c) the order list as customer service, and a search by mobile;
(d) the customer's own list ("My orders").
Baselines (bench/order_desk_site.py): for (a) and (b) a login-required GET of a minimal form with the CSRF
token and an idempotency token, and a POST that calls the same `order_place` and redirects; for (c) and
(d) a bare page that runs the same SQL statements as the admin page (recorded here first) and prints
their rows. Both sides pay Django's request, session, auth and CSRF cost: the difference is our pages.
Figures: orders (pages) per second and the ratio to the baseline, web-server CPU ms per order (page)
from /proc, response bytes and queries per order (page). Targets: ratio >= 0.5 at 8 clients.

    python bench/http_order_desk.py [--quick] [--json PATH] [--database-url mysql://...] [--redis-url URL]
    python bench/http_order_desk.py --profile [--requests N]   # one worker: top costs of each page
    python bench/http_order_desk.py --replica-case [--quick] [--json PATH]

The replica case replaces the cases above: it starts a replica pair of its own (backoffice/scripts/replica_pair.py:
primary 127.0.0.1:3308, replica :3307) and removes it at the end, makes the bench's database on the primary, and
runs two servers on it, one with REPLICA_DATABASE_URLS set to the replica and one without, in alternating slices.
In each slice 8 clients place orders through the add form while 4 others (staff who only read, so never pinned
to the primary) load the order list. Figures: the list's pages/s (target: replica >= 1.0x primary), the primary
MariaDB's CPU per placed order (from /proc; target: not growing), orders/s, and the replica's SELECTs per list
page, which show that the lists read there. On one machine both servers share the CPUs: the replica adds no capacity.

gunicorn must be importable by this interpreter (`python -m gunicorn`). The database (default
`bench_order_desk`) is the benchmark's own: created and migrated when needed, emptied and filled with
the demo data at every run.
"""

import argparse
import functools
import html
import http.client
import importlib.util
import io
import itertools
import json
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/bench_order_desk"
WORKERS = 4
TARGET = 0.5  # minimum ratio admin / bare at TARGET_CLIENTS
TARGET_CLIENTS = 8
PRODUCT = "MOBILE-100"  # the demo's mobile top-up; its sandbox runs without delay here
MY_ORDERS_AT_LEAST = 120  # the customer's list has more than a page from the start
OPENING_BALANCE = Decimal("10000000")
KEPT_TABLES = {"django_migrations", "django_content_type", "auth_permission"}
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_RE = re.compile(r'name="idempotency_token" value="([^"]+)"')
ERROR_RE = re.compile(r'class="errornote[^"]*"[^>]*>(.*?)<|class="errorlist[^"]*"[^>]*><li>(.*?)<', re.S)


def arguments_parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 clients only, 3 s per side (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the cases as JSON here")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--clients", help="client counts, comma-separated (default 1,8; quick 8)")
    parser.add_argument("--seconds", type=float, help="measured seconds per side and client count (default 20; quick 3)")
    parser.add_argument("--rounds", type=int, help="alternations of admin and bare in those seconds (default 10; quick 3)")
    parser.add_argument(
        "--replica-case", action="store_true",
        help="instead of the cases: the order list read from a read replica against from the primary, while orders are "
        "placed (starts and removes its own replica pair, 127.0.0.1:3308 and :3307; default 40 s per side in 10 slices; "
        "quick 8 s in 4)",
    )
    parser.add_argument("--profile", action="store_true", help="profile each page in one worker instead")
    parser.add_argument("--requests", type=int, default=100, help="requests per page when profiling")
    parser.add_argument("--profile-dir", help="keep the profiles here (cProfile .prof, sampled stacks as JSON)")
    return parser.parse_args()


# --- set-up ----------------------------------------------------------------------------------------


def gunicorn_check() -> None:
    if importlib.util.find_spec("gunicorn") is None:
        sys.exit(
            f"gunicorn is not importable by {sys.executable}: this benchmark runs the platform under "
            "`python -m gunicorn`, as production does. Install the pinned version from requirements.txt "
            "(pip install gunicorn), or put a copy on PYTHONPATH."
        )


def environment_set(args) -> None:
    url = urlparse(args.database_url)
    if url.scheme not in {"mysql", "mariadb"}:
        sys.exit("This benchmark measures MariaDB/MySQL: give a mysql:// database URL.")
    os.environ.update(
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        DJANGO_SETTINGS_MODULE="bench.order_desk_settings",
        READY_QUEUE_KEY=f"bench:order_desk:ready:{os.getpid()}",
        REDIS_KEY_PREFIX=f"bench-order-desk-{os.getpid()}",  # this run's sessions and cache only
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("EMBEDDED_DEMO", "1")  # a local run: no SECRET_KEY, plain HTTP
    os.environ.pop("SILK_ENABLED", None)


def database_prepare(database_url: str) -> None:
    """Create the benchmark's database if missing, bring its schema up to date and empty it."""
    import MySQLdb

    url = urlparse(database_url)
    server = MySQLdb.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 3306, user=url.username or "root", passwd=url.password or ""
    )
    server.cursor().execute(
        f"CREATE DATABASE IF NOT EXISTS `{url.path.lstrip('/')}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    server.close()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in sorted(set(connection.introspection.table_names()) - KEPT_TABLES):
            cursor.execute(f"TRUNCATE TABLE `{table}`")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


@dataclass
class Fixture:
    service_id: int  # the demo's customer-service login
    customer_user_id: int  # alice, the demo's customer login
    customer_mobile: str  # alice's customer
    product_id: int
    mobiles: list[str]  # the customers customer service orders for, one per client in turn


def fixture_create() -> Fixture:
    """The demo data, every customer funded for the run, and a full "My orders" list for alice."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from customers.models import Customer
    from customers.services import balance_recharge
    from orders.models import Product
    from orders.services import order_place

    call_command("demo", "--password", uuid.uuid4().hex, "--customers", "12", "--orders", "60", stdout=io.StringIO())
    User = get_user_model()
    admin, alice = User.objects.get(username="admin"), User.objects.get(username="alice")
    product = Product.objects.get(code=PRODUCT)
    product.sandbox_delay_ms = 0
    product.save()
    customers = list(Customer.objects.order_by("mobile"))
    service = User.objects.get(username="service")
    Customer.objects.update(owner=service)  # customer service's scope is its own customers: all of them here
    for customer in customers:
        balance_recharge(customer_id=customer.pk, amount=OPENING_BALANCE, actor=admin, memo="bench")
    mine = alice.customer
    for _ in range(MY_ORDERS_AT_LEAST):
        order_place(customer_id=mine.pk, product_id=product.pk, quantity=1, target=mine.mobile, actor=alice)
    return Fixture(
        service_id=service.pk,
        customer_user_id=alice.pk,
        customer_mobile=mine.mobile,
        product_id=product.pk,
        mobiles=[customer.mobile for customer in customers if customer.pk != mine.pk],
    )


def sessions_open(user_id: int, count: int) -> list[str]:
    """Session keys of `count` signed-in visits of the user, stored where the server reads them."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(pk=user_id)
    keys = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return keys


def statements_record(user_id: int, address: str) -> list[str]:
    """The SQL an admin page runs in its view and template (what the middleware runs is left out: the
    bare page pays that itself), recorded as sent, on the second of two renders (caches warm)."""
    from django.contrib.auth import get_user_model
    from django.contrib.messages.storage import default_storage
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.urls import resolve

    for _ in range(2):
        request = RequestFactory().get(address)
        request.user = get_user_model().objects.get(pk=user_id)
        request.session = {}
        request._messages = default_storage(request)
        match = resolve(request.path_info)
        with CaptureQueriesContext(connection) as captured:
            response = match.func(request, *match.args, **match.kwargs)
            response.render()
        if response.status_code != 200:
            sys.exit(f"{address} answered {response.status_code} while recording its statements")
    return [query["sql"] for query in captured.captured_queries]


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU of one process so far, from /proc (0 for a process that has exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0  # e.g. a worker that just exited
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class Server:
    """gunicorn with its sync workers, and one agent (unless `agent` is false), started for the run and
    stopped after it; `environment` adds to or overrides the bench's own environment for both."""

    def __init__(self, *, workers: int, agent: bool = True, environment: dict[str, str] | None = None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, **(environment or {})}
        self.gunicorn = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "backoffice.wsgi:application",
                "--workers", str(workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}",
                "--chdir", str(ROOT), "--log-level", "warning", "--timeout", "120",
            ],
            cwd=ROOT, env=env,
        )
        self.agent = None
        if agent:
            self.agent = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "runagent", "--name", f"bench-order-desk-{os.getpid()}"],
                cwd=ROOT, env=env,
            )
        self.workers = workers

    def processes(self) -> list[subprocess.Popen]:
        return [process for process in (self.gunicorn, self.agent) if process is not None]

    def ready_wait(self) -> None:
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < self.workers or not self._answers():
            if any(process.poll() is not None for process in self.processes()):
                sys.exit("gunicorn or the agent exited while starting (see its output above)")
            if time.monotonic() > deadline:
                sys.exit("gunicorn did not start within 60 s")
            time.sleep(0.2)

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/admin/login/")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in children.split()]

    def cpu_seconds(self) -> float:
        """User and system CPU of the gunicorn master and its workers so far."""
        return sum(process_cpu_seconds(pid) for pid in [self.gunicorn.pid, *self.worker_pids()])

    def stop(self) -> None:
        for process in self.processes():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


# --- clients ---------------------------------------------------------------------------------------


class Browser:
    """One signed-in person: cookies and one request at a time, a new connection each (gunicorn's sync
    workers close every connection after its response)."""

    def __init__(self, *, port: int, session_key: str, target: str, customer: str | None = None):
        from django.conf import settings

        self.port = port
        self.cookies = {settings.SESSION_COOKIE_NAME: session_key}
        self.target = target  # the mobile its orders top up
        self.customer = customer  # the mobile of the customer it orders for (customer service), else None
        self.profile = ""  # when profiling: how the server profiles its labelled requests

    def request(self, method: str, address: str, fields: dict | None = None, label: str = ""):
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if label and self.profile:
            headers.update({"X-Bench-Page": label, "X-Bench-Profile": self.profile})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, address, body, headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.coded_value
        return response.status, content, int(response.headers.get("X-Bench-Queries", "0"))


@dataclass
class Tally:
    done: int = 0  # orders placed or pages served
    bytes: int = 0
    queries: int = 0
    post_queries: int = 0  # of those, the POSTs'
    errors: list[str] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        self.done += other.done
        self.bytes += other.bytes
        self.queries += other.queries
        self.post_queries += other.post_queries
        self.errors += other.errors


def refusal(status: int, content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    found = ERROR_RE.search(text)
    reason = html.unescape((found.group(1) or found.group(2)).strip()) if found else text[:200]
    return f"{status}: {reason}"


@dataclass
class OrderForm:
    """GET the add form, POST it back filled in; one order."""

    address: str
    product_id: int
    label: str

    def step(self, browser: Browser, tally: Tally) -> None:
        status, page, queries = browser.request("GET", self.address, label=f"{self.label}-get")
        csrf, token = CSRF_RE.search(page.decode()), TOKEN_RE.search(page.decode())
        if status != 200 or not csrf or not token:
            tally.errors.append(f"GET {self.address} {refusal(status, page)}")
            return
        fields = {"product": self.product_id, "quantity": 1, "target": browser.target, "memo": ""}
        if browser.customer:
            fields["customer"] = browser.customer
        fields.update(csrfmiddlewaretoken=csrf.group(1), idempotency_token=token.group(1))
        status, answer, more_queries = browser.request("POST", self.address, fields, label=f"{self.label}-post")
        if status != 302:
            tally.errors.append(f"POST {self.address} {refusal(status, answer)}")
            return
        tally.done += 1
        tally.bytes += len(page) + len(answer)
        tally.queries += queries + more_queries
        tally.post_queries += more_queries


@dataclass
class ListPage:
    address: str
    label: str

    def step(self, browser: Browser, tally: Tally) -> None:
        status, page, queries = browser.request("GET", self.address, label=self.label)
        if status != 200:
            tally.errors.append(f"GET {self.address} {refusal(status, page)}")
            return
        tally.done += 1
        tally.bytes += len(page)
        tally.queries += queries


@dataclass
class Case:
    key: str
    title: str
    unit: str  # what one step makes: "order" or "page"
    who: str  # "service" or "customer"
    admin: object
    bare: object


@dataclass
class Side:
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0
    cpu: float = 0.0


def slice_run(page, browsers: list[Browser], seconds: float, server: Server) -> Side:
    """Every browser repeats the page's step on its own thread until the time is up."""
    tallies = [Tally() for _ in browsers]
    deadline = time.perf_counter() + seconds

    def loop(browser, tally):
        while time.perf_counter() < deadline and len(tally.errors) < 5:
            page.step(browser, tally)

    threads = [threading.Thread(target=loop, args=pair) for pair in zip(browsers, tallies, strict=True)]
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    side = Side(seconds=time.perf_counter() - started, cpu=server.cpu_seconds() - cpu)
    for tally in tallies:
        side.tally.add(tally)
    return side


def case_measure(case: Case, browsers: list[Browser], *, seconds: float, rounds: int, server: Server) -> dict[str, Side]:
    """Admin and bare slices alternate (ABBA...), so drift on a shared machine hits both alike."""
    sides = {"admin": Side(), "bare": Side()}
    for round_ in range(rounds):
        for name in ("admin", "bare") if round_ % 2 == 0 else ("bare", "admin"):
            measured = slice_run(getattr(case, name), browsers, seconds / rounds, server)
            sides[name].tally.add(measured.tally)
            sides[name].seconds += measured.seconds
            sides[name].cpu += measured.cpu
    for name, side in sides.items():
        if side.tally.errors:
            sys.exit(f"({case.key}) {name}: {len(side.tally.errors)} failed steps, first: {side.tally.errors[0]}")
        if not side.tally.done:
            sys.exit(f"({case.key}) {name}: nothing done in {side.seconds:.1f} s")
    return sides


def cases_make(fixture: Fixture, replay_file: Path) -> list[Case]:
    """The cases, and the statements each list page runs recorded for its bare twin."""
    mine = f"/admin/orders/order/?q={fixture.customer_mobile}"
    lists = {
        "c-list": (fixture.service_id, "/admin/orders/order/"),
        "c-search": (fixture.service_id, mine),
        "d-list": (fixture.customer_user_id, "/admin/orders/myorder/"),
    }
    replay_file.write_text(json.dumps({name: statements_record(*page) for name, page in lists.items()}))

    def list_case(key, title, who, name):
        address = lists[name][1]
        return Case(key, title, "page", who, ListPage(address, name), ListPage(f"/bench/bare/list/{name}/", f"{name}-bare"))

    return [
        Case(
            "a", "customer service places an order (add form)", "order", "service",
            OrderForm("/admin/orders/order/add/", fixture.product_id, "a"),
            OrderForm("/bench/bare/order/", fixture.product_id, "a-bare"),
        ),
        Case(
            "b", 'a customer places an order ("My orders" add form)', "order", "customer",
            OrderForm("/admin/orders/myorder/add/", fixture.product_id, "b"),
            OrderForm("/bench/bare/order/", fixture.product_id, "b-bare"),
        ),
        list_case("c", "order list as customer service", "service", "c-list"),
        list_case("c", "order search by mobile as customer service", "service", "c-search"),
        list_case("d", 'the customer\'s own list ("My orders")', "customer", "d-list"),
    ]


def browsers_make(fixture: Fixture, port: int, count: int) -> dict[str, list[Browser]]:
    service = sessions_open(fixture.service_id, count)
    customer = sessions_open(fixture.customer_user_id, count)
    return {
        "service": [
            Browser(port=port, session_key=key, target=mobile, customer=mobile)
            for key, mobile in zip(service, itertools.cycle(fixture.mobiles), strict=False)
        ],
        "customer": [Browser(port=port, session_key=key, target=fixture.customer_mobile) for key in customer],
    }


def warm_up(cases: list[Case], browsers: dict[str, list[Browser]], *, clients: int, rounds: int) -> None:
    """Each worker renders each page before anything is measured (templates, imports, caches)."""
    for case in cases:
        for page in (case.admin, case.bare):
            tallies = [Tally() for _ in range(clients)]

            def loop(browser, tally, page=page):
                for _ in range(rounds):
                    page.step(browser, tally)

            threads = [threading.Thread(target=loop, args=pair) for pair in zip(browsers[case.who], tallies, strict=False)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for tally in tallies:
                if tally.errors:
                    sys.exit(f"warming up: {tally.errors[0]}")


# --- the two modes ---------------------------------------------------------------------------------


def bench_run(args, fixture: Fixture, cases: list[Case], server: Server) -> list:
    clients = [int(n) for n in (args.clients or ("8" if args.quick else "1,8")).split(",")]
    seconds = args.seconds or (3.0 if args.quick else 20.0)
    rounds = args.rounds or (3 if args.quick else 10)
    browsers = browsers_make(fixture, server.port, max(clients))
    warm_up(cases, browsers, clients=WORKERS, rounds=1)
    print(
        f"order desk over HTTP: gunicorn {WORKERS} sync workers + 1 agent, MariaDB + Redis, "
        f"{os.cpu_count()} CPUs; {seconds:g} s per side in {rounds} alternating slices; clients {clients}",
        flush=True,
    )
    results = []
    for count in clients:
        for case in cases:
            sides = case_measure(case, browsers[case.who][:count], seconds=seconds, rounds=rounds, server=server)
            results.append((case, count, sides))
            print(f"  ({case.key}) {case.title}, {count} client(s): done", flush=True)
    return results


def report(results) -> list[dict]:
    print(
        f"\n{'case':<50}{'n':>3}{'admin/s':>9}{'bare/s':>8}{'ratio':>7}{'met':>5}"
        f"{'cpu ms':>8}{'bare':>7}{'bytes':>8}{'bare':>7}{'queries (GET+POST)':>20}{'bare':>10}"
    )
    cases = []
    for case, count, sides in results:
        rate = {name: side.tally.done / side.seconds for name, side in sides.items()}
        cpu = {name: side.cpu * 1000 / side.tally.done for name, side in sides.items()}
        size = {name: side.tally.bytes / side.tally.done for name, side in sides.items()}
        queries = {name: side.tally.queries / side.tally.done for name, side in sides.items()}
        posted = {name: side.tally.post_queries / side.tally.done for name, side in sides.items()}
        split = {side: f"{queries[side] - posted[side]:.0f}+{posted[side]:.0f}" if posted[side] else f"{queries[side]:.0f}" for side in sides}
        ratio = rate["admin"] / rate["bare"]
        target = TARGET if count == TARGET_CLIENTS else None
        met = None if target is None else ratio >= target
        print(
            f"({case.key}) {case.title:<46}{count:>3}{rate['admin']:>9.1f}{rate['bare']:>8.1f}{ratio:>7.2f}"
            f"{'-' if met is None else 'yes' if met else 'NO':>5}{cpu['admin']:>8.1f}{cpu['bare']:>7.1f}"
            f"{size['admin']:>8.0f}{size['bare']:>7.0f}{split['admin']:>20}{split['bare']:>10}"
        )
        label = f"({case.key}) {case.title}, {count} client{'s' if count > 1 else ''}"
        figures = [  # figure, unit, values, better, target, met
            (f"{case.unit}s per second", f"{case.unit}s/s", rate, "higher", target, met),
            (f"web-server CPU per {case.unit}", "ms", cpu, "lower", None, None),
            (f"response bytes per {case.unit}", "bytes", size, "lower", None, None),
        ]
        if case.unit == "order":
            gets = {side: queries[side] - posted[side] for side in sides}
            figures.append(("queries per request, the form's GET", "queries", gets, "lower", None, None))
            figures.append(("queries per request, its POST", "queries", posted, "lower", None, None))
        else:
            figures.append(("queries per page", "queries", queries, "lower", None, None))
        for figure, unit, values, better, case_target, case_met in figures:
            cases.append(
                {
                    "name": f"{label}: {figure}",
                    "unit": unit,
                    "value": round(values["admin"], 2),
                    "baseline": round(values["bare"], 2),
                    "ratio": round(values["admin"] / values["bare"], 3),
                    "target": case_target,
                    "better": better,
                    "met": case_met,
                }
            )
    print("(per order: the form's GET and its POST together; cpu: gunicorn master and workers, from /proc)")
    return cases


def profile_run(args, fixture: Fixture, cases: list[Case], server: Server) -> None:
    """Each page `--requests` times from one client into the one worker: under cProfile, then again
    sampled on CPU time with each template's own time measured."""
    browsers = browsers_make(fixture, server.port, 1)
    warm_up(cases, browsers, clients=1, rounds=3)  # not profiled
    for mode in ("calls", "samples"):
        for browser in (browsers["service"][0], browsers["customer"][0]):
            browser.profile = mode
        for case in cases:
            for page in (case.admin, case.bare):
                tally = Tally()
                for _ in range(args.requests):
                    page.step(browsers[case.who][0], tally)
                if tally.errors:
                    sys.exit(tally.errors[0])
    browsers["service"][0].request("GET", "/bench/profile/dump/")


# Frames every request or every template passes through: left out of the inclusive lists, as are those
# in (nearly) every sample.
PASS_THROUGH = re.compile(
    r"^django/(core/handlers|utils/deprecation|utils/decorators|views/decorators|template/(base|loader_tags|defaulttags"
    r"|library|response|backends/django|context))\.py|^bench/|(middleware|security)\.py:\d+\(__call__\)"
)


def where(filename: str) -> str:
    return filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]


def profile_print(directory: Path, label: str, top: int = 25) -> None:
    sampled = json.loads((directory / f"{label}.samples.json").read_text())
    requests, cpu = sampled["requests"], sampled["cpu_seconds"] * 1000 / sampled["requests"]
    samples = sum(sampled["stacks"].values())
    # ms of CPU one sample stands for, per request (a page cheap enough may have no sample at all)
    per_sample = cpu / samples * requests if samples else 0.0
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    for stack, count in sampled["stacks"].items():
        frames = [where(frame) for frame in stack.split("\n")]
        own[frames[0]] = own.get(frames[0], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    print(f"\n== {label}: {cpu:.1f} ms CPU per request ({requests} requests, {samples} samples)")
    print(f"{'cpu ms':>8}{'own ms':>8}  function (sampled on CPU time, per request; pass-through frames left out)")
    kept = sorted(
        (frame for frame in inclusive if inclusive[frame] < 0.97 * samples and not PASS_THROUGH.search(frame)),
        key=lambda frame: -inclusive[frame],
    )
    for frame in kept[:top]:
        print(f"{inclusive[frame] * per_sample / requests:>8.2f}{own.get(frame, 0) * per_sample / requests:>8.2f}  {frame}")
    print("-- by own time")
    for frame in sorted(own, key=lambda frame: -own[frame])[:10]:
        print(f"{inclusive[frame] * per_sample / requests:>8.2f}{own[frame] * per_sample / requests:>8.2f}  {frame}")
    print("-- templates by own rendering time (wall; included and extended ones apart)")
    templates = sorted(sampled["templates"].items(), key=lambda item: -item[1][0])
    for name, (seconds, renders) in templates[:10]:
        print(f"{seconds * 1000 / requests:>8.2f} ms{renders / requests:>7.1f} renders  {name}")
    profiled = directory / f"{label}.prof"
    if profiled.exists():
        count = int((directory / f"{label}.count").read_text())
        stats = pstats.Stats(str(profiled)).stats
        print(f"-- cProfile ({count} requests; wall time, so waits for the database count): calls per request")
        entries = [
            (cumulative * 1000 / count, calls / count, f"{where(filename)}:{line}({function})")
            for (filename, line, function), (_primitive, calls, _own, cumulative, _callers) in stats.items()
        ]
        kept = sorted((entry for entry in entries if not PASS_THROUGH.search(entry[2])), reverse=True)
        for cumulative, calls, name in kept[:top]:
            print(f"{cumulative:>8.2f} ms{calls:>8.1f} calls  {name}")


# --- the replica case ------------------------------------------------------------------------------

REPLICA_READERS = 4  # customer-service staff who only read the order list, beside the TARGET_CLIENTS placing orders
REPLICA_LIST = "/admin/orders/order/"
REPLICA_LIST_TARGET = 1.0  # the list's pages/s with reads on the replica, at least those with every read on the primary
REPLICA_CPU_TARGET = 1.0  # the primary's CPU per placed order must not grow with the replica


def replica_pair_module():
    from backoffice.scripts import replica_pair

    return replica_pair


def replica_wait(pair, timeout: float = 120) -> None:
    """Until the replica has applied everything the primary has written so far."""
    primary, replica = pair.connect(pair.PRIMARY), pair.connect(pair.REPLICA)
    try:
        cursor = primary.cursor()
        cursor.execute("SELECT @@gtid_binlog_pos")
        position = cursor.fetchone()[0]
        cursor = replica.cursor()
        cursor.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (position, timeout))
        if cursor.fetchone()[0] != 0:
            sys.exit(f"the replica did not reach the primary's position {position} within {timeout:g} s")
    finally:
        primary.close()
        replica.close()


class ServerStatus:
    """The two MariaDB servers of the pair as the replica case watches them: CPU from /proc and
    `Com_select` (SELECT statements run by clients; the replica's own replication threads run none)."""

    def __init__(self, pair):
        self.pids = {name: pair.running_pid(name) for name in (pair.PRIMARY, pair.REPLICA)}
        if None in self.pids.values():
            sys.exit(f"a server of the replica pair is not running: {self.pids}")
        self.connections = {name: pair.connect(name) for name in self.pids}
        self.primary, self.replica = pair.PRIMARY, pair.REPLICA

    def read(self) -> dict[str, float]:
        figures = {}
        for name, connection in self.connections.items():
            cursor = connection.cursor()
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
            figures[f"{name}_selects"] = int(cursor.fetchone()[1])
            figures[f"{name}_cpu"] = process_cpu_seconds(self.pids[name])
        return figures

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


@dataclass
class ReplicaSlice:
    seconds: float
    orders: int
    pages: int
    list_queries: int  # the list pages' queries on the web server's primary connection (X-Bench-Queries)
    web_cpu: float
    primary_cpu: float
    replica_cpu: float
    primary_selects: int
    replica_selects: int

    def add(self, other: "ReplicaSlice") -> "ReplicaSlice":
        return ReplicaSlice(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))


def replica_slice_run(placers: list[Browser], readers: list[Browser], *, product_id: int, seconds: float, server: Server,
                      status: ServerStatus) -> ReplicaSlice:
    """The placers place orders through the add form, the readers load the order list, all at once."""
    placing, reading = OrderForm("/admin/orders/order/add/", product_id, "r"), ListPage(REPLICA_LIST, "r-list")
    jobs = [(placing, browser, Tally()) for browser in placers] + [(reading, browser, Tally()) for browser in readers]
    deadline = time.perf_counter() + seconds

    def loop(page, browser, tally):
        while time.perf_counter() < deadline and len(tally.errors) < 5:
            page.step(browser, tally)

    threads = [threading.Thread(target=loop, args=job) for job in jobs]
    before, web = status.read(), server.cpu_seconds()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    after, web = status.read(), server.cpu_seconds() - web
    for page, _browser, tally in jobs:
        if tally.errors:
            sys.exit(f"replica case, {page.label}: {len(tally.errors)} failed steps, first: {tally.errors[0]}")
    orders = sum(tally.done for page, _browser, tally in jobs if page is placing)
    pages = sum(tally.done for page, _browser, tally in jobs if page is reading)
    if not orders or not pages:
        sys.exit(f"replica case: {orders} orders and {pages} list pages in a {elapsed:.1f} s slice")
    return ReplicaSlice(
        seconds=elapsed,
        orders=orders,
        pages=pages,
        list_queries=sum(tally.queries for page, _browser, tally in jobs if page is reading),
        web_cpu=web,
        **{name: after[name] - before[name] for name in ("primary_cpu", "replica_cpu", "primary_selects", "replica_selects")},
    )


def replica_browsers(fixture: Fixture, servers: dict[str, Server]) -> dict[str, tuple[list[Browser], list[Browser]]]:
    """Per server: the placers (customer service, each ordering for its own customer) and the readers (customer
    service too, in sessions of their own that never write, so never pinned to the primary)."""
    keys = sessions_open(fixture.service_id, TARGET_CLIENTS + REPLICA_READERS)
    placing, reading = keys[:TARGET_CLIENTS], keys[TARGET_CLIENTS:]
    mobiles = list(itertools.islice(itertools.cycle(fixture.mobiles), TARGET_CLIENTS))
    return {
        name: (
            [Browser(port=server.port, session_key=key, target=mobile, customer=mobile) for key, mobile in zip(placing, mobiles, strict=True)],
            [Browser(port=server.port, session_key=key, target=fixture.customer_mobile) for key in reading],
        )
        for name, server in servers.items()
    }


def replica_run(args, pair, fixture: Fixture, servers: dict[str, Server]) -> dict[str, list[ReplicaSlice]]:
    seconds = args.seconds or (8.0 if args.quick else 40.0)
    rounds = args.rounds or (4 if args.quick else 10)
    browsers = replica_browsers(fixture, servers)
    status = ServerStatus(pair)
    for name, server in servers.items():  # every worker of both servers renders both pages first
        replica_slice_run(*browsers[name], product_id=fixture.product_id, seconds=1.5, server=server, status=status)
    print(
        f"order desk over HTTP, replica case: {TARGET_CLIENTS} clients place orders while {REPLICA_READERS} read the "
        f"order list; gunicorn {WORKERS} sync workers per side + 1 agent; primary 127.0.0.1:{pair.PORTS[pair.PRIMARY]}, "
        f"replica 127.0.0.1:{pair.PORTS[pair.REPLICA]}; {os.cpu_count()} CPUs shared by everything; "
        f"{seconds:g} s per side in {rounds} alternating slices",
        flush=True,
    )
    slices: dict[str, list[ReplicaSlice]] = {"replica": [], "primary": []}
    try:
        for round_ in range(rounds):
            for name in ("replica", "primary") if round_ % 2 == 0 else ("primary", "replica"):
                measured = replica_slice_run(
                    *browsers[name], product_id=fixture.product_id, seconds=seconds / rounds, server=servers[name], status=status
                )
                slices[name].append(measured)
                print(
                    f"  round {round_ + 1} {name:>7}: list {measured.pages / measured.seconds:6.1f} p/s, orders "
                    f"{measured.orders / measured.seconds:5.1f}/s, primary {measured.primary_cpu * 1000 / measured.orders:5.1f} "
                    f"ms/order, replica selects {measured.replica_selects}",
                    flush=True,
                )
    finally:
        status.close()
    replica_wait(pair)
    return slices


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[len(ordered) // 2]:.2f} ({ordered[0]:.2f}-{ordered[-1]:.2f})"


def replica_report(slices: dict[str, list[ReplicaSlice]]) -> list[dict]:
    total = {name: functools.reduce(ReplicaSlice.add, measured) for name, measured in slices.items()}
    figures = [  # figure, unit, better, target, the figure of a side
        ("order list pages per second", "pages/s", "higher", REPLICA_LIST_TARGET, lambda s: s.pages / s.seconds),
        ("primary MariaDB CPU per placed order", "ms", "lower", REPLICA_CPU_TARGET, lambda s: s.primary_cpu * 1000 / s.orders),
        ("orders placed per second", "orders/s", "higher", None, lambda s: s.orders / s.seconds),
        ("replica MariaDB CPU per placed order", "ms", "lower", None, lambda s: s.replica_cpu * 1000 / s.orders),
        (
            "both MariaDB servers' CPU per second", "CPU s/s", "lower", None, lambda s: (s.primary_cpu + s.replica_cpu) / s.seconds,
        ),
        ("web-server CPU per second", "CPU s/s", "lower", None, lambda s: s.web_cpu / s.seconds),
        ("SELECTs on the replica per list page", "queries", "higher", None, lambda s: s.replica_selects / s.pages),
        (
            "a list page's queries on the primary connection", "queries", "lower", None, lambda s: s.list_queries / s.pages,
        ),
    ]
    if total["replica"].replica_selects < total["replica"].pages:
        sys.exit(f"the list did not read from the replica: {total['replica'].replica_selects} SELECTs for {total['replica'].pages} pages")
    print(f"\n{'replica case':<52}{'replica':>9}{'primary':>9}{'ratio':>7}{'target':>8}{'met':>5}   per round, replica / primary: median (range)")
    cases = []
    for figure, unit, better, target, value in figures:
        replica, primary = value(total["replica"]), value(total["primary"])
        ratio = replica / primary if primary else None
        met = None
        if target is not None:
            met = ratio >= target if better == "higher" else ratio <= target
        rounds = [value(a) / value(b) for a, b in zip(slices["replica"], slices["primary"], strict=True) if value(b)]
        shown_target = "-" if target is None else f"{'>=' if better == 'higher' else '<='}{target:g}"
        print(
            f"{figure:<52}{replica:>9.2f}{primary:>9.2f}{'-' if ratio is None else f'{ratio:.2f}':>7}{shown_target:>8}"
            f"{'-' if met is None else 'yes' if met else 'NO':>5}   {spread(rounds) if rounds else '-'}"
        )
        cases.append(
            {
                "name": f"(r) reads on the replica vs on the primary, {REPLICA_READERS} list readers while "
                f"{TARGET_CLIENTS} clients place orders: {figure}",
                "unit": unit,
                "value": round(replica, 2),
                "baseline": round(primary, 2),
                "ratio": None if ratio is None else round(ratio, 3),
                "target": target,
                "better": better,
                "met": met,
            }
        )
    print(
        "(replica: the server with REPLICA_DATABASE_URLS, lists read from 127.0.0.1:3307; primary: the same without; "
        "CPU from /proc; both MariaDB servers, gunicorn and the clients share this machine's CPUs)"
    )
    return cases


def replica_main(args) -> None:
    """The replica case: a replica pair of its own, the bench's database on its primary, and two servers on
    it, one reading the lists from the replica and one without replicas, measured in alternation."""
    pair = replica_pair_module()
    if pair.STATE.exists() or any(pair.port_taken(port) for port in pair.PORTS.values()):
        sys.exit(
            f"A replica pair is already running ({pair.STATE}, ports {sorted(pair.PORTS.values())}), maybe another "
            "run's tests: this case starts and removes its own. Stop that one first "
            "(`python backoffice/scripts/replica_pair.py stop`) if it is yours."
        )
    name = urlparse(args.database_url).path.lstrip("/") or "bench_order_desk"
    args.database_url = f"mysql://root@127.0.0.1:{pair.PORTS[pair.PRIMARY]}/{name}"
    replica_url = f"mysql://root@127.0.0.1:{pair.PORTS[pair.REPLICA]}/{name}"
    environment_set(args)
    os.environ.pop("REPLICA_DATABASE_URLS", None)
    os.environ["BENCH_REPLAY_FILE"] = os.devnull  # no bare pages in this case
    pair.start()
    servers: dict[str, Server] = {}
    try:
        database_prepare(args.database_url)  # on the primary; the replica follows through the binary log
        fixture = fixture_create()
        replica_wait(pair)
        servers["replica"] = Server(workers=WORKERS, agent=False, environment={"REPLICA_DATABASE_URLS": replica_url})
        servers["primary"] = Server(workers=WORKERS)  # the one agent, on the primary whichever server placed the order
        for server in servers.values():
            server.ready_wait()
        slices = replica_run(args, pair, fixture, servers)
        from django.core.management import call_command

        for server in servers.values():
            server.stop()
        call_command("reconcile", stdout=io.StringIO())  # raises on any broken money invariant
        print("reconcile: every balance equals its ledger")
    finally:
        for server in servers.values():
            server.stop()
        redis_clean(args.redis_url)
        pair.stop()
    cases_json = replica_report(slices)
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases_json}, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")


def redis_clean(url: str) -> None:
    """Remove this run's sessions, cache entries and ready-queue from Redis."""
    import redis

    client = redis.Redis.from_url(url)
    client.delete(os.environ["READY_QUEUE_KEY"])
    for key in client.scan_iter(match=f"{os.environ['REDIS_KEY_PREFIX']}:*", count=1000):
        client.delete(key)


def main() -> None:
    args = arguments_parse()
    gunicorn_check()
    if args.replica_case:
        replica_main(args)
        return
    environment_set(args)
    database_prepare(args.database_url)
    with tempfile.TemporaryDirectory(prefix="bench-order-desk-") as workdir:
        workdir = Path(args.profile_dir or workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        os.environ["BENCH_REPLAY_FILE"] = str(workdir / "replay.json")
        if args.profile:
            os.environ["BENCH_PROFILE_DIR"] = str(workdir)
        server = Server(workers=1 if args.profile else WORKERS)  # starts while the data is made
        try:
            fixture = fixture_create()
            cases = cases_make(fixture, workdir / "replay.json")
            server.ready_wait()
            if args.profile:
                profile_run(args, fixture, cases, server)
            else:
                results = bench_run(args, fixture, cases, server)
        finally:
            server.stop()
            redis_clean(args.redis_url)
        if args.profile:
            for sampled in sorted(workdir.glob("*.samples.json")):
                profile_print(workdir, sampled.name.removesuffix(".samples.json"))
            return
    from django.core.management import call_command

    call_command("reconcile", stdout=io.StringIO())  # raises on any broken money invariant
    print("reconcile: every balance equals its ledger")
    cases_json = report(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases_json}, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
