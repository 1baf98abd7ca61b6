"""Where Redis is: REDIS_URL is a plain Redis URL (`redis://`, `rediss://`, `unix://`) or, for a master
that Redis Sentinel watches and fails over, `redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db]`:
the sentinels to ask, the name they know the master by, the database number. The password is the master's;
the sentinels are asked without one."""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str
    password: str

    def master_url(self) -> str:
        """django-redis's form of it: the master's service name as the host (its Sentinel connection factory)."""
        auth = f"{self.username}:{self.password}@" if self.password or self.username else ""
        return f"redis://{auth}{self.service}/{self.db}"


def sentinel_address(url: str) -> SentinelAddress | None:
    """The Sentinel address a redis+sentinel:// URL gives, or None for a plain Redis URL."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    auth, _at, hosts = parts.netloc.rpartition("@")
    username, _colon, password = auth.partition(":")
    sentinels = []
    for host in hosts.split(","):
        name, _colon, port = host.strip().rpartition(":")
        sentinels.append((name or port, int(port) if name else 26379))  # a host without a port: Sentinel's own
    service, _slash, db = parts.path.strip("/").partition("/")
    if not service or not hosts:
        raise ValueError(f"{SENTINEL_SCHEME} URL needs host:port and a service name: {SENTINEL_SCHEME}://host:26379/mymaster/0")
    return SentinelAddress(tuple(sentinels), unquote(service), int(db or 0), unquote(username), unquote(password))


def redis_client(url: str, **options) -> redis.Redis:
    """A client for the Redis at `url`; for a Sentinel URL, for whichever server is master when it connects.
    `options` (timeouts, retry) apply to the master's connections and the sentinels' alike."""
    address = sentinel_address(url)
    if address is None:
        return redis.Redis.from_url(url, **options)
    sentinel = Sentinel(list(address.sentinels), **options)
    return sentinel.master_for(
        address.service, db=address.db, username=address.username or None, password=address.password or None
    )
