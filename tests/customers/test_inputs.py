"""What may be typed: amounts in plain decimal notation only, refused alike by the services (domain
errors) and the admin's forms (form errors), writing nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from customers.errors import InvalidAmount
from customers.models import LedgerEntry
from customers.money import money_amount_parse
from customers.services import balance_recharge
from rbac.roles import FINANCE
from tests.roles import role_user

pytestmark = pytest.mark.django_db



# --- amounts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, amount",
    [
        ("10", "10.00"),
        ("10.5", "10.50"),
        ("10.50", "10.50"),
        (" 10.5 ", "10.50"),
        ("\u300010.5\u3000", "10.50"),  # ideographic spaces around
        ("007", "7.00"),
        ("0.01", "0.01"),
        ("99999999.99", "99999999.99"),
        ("１００", "100.00"),  # full-width digits
        ("１２．５", "12.50"),  # and the full-width point
        ("12．50", "12.50"),
        (Decimal("12.5"), "12.50"),
        (7, "7.00"),
    ],
)
def test_plain_decimal_amounts_are_read(text, amount):
    assert money_amount_parse(text) == Decimal(amount)


@pytest.mark.parametrize(
    "text",
    [
        "1e3",  # Decimal would make this 1000
        "1E3",
        "1_0",  # and this 10
        "+5",
        "-5",
        "Infinity",
        "inf",
        "NaN",
        "sNaN",
        "1,000",  # thousands separators are refused: "1,5" would be ambiguous
        "1,000.00",
        "1 000",
        "10.",
        ".5",
        "1.2.3",
        "0x10",
        "١٢",  # Arabic-Indic digits
        "१२",  # Devanagari digits
        "１e３",
        "－5",  # full-width minus
        "",
        "   ",
        "abc",
        "10\x00",
        "¥10",
        None,
        True,
        12.5,
        Decimal("NaN"),
        Decimal("Infinity"),
    ],
)
def test_anything_else_is_not_an_amount(text):
    with pytest.raises(InvalidAmount):
        money_amount_parse(text)


@pytest.mark.parametrize("text", ["0", "0.00", "10.001", "10.005", "100000000", "99999999.995", Decimal("0.001")])
def test_zero_too_many_decimals_and_too_much_are_refused_not_rounded(text):
    with pytest.raises(InvalidAmount):
        money_amount_parse(text)


@translation.override("en")
def test_the_messages_say_what_is_wrong():
    with pytest.raises(InvalidAmount, match="at most two decimal places"):
        money_amount_parse("10.005")
    with pytest.raises(InvalidAmount, match="greater than zero"):
        money_amount_parse("0")
    with pytest.raises(InvalidAmount, match="such as 100 or 99.50"):
        money_amount_parse("1e3")


def test_a_scientific_recharge_moves_no_money(customer):
    for text in ("1e3", "1_0"):
        with pytest.raises(InvalidAmount):
            balance_recharge(customer_id=customer.pk, amount=text, actor=None)
    assert not LedgerEntry.objects.exists()


@pytest.fixture
def finance_client(client, db):
    client.force_login(role_user(FINANCE))
    client.cookies["django_language"] = "en"
    return client


@pytest.mark.parametrize("amount", ["1e3", "1_0", "+5", "1,000", "Infinity", "NaN", "10."])
def test_the_recharge_form_refuses_them_too(finance_client, customer, amount):
    response = finance_client.post(
        reverse("admin:customers_recharge_add"),
        {"customer": customer.mobile, "amount": amount, "memo": "", "idempotency_token": "tok-1"},
    )
    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    assert not LedgerEntry.objects.exists()


def test_the_recharge_form_takes_full_width_digits_and_spaces(finance_client, customer):
    response = finance_client.post(
        reverse("admin:customers_recharge_add"),
        {"customer": customer.mobile, "amount": " １２．５ ", "memo": "", "idempotency_token": "tok-1"},
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.get().amount == Decimal("12.50")
