"""A customer with history (orders, ledger entries) is never deleted: the admin says so in its own layout
and offers deactivation, which the operation log records."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from customers.models import Customer
from customers.services import balance_recharge
from rbac.models import OperationLog
from rbac.roles import CUSTOMER_SERVICE
from tests.factories import CustomerFactory
from tests.roles import role_user

CHANGELIST = reverse("admin:customers_customer_changelist")


@pytest.fixture
def service_client(client, db):
    client.force_login(role_user(CUSTOMER_SERVICE))
    return client


@pytest.fixture
def with_history(customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    return customer


def test_deleting_a_customer_with_history_says_why_and_offers_deactivation(service_client, with_history):
    response = service_client.get(reverse("admin:customers_customer_delete", args=[with_history.pk]))
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "admin/customers/customer/delete_refused.html"
    page = response.content.decode()
    assert "有订单或交易记录的客户不能删除" in page
    assert 'value="deactivate_selected"' in page and "停用" in page
    assert 'id="deleted-objects"' not in page  # not Django's list of protected objects
    # A forged confirmation deletes nothing either.
    service_client.post(reverse("admin:customers_customer_delete", args=[with_history.pk]), {"post": "yes"})
    assert Customer.objects.filter(pk=with_history.pk).exists()


def test_the_delete_action_on_customers_with_history_is_refused_the_same_way(service_client, with_history):
    plain = CustomerFactory()
    response = service_client.post(
        CHANGELIST, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [with_history.pk, plain.pk]}
    )
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "admin/customers/customer/delete_refused.html"
    assert str(with_history) in response.content.decode() and str(plain) not in response.content.decode()
    assert Customer.objects.count() == 2


def test_deactivation_is_recorded_in_the_operation_log(service_client, with_history):
    response = service_client.post(
        CHANGELIST, {"action": "deactivate_selected", ACTION_CHECKBOX_NAME: [with_history.pk]}, follow=True
    )
    with_history.refresh_from_db()
    assert not with_history.is_active
    assert "已停用 1 个客户。" in [str(message) for message in get_messages(response.wsgi_request)]
    record = OperationLog.objects.get(
        object_type="customers.customer", object_id=str(with_history.pk), action=OperationLog.Action.CHANGE
    )
    assert record.actor.username == "customer-service-user"
    assert record.summary == '[{"changed": {"fields": ["Active"]}}]'  # as the change form records it


def test_a_customer_without_history_is_still_deleted(service_client, customer):
    url = reverse("admin:customers_customer_delete", args=[customer.pk])
    assert "admin/customers/customer/delete_refused.html" not in [t.name for t in service_client.get(url).templates]
    assert service_client.post(url, {"post": "yes"}).status_code == 302
    assert not Customer.objects.exists()
