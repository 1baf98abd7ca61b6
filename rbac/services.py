from dataclasses import dataclass
from importlib import import_module

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from core.db import row_insert
from rbac.models import OperationLog, RoleScope, SignedInSession
from rbac.roles import ADMINISTRATOR_APPS, ADMINISTRATORS, ROLE_PERMISSIONS, ROLE_SCOPES


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


@dataclass
class RoleSetup:
    group: Group
    added: list[str]  # permissions the role lacked and now has
    extra: list[str]  # permissions beyond the role's defaults: kept, or removed with reset
    scope: str = ""  # the role's data scope after the set-up ("" for a role without one)


def _permission_names(permissions) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)


@transaction.atomic
def roles_setup(*, reset: bool = False) -> dict[str, RoleSetup]:
    """Create the role groups and give each the permissions it lacks, and its data scope where it has
    none. Permissions an administrator added to a role, and a scope they chose, are kept (permissions
    reported), unless `reset` makes each role exactly its defaults. Running it again changes nothing."""
    defaults = {ADMINISTRATORS: list(Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS))}
    defaults |= {name: _permissions_find(names) for name, names in ROLE_PERMISSIONS.items()}
    roles = {}
    for name, permissions in defaults.items():
        group, _created = Group.objects.get_or_create(name=name)
        held = set(group.permissions.select_related("content_type"))
        added, extra = set(permissions) - held, held - set(permissions)
        group.permissions.add(*added)
        if reset:
            group.permissions.remove(*extra)
        scope = ROLE_SCOPES.get(name)
        if scope is not None:
            role_scope, _created = RoleScope.objects.get_or_create(group=group, defaults={"scope": scope})
            if reset and role_scope.scope != scope:
                role_scope.scope = scope
                role_scope.save(update_fields=["scope"])
            scope = role_scope.scope
        roles[name] = RoleSetup(group, _permission_names(added), _permission_names(extra), scope or "")
    return roles


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


@transaction.atomic
def sessions_sign_out(*, session_ids: list[int], actor, address: str | None = None) -> int:
    """End signed-in visits: each is removed from the session store, so its next request is signed out,
    and recorded in the operation log."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    visits = list(SignedInSession.objects.select_for_update().filter(pk__in=session_ids).select_related("user"))
    for visit in visits:
        store(session_key=visit.session_key).delete()
        operation_record(
            actor=actor, address=address, action=OperationLog.Action.SIGN_OUT, obj=visit,
            summary=f"{visit.address or ''} {visit.signed_in_at:%Y-%m-%d %H:%M}",
        )
    SignedInSession.objects.filter(pk__in=[visit.pk for visit in visits]).delete()
    return len(visits)
