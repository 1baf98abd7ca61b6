"""Every write through a service or the admin leaves one operation-log row, in the write's transaction."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from customers.errors import InsufficientBalance
from customers.models import Customer
from customers.services import balance_debit, balance_recharge
from orders.models import Order
from orders.services import order_fail, order_place
from rbac.admin import OperationLogged
from rbac.models import OperationLog
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, FINANCE, OPERATIONS
from tests.factories import UserFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db


def only_row(**filters) -> OperationLog:
    rows = list(OperationLog.objects.filter(**filters))
    assert len(rows) == 1, rows
    return rows[0]


def test_balance_recharge_records_who_where_and_what(customer, staff):
    balance_recharge(customer_id=customer.pk, amount="100", actor=staff, address="10.1.2.3", memo="top-up")
    row = only_row()
    assert (row.actor, row.address, row.action) == (staff, "10.1.2.3", "recharge")
    assert (row.object_type, row.object_id, row.summary) == ("customers.customer", str(customer.pk), "+100.00 → 100.00")


def test_a_replayed_recharge_records_nothing_more(customer, staff):
    for _ in range(2):
        balance_recharge(customer_id=customer.pk, amount="5", actor=staff, token="tok-1")
    assert OperationLog.objects.count() == 1


def test_a_refused_write_records_nothing(customer, staff):
    with pytest.raises(InsufficientBalance):
        balance_debit(customer_id=customer.pk, amount="1", actor=staff)
    assert not OperationLog.objects.exists()


def test_a_rolled_back_write_leaves_no_row(customer, staff):
    with pytest.raises(RuntimeError), transaction.atomic():
        balance_recharge(customer_id=customer.pk, amount="100", actor=staff)
        raise RuntimeError("the caller's transaction fails after the service call")
    assert not OperationLog.objects.exists()
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("0.00")


def test_agent_outcomes_are_order_events_not_operations(customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    Order.objects.filter(pk=order.pk).update(status="running", lease_owner="agent-1")
    order_fail(order_id=order.pk, agent="agent-1", error="boom", transient=False)
    assert list(OperationLog.objects.values_list("action", flat=True).order_by("id")) == ["recharge", "place"]


def test_the_order_form_records_one_placement_with_the_address(client, customer, product):
    user = role_user(CUSTOMER_SERVICE)
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    client.force_login(user)
    data = {"customer": str(customer), "product": product.pk, "quantity": "2", "target": "t-1", "memo": "",
            "idempotency_token": "tok-form", "_save": "Save"}
    for _ in range(2):  # a double-clicked Save
        assert client.post(reverse("admin:orders_order_add"), data, REMOTE_ADDR="192.0.2.7").status_code == 302
    row = only_row(action="place")
    assert (row.actor, row.address, row.object_repr) == (user, "192.0.2.7", Order.objects.get().order_no)
    assert row.summary == f"{product.code} × 2 = 20.00"


def test_the_cancel_and_retry_actions_record_each_order(client, customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    pending = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="a", actor=None)
    failed = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="b", actor=None)
    Order.objects.filter(pk=failed.pk).update(status="running", lease_owner="agent-1")
    order_fail(order_id=failed.pk, agent="agent-1", error="boom", transient=False)
    url = reverse("admin:orders_order_changelist")

    client.force_login(role_user(CUSTOMER_SERVICE))
    client.post(url, {"action": "cancel_selected", "_selected_action": [pending.pk]})
    client.force_login(role_user(OPERATIONS))
    client.post(url, {"action": "retry_selected", "_selected_action": [failed.pk]})

    assert only_row(action="cancel").object_id == str(pending.pk)
    assert only_row(action="retry").object_repr == Order.objects.get(token=f"retry-{failed.order_no}").order_no


def test_the_recharge_form_records_one_recharge(client, customer):
    client.force_login(role_user(FINANCE))
    data = {"customer": customer.mobile, "amount": "50", "memo": "", "idempotency_token": "tok-r", "_save": "Save"}
    assert client.post(reverse("admin:customers_recharge_add"), data).status_code == 302
    assert only_row().action == "recharge"


def test_admin_edits_record_the_changed_fields_in_the_readers_language(client, customer):
    user = role_user(CUSTOMER_SERVICE)
    client.force_login(user)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = {"name": "New name", "mobile": customer.mobile, "email": "", "is_active": "on", "tier": customer.tier_id,
            "ledger_entries-TOTAL_FORMS": "0", "ledger_entries-INITIAL_FORMS": "0", "_save": "Save"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    row = only_row(action="change")
    assert (row.actor, row.object_id) == (user, str(customer.pk))
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:rbac_operationlog_changelist")).content.decode()
    assert "已修改名称。" in page  # Django's change message, its field label too, in the reader's language


def test_a_new_staff_account_is_recorded_without_its_password(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    data = {"username": "newbie", "password1": "s3cret-Pass-99", "password2": "s3cret-Pass-99", "usable_password": "true"}
    assert client.post(reverse("admin:auth_user_add"), data).status_code == 302
    row = only_row(action="add")
    assert row.object_type == "auth.user" and "s3cret" not in row.summary


def test_the_logs_are_read_only_and_for_administrators_only(client):
    client.force_login(role_user(ADMINISTRATORS))
    for model in ("operationlog", "loginlog"):
        assert client.get(reverse(f"admin:rbac_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:rbac_{model}_add")).status_code == 403
    client.force_login(role_user(CUSTOMER_SERVICE))
    assert client.get(reverse("admin:rbac_operationlog_changelist")).status_code == 403


def test_every_admin_that_can_write_records_its_writes(rf):
    request = rf.get("/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, OperationLogged):
            continue
        writes = (
            model_admin.has_add_permission(request) if not hasattr(model_admin, "parent_model") else False,
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        )
        assert not any(writes), f"{model._meta.label}'s admin writes without the operation log"
