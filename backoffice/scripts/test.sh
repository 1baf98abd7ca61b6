#!/usr/bin/env bash
# Runs the whole test suite twice: on the embedded default (SQLite, no Redis), then on
# MariaDB + Redis; then, a third pass, the tests of a read replica (marked `replica`) on a MariaDB primary
# and replica of their own (backoffice/scripts/replica_pair.py). Without REQUIRE_SERVICES=1 the second and
# third passes are skipped, with one line saying why, when MariaDB or Redis is unreachable; with it, that is
# a failure. TEST_REPLICA_PASS_ONLY=1 runs the third pass alone. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
# A CJK font, so the browser tests' screenshots show Chinese rather than empty boxes.
REQUIREMENTS=requirements-dev.txt EXTRA_DEBIAN_PACKAGES="chromium fonts-wqy-microhei" source backoffice/scripts/setup-env.sh

export DJANGO_SETTINGS_MODULE=backoffice.settings
export EMBEDDED_DEMO=1  # the suite runs as the embedded demo (pytest alone says so too)
export TEST_OUTPUT_DIR=${TEST_OUTPUT_DIR:-$PWD/results/test-output}
mkdir -p "$TEST_OUTPUT_DIR"
database_url=${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/backoffice}
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
unset REPLICA_DATABASE_URLS  # the third pass alone has replicas
replica_pass_only=${TEST_REPLICA_PASS_ONLY:-0}

if [ "$replica_pass_only" != 1 ]; then
  echo "== lint (ruff) and migrations in step with the models"
  .venv/bin/ruff check .
  env -u DATABASE_URL -u REDIS_URL .venv/bin/python manage.py makemigrations --check --dry-run

  echo "== pass 1: SQLite, no Redis"
  env -u DATABASE_URL -u REDIS_URL .venv/bin/python -m pytest tests "$@"
fi

echo "== pass 2: MariaDB + Redis"
if ! problem=$(DATABASE_URL=$database_url REDIS_URL=$redis_url .venv/bin/python backoffice/scripts/services_ready.py); then
  if [ "${REQUIRE_SERVICES:-0}" = "1" ]; then
    echo "FAILED: MariaDB + Redis are required but unreachable: $problem" >&2
    exit 1
  fi
  echo "Skipping the MariaDB + Redis and read replica passes: $problem (set REQUIRE_SERVICES=1 to make this a failure)."
  exit 0
fi
if [ "$replica_pass_only" = 1 ]; then
  echo "Skipped: TEST_REPLICA_PASS_ONLY=1."
else
  DATABASE_URL=$database_url REDIS_URL=$redis_url .venv/bin/python -m pytest tests "$@"
fi

echo "== pass 3: a read replica (a MariaDB primary on 3308 replicating to 3307 with GTID) + Redis"
trap '.venv/bin/python backoffice/scripts/replica_pair.py stop' EXIT
.venv/bin/python backoffice/scripts/replica_pair.py start
# "$@" before -m: this pass runs the replica tests alone, whatever marks the arguments select.
DATABASE_URL=mysql://root@127.0.0.1:3308/backoffice REPLICA_DATABASE_URLS=mysql://root@127.0.0.1:3307/backoffice \
  REDIS_URL=$redis_url .venv/bin/python -m pytest tests "$@" -m replica
