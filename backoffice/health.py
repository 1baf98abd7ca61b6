"""Probes for load balancers and process supervisors.

/healthz: the process answers (200 "ok"). /readyz: its database and, when REDIS_URL is set, its Redis
answer (200 "ok"; else 503 naming only the failing component, one a line). Answered by the first
middleware, before host validation, the HTTPS redirect, sessions, CSRF and sign-in: a balancer probes
each machine by its own address over plain HTTP, and a probe should cost one query at most. Why a
component failed goes to the log (a warning), never into the answer.
"""

import logging

from django.db import connection
from django.http import HttpResponse

from orders.queue import ready_queue_client

logger = logging.getLogger(__name__)

PROBE_PATHS = ("/healthz", "/readyz")


class ProbesUnlogged(logging.Filter):
    """Drops django.request's line for a probe answered 503 (a balancer asks every few seconds, and
    components_failing has logged what failed and why)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(getattr(record, "request", None), "path", None) not in PROBE_PATHS


def components_failing() -> list[str]:
    failing = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the database is not answering
        logger.warning("readiness: the database does not answer: %r", exc)
        failing.append("database")
    redis_client = ready_queue_client()
    if redis_client is not None:
        try:
            redis_client.ping()
        except Exception as exc:  # noqa: BLE001 - likewise for Redis
            logger.warning("readiness: Redis does not answer: %r", exc)
            failing.append("redis")
    return failing


def probe_response(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class HealthProbesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return probe_response(200, "ok")
        if request.path == "/readyz":
            failing = components_failing()
            return probe_response(503, "\n".join(failing)) if failing else probe_response(200, "ok")
        return self.get_response(request)
