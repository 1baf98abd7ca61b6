"""REDIS_URL naming Redis Sentinel (redis+sentinel://): the cache, the sessions' cache, the ready-queue, the
agents' wake-up and /readyz reach whichever server is master, keep answering while there is none, and
follow a failover. Real processes: a master, its replica and a Sentinel, on spare ports."""

import os

import pytest
from django.core.cache import cache

from agent.worker import ReadyQueue
from backoffice.settings import redis_cache
from core.redis_address import sentinel_address
from orders.queue import ready_queue_client, ready_queue_push
from tests.agent.conftest import wait_until
from tests.redis_servers import RedisSentinel, RedisServer


def test_a_sentinel_url_names_the_sentinels_the_master_and_the_database():
    address = sentinel_address("redis+sentinel://:s%40cret@10.0.0.1:26380,10.0.0.2/bo-master/3")
    assert address.sentinels == (("10.0.0.1", 26380), ("10.0.0.2", 26379))
    assert (address.service, address.db, address.password) == ("bo-master", 3, "s@cret")
    assert address.master_url() == "redis://:s@cret@bo-master/3"
    assert sentinel_address("redis://127.0.0.1:6379/0") is None
    with pytest.raises(ValueError):
        sentinel_address("redis+sentinel://10.0.0.1:26379/")


@pytest.fixture
def watched(tmp_path, settings):
    """A master, its replica and a Sentinel watching them; REDIS_URL and the cache through the Sentinel."""
    service = f"bo-{os.getpid()}-{tmp_path.name}"  # connection pools are kept per master name in a process
    master = RedisServer(tmp_path)
    replica = RedisServer(tmp_path, "--replicaof", "127.0.0.1", str(master.port))
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", timeout=15,
               message="the replica to sync")
    sentinel = RedisSentinel(tmp_path, service=service, master_port=master.port)
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/{service}/0"
    settings.REDIS_URL = url
    settings.CACHES = {"default": redis_cache(url)}
    yield master, replica, sentinel, service
    for process in (sentinel, replica, master):
        process.stop()


@pytest.mark.django_db
def test_everything_redis_serves_follows_the_master_through_a_failover(watched, client, settings):
    master, replica, sentinel, service = watched
    cache.set("greeting", "hello")
    assert master.client().exists(cache.make_key("greeting"))  # the cache writes to the master
    ready_queue_push(7)
    assert master.client().lrange(settings.READY_QUEUE_KEY, 0, -1) == [b"7"]
    agent_queue = ReadyQueue(poll_interval=1)
    assert agent_queue.client.lpop(settings.READY_QUEUE_KEY) == b"7"  # the agents wait on the master too
    assert client.get("/readyz").content == b"ok"

    master.stop()  # until the Sentinel promotes the replica there is no master: degrade, never fail
    assert cache.get("greeting") is None and cache.set("greeting", "again") is None
    ready_queue_push(8)  # logged; agents poll the database meanwhile
    assert (client.get("/readyz").status_code, client.get("/readyz").content) == (503, b"redis")

    wait_until(lambda: sentinel.master_port(service) == replica.port, timeout=30, message="the failover")
    wait_until(lambda: replica.client().info("replication")["role"] == "master", timeout=10, message="promotion")

    def cache_answers() -> bool:
        cache.set("greeting", "after")
        return cache.get("greeting") == "after"

    wait_until(cache_answers, timeout=10, message="the cache on the new master")
    assert replica.client().get(cache.make_key("greeting")) is not None
    wait_until(lambda: client.get("/readyz").content == b"ok", timeout=10, message="ready again")
    ready_queue_push(9)
    assert replica.client().lrange(settings.READY_QUEUE_KEY, 0, -1) == [b"9"]
    assert ready_queue_client().lpop(settings.READY_QUEUE_KEY) == b"9"
