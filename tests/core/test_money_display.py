"""Amounts read as money wherever the admin shows them (¥, thousands separators); inputs and exports keep
plain numbers."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.money import money_display
from customers.services import balance_debit, balance_recharge
from rbac.roles import FINANCE
from tests.roles import role_user


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0"), "¥0.00"),
        (Decimal("1234.5"), "¥1,234.50"),
        (Decimal("-12.50"), "-¥12.50"),
        (Decimal("999999999999.99"), "¥999,999,999,999.99"),
    ],
)
def test_money_display(value, shown):
    assert money_display(value) == shown


@pytest.fixture
def moved(customer):
    balance_recharge(customer_id=customer.pk, amount="12345.60", actor=None)
    balance_debit(customer_id=customer.pk, amount="1000", actor=None)
    return customer


def test_lists_and_read_only_pages_show_money(client, moved):
    client.force_login(role_user(FINANCE))
    ledger = client.get(reverse("admin:customers_ledgerentry_changelist")).content.decode()
    assert "-¥1,000.00" in ledger and "¥11,345.60" in ledger and "¥12,345.60" in ledger
    customers = client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert '<td class="field-balance">¥11,345.60</td>' in customers
    page = client.get(reverse("admin:customers_customer_change", args=[moved.pk])).content.decode()
    assert '<div class="readonly">¥11,345.60</div>' in page  # the balance field
    assert "<p>-¥1,000.00</p>" in page  # the recent ledger entries


def test_inputs_keep_plain_numbers(client, product):
    client.force_login(role_user("Administrators", username="root"))
    page = client.get(reverse("admin:orders_product_change", args=[product.pk])).content.decode()
    assert f'name="unit_price" value="{product.unit_price}"' in page
