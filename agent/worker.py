"""The agent daemon: claims ready orders, executes them on a pool of threads, keeps their leases,
heartbeats, and on SIGTERM/SIGINT stops claiming, lets in-flight orders finish within a grace period
and releases the rest.

Threads: the main thread claims (waking on the Redis ready-queue, or polling the database); N
executor threads run one order each; a keeper thread renews leases, gives up on executions past their
product's maximum run time, returns orders of dead agents to pending and heartbeats; an exporter thread
looks for queued exports every EXPORT_CHECK_SECONDS and builds them one at a time (core.exports), apart
from the order threads. Django gives every thread its own database connection, and every thread reads
from the primary database, never from a read replica (use_primary_db: a replica may not have the
order just placed, or the lease just renewed, yet; the pin is per thread).

An execution past its deadline cannot be stopped (Python cannot kill a thread): the keeper records the
attempt as a transient failure, stops renewing its lease, and starts a fresh executor thread in its
place, so the agent keeps its concurrency. The old thread's outcome is dropped when it returns, and the
thread ends. At most `concurrency` such threads are replaced at a time; beyond that a hung thread keeps
its slot until it returns.
"""

import functools
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext as _
from multidb.pinning import use_primary_db

from agent.executors import ExecutionError, order_execute
from agent.models import Agent
from core.exports import export_job_build, export_job_claim, export_jobs_expire
from core.redis_address import redis_client
from orders.errors import InvalidTransition
from orders.models import Order, OrderNote, order_note
from orders.services import (
    order_claim,
    order_fail,
    order_lease_renew,
    order_release,
    order_requeue_expired,
    order_succeed,
)

logger = logging.getLogger(__name__)

# What a database restart, failover or network blip raises; worth retrying, never worth dying for.
DB_BLIPS = (OperationalError, InterfaceError)
HEARTBEAT_SECONDS = 5.0


def agent_name_default() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _connection_reset() -> None:
    """Drop this thread's connection after a blip so the next query opens a fresh one."""
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - the connection is already broken; closing it is best effort
        pass


class ReadyQueue:
    """Waits for a wake-up on the Redis ready-queue. Without Redis, or while it is unreachable, it
    only sleeps a poll interval (the claim loop polls the database anyway) and retries Redis next time."""

    def __init__(self, *, poll_interval: float):
        self.poll_interval = poll_interval
        self.reachable = True
        self.client = None
        if settings.REDIS_URL:
            # A client of our own: BLPOP blocks longer than the cache client's socket timeout allows.
            self.client = redis_client(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=poll_interval + 2)

    def wait(self, stop: threading.Event) -> None:
        if self.client is None:
            stop.wait(self.poll_interval)
            return
        try:
            self.client.blpop([settings.READY_QUEUE_KEY], timeout=self.poll_interval)
        except redis.RedisError as exc:
            if self.reachable:
                logger.warning("ready-queue unreachable (%s); polling the database every %ss", exc, self.poll_interval)
            self.reachable = False
            stop.wait(self.poll_interval)
            return
        if not self.reachable:
            logger.info("ready-queue reachable again; waking on it")
            self.reachable = True


class Worker:
    def __init__(
        self,
        *,
        name: str = "",
        concurrency: int = 4,
        poll_interval: float = 1.0,
        lease_seconds: float = 60.0,
        grace_seconds: float = 30.0,
        once: bool = False,
    ):
        self.name = name or agent_name_default()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.grace_seconds = grace_seconds
        self.once = once
        self.stop = threading.Event()  # set by SIGTERM/SIGINT: claim nothing more
        self._keeper_stop = threading.Event()  # the keeper renews leases until the very end
        self._slot_freed = threading.Event()
        self._jobs: queue.Queue[Order] = queue.Queue()
        self._lock = threading.Lock()
        self._held: dict[int, Order] = {}  # claimed (leased) by this agent, executing or waiting for a thread
        self._executing: set[int] = set()
        self._deadlines: dict[int, float] = {}  # executing, outcome not yet reported: order id -> monotonic deadline
        # Attempts given up on whose thread is still inside the executor: (order id, attempt) -> whether
        # a fresh thread took its place (then the old one ends when it returns).
        self._abandoned: dict[tuple[int, int], bool] = {}
        self._replaced = 0  # threads inside an abandoned execution, replaced by fresh ones
        self.done = 0
        self.failed = 0
        self.started_at = timezone.now()
        self.ready_queue = ReadyQueue(poll_interval=poll_interval)

    # --- control -----------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._stop_request)
        signal.signal(signal.SIGINT, self._stop_request)

    def _stop_request(self, signum, frame) -> None:
        logger.info("agent %s: %s received, claiming nothing more", self.name, signal.Signals(signum).name)
        self.stop.set()

    @use_primary_db
    def run(self) -> None:
        logger.info(
            "agent %s started: concurrency %s, lease %ss, poll %ss, ready-queue %s",
            self.name, self.concurrency, self.lease_seconds, self.poll_interval,
            "redis" if self.ready_queue.client else "none (polling)",
        )
        for _i in range(self.concurrency):
            self._executor_start()
        keeper = threading.Thread(target=use_primary_db(self._keep_loop), name="keeper", daemon=True)
        keeper.start()
        exporter = None
        if not self.once:  # --once drains the orders ready now; exports wait for a running agent
            exporter = threading.Thread(target=use_primary_db(self._export_loop), name="exporter", daemon=True)
            exporter.start()
        try:
            self._claim_loop()
        finally:
            self._shutdown(keeper)
            if exporter is not None:
                exporter.join(timeout=self.grace_seconds)  # an export in progress goes back to the queue

    # --- the main thread: claim ----------------------------------------------------------------------

    def _held_count(self) -> int:
        with self._lock:
            return len(self._held)

    def _claim_loop(self) -> None:
        while not self.stop.is_set():
            self._slot_freed.clear()
            # Claim in batches of about one order per thread, once at most one order per thread is
            # left: a claim per freed slot would cost a transaction per order.
            held = self._held_count()
            if held > self.concurrency:
                self._slot_freed.wait(self.poll_interval)
                continue
            try:
                claimed = order_claim(agent=self.name, limit=2 * self.concurrency - held, lease_seconds=self.lease_seconds)
            except DB_BLIPS as exc:
                logger.warning("agent %s: database unavailable while claiming (%s); retrying", self.name, exc)
                _connection_reset()
                self.stop.wait(self.poll_interval)
                continue
            for order in claimed:
                with self._lock:
                    self._held[order.pk] = order
                self._jobs.put(order)
            if claimed:
                continue
            close_old_connections()
            if self.once:
                if not self._held_count():
                    return
                self._slot_freed.wait(self.poll_interval)
            else:
                self.ready_queue.wait(self.stop)

    # --- executor threads ----------------------------------------------------------------------------

    def _executor_start(self) -> None:
        # Daemon threads: a thread still stuck in an abandoned execution does not hold up the exit.
        threading.Thread(target=use_primary_db(self._execute_loop), name="execute", daemon=True).start()

    def _execute_loop(self) -> None:
        while True:
            order = self._jobs.get()
            with self._lock:
                if self.stop.is_set():
                    continue  # stopping: never start another order; the shutdown releases it
                self._executing.add(order.pk)
                self._deadlines[order.pk] = time.monotonic() + order.product.run_seconds_allowed
            try:
                self._order_run(order)
            except Exception:  # noqa: BLE001 - one order's surprise must not take a thread down
                logger.exception("agent %s: order %s: unexpected error", self.name, order.order_no)
            with self._lock:
                replaced = self._abandoned.pop((order.pk, order.attempts), None)
                if replaced is None:  # not given up on: this thread's order, this thread's slot
                    self._held.pop(order.pk, None)
                    self._executing.discard(order.pk)
                    self._deadlines.pop(order.pk, None)
                elif replaced:
                    self._replaced -= 1
            self._slot_freed.set()
            if replaced:
                return  # a fresh thread has this slot

    def _order_run(self, order: Order) -> None:
        close_old_connections()
        try:
            result = order_execute(order, agent=self.name)
        except ExecutionError as exc:
            outcome = functools.partial(
                order_fail, order_id=order.pk, agent=self.name, error=str(exc), transient=exc.transient
            )
        except Exception as exc:  # noqa: BLE001 - an executor crash (or a blip inside it) is worth a retry
            outcome = functools.partial(
                order_fail, order_id=order.pk, agent=self.name, error=f"{exc.__class__.__name__}: {exc}", transient=True
            )
        else:
            outcome = functools.partial(order_succeed, order_id=order.pk, agent=self.name, result=result)
        with self._lock:  # the keeper gives up on an attempt only while it has no outcome: one reports it
            late = (order.pk, order.attempts) in self._abandoned
            if not late:  # (if late, a deadline under this id is a later attempt's)
                self._deadlines.pop(order.pk)
        if late:
            logger.warning(
                "agent %s: order %s: attempt %s returned after its deadline; its outcome is dropped",
                self.name, order.order_no, order.attempts,
            )
            return
        finished = self._db_retry(outcome, what=f"order {order.order_no}")
        if finished is not None:
            logger.info("agent %s: order %s %s (attempt %s)", self.name, order.order_no, finished.status, finished.attempts)
            with self._lock:
                if finished.status == Order.Status.SUCCEEDED:
                    self.done += 1
                elif finished.status == Order.Status.FAILED:
                    self.failed += 1

    def _db_retry(self, action: Callable[[], Order], *, what: str, deadline: float | None = None) -> Order | None:
        """Run a lifecycle service until the database answers. None when the order is no longer ours
        (its lease expired and another agent took it, or it was released) or the deadline passed."""
        delay = 0.1
        while True:
            try:
                return action()
            except InvalidTransition as exc:
                logger.warning("agent %s: %s: %s", self.name, what, exc)
                return None
            except DB_BLIPS as exc:
                if deadline is not None and time.monotonic() > deadline:
                    logger.warning("agent %s: %s: database still unavailable (%s); giving up", self.name, what, exc)
                    return None
                logger.warning("agent %s: %s: database unavailable (%s); retrying in %.1fs", self.name, what, exc, delay)
                _connection_reset()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # --- the exporter thread: exports too big for a request --------------------------------------------

    def _export_loop(self) -> None:
        while not self.stop.wait(settings.EXPORT_CHECK_SECONDS):
            try:
                export_jobs_expire()
                job = export_job_claim(agent=self.name)
                if job is not None:
                    logger.info("agent %s: building export %s (%s)", self.name, job.pk, job.file_name)
                    job = export_job_build(job, stop=self.stop)
                    logger.info("agent %s: export %s %s, %s rows", self.name, job.pk, job.status, job.rows)
            except DB_BLIPS as exc:
                logger.warning("agent %s: database unavailable for exports (%s)", self.name, exc)
                _connection_reset()
            except Exception:  # noqa: BLE001 - one export's surprise must not end the exports
                logger.exception("agent %s: exporter error", self.name)
            close_old_connections()
        connection.close()

    # --- the keeper thread: leases, dead agents, heartbeat --------------------------------------------

    def _keep_loop(self) -> None:
        tick = max(0.05, min(self.lease_seconds / 3, HEARTBEAT_SECONDS))
        while not self._keeper_stop.is_set():
            try:
                self._overdue_give_up()
                self._leases_renew()
                requeued = order_requeue_expired()
                if requeued:
                    logger.info("agent %s: %s order(s) of expired leases returned to pending", self.name, requeued)
                self._heartbeat()
            except DB_BLIPS as exc:
                logger.warning("agent %s: database unavailable for leases and heartbeat (%s)", self.name, exc)
                _connection_reset()
            except Exception:  # noqa: BLE001 - without the keeper our leases expire; keep it alive
                logger.exception("agent %s: keeper error", self.name)
            self._keeper_stop.wait(tick)
        connection.close()

    def _overdue_give_up(self) -> None:
        """Record executions past their deadline as transient failures, and their leases are no longer
        renewed. Should the database not answer, the lease expires and order_requeue_expired does it."""
        now = time.monotonic()
        with self._lock:
            overdue = [self._held[pk] for pk, deadline in self._deadlines.items() if deadline <= now]
            for order in overdue:
                del self._deadlines[order.pk]
                del self._held[order.pk]
                self._executing.discard(order.pk)
                replace = self._replaced < self.concurrency
                self._abandoned[order.pk, order.attempts] = replace
                if replace:
                    self._replaced += 1
                    self._executor_start()
        for order in overdue:
            seconds = order.product.run_seconds_allowed
            logger.warning(
                "agent %s: order %s: attempt %s still running after %ss; giving it up",
                self.name, order.order_no, order.attempts, seconds,
            )
            error = _("Still running after %(seconds)s s, the maximum run time.") % {"seconds": seconds}
            try:
                finished = order_fail(order_id=order.pk, agent=self.name, error=error, transient=True)
            except InvalidTransition as exc:  # its lease expired meanwhile and it was requeued
                logger.warning("agent %s: order %s: %s", self.name, order.order_no, exc)
                continue
            except DB_BLIPS as exc:
                logger.warning("agent %s: order %s: database unavailable (%s); its lease will expire", self.name, order.order_no, exc)
                _connection_reset()
                continue
            if finished.status == Order.Status.FAILED:
                with self._lock:
                    self.failed += 1
        if overdue:
            self._slot_freed.set()

    def _leases_renew(self) -> None:
        with self._lock:
            held = list(self._held)
        if held:  # a lease lost meanwhile shows when its outcome is refused (InvalidTransition)
            order_lease_renew(agent=self.name, order_ids=held, lease_seconds=self.lease_seconds)

    def _heartbeat(self, *, stopped: bool = False) -> None:
        now = timezone.now()
        with self._lock:
            holding = [] if stopped else sorted(order.order_no for order in self._held.values())
            done, failed = self.done, self.failed
        Agent.objects.update_or_create(
            name=self.name,
            defaults={
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": self.started_at,
                "last_seen_at": now,
                "stopped_at": now if stopped else None,
                "orders_done": done,
                "orders_failed": failed,
                "holding": holding,
            },
        )

    # --- shutdown ------------------------------------------------------------------------------------

    def _shutdown(self, keeper: threading.Thread) -> None:
        deadline = time.monotonic() + self.grace_seconds
        self.stop.set()  # also when --once ends or the claim loop dies: no thread starts another order

        def executing() -> int:
            with self._lock:
                return len(self._executing)

        if executing():
            logger.info("agent %s: waiting up to %ss for %s order(s) in flight", self.name, self.grace_seconds, executing())
        while executing() and time.monotonic() < deadline:
            self._slot_freed.wait(0.1)
            self._slot_freed.clear()
        with self._lock:
            unfinished = list(self._held.values())
        for order in unfinished:
            released = self._db_retry(
                functools.partial(order_release, order_id=order.pk, agent=self.name, note=order_note(OrderNote.AGENT_STOPPING)),
                what=f"releasing order {order.order_no}",
                deadline=time.monotonic() + self.grace_seconds,
            )
            if released is not None:
                logger.info("agent %s: order %s released to pending", self.name, order.order_no)
        self._keeper_stop.set()
        keeper.join(timeout=self.grace_seconds)
        self._db_retry(
            functools.partial(self._heartbeat, stopped=True), what="last heartbeat", deadline=time.monotonic() + 5
        )
        logger.info("agent %s stopped: %s done, %s failed", self.name, self.done, self.failed)
