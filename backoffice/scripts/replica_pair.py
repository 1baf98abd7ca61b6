"""Start or stop a MariaDB primary on 127.0.0.1:3308 and a read replica of it on 127.0.0.1:3307 (GTID
replication), for the tests of the read replica (the test command's third pass):

    python backoffice/scripts/replica_pair.py start|stop

The primary is the tests' own too: a replica replicates from a primary's binary log, and the development
machines' MariaDB on 3306 writes none (and is not to be reconfigured). Both servers keep their data in one
folder under the system's temporary folder (STATE), which stop removes. A pair left by a run that crashed is
stopped before a new one starts; a port taken by anything else is an error saying so.
"""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import MySQLdb
import MySQLdb.cursors

STATE = Path(tempfile.gettempdir()) / "backoffice-replica-pair"
PRIMARY, REPLICA = "primary", "replica"
PORTS = {PRIMARY: 3308, REPLICA: 3307}
SERVER_IDS = {PRIMARY: 1, REPLICA: 2}
WAIT_SECONDS = 30


def server_options(name: str) -> list[str]:
    folder = STATE / name
    options = [
        "--no-defaults",  # none of the system server's configuration
        f"--user={getpass.getuser()}",
        f"--datadir={folder / 'data'}",
        f"--port={PORTS[name]}",
        "--bind-address=127.0.0.1",
        f"--socket={folder / 'mariadb.sock'}",
        f"--pid-file={folder / 'mariadb.pid'}",
        f"--log-error={folder / 'error.log'}",
        f"--server-id={SERVER_IDS[name]}",
        "--gtid-strict-mode=1",
        # Small and quick: throwaway data, two servers beside the tests on a small machine.
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=8M",
        "--innodb-flush-log-at-trx-commit=2",
    ]
    if name == PRIMARY:
        options.append("--log-bin=binlog")
    return options


def connect(name: str):
    return MySQLdb.connect(host="127.0.0.1", port=PORTS[name], user="root", password="", connect_timeout=3)


def running_pid(name: str) -> int | None:
    """The pid of this pair's server `name` while it runs (its command line names STATE), else None."""
    try:
        pid = int((STATE / name / "mariadb.pid").read_text())
        alive = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        return pid if alive and str(STATE) in Path(f"/proc/{pid}/cmdline").read_text() else None
    except (OSError, ValueError):
        return None


def stop() -> None:
    for name in (REPLICA, PRIMARY):
        pid = running_pid(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)  # a clean shutdown
        deadline = time.monotonic() + WAIT_SECONDS
        while running_pid(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        if running_pid(name):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(STATE, ignore_errors=True)


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def server_start(name: str) -> None:
    log = STATE / name / "error.log"
    process = subprocess.Popen(
        [shutil.which("mariadbd") or "/usr/sbin/mariadbd", *server_options(name)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            connect(name).close()
            return
        except MySQLdb.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise SystemExit(f"The {name} MariaDB on 127.0.0.1:{PORTS[name]} did not start:\n{tail}") from None
            time.sleep(0.2)


def replication_start() -> None:
    replica = connect(REPLICA)
    cursor = replica.cursor(MySQLdb.cursors.DictCursor)
    # From the start of the primary's binary log: everything written since it started.
    cursor.execute(
        f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={PORTS[PRIMARY]}, MASTER_USER='root', "
        "MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos"
    )
    cursor.execute("START SLAVE")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        cursor.execute("SHOW SLAVE STATUS")
        status = cursor.fetchone()
        if status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes":
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"The replica does not replicate: {status['Last_IO_Error'] or status['Last_SQL_Error']}")
        time.sleep(0.2)
    replica.close()


def start() -> None:
    started = time.monotonic()
    if STATE.exists():
        print(f"Stopping the replica pair an earlier run left in {STATE}.")
        stop()
    for name, port in PORTS.items():
        if port_taken(port):
            raise SystemExit(
                f"Port {port} (the {name} of the replica pair) is taken by another process, not a pair this script "
                f"started: stop it (ss -ltnp 'sport = :{port}' names it), then run this again."
            )
    try:
        for name in PORTS:
            (STATE / name).mkdir(parents=True)
        installed = subprocess.run(
            [
                "mariadb-install-db", "--no-defaults", f"--user={getpass.getuser()}", f"--datadir={STATE / PRIMARY / 'data'}",
                "--auth-root-authentication-method=normal", "--skip-test-db", "--innodb-log-file-size=8M",
            ],
            capture_output=True, text=True,
        )  # root without a password, from 127.0.0.1 too
        if installed.returncode:
            raise SystemExit(f"mariadb-install-db failed:\n{(installed.stdout + installed.stderr)[-2000:]}")
        shutil.copytree(STATE / PRIMARY / "data", STATE / REPLICA / "data")  # the same system tables: nothing to replicate yet
        for name in PORTS:
            server_start(name)
        replication_start()
    except BaseException:
        stop()
        raise
    print(
        f"Replica pair ready in {time.monotonic() - started:.1f}s: primary 127.0.0.1:{PORTS[PRIMARY]}, "
        f"replica 127.0.0.1:{PORTS[REPLICA]} (GTID), data in {STATE}."
    )


if __name__ == "__main__":
    commands = {"start": start, "stop": stop}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} start|stop")
    commands[sys.argv[1]]()
