"""REPLICA_DATABASE_URLS in the settings, in fresh processes (tests/backoffice/test_replica.py runs against a real
replica)."""

import json

from tests.backoffice.conftest import django_run, production_env

SETTINGS = """
    import json
    from django.conf import settings

    print(json.dumps({
        "databases": settings.DATABASES,
        "routers": settings.DATABASE_ROUTERS,
        "middleware": settings.MIDDLEWARE,
        "pinning": {name: getattr(settings, name, None) for name in (
            "MULTIDB_PINNING_SECONDS", "MULTIDB_PINNING_COOKIE_SECURE", "MULTIDB_PINNING_COOKIE_HTTPONLY",
            "MULTIDB_PINNING_COOKIE_SAMESITE",
        )},
    }, default=str))
"""
PINNING = "multidb.middleware.PinningRouterMiddleware"


def settings_in(**env) -> dict:
    done = django_run(SETTINGS, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_without_replicas_there_is_no_router_and_no_pinning():
    found = settings_in(EMBEDDED_DEMO="1")
    assert list(found["databases"]) == ["default"]
    assert found["routers"] == []
    assert PINNING not in found["middleware"]


def test_each_replica_is_a_database_read_through_the_router_with_pinning_after_the_probes():
    found = settings_in(
        **production_env(
            DATABASE_URL="mysql://app@primary:3306/backoffice",
            REPLICA_DATABASE_URLS="mysql://app@replica-a:3306/backoffice, mysql://app@replica-b:3307/backoffice",
            MULTIDB_PINNING_SECONDS="30",
        )
    )
    databases = found["databases"]
    assert list(databases) == ["default", "replica1", "replica2"]
    assert [(databases[alias]["HOST"], databases[alias]["PORT"]) for alias in ("replica1", "replica2")] == [
        ("replica-a", 3306),
        ("replica-b", 3307),
    ]
    for alias in ("replica1", "replica2"):
        assert databases[alias]["OPTIONS"] == databases["default"]["OPTIONS"]  # read committed, utf8mb4, timeouts
        assert databases[alias]["TEST"]["MIRROR"] == "default"  # the primary's test database, replicated
    assert found["routers"] == ["core.replicas.ReplicaRouter"]
    middleware = found["middleware"]
    assert middleware.index(PINNING) == middleware.index("backoffice.health.HealthProbesMiddleware") + 1
    assert found["pinning"] == {
        "MULTIDB_PINNING_SECONDS": 30,
        "MULTIDB_PINNING_COOKIE_SECURE": True,  # production mode: HTTPS only
        "MULTIDB_PINNING_COOKIE_HTTPONLY": True,
        "MULTIDB_PINNING_COOKIE_SAMESITE": "Lax",
    }
