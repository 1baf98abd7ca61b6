"""Users in the real role groups (made by rbac.services.roles_setup), for the admin tests."""

from django.contrib.auth.models import Group

from rbac.models import RoleScope
from rbac.roles import CUSTOMERS
from rbac.services import roles_setup
from tests.factories import UserFactory


def every_customer_role() -> Group:
    """A role with no permissions whose data scope is "all"."""
    group, _created = Group.objects.get_or_create(name="Tests: every customer")
    RoleScope.objects.get_or_create(group=group, defaults={"scope": RoleScope.Scope.ALL})
    return group


def role_user(role: str, *, customer=None, username: str | None = None, scoped: bool = False):
    """A member of `role`. Unless `scoped`, the user also sees every customer (a second role of data
    scope "all"), so that tests of other things need not give them customers to own
    (tests/customers/test_scope.py tests the scopes themselves); a role that sees all needs none."""
    roles = roles_setup()
    groups = {name: setup.group for name, setup in roles.items()}
    user = UserFactory(username=username or f"{role.lower().replace(' ', '-')}-user", is_staff=True)
    user.groups.set([groups[role]])
    if not scoped and role != CUSTOMERS and roles[role].scope != RoleScope.Scope.ALL:
        user.groups.add(every_customer_role())
    if customer is not None:
        customer.user = user
        customer.save(update_fields=["user"])
    return user


def admin_client_for(client, user):
    client.force_login(user)
    return client
