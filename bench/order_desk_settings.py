"""Settings of the order desk benchmark's server (bench/http_order_desk.py): the platform's own, with the
bare pages mounted beside the admin and every response telling how many queries it ran."""

import os

from backoffice.settings import *  # noqa: F403
from backoffice.settings import MIDDLEWARE

ROOT_URLCONF = "bench.order_desk_site"
MIDDLEWARE = ["bench.order_desk_site.queries_counted", *MIDDLEWARE]
if os.environ.get("BENCH_PROFILE_DIR"):
    MIDDLEWARE.insert(0, "bench.order_desk_site.requests_profiled")
# The bench signs its clients in directly (no password is checked over HTTP); the demo data command's
# passwords hash fast so that setting up stays short.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
