"""Reads for the operations view of agents and the order queue."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone

from agent.models import Agent
from orders.models import Order

# An agent heartbeats at least every 5 s; missing six in a row means it is gone.
AGENT_ALIVE_SECONDS = 30


def agent_is_alive(agent: Agent) -> bool:
    return agent.stopped_at is None and agent.last_seen_at >= timezone.now() - timedelta(seconds=AGENT_ALIVE_SECONDS)


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    running: int
    oldest_pending_age: timedelta | None
    agents_alive: int


def queue_summary() -> QueueSummary:
    counts = dict(
        Order.objects.filter(status__in=[Order.Status.PENDING, Order.Status.RUNNING])
        .values_list("status")
        .annotate(n=Count("id"))
    )
    oldest = Order.objects.filter(status=Order.Status.PENDING).aggregate(oldest=Min("created_at"))["oldest"]
    alive_since = timezone.now() - timedelta(seconds=AGENT_ALIVE_SECONDS)
    return QueueSummary(
        pending=counts.get(Order.Status.PENDING, 0),
        running=counts.get(Order.Status.RUNNING, 0),
        oldest_pending_age=timezone.now() - oldest if oldest else None,
        agents_alive=Agent.objects.filter(stopped_at__isnull=True, last_seen_at__gte=alive_since).count(),
    )


def order_status_counts() -> dict[str, int]:
    """How many orders are in each status (a status with none is missing)."""
    return dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
