"""The ready-queue: a Redis list of order ids pushed on commit to wake agents.

It is only a wake-up signal: the database stays the source of truth, so a lost push or a Redis
outage delays an order until the next database poll and never loses it.
"""

import functools
import logging
import os
import threading
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Short timeouts: a Redis outage may cost a placement a second or two, never hang it.
TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 2}
QUIET_AFTER_FAILURE_SECONDS = 1


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **TIMEOUTS)


def ready_queue_client() -> redis.Redis | None:
    """The ready-queue's Redis client, or None on the embedded default (no Redis configured)."""
    return _client_for(settings.REDIS_URL) if settings.REDIS_URL else None


class _Pusher:
    """This process's writer to the ready-queue: one connection, shared by the process's threads,
    that sends each push without waiting for Redis's reply (the wait was about 5 % of a placement).
    The replies are read at the next push, so a push Redis refuses (out of memory, a read-only
    replica) is still logged, one push late.
    """

    def __init__(self, url: str):
        pool = redis.ConnectionPool.from_url(url, client_name=f"orders-ready-queue-{os.getpid()}", **TIMEOUTS)
        self.connection = pool.make_connection()
        self.lock = threading.Lock()  # web servers push from several threads
        self.unanswered = 0
        self.waiting_since = 0.0  # when the oldest unanswered push was sent, or the last reply came
        self.quiet_until = 0.0

    def push(self, key: str, order_id: int) -> None:
        with self.lock:
            if time.monotonic() < self.quiet_until:
                return  # Redis failed a moment ago: agents poll meanwhile, and threads do not queue here
            try:
                self._replies_read()
            except redis.ConnectionError:
                self._disconnect()  # hung up (an idle timeout, a restart) or silent: reconnect below
            try:
                self.connection.send_command("RPUSH", key, order_id, check_health=False)
            except redis.RedisError:
                self._disconnect()
                self.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
                raise
            if not self.unanswered:
                self.waiting_since = time.monotonic()
            self.unanswered += 1

    def _replies_read(self) -> None:
        if not self.connection.is_connected:
            return
        while self.connection.can_read():  # raises ConnectionError once Redis has hung up
            self.unanswered -= 1
            self.waiting_since = time.monotonic()
            try:
                self.connection.read_response()
            except redis.ResponseError as exc:
                logger.warning("Redis refused a ready-queue push, agents will find the order by polling: %s", exc)
        if self.unanswered > 0 and time.monotonic() - self.waiting_since > TIMEOUTS["socket_timeout"]:
            raise redis.ConnectionError("no reply to the last ready-queue pushes")

    def _disconnect(self) -> None:
        self.connection.disconnect()
        self.unanswered = 0


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
