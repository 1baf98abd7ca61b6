"""The ready-queue: a Redis list of order ids pushed on commit to wake agents.

It is only a wake-up signal: the database stays the source of truth, so a lost push or a Redis
outage delays an order until the next database poll and never loses it.
"""

import functools
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def _client_for(url: str) -> redis.Redis:
    # Short timeouts: a Redis outage may cost a placement a second, never hang it.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def ready_queue_client() -> redis.Redis | None:
    """The ready-queue's Redis client, or None on the embedded default (no Redis configured)."""
    return _client_for(settings.REDIS_URL) if settings.REDIS_URL else None


def ready_queue_push(order_id: int) -> None:
    client = ready_queue_client()
    if client is None:
        return
    try:
        client.rpush(settings.READY_QUEUE_KEY, order_id)
    except redis.RedisError as exc:
        logger.warning("ready-queue push of order %s failed, agents will find it by polling: %s", order_id, exc)
