"""Exit 0 when the MariaDB of DATABASE_URL and the Redis of REDIS_URL answer; else print why and exit 1.

Also loads MariaDB's time zone tables when they are empty: with USE_TZ, Django's date lookups
(date filters, date_hierarchy) use CONVERT_TZ, which returns NULL without them.
"""

import os
import shutil
import subprocess
import sys

import dj_database_url
import MySQLdb
import redis


def time_zones_load(db: dict, connection) -> str | None:
    cursor = connection.cursor()
    cursor.execute("SELECT COUNT(*) FROM mysql.time_zone_name")
    loaded = cursor.fetchone()[0]
    connection.rollback()  # end the read: an open transaction would block the load's TRUNCATE
    if loaded:
        return None
    tzinfo_to_sql = shutil.which("mariadb-tzinfo-to-sql") or shutil.which("mysql_tzinfo_to_sql")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not (tzinfo_to_sql and client):
        return "MariaDB has no time zone tables; load them: mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql -u root mysql"
    sql = subprocess.run([tzinfo_to_sql, "/usr/share/zoneinfo"], capture_output=True, check=True).stdout
    command = [client, f"-h{db['HOST'] or '127.0.0.1'}", f"-P{db['PORT'] or 3306}", f"-u{db['USER']}", "mysql"]
    if db["PASSWORD"]:
        command.insert(1, f"-p{db['PASSWORD']}")
    loaded = subprocess.run(command, input=sql, capture_output=True)
    if loaded.returncode:
        return f"loading MariaDB's time zone tables failed: {loaded.stderr.decode().strip()[:300]}"
    return None


def main() -> int:
    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        connection = MySQLdb.connect(
            host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"] or "",
            connect_timeout=3,
        )
    except MySQLdb.Error as exc:
        print(f"MariaDB at {db['HOST']}:{db['PORT']} is unreachable ({exc})")
        return 1
    problem = time_zones_load(db, connection)
    connection.close()
    if problem:
        print(problem)
        return 1
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis at {os.environ['REDIS_URL']} is unreachable ({exc})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
