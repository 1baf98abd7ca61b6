"""What may be typed: amounts in plain decimal notation only, and text without control characters,
refused alike by the services (domain errors) and the admin's forms (form errors), writing nothing."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from core.validators import text_plain_check
from customers.errors import InvalidAmount, InvalidText
from customers.models import Customer, LedgerEntry
from customers.money import money_amount_parse
from customers.services import balance_debit, balance_recharge
from orders.models import Order
from orders.services import order_place
from rbac.roles import CUSTOMER_SERVICE, CUSTOMERS, FINANCE
from tests.factories import CustomerFactory, UserFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db

CONTROL = ["a\x01b", "\x00", "tab\there", "line\nbreak", "cr\rhere", "\x7f", "\x9b", "a\u2028b", "\u202eevil", "\u2066x\u2069"]


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


# --- control characters: services ----------------------------------------------------------------


@pytest.mark.parametrize("text", CONTROL)
def test_the_check_refuses_control_characters_naming_the_field(text):
    with pytest.raises(InvalidText) as refused:
        text_plain_check(text, field="memo")
    assert refused.value.field == "memo"


@pytest.mark.parametrize("text", ["", "张三", "Zhang San", "=1+1", "emoji 👍🏽", "ناصر", "a\u200db"])
def test_ordinary_text_passes(text):
    assert text_plain_check(text, field="name") == text


@pytest.mark.parametrize("memo", CONTROL)
def test_balance_services_refuse_a_memo_with_a_control_character(customer, memo):
    with pytest.raises(InvalidText):
        balance_recharge(customer_id=customer.pk, amount="10", actor=None, memo=memo)
    with pytest.raises(InvalidText):
        balance_debit(customer_id=customer.pk, amount="10", actor=None, memo=memo)
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("field", ["target", "memo"])
@pytest.mark.parametrize("text", ["a\x01b", "a\nb", "\u202eevil"])
def test_order_place_refuses_a_target_or_memo_with_a_control_character(customer, product, field, text):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    values = {"target": "13800000000", "memo": ""} | {field: text}
    with pytest.raises(InvalidText) as refused:
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, actor=None, **values)
    assert refused.value.field == field
    assert not Order.objects.exists()
    customer.refresh_from_db()
    assert customer.balance == Decimal("100.00")


# --- control characters: the admin's forms ----------------------------------------------------------


def form_errors(response) -> dict:
    assert response.status_code == 200, response.get("Location")
    return response.context["adminform"].form.errors


def test_the_recharge_and_debit_forms_refuse_such_a_memo(finance_client, customer):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    for url in (reverse("admin:customers_recharge_add"), reverse("admin:customers_debit_add")):
        response = finance_client.post(
            url, {"customer": customer.mobile, "amount": "10", "memo": "x\x01y", "idempotency_token": url}
        )
        assert "control character" in form_errors(response)["memo"][0]
    assert LedgerEntry.objects.count() == 1


def test_the_customer_form_refuses_such_a_name(client, tier):
    client.force_login(role_user(CUSTOMER_SERVICE))
    client.cookies["django_language"] = "en"
    data = {"name": "Zhang\x01San", "mobile": "13812345678", "email": "", "tier": tier.pk, "is_active": "on"}
    data |= {f"ledger_entries-{key}": value for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}
    response = client.post(reverse("admin:customers_customer_add"), data)
    assert "control character" in form_errors(response)["name"][0]
    assert not Customer.objects.exists()
    response = client.post(reverse("admin:customers_customer_add"), data | {"name": "Zhang San"})
    assert response.status_code == 302 and Customer.objects.get().name == "Zhang San"


def test_the_order_forms_refuse_such_a_target_or_memo(client, customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    client.force_login(role_user(CUSTOMER_SERVICE))
    data = {"customer": customer.mobile, "product": product.pk, "quantity": "1", "target": "138\x0100000000",
            "memo": "a\x02", "idempotency_token": "tok-1"}
    errors = form_errors(client.post(reverse("admin:orders_order_add"), data))
    assert set(errors) >= {"target", "memo"}
    assert not Order.objects.exists()


def test_my_order_form_refuses_them_for_a_customer(client, product):
    me = CustomerFactory()
    balance_recharge(customer_id=me.pk, amount="100", actor=None)
    client.force_login(role_user(CUSTOMERS, customer=me))
    data = {"product": product.pk, "quantity": "1", "target": "x\u202ey", "memo": "", "idempotency_token": "tok-1"}
    assert "target" in form_errors(client.post(reverse("admin:orders_myorder_add"), data))
    assert not Order.objects.exists()


def test_editing_an_order_memo_later_refuses_them_too(client, customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None, memo="ok")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:orders_order_change", args=[order.pk]), {"memo": "bad\x01"})
    assert "memo" in form_errors(response)
    order.refresh_from_db()
    assert order.memo == "ok"
