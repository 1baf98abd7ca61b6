"""Permissions through Redis (rbac.permission_cache): a later request runs no permission query, and the
next request after any change to a user's groups or permissions, or to a group's, sees the change."""

import threading

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory

PERM = "orders.view_order"
with_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="the embedded default has no shared cache")


def next_request(user):
    """The user as the next request loads them: no permissions held on the object."""
    return get_user_model().objects.get(pk=user.pk)


def permission_queries(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        next_request(user).has_perm(PERM)
    return sum("auth_permission" in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def member(db):
    group = Group.objects.create(name="Readers of orders")
    group.permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    return user


@with_redis
def test_a_later_request_runs_no_permission_query(member):
    assert permission_queries(member) == 2  # ModelBackend's: the user's own, and their groups'
    assert permission_queries(member) == 0
    assert next_request(member).has_perm(PERM)


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="with Redis the permissions are cached")
def test_without_redis_every_request_reads_the_permissions(member):
    assert permission_queries(member) == 2
    assert permission_queries(member) == 2


def _left_the_group(user):
    user.groups.clear()


def _group_lost_the_permission(user):
    user.groups.get().permissions.clear()


def _group_deleted(user):
    user.groups.get().delete()


def _permission_deleted(user):
    Permission.objects.get(codename="view_order", content_type__app_label="orders").delete()


@with_redis
@pytest.mark.parametrize("change", [_left_the_group, _group_lost_the_permission, _group_deleted, _permission_deleted])
def test_the_next_request_after_a_revocation_is_refused(member, change):
    assert next_request(member).has_perm(PERM)
    change(member)
    assert not next_request(member).has_perm(PERM)


@with_redis
@pytest.mark.parametrize("grant", ["own permission", "group", "superuser"])
def test_the_next_request_after_a_grant_is_allowed(db, grant):
    user = UserFactory(is_staff=True)
    assert not next_request(user).has_perm(PERM)
    permission = Permission.objects.get(codename="view_order", content_type__app_label="orders")
    if grant == "own permission":
        user.user_permissions.add(permission)
    elif grant == "group":
        group = Group.objects.create(name="Readers of orders")
        group.permissions.add(permission)
        group.user_set.add(user)
    else:
        get_user_model().objects.filter(pk=user.pk).update(is_superuser=True)
    assert next_request(user).has_perm(PERM)


@with_redis
@pytest.mark.django_db(transaction=True)
def test_a_request_that_read_before_the_revocation_committed_leaves_no_stale_entry(member):
    """Another connection reads (and caches) the permissions while the revocation is not yet committed;
    once it commits, the next request is refused."""
    revoked, commit = threading.Event(), threading.Event()

    def revoke():
        try:
            with transaction.atomic():
                member.groups.get().permissions.clear()
                revoked.set()
                commit.wait(10)
        finally:
            connection.close()

    revoking = threading.Thread(target=revoke)
    revoking.start()
    assert revoked.wait(10)
    assert next_request(member).has_perm(PERM)  # the committed state, now in the cache
    commit.set()
    revoking.join(10)
    assert not next_request(member).has_perm(PERM)
