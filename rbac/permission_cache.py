"""Each user's permissions kept in Redis for the requests that follow: without it every page runs
ModelBackend's two joined permission queries again (about 1.5 ms of a form page's 12 ms of CPU).

Entries are keyed by a generation number, and any change to a user's groups or permissions, to a
group's permissions, or to the permissions themselves bumps it, at the change and again once it commits:
a request that read the database in between wrote its entry under a generation nobody reads after the
commit. Only with Redis: one process's memory would keep a revoked permission in the others. A bump lost
to a Redis outage is bounded by the entries' minute of life."""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

ENTRY_SECONDS = 60


def _generation_key() -> str:
    # Two databases behind one Redis (the tests' and a demo's) have users with the same ids.
    return f"perms:generation:{connection.settings_dict['NAME']}"


def permissions_cached(user, load) -> set[str]:
    """`user`'s permissions from the cache, or from `load()` (then kept for the next request)."""
    if not settings.REDIS_URL:
        return load()
    generation = cache.get(_generation_key())
    if generation is None:
        # A new number, never one an older entry was written under (Redis may have restarted empty).
        cache.add(_generation_key(), time.time_ns(), timeout=None)
        generation = cache.get(_generation_key())
        if generation is None:  # Redis unreachable: django-redis answers None
            return load()
    key = f"perms:{connection.settings_dict['NAME']}:{generation}:{user.pk}:{int(user.is_superuser)}"
    permissions = cache.get(key)
    if permissions is None:
        permissions = load()
        cache.set(key, permissions, ENTRY_SECONDS)
    return permissions


def _bump() -> None:
    try:
        cache.incr(_generation_key())
    except ValueError:  # no generation yet: nothing is cached under one
        pass


def permissions_changed(**kwargs) -> None:
    if kwargs.get("action", "post_").startswith("post_") and settings.REDIS_URL:
        _bump()
        transaction.on_commit(_bump)


User = get_user_model()
for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"rbac.permission_cache.{through.__name__}")
for model in (Group, Permission):
    post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"rbac.permission_cache.{model.__name__}")
post_save.connect(permissions_changed, sender=Permission, dispatch_uid="rbac.permission_cache.permission_saved")
# A migration bulk-creates new permissions, which sends no post_save.
post_migrate.connect(permissions_changed, dispatch_uid="rbac.permission_cache.migrated")
