"""The ready-queue: a Redis list of order ids pushed on commit to wake agents.

It is only a wake-up signal: the database stays the source of truth, so a lost push or a Redis
outage delays an order until the next database poll and never loses it.
"""

import functools
import logging
import time

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.redis_address import redis_client

logger = logging.getLogger(__name__)

# Short timeouts and one retry: a Redis outage may cost a placement a second or two, never hang it;
# the retry, on a new connection, covers one that Redis closed (an idle timeout, a restart).
CLIENT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2, "retry": Retry(NoBackoff(), 1)}
QUIET_AFTER_FAILURE_SECONDS = 1
_quiet_until = 0.0  # after a failed push, none is tried before this (agents poll meanwhile)


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis_client(url, **CLIENT_OPTIONS)


def ready_queue_client() -> redis.Redis | None:
    """The ready-queue's Redis client, or None on the embedded default (no Redis configured)."""
    return _client_for(settings.REDIS_URL) if settings.REDIS_URL else None


def ready_queue_push(order_id: int) -> None:
    global _quiet_until
    client = ready_queue_client()
    if client is None or time.monotonic() < _quiet_until:
        return
    try:
        client.rpush(settings.READY_QUEUE_KEY, order_id)
    except redis.RedisError as exc:
        # Only a connection failure makes the next pushes wait: a refused push (out of memory, a
        # read-only replica) says nothing about the next one.
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            _quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
        logger.warning("ready-queue push of order %s failed, agents will find it by polling: %s", order_id, exc)
