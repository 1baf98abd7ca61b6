"""The ready-queue: a Redis list of order ids pushed on commit to wake agents.

It is only a wake-up signal: the database stays the source of truth, so a lost push or a Redis
outage delays an order until the next database poll and never loses it.
"""

import functools
import logging
import os
import threading

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Short timeouts: a Redis outage may cost a placement a second, never hang it.
TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 2}


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **TIMEOUTS)


def ready_queue_client() -> redis.Redis | None:
    """The ready-queue's Redis client, or None on the embedded default (no Redis configured)."""
    return _client_for(settings.REDIS_URL) if settings.REDIS_URL else None


class _Pusher:
    """One connection per process with Redis's replies switched off (CLIENT REPLY OFF), so a push
    is one write to the socket instead of a round trip: about a tenth of an order's placement.

    A wake-up signal needs no answer. What goes unheard is a push Redis itself refuses (out of
    memory, say), which agents find by polling like any lost push.
    """

    def __init__(self, url: str):
        pool = redis.ConnectionPool.from_url(url, client_name="orders-ready-queue", **TIMEOUTS)
        self.connection = pool.make_connection()
        self.connection.register_connect_callback(self._replies_off)
        self.lock = threading.Lock()  # web servers push from several threads

    def _replies_off(self, connection) -> None:
        connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)

    def push(self, key: str, order_id: int) -> None:
        with self.lock:
            if self.connection.is_connected:
                try:
                    # With replies off, the only thing to read is the server hanging up (an idle
                    # timeout, a restart): reconnect rather than write into a dead socket.
                    hung_up = self.connection.can_read()
                except redis.ConnectionError:
                    hung_up = True
                if hung_up:
                    self.connection.disconnect()
            self.connection.send_command("RPUSH", key, order_id, check_health=False)


@functools.cache
def _pusher_for(url: str, pid: int) -> _Pusher:
    return _Pusher(url)  # per process: a forked child must not write into its parent's socket


def ready_queue_push(order_id: int) -> None:
    if not settings.REDIS_URL:
        return
    try:
        _pusher_for(settings.REDIS_URL, os.getpid()).push(settings.READY_QUEUE_KEY, order_id)
    except redis.RedisError as exc:
        logger.warning("ready-queue push of order %s failed, agents will find it by polling: %s", order_id, exc)
