"""gunicorn's settings for the serve command (backoffice/scripts/serve.sh), read from the environment.
GUNICORN_CMD_ARGS adds any other gunicorn option, e.g. "--access-logfile -"."""

import os

wsgi_app = "backoffice.wsgi:application"
bind = [os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request running longer than this is killed with its worker (an export of a long list is the slowest).
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "60"))
# On SIGTERM, requests under way get this long to finish (the systemd unit's TimeoutStopSec is longer).
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_SECONDS", "30"))
# No control socket (gunicornc): it would sit at one path per user, shared by every instance on the
# machine; systemd's signals (HUP reloads, TERM stops) manage the server.
control_socket_disable = True

if os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json":
    # gunicorn's own lines (and its access log, when on) in the platform's JSON lines too.
    logconfig_dict = {
        "formatters": {"generic": {"()": "backoffice.logs.JsonLines"}},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
