"""A balance at the money column's maximum (999,999,999,999.99): going past it is a domain error, never a 500."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from customers.errors import BalanceLimitExceeded
from customers.models import Customer, LedgerEntry
from customers.money import MONEY_MAX
from customers.services import balance_debit, balance_recharge
from rbac.roles import FINANCE
from tests.money import balance_fill
from tests.roles import role_user

pytestmark = pytest.mark.django_db


def test_money_max_is_what_the_balance_column_holds():
    field = Customer._meta.get_field("balance")
    assert MONEY_MAX == Decimal(f"{'9' * (field.max_digits - field.decimal_places)}.{'9' * field.decimal_places}")
    for model_field in (LedgerEntry._meta.get_field("amount"), LedgerEntry._meta.get_field("balance_after")):
        assert (model_field.max_digits, model_field.decimal_places) == (field.max_digits, field.decimal_places)


def test_a_recharge_up_to_the_maximum_is_stored_exactly(customer, reconciled):
    balance_fill(customer, room="10.00")
    entry = balance_recharge(customer_id=customer.pk, amount="10.00", actor=None)
    customer.refresh_from_db()
    assert customer.balance == entry.balance_after == MONEY_MAX
    assert LedgerEntry.objects.get(pk=entry.pk).balance_after == MONEY_MAX
    reconciled()


def test_a_recharge_past_the_maximum_is_refused_and_writes_nothing(customer, reconciled):
    before = balance_fill(customer, room="10.00")
    with translation.override("en"), pytest.raises(BalanceLimitExceeded, match="more than the largest balance"):
        balance_recharge(customer_id=customer.pk, amount="10.01", actor=None)
    customer.refresh_from_db()
    assert customer.balance == before and LedgerEntry.objects.count() == 1
    # a debit still works, and makes room again
    balance_debit(customer_id=customer.pk, amount="5", actor=None)
    balance_recharge(customer_id=customer.pk, amount="15.00", actor=None)
    customer.refresh_from_db()
    assert customer.balance == MONEY_MAX
    reconciled()


def test_the_recharge_form_shows_it_as_an_amount_error(client, customer, reconciled):
    before = balance_fill(customer, room="1.00")
    client.force_login(role_user(FINANCE))
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("admin:customers_recharge_add"),
        {"customer": customer.mobile, "amount": "99999999.99", "memo": "", "idempotency_token": "tok-1"},
    )
    assert response.status_code == 200
    assert "more than the largest balance" in response.context["adminform"].form.errors["amount"][0]
    customer.refresh_from_db()
    assert customer.balance == before and LedgerEntry.objects.count() == 1
    reconciled()
