from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from core.db import row_insert
from rbac.models import OperationLog
from rbac.roles import ADMINISTRATOR_APPS, ADMINISTRATORS, ROLE_PERMISSIONS


def _permissions_find(names: tuple[str, ...]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    missing = set(names) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"Unknown permissions (run migrate first): {', '.join(sorted(missing))}")
    return found


@transaction.atomic
def roles_setup() -> dict[str, Group]:
    """Create or reset the role groups to exactly their permissions; running it again changes nothing."""
    groups = {}
    admin_group, _created = Group.objects.get_or_create(name=ADMINISTRATORS)
    admin_group.permissions.set(Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS))
    groups[ADMINISTRATORS] = admin_group
    for name, permission_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions_find(permission_names))
        groups[name] = group
    return groups


def operation_record(
    *, actor, address: str | None, action: str, obj, summary: str = "", object_repr: str | None = None
) -> OperationLog:
    """Record a write in the operation log. Call it inside the write's transaction, so a rolled-back
    write leaves no row. `summary` says what changed, never a password or a code."""
    return row_insert(OperationLog(
        actor=actor if actor is not None and actor.is_authenticated else None,
        address=address or None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=(str(obj) if object_repr is None else object_repr)[:200],
        summary=summary[:500],
    ))


@transaction.atomic
def login_unlock(*, attempt_ids: list[int], actor, address: str | None = None) -> int:
    """Clear django-axes' failed sign-ins (the lockout of their users and addresses), each recorded."""
    attempts = list(AccessAttempt.objects.select_for_update().filter(pk__in=attempt_ids))
    for attempt in attempts:
        operation_record(
            actor=actor,
            address=address,
            action=OperationLog.Action.UNLOCK,
            obj=attempt,
            object_repr=f"{attempt.username} @ {attempt.ip_address}",
            summary=f"{attempt.failures_since_start}",
        )
    AccessAttempt.objects.filter(pk__in=[attempt.pk for attempt in attempts]).delete()
    return len(attempts)
