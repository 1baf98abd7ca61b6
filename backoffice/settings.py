"""Settings read from the environment.

With nothing set the platform runs on the embedded default: SQLite (WAL, IMMEDIATE transactions),
local-memory cache, database-polling agents and console SMS. Production sets DATABASE_URL
(mysql://...) and REDIS_URL.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded default is a local first look; production must set its own key.
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-embedded-default-key-change-me-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "simpleui",
    "import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "silk",
    "rbac",
    "customers",
    "orders",
    "agent",
    "backoffice",
]

SILK_ENABLED = env_bool("SILK_ENABLED", False)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if SILK_ENABLED:
    MIDDLEWARE.insert(0, "silk.middleware.SilkyMiddleware")
    SILKY_AUTHENTICATION = True
    SILKY_AUTHORISATION = True  # superusers only

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

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
]

# --- database -------------------------------------------------------------------------------------

SQLITE_PATH = BASE_DIR / "db.sqlite3"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"))}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file (not :memory:) so threads and processes share one real database.
    _db["TEST"] = {"NAME": str(BASE_DIR / f"test_{os.environ.get('TEST_DB_SUFFIX', 'db')}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.mysql":
    _db["ENGINE"] = "backoffice.mysql"  # Django's, with cheaper transaction starts
    _db["OPTIONS"] = {
        "charset": "utf8mb4",
        "isolation_level": "read committed",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    }
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    _db["CONN_HEALTH_CHECKS"] = True
    _db["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions and the ready-queue ----------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "backoffice"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 2,
                # A Redis blip degrades the cache to misses instead of failing the request.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

READY_QUEUE_KEY = os.environ.get("READY_QUEUE_KEY", "orders:ready")

# --- auth -----------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "rbac.backends.SmsCodeBackend"]
# Customers may also sign in with a code texted to their mobile (rbac.login_codes).
LOGIN_CODE_TTL_SECONDS = int(os.environ.get("LOGIN_CODE_TTL_SECONDS", "300"))
LOGIN_CODE_ATTEMPTS = 5
LOGIN_CODES_PER_ADDRESS = int(os.environ.get("LOGIN_CODES_PER_ADDRESS", "20"))  # an hour

# --- i18n -----------------------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"

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
# (customers.exports does both properly for our formats; the library's fallback only strips a "=").
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
ORDER_RETRY_BASE_SECONDS = float(os.environ.get("ORDER_RETRY_BASE_SECONDS", "5"))
ORDER_RETRY_MAX_SECONDS = float(os.environ.get("ORDER_RETRY_MAX_SECONDS", "300"))
