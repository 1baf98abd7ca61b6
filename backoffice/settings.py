"""Settings read from the environment.

Without DATABASE_URL and REDIS_URL the platform runs on the embedded default: SQLite (WAL, IMMEDIATE
transactions), local-memory cache, database-polling agents and console SMS; the local first look adds
EMBEDDED_DEMO=1 (plain HTTP, no SECRET_KEY needed). Production sets SECRET_KEY, DATABASE_URL
(mysql://...) and REDIS_URL, and runs in production mode (HTTPS only; see the README).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.redis_address import sentinel_address

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded demo, served over plain HTTP on this machine: a checkout with nothing configured (neither
# DATABASE_URL nor SECRET_KEY: the first look, a one-off manage.py command), or EMBEDDED_DEMO=1 (the start
# and test commands and the benchmarks, which may point at MariaDB; pytest sets PYTEST_VERSION).
EMBEDDED_DEMO = (
    env_bool("EMBEDDED_DEMO", not (os.environ.get("DATABASE_URL") or os.environ.get("SECRET_KEY")))
    or "PYTEST_VERSION" in os.environ
)
# Production mode: DEBUG off outside the embedded demo. It needs SECRET_KEY, and serves over HTTPS only.
PRODUCTION = not DEBUG and not EMBEDDED_DEMO


def embedded_secret_key(path: Path) -> str:
    """A random key made once per checkout and kept in a git-ignored file, so the demo's sessions
    outlive a restart and no two installations share a key. Made atomically: of processes starting
    together, the first to link its file wins and the others read it."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    draft = path.with_name(f"{path.name}.{os.getpid()}")
    draft.write_text(secrets.token_urlsafe(50))
    draft.chmod(0o600)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DATABASE_URL set and DEBUG=0 the platform runs in production mode and needs its own "
            "secret key: set SECRET_KEY to a long random string (for example the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'). For a local run on this machine "
            "over plain HTTP (the first look, the tests, a one-off command), set EMBEDDED_DEMO=1, as "
            "backoffice/scripts/start.sh does."
        )
    SECRET_KEY = embedded_secret_key(BASE_DIR / ".secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "simpleui",
    "import_export",
    "backoffice.apps.BackOfficeAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "silk",
    "core",
    "axes",  # before rbac: its login-failure receiver runs first, and the login log reads its verdict
    "rbac",
    "customers",
    "orders",
    "agent",
    "dashboard",
    "backoffice",
]

SILK_ENABLED = env_bool("SILK_ENABLED", False)

MIDDLEWARE = [
    # First: Prometheus's scrapes (backoffice/metrics.py, which times every other request) and a load
    # balancer's probes (backoffice/health.py) are answered before host validation, the HTTPS redirect,
    # sessions and sign-in.
    "backoffice.metrics.MetricsMiddleware",
    "backoffice.health.HealthProbesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # X-Frame-Options and Content-Security-Policy: simpleui's AppConfig.ready() removes Django's
    # XFrameOptionsMiddleware from this list, so ours sends both (see backoffice/security.py).
    "backoffice.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rbac.sessions.SessionSeenMiddleware",  # who is signed in (the admin's signed-in users)
    "django.contrib.messages.middleware.MessageMiddleware",
]
if SILK_ENABLED:
    MIDDLEWARE.insert(2, "silk.middleware.SilkyMiddleware")  # after the probes: silk would store each one
# silk's pages (mounted only with SILK_ENABLED=1) show every recorded request, bodies included:
# superusers only (silk's own default lets in every staff user, customers included).
SILKY_AUTHENTICATION = True
SILKY_AUTHORISATION = True


def silk_permitted(user) -> bool:
    return user.is_superuser


SILKY_PERMISSIONS = silk_permitted
# The request keys silk masks in what it records: its own list, and the SMS login code.
SILKY_SENSITIVE_KEYS = {"username", "api", "token", "key", "secret", "password", "signature", "code"}

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

FORM_RENDERER = "core.renderers.FormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "backoffice.jinja2.environment"},
    },
]

# --- database -------------------------------------------------------------------------------------

SQLITE_PATH = BASE_DIR / "db.sqlite3"


def database(url: str) -> dict:
    """Django's settings for the database at `url`, with the platform's options for its engine."""
    db = dj_database_url.parse(url)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests use a file (not :memory:) so threads and processes share one real database.
        db["TEST"] = {"NAME": str(BASE_DIR / f"test_{os.environ.get('TEST_DB_SUFFIX', 'db')}.sqlite3")}
    elif db["ENGINE"] == "django.db.backends.mysql":
        db["OPTIONS"] = {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            # A database host that drops packets fails a connection (and /readyz) in seconds instead of hanging it.
            "connect_timeout": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")),
        }
        db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
        db["CONN_HEALTH_CHECKS"] = True
        db["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    return db


DATABASES = {"default": database(os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"))}
# Read replicas (core.replicas): lists, searches, exports and the dashboard read from them; a request that writes
# (anything but GET, HEAD, OPTIONS, TRACE) pins its user's reads to the primary for MULTIDB_PINNING_SECONDS,
# so they see their own writes. Under test a replica's connection uses the primary's test database, which
# replication fills (MIRROR).
for _number, _url in enumerate(env_list("REPLICA_DATABASE_URLS", ""), start=1):
    DATABASES[f"replica{_number}"] = database(_url) | {"TEST": {"MIRROR": "default"}}
REPLICA_DATABASES = [alias for alias in DATABASES if alias != "default"]
if REPLICA_DATABASES:
    DATABASE_ROUTERS = ["core.replicas.ReplicaRouter"]
    # Before anything that reads the database but the probes and scrapes, which read the primary.
    MIDDLEWARE.insert(MIDDLEWARE.index("backoffice.health.HealthProbesMiddleware") + 1, "multidb.middleware.PinningRouterMiddleware")
    MULTIDB_PINNING_SECONDS = int(os.environ.get("MULTIDB_PINNING_SECONDS", "15"))
    MULTIDB_PINNING_COOKIE_SECURE = PRODUCTION
    MULTIDB_PINNING_COOKIE_HTTPONLY = True
    MULTIDB_PINNING_COOKIE_SAMESITE = "Lax"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions and the ready-queue ----------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_cache(url: str) -> dict:
    """django-redis at `url` (a Redis URL, or a redis+sentinel:// one: core.redis_address)."""
    options = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": 1,
        "SOCKET_TIMEOUT": 2,
        # A Redis blip (or no master while Sentinel fails over) degrades the cache to misses instead of
        # failing the request.
        "IGNORE_EXCEPTIONS": True,
    }
    sentinel = sentinel_address(url)
    if sentinel is not None:
        # The master alone, through its sentinels (django-redis's SentinelClient would read from replicas,
        # which lag: a login code just set could be missing).
        url = sentinel.master_url()
        options |= {"CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory", "SENTINELS": list(sentinel.sentinels)}
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "backoffice"),
        "OPTIONS": options,
    }


if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "django_redis"  # its lines once an interval (LOGGING below)

READY_QUEUE_KEY = os.environ.get("READY_QUEUE_KEY", "orders:ready")

# --- auth -----------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"  # where a sign-in lands when its ?next= is missing or not allowed
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked user or address before any password check
    "rbac.backends.CachedPermissionsBackend",  # permissions only: through Redis, before ModelBackend queries them
    "django.contrib.auth.backends.ModelBackend",
    "rbac.backends.MobilePasswordBackend",  # a customer's mobile instead of the username
    "rbac.backends.SmsCodeBackend",
]
# Customers may also sign in with a code texted to their mobile (rbac.login_codes).
LOGIN_CODE_TTL_SECONDS = int(os.environ.get("LOGIN_CODE_TTL_SECONDS", "300"))
LOGIN_CODE_ATTEMPTS = 5
LOGIN_CODES_PER_ADDRESS = int(os.environ.get("LOGIN_CODES_PER_ADDRESS", "20"))  # an hour
# Who texts the codes (rbac.sms): the log ("console") or Alibaba Cloud SMS ("aliyun").
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console").strip().lower()
SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "5"))
ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com")
ALIYUN_SMS_SIGN_NAME = os.environ.get("ALIYUN_SMS_SIGN_NAME", "")
ALIYUN_SMS_TEMPLATE_CODE = os.environ.get("ALIYUN_SMS_TEMPLATE_CODE", "")
ALIBABA_CLOUD_ACCESS_KEY_ID = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
ALIBABA_CLOUD_ACCESS_KEY_SECRET = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
if SMS_BACKEND not in {"console", "aliyun"}:
    raise ImproperlyConfigured(f"SMS_BACKEND must be console or aliyun, not {SMS_BACKEND!r}.")
if SMS_BACKEND == "aliyun":
    _missing = [
        name
        for name in ("ALIYUN_SMS_SIGN_NAME", "ALIYUN_SMS_TEMPLATE_CODE", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"SMS_BACKEND=aliyun needs {', '.join(_missing)}.")

# Lockout (django-axes, rbac.lockout): AXES_FAILURE_LIMIT failed sign-ins, password or SMS code, lock the
# user (a mobile counts as its account) and, separately, the address for AXES_COOLOFF_MINUTES after the
# last one. The database handler always: administrators see and unlock lockouts in the admin, and the
# database is shared by every web process like Redis is (see the README).
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "rbac.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "rbac.lockout.lockout_response"
AXES_ENABLE_ADMIN = False  # rbac.admin.LockoutAdmin instead
AXES_DISABLE_ACCESS_LOG = True  # rbac.LoginLog records every sign-in
AXES_SENSITIVE_PARAMETERS = ["username", "mobile", "ip_address", "code", "csrfmiddlewaretoken"]
AXES_VERBOSE = False
# The real client address behind a reverse proxy, only when told (django-ipware; see the README).
if os.environ.get("AXES_IPWARE_META_PRECEDENCE_ORDER"):
    AXES_IPWARE_META_PRECEDENCE_ORDER = env_list("AXES_IPWARE_META_PRECEDENCE_ORDER", "")
if os.environ.get("AXES_IPWARE_PROXY_COUNT"):
    AXES_IPWARE_PROXY_COUNT = int(os.environ["AXES_IPWARE_PROXY_COUNT"])

# --- security headers and production mode ---------------------------------------------------------

# simpleui shows each page in a same-origin frame (its tabs): SAMEORIGIN, not DENY, and the CSP's
# frame-ancestors says the same. Our middleware sends the header (simpleui removes Django's), so
# Django's check for its own middleware (W002) does not apply; a test checks the headers.
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = ["security.W002"]
# simpleui's pages are Vue templates compiled in the browser (new Function: 'unsafe-eval') with inline
# scripts, handlers and styles ('unsafe-inline'). Everything else comes from this origin only, and no
# other site may frame a page; forms post and scripts connect to this origin only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("BEHIND_TLS_PROXY", False):
    # Only behind a proxy that terminates TLS and sets X-Forwarded-Proto itself, replacing any the
    # client sent: otherwise any client could pass a plain-HTTP request off as HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# /metrics (backoffice/metrics.py) answers only a scraper with this bearer token and/or from these addresses
# (comma-separated; networks like 10.0.0.0/8 too); with neither set it is 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", "")

# --- i18n -----------------------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "core.staticfiles.StaticFilesStorage"},  # the apps' files as they are
}
if PRODUCTION:
    # collectstatic (the serve command runs it) copies each file under a content-hashed name too, gzipped
    # beside it, and writes the manifest the pages' links are made from; WhiteNoise serves STATIC_ROOT, the
    # hashed names cached for good. Pages fail until collectstatic has run, hence production mode only:
    # elsewhere runserver and the test server serve the apps' files as they are, nothing collected.
    STORAGES["staticfiles"] = {"BACKEND": "core.staticfiles.CompressedManifestStaticFilesStorage"}
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware")

# --- the platform ---------------------------------------------------------------------------------

ORDER_MAX_ATTEMPTS = int(os.environ.get("ORDER_MAX_ATTEMPTS", "3"))
# An attempt still executing after this many seconds (unless its product sets its own) is given up:
# a transient failure, its lease no longer renewed.
ORDER_MAX_RUN_SECONDS = int(os.environ.get("ORDER_MAX_RUN_SECONDS", "120"))

SIMPLEUI_HOME_INFO = False
SIMPLEUI_ANALYSIS = False
SIMPLEUI_DEFAULT_THEME = "simpleui.css"
# Exporting a list needs the view permission on it (import-export allows anyone by default).
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Exported cells that could start a formula are quoted, and characters XLSX cannot hold are dropped
# (core.exports does both properly for our formats; the library's fallback only strips a "=").
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
# An export of more rows than this is built by the agent and offered on the exports list; up to it the
# file streams back at once. Built files live in EXPORT_ROOT (a folder the web and agent machines share)
# for EXPORT_KEEP_HOURS; an agent looks for queued exports every EXPORT_CHECK_SECONDS.
EXPORT_INLINE_MAX_ROWS = int(os.environ.get("EXPORT_INLINE_MAX_ROWS", "10000"))
EXPORT_ROOT = Path(os.environ.get("EXPORT_ROOT", BASE_DIR / "var" / "exports"))
EXPORT_KEEP_HOURS = float(os.environ.get("EXPORT_KEEP_HOURS", "72"))
EXPORT_CHECK_SECONDS = float(os.environ.get("EXPORT_CHECK_SECONDS", "5"))

# LOG_FORMAT=json: one JSON object a line, for a log collector (backoffice.logs.JsonLines).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# A message logged again and again (a Redis outage, seen by every request) is written once in this many seconds.
LOG_REPEAT_SECONDS = float(os.environ.get("LOG_REPEAT_SECONDS", "60"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "backoffice.logs.JsonLines"},
    },
    "filters": {
        "client_errors_brief": {"()": "backoffice.logs.ClientErrorsBrief"},
        "probes_unlogged": {"()": "backoffice.health.ProbesUnlogged"},
        "once_per_interval": {"()": "backoffice.logs.OncePerInterval", "seconds": LOG_REPEAT_SECONDS},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["client_errors_brief"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["probes_unlogged"]},
        # What a Redis outage makes every request say: once an interval (backoffice.logs.OncePerInterval).
        **{name: {"filters": ["once_per_interval"]} for name in ("django_redis", "orders.queue", "backoffice.health")},
    },
}
ORDER_RETRY_BASE_SECONDS = float(os.environ.get("ORDER_RETRY_BASE_SECONDS", "5"))
ORDER_RETRY_MAX_SECONDS = float(os.environ.get("ORDER_RETRY_MAX_SECONDS", "300"))
