"""The recharge and debit forms only validate: the balance service is the admin's call, with the signed-in user."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied

from customers.forms import DebitForm, RechargeForm
from customers.models import Debit, LedgerEntry, Recharge
from customers.services import balance_recharge
from rbac.roles import FINANCE
from tests.roles import role_user


def move_data(customer, amount="5.00"):
    return {"customer": customer.mobile, "amount": amount, "memo": "", "idempotency_token": "tok"}


@pytest.mark.parametrize("form_class", [RechargeForm, DebitForm])
def test_a_valid_form_moves_no_money(customer, form_class):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    form = form_class(data=move_data(customer))
    assert form.is_valid(), form.errors
    form.save(commit=False)
    customer.refresh_from_db()
    assert customer.balance == Decimal("10.00") and LedgerEntry.objects.count() == 1


@pytest.mark.parametrize("model, form_class", [(Recharge, RechargeForm), (Debit, DebitForm)])
def test_the_admin_moves_money_only_for_a_signed_in_actor(customer, model, form_class):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    form = form_class(data=move_data(customer))
    assert form.is_valid()
    move_admin = admin.site._registry[model]
    with pytest.raises(PermissionDenied):
        move_admin.service_save(form, actor=None, address=None)
    assert LedgerEntry.objects.count() == 1
    user = role_user(FINANCE)
    entry = move_admin.service_save(form, actor=user, address="127.0.0.1")
    assert (entry.kind, entry.created_by) == (model._meta.model_name, user)
