#!/usr/bin/env bash
# Sets everything up and starts the platform on the embedded default (SQLite, no services):
# migrates, loads the demo data, prints the demo logins, and serves http://127.0.0.1:8000/admin/
# together with one agent executing the orders placed there. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/../.."
source backoffice/scripts/setup-env.sh
# The embedded demo: plain HTTP on this machine, and a secret key made for this checkout
# (.secret_key, git-ignored) unless SECRET_KEY is set. Production mode needs neither flag nor file.
export EMBEDDED_DEMO=1

password=${DEMO_PASSWORD:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(9))')}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py demo --password "$password"

.venv/bin/python manage.py runagent --name demo-agent --poll-interval 0.5 &
agent_pid=$!
# Whatever ends the web server (Ctrl-C included) also stops the agent, which finishes or releases its orders.
trap 'kill -TERM "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true' EXIT

echo "Open http://127.0.0.1:${PORT:-8000}/admin/ (Ctrl-C stops the web server and the agent)."
.venv/bin/python manage.py runserver --insecure "127.0.0.1:${PORT:-8000}"
