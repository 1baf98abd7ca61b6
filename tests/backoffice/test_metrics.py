"""/metrics for Prometheus: only for the scraper the environment names, with the order, queue and agent
figures read from the database and the request latency of every gunicorn worker summed."""

import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from agent.models import Agent
from customers.services import balance_recharge
from orders.services import order_cancel, order_claim, order_fail, order_place, order_succeed
from tests.agent.conftest import subprocess_database_url, wait_until
from tests.backoffice.conftest import environment_outside_tests
from tests.backoffice.test_health import unused_port
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.content.decode())


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_without_a_token_or_addresses_there_is_no_endpoint(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=SCRAPER).status_code == 404


def test_only_the_token_opens_it_over_plain_http_by_address(token, settings):
    settings.SECURE_SSL_REDIRECT = True  # production mode: everything else goes to HTTPS
    settings.ALLOWED_HOSTS = ["bo.example.com"]  # a scraper asks by the machine's address
    client = Client(headers={"host": "10.0.0.7:8000"})
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404  # not as a bearer token
    assert client.get("/metrics", headers=SCRAPER).status_code == 200
    assert "Set-Cookie" not in client.get("/metrics", headers=SCRAPER).headers


def test_or_the_addresses_do(settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", "192.0.2.7"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.8").get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN  # both set: both needed
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 404
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics", headers=SCRAPER).status_code == 200


def test_the_order_queue_and_agent_figures_are_the_database_s(token, client, customer, product):
    balance_recharge(customer_id=customer.pk, amount="1000", actor=None)
    orders = [
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target=f"t{n}", actor=None)
        for n in range(5)
    ]
    order_cancel(order_id=orders[0].pk, actor=None)
    claimed = order_claim(agent="a1", limit=3, lease_seconds=60, order_ids=[o.pk for o in orders[1:4]])
    order_succeed(order_id=claimed[0].pk, agent="a1")
    order_fail(order_id=claimed[1].pk, agent="a1", error="no", transient=False)
    now = timezone.now()
    for name, seen in (("alive", now), ("silent", now - timedelta(minutes=5))):
        Agent.objects.create(name=name, host="h", pid=1, started_at=now - timedelta(hours=1), last_seen_at=seen)
    oldest = orders[4].created_at

    figures = scrape(client, **SCRAPER)
    assert figures[("backoffice_orders_placed_total", ())] == 5
    finished = {status: figures[("backoffice_orders_finished_total", (("status", status),))]
                for status in ("succeeded", "failed", "cancelled")}
    assert finished == {"succeeded": 1, "failed": 1, "cancelled": 1}
    assert figures[("backoffice_queue_depth", (("status", "pending"),))] == 1
    assert figures[("backoffice_queue_depth", (("status", "running"),))] == 1
    age = figures[("backoffice_queue_oldest_pending_age_seconds", ())]
    assert 0 < age <= (timezone.now() - oldest).total_seconds()
    assert figures[("backoffice_agents_alive", ())] == 1


def test_each_view_s_latency_is_counted_and_the_probes_are_not(token, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    key = ("backoffice_request_duration_seconds_count", (("method", "GET"), ("view", "admin:index")))
    before = scrape(client, **SCRAPER).get(key, 0)
    for _ in range(3):
        assert client.get(reverse("admin:index")).status_code == 200
        client.get("/healthz")
    assert client.get("/no-such-page/").status_code == 404
    figures = scrape(client, **SCRAPER)
    assert figures[key] == before + 3
    assert not [name for name, labels in figures if dict(labels).get("view") in {"/healthz", "/metrics"}]
    assert figures[("backoffice_request_duration_seconds_count", (("method", "GET"), ("view", "unresolved")))] >= 1


@pytest.mark.django_db(transaction=True)
def test_several_gunicorn_workers_count_every_request_in_every_scrape(tmp_path):
    """Whichever worker answers a scrape, it reports the requests all the workers answered."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    port = unused_port()
    environment = environment_outside_tests() | {
        "EMBEDDED_DEMO": "1",
        "DATABASE_URL": subprocess_database_url(),
        "BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "2",
        "WEB_THREADS": "1",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "backoffice/gunicorn.conf.py"],
            env=environment, cwd=django_settings.BASE_DIR, stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def get(path: str, headers: dict | None = None) -> bytes:
        with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers or {}), timeout=30) as answer:
            return answer.read()

    def answers() -> bool:
        try:
            return get("/healthz") == b"ok"
        except OSError:
            assert gunicorn.poll() is None, log.read_text()
            return False

    try:
        wait_until(answers, timeout=60, message="gunicorn")
        requests = 40
        with ThreadPoolExecutor(max_workers=4) as pool:  # more clients than workers: both are kept busy
            list(pool.map(lambda _n: get("/admin/login/"), range(requests)))
        assert len(list(folder.glob("histogram_*.db"))) == 2  # both workers answered some
        key = ("backoffice_request_duration_seconds_count", (("method", "GET"), ("view", "admin:login")))
        for _ in range(6):  # answered by either worker
            assert samples(get("/metrics", SCRAPER).decode())[key] == requests
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=40)
