"""Exit 0 when the MariaDB of DATABASE_URL and the Redis of REDIS_URL answer; else print why and exit 1."""

import os
import sys

import dj_database_url
import MySQLdb
import redis


def main() -> int:
    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        MySQLdb.connect(
            host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"] or "",
            connect_timeout=3,
        ).close()
    except MySQLdb.Error as exc:
        print(f"MariaDB at {db['HOST']}:{db['PORT']} is unreachable ({exc})")
        return 1
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis at {os.environ['REDIS_URL']} is unreachable ({exc})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
