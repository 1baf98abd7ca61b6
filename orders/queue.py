"""The ready-queue: a Redis list of order ids pushed on commit to wake agents.

It is only a wake-up signal: the database stays the source of truth, so a lost push or a Redis
outage delays an order until the next database poll and never loses it.
"""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def ready_queue_client():
    """The Redis client behind the cache, or None on the embedded default (no Redis configured)."""
    if not settings.REDIS_URL:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def ready_queue_push(order_id: int) -> None:
    client = ready_queue_client()
    if client is None:
        return
    try:
        client.rpush(settings.READY_QUEUE_KEY, order_id)
    except Exception as exc:  # noqa: BLE001 - any Redis failure only costs latency
        logger.warning("ready-queue push of order %s failed, agents will find it by polling: %s", order_id, exc)
