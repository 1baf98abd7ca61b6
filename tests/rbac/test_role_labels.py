"""Roles (groups stored by their English names, a contract) and permissions read in Chinese on the user
and group pages."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, CUSTOMERS, FINANCE, OPERATIONS
from tests.factories import UserFactory
from tests.roles import role_user

ROLES_IN_CHINESE = {"管理员", "财务", "客服", "客服组长", "运维", "客户"}
ROLE_NAMES = {ADMINISTRATORS, FINANCE, CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, OPERATIONS, CUSTOMERS}  # as stored


@pytest.fixture
def admin_client(client, db):
    client.force_login(role_user("Administrators", username="root"))
    return client


def choice_labels(form, name) -> dict[str, str]:
    return {str(value): label for value, label in form.fields[name].choices}


def test_the_user_form_offers_roles_and_permissions_in_chinese(admin_client):
    finance = role_user(FINANCE, scoped=True)
    form = admin_client.get(reverse("admin:auth_user_change", args=[finance.pk])).context["adminform"].form
    groups = choice_labels(form, "groups")
    assert groups[str(Group.objects.get(name=FINANCE).pk)] == "财务"
    assert ROLES_IN_CHINESE <= set(groups.values()) and not set(groups.values()) & ROLE_NAMES
    permissions = choice_labels(form, "user_permissions")
    assert permissions[str(Permission.objects.get(codename="add_order").pk)] == "订单 | 添加订单"
    assert permissions[str(Permission.objects.get(codename="view_ledgerentry").pk)] == "客户 | 查看交易记录"
    assert permissions[str(Permission.objects.get(codename="retry_order").pk)] == "订单 | 可以重试失败订单"
    assert not [label for label in permissions.values() if "Can " in label]
    assert Group.objects.get(pk=Group.objects.get(name=FINANCE).pk).name == "Finance"  # stored as it was


def test_the_group_pages_show_the_role_in_chinese_and_keep_its_stored_name(admin_client):
    role_user(CUSTOMER_SERVICE)
    listed = admin_client.get(reverse("admin:auth_group_changelist")).content.decode()
    assert "客服" in listed and ">Customer service<" not in listed
    group = Group.objects.get(name=CUSTOMER_SERVICE)
    page = admin_client.get(reverse("admin:auth_group_change", args=[group.pk]))
    assert 'value="Customer service"' in page.content.decode() and "客服" in page.content.decode()
    permissions = choice_labels(page.context["adminform"].form, "permissions")
    assert permissions[str(Permission.objects.get(codename="change_order").pk)] == "订单 | 修改订单"


def test_the_user_list_names_roles_in_chinese_and_filters_by_them(admin_client):
    finance = role_user(FINANCE, scoped=True)
    response = admin_client.get(reverse("admin:auth_user_changelist"))
    assert "财务" in response.content.decode()
    role_filter = next(spec for spec in response.context_data["cl"].filter_specs if spec.field_path == "groups")
    labels = {label for _pk, label in role_filter.lookup_choices}
    assert ROLES_IN_CHINESE <= labels and not labels & ROLE_NAMES
    group = Group.objects.get(name=FINANCE)
    filtered = admin_client.get(reverse("admin:auth_user_changelist"), {"groups__id__exact": group.pk})
    assert list(filtered.context_data["cl"].result_list) == [finance]


@pytest.mark.parametrize("url_name", ["admin:auth_user_change", "admin:auth_group_change"])
def test_the_two_box_selectors_carry_no_hold_down_control_hint(client, db, url_name):
    root = UserFactory(username="root-hint", is_staff=True, is_superuser=True)
    client.force_login(root)
    obj = root if url_name == "admin:auth_user_change" else Group.objects.create(name="some role")
    page = client.get(reverse(url_name, args=[obj.pk])).content.decode()
    assert "Command" not in page and "Control" not in page
    assert "selectfilter" in page.lower()
