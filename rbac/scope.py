"""Whose customers a staff member sees: the widest data scope of their roles, as the staff whose
customers those are (customers.selectors turns that into customers, orders and ledger rows)."""

from rbac.models import RoleScope, StaffProfile, Team

Scope = RoleScope.Scope
NARROW_TO_WIDE = [Scope.OWN, Scope.TEAM, Scope.TEAM_TREE, Scope.ALL]


def user_scope(user) -> str:
    """The widest scope of the user's roles; superusers see all, a role without a scope only its own."""
    if user.is_superuser:
        return Scope.ALL
    scopes = RoleScope.objects.filter(group__user=user).values_list("scope", flat=True)
    return max(scopes, key=NARROW_TO_WIDE.index, default=Scope.OWN)


def owner_ids_visible_to(user) -> frozenset[int] | None:
    """The staff whose customers `user` sees (themselves included), or None for every customer.
    Worked out once per user object, as Django caches permissions: once per request."""
    if not hasattr(user, "_owner_ids_visible"):
        user._owner_ids_visible = _owner_ids(user)
    return user._owner_ids_visible


def _owner_ids(user) -> frozenset[int] | None:
    scope = user_scope(user)
    if scope == Scope.ALL:
        return None
    team_id = StaffProfile.objects.filter(user=user).values_list("team_id", flat=True).first()
    if scope == Scope.OWN or team_id is None:
        return frozenset([user.pk])
    teams = {team_id}
    if scope == Scope.TEAM_TREE:
        children: dict[int, list[int]] = {}
        for pk, parent_id in Team.objects.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        below = [team_id]
        while below:
            below = [child for parent in below for child in children.get(parent, ()) if child not in teams]
            teams.update(below)
    members = StaffProfile.objects.filter(team_id__in=teams).values_list("user_id", flat=True)
    return frozenset([user.pk, *members])
