"""The order forms only validate: placing the order is the admin's service call, with the signed-in user."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from customers.models import LedgerEntry
from customers.services import balance_recharge
from orders.forms import MyOrderPlaceForm, OrderPlaceForm
from orders.models import MyOrder, Order
from rbac.roles import CUSTOMER_SERVICE, CUSTOMERS
from tests.factories import CustomerFactory
from tests.roles import role_user


def order_data(customer, product, **overrides):
    data = {"customer": customer.mobile, "product": product.pk, "quantity": "2", "target": "t", "memo": "", "idempotency_token": "tok"}
    return {**data, **overrides}


@pytest.fixture
def funded(customer):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    return customer


@pytest.mark.parametrize("form_class", [OrderPlaceForm, MyOrderPlaceForm])
def test_a_valid_form_writes_nothing(funded, product, form_class):
    form = form_class(data=order_data(funded, product))
    assert form.is_valid(), form.errors
    form.save(commit=False)
    assert not Order.objects.exists()
    assert LedgerEntry.objects.count() == 1  # the recharge only


@pytest.mark.parametrize("actor", [None, AnonymousUser()])
def test_the_admin_places_an_order_only_for_a_signed_in_actor(funded, product, actor):
    form = OrderPlaceForm(data=order_data(funded, product))
    assert form.is_valid()
    order_admin = admin.site._registry[Order]
    with pytest.raises(PermissionDenied):
        order_admin.service_save(form, actor=actor, address="127.0.0.1")
    with pytest.raises(TypeError):
        order_admin.service_save(form, address="127.0.0.1")  # the actor has no default
    assert not Order.objects.exists() and LedgerEntry.objects.count() == 1


def test_the_admin_places_the_validated_order_as_the_actor(funded, product):
    user = role_user(CUSTOMER_SERVICE)
    form = OrderPlaceForm(data=order_data(funded, product))
    assert form.is_valid()
    order = admin.site._registry[Order].service_save(form, actor=user, address="127.0.0.1")
    assert (order.customer, order.quantity, order.created_by) == (funded, 2, user)
    assert LedgerEntry.objects.filter(order=order, kind="charge").count() == 1


def test_my_order_is_placed_for_the_actors_own_customer(product):
    alice, bob = CustomerFactory(), CustomerFactory()
    for customer in (alice, bob):
        balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    user = role_user(CUSTOMERS, customer=alice)
    form = MyOrderPlaceForm(data=order_data(bob, product))  # a customer posted by hand is not a field here
    assert form.is_valid()
    order = admin.site._registry[MyOrder].service_save(form, actor=user, address=None)
    assert order.customer == alice
