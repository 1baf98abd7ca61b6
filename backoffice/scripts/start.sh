#!/usr/bin/env bash
# Sets everything up and starts the platform on the embedded default (SQLite, no services):
# migrates, loads the demo data, prints the demo logins, and serves http://127.0.0.1:8000/admin/.
set -euo pipefail
cd "$(dirname "$0")/../.."
source backoffice/scripts/setup-env.sh

password=${DEMO_PASSWORD:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(9))')}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py demo --password "$password"
echo "Open http://127.0.0.1:${PORT:-8000}/admin/ (Ctrl-C stops everything)."
exec .venv/bin/python manage.py runserver --insecure "127.0.0.1:${PORT:-8000}"
