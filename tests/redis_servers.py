"""Redis servers of a test's own, and Sentinels watching them, on spare ports; the test stops them."""

import subprocess
from pathlib import Path

import redis

from tests.agent.conftest import wait_until
from tests.backoffice.test_health import unused_port


class RedisServer:
    def __init__(self, folder: Path, *options: str):
        self.port = unused_port()
        self.argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(folder), *options]
        self._start()

    def _start(self) -> None:
        self.process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10, message=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_connect_timeout=1, socket_timeout=2)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop the server and start it again on the same port, empty (it saves nothing)."""
        self.stop()
        self._start()


class RedisSentinel(RedisServer):
    """A Sentinel (redis-server --sentinel) watching the master `service` at 127.0.0.1:`master_port`,
    alone enough to fail it over (quorum 1), which it does a second after the master stops answering."""

    def __init__(self, folder: Path, *, service: str, master_port: int):
        self.port = unused_port()
        config = folder / f"sentinel-{self.port}.conf"  # Sentinel rewrites its configuration as it learns
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {service} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {service} 1000\n"
            f"sentinel failover-timeout {service} 10000\n"
        )
        self.process = subprocess.Popen(["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10, message=f"redis-sentinel on port {self.port}")

    def master_port(self, service: str) -> int | None:
        address = self.client().sentinel_get_master_addr_by_name(service)
        return int(address[1]) if address else None
