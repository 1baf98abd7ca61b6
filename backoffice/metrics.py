"""Prometheus metrics at /metrics, for operations.

The order, queue and agent figures are read from the database at each scrape (agent.selectors): orders are
placed by every web process on every machine and finished by agents on others, so only the database sees
them all, and the figures survive restarts. Request latency is measured in each web process; with several
gunicorn workers their samples are summed through files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode; the serve command makes the folder).

Like the probes, /metrics is answered by the first middleware (a scraper asks each machine by its address
over plain HTTP), and only to a scraper the environment names: METRICS_TOKEN (sent as
`Authorization: Bearer <token>`) and/or METRICS_ALLOWED_ADDRESSES (client addresses or networks, as
rbac.addresses resolves them). With neither set, or to anyone else, it is 404.
"""

import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.http import HttpResponse
from multidb.pinning import use_primary_db
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from agent.selectors import order_status_counts, queue_summary
from orders.models import Order
from rbac.addresses import client_address

METRICS_PATH = "/metrics"
UNSEEN_PATHS = ("/healthz", "/readyz", METRICS_PATH)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}  # any other is "other": labels stay few

REQUEST_SECONDS = Histogram(
    "backoffice_request_duration_seconds",
    "Time from the request reaching Django to its response, by view.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class DatabaseFigures:
    """The order, queue and agent figures, read at each scrape."""

    def collect(self):
        counts = order_status_counts()
        placed = CounterMetricFamily("backoffice_orders_placed", "Orders placed, ever.")
        placed.add_metric([], sum(counts.values()))
        finished = CounterMetricFamily(
            "backoffice_orders_finished", "Orders that reached an end, by how they ended.", labels=["status"]
        )
        for status in (Order.Status.SUCCEEDED, Order.Status.FAILED, Order.Status.CANCELLED):
            finished.add_metric([status], counts.get(status, 0))
        summary = queue_summary()
        depth = GaugeMetricFamily("backoffice_queue_depth", "Orders waiting, by status.", labels=["status"])
        depth.add_metric([Order.Status.PENDING], summary.pending)
        depth.add_metric([Order.Status.RUNNING], summary.running)
        oldest = GaugeMetricFamily(
            "backoffice_queue_oldest_pending_age_seconds", "Age of the oldest pending order (0 with none)."
        )
        oldest.add_metric([], summary.oldest_pending_age.total_seconds() if summary.oldest_pending_age else 0)
        agents = GaugeMetricFamily("backoffice_agents_alive", "Agents that heartbeat within the last 30 s.")
        agents.add_metric([], summary.agents_alive)
        yield from (placed, finished, depth, oldest, agents)


def _scraper_allowed(request) -> bool:
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES
    if not token and not networks:
        return False
    if token:
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
            return False
    if networks:
        try:
            address = ipaddress.ip_address(client_address(request) or "")
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
    return True


def metrics_response(request) -> HttpResponse:
    if not _scraper_allowed(request):
        return HttpResponse("Not Found", status=404, content_type="text/plain; charset=utf-8")
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every worker's samples, from their files
    else:
        registry.register(REGISTRY)  # this process's, with its own process and GC figures
    registry.register(DatabaseFigures())
    with use_primary_db:  # the figures as they are, the same whichever machine answers (read replicas lag each their own way)
        figures = generate_latest(registry)
    response = HttpResponse(figures, content_type="text/plain; version=0.0.4; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    """Answers /metrics; times every other request but the probes, by the view that answered it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == METRICS_PATH:
            return metrics_response(request)
        if request.path in UNSEEN_PATHS:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unresolved"  # not found: no path as a label, they are endless
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(view, method).observe(time.perf_counter() - started)
        return response
