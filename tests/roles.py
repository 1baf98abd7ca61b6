"""Users in the real role groups (made by rbac.services.roles_setup), for the admin tests."""

from rbac.services import roles_setup
from tests.factories import UserFactory


def role_user(role: str, *, customer=None, username: str | None = None):
    groups = {name: role.group for name, role in roles_setup().items()}
    user = UserFactory(username=username or f"{role.lower().replace(' ', '-')}-user", is_staff=True)
    user.groups.set([groups[role]])
    if customer is not None:
        customer.user = user
        customer.save(update_fields=["user"])
    return user


def admin_client_for(client, user):
    client.force_login(user)
    return client
