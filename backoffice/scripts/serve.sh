#!/usr/bin/env bash
# Serves the platform in production mode: migrates, collects the static files (content-hashed and
# compressed, served by WhiteNoise) and runs gunicorn (backoffice/gunicorn.conf.py: BIND or PORT,
# WEB_WORKERS, WEB_THREADS). Needs SECRET_KEY and DATABASE_URL; see the README's "Production".
# SIGTERM stops it gracefully: requests under way get WEB_GRACEFUL_SECONDS to finish.
set -euo pipefail
cd "$(dirname "$0")/../.."
source backoffice/scripts/setup-env.sh

# Outside production mode nothing serves the static files and the demo's secret key would be used.
if ! .venv/bin/python -c 'import sys, backoffice.settings as s; sys.exit(not s.PRODUCTION)'; then
  echo "serve.sh serves production mode only: DEBUG=0, EMBEDDED_DEMO unset and SECRET_KEY set." >&2
  echo "For the embedded demo run backoffice/scripts/start.sh." >&2
  exit 1
fi
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput -v0
# Each gunicorn worker keeps its request timings in a file of PROMETHEUS_MULTIPROC_DIR, which /metrics sums
# (backoffice/metrics.py); emptied at each start, so a previous run's workers are not counted with these.
if [[ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]]; then
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
else
  export PROMETHEUS_MULTIPROC_DIR=$(mktemp -d -t backoffice-metrics.XXXXXX)
fi
exec .venv/bin/python -m gunicorn -c backoffice/gunicorn.conf.py
