"""Exports a spreadsheet can open safely, and bad filters in a list's or an export's address."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.exports import cell_safe
from customers.admin import LedgerEntryResource
from customers.models import Customer, LedgerEntry
from customers.services import balance_debit, balance_recharge
from orders.admin import OrderResource
from orders.models import Order
from orders.services import order_place
from rbac.roles import CUSTOMERS, OPERATIONS
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db

ORDER_EXPORT = reverse("admin:orders_order_export")
LEDGER_EXPORT = reverse("admin:customers_ledgerentry_export")
FORMULAE = ["=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1"]
BAD_FILTERS = [
    "created_at__year=abc",
    "created_at__year=0",
    "created_at__year=1",
    "created_at__year=9999",
    "created_at__year=10000",
    "created_at__year=2024&created_at__month=13",
    "created_at__year=2024&created_at__month=abc",
    "created_at__year=2024&created_at__month=2&created_at__day=30",
    "created_at__year=2024&created_at__day=99",
    "created_at__month=13",
    "created_at__day=99",
    "created_at__gte=abc",
    "kind__exact=bogus",
    "status__exact=x",
    "product__id__exact=abc",
    "customer__tier__id__exact=abc",
    "customer__id__exact=99999999999999999999999",
    "amount__gt=abc",
    "no_such_field=1",
]


@pytest.fixture
def superuser_client(db):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    client.cookies["django_language"] = "en"  # column names in the code's language
    return client


def export(client, url, resource, fmt: str, query: str = ""):
    """POST the export form as a user does: every field ticked, XLSX (0) or CSV (1)."""
    data = {"format": {"xlsx": "0", "csv": "1"}[fmt], "resource": "0"}
    data |= {f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()}
    response = client.post(f"{url}?{query}" if query else url, data)
    assert response.status_code == 200, response.content[:500]
    assert f'.{fmt}"; filename*=' in response["Content-Disposition"]
    assert response.streaming  # written as it is read, never whole in memory
    return response.getvalue()


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def xlsx_cells(content: bytes):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows()]


@pytest.fixture
def planted(customer, product):
    """A customer who planted formulas in a target and memos; one order per formula. A second product
    and tier make the list show their filters (a filter with one choice is hidden, and ignored)."""
    ProductFactory()
    CustomerFactory()
    balance_recharge(customer_id=customer.pk, amount="1000", actor=None, memo="=1+1")
    balance_debit(customer_id=customer.pk, amount="12.50", actor=None, memo="@SUM(A1)")
    for formula in FORMULAE:
        typeable = formula.lstrip("\t\r")  # inputs refuse a tab or line break now; older rows may hold one
        order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target=typeable, actor=None, memo=typeable)
        Order.objects.filter(pk=order.pk).update(target=formula, memo=formula)
    return customer


# --- the cell rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", FORMULAE)
def test_a_formula_looking_text_cell_is_quoted(value):
    assert cell_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "-3", "12.50", "hello", "1+1", "", "13800000000"])
def test_plain_numbers_and_ordinary_text_are_left_alone(value):
    assert cell_safe(value) == value


@pytest.mark.parametrize("value", [Decimal("-12.50"), -3, None, 1.5])
def test_cells_that_are_not_text_keep_their_type(value):
    assert cell_safe(value) is value


def test_control_characters_are_dropped_before_the_formula_check():
    assert cell_safe("a\x01b\x1fc") == "abc"
    assert cell_safe("\x01=1+1") == "'=1+1"


# --- exports -----------------------------------------------------------------------------------------


def test_order_csv_quotes_every_formula_and_keeps_amounts_plain(superuser_client, planted):
    rows = csv_rows(export(superuser_client, ORDER_EXPORT, OrderResource, "csv"))
    header, body = rows[0], rows[1:]
    target, memo, amount = (header.index(str(name)) for name in ("Target", "Memo", "Amount"))
    assert sorted(row[target] for row in body) == sorted("'" + f for f in FORMULAE)
    assert sorted(row[memo] for row in body) == sorted("'" + f for f in FORMULAE)
    assert {row[amount] for row in body} == {"10.00"}


def test_order_xlsx_has_no_formula_and_keeps_numbers_numeric(superuser_client, planted):
    cells = xlsx_cells(export(superuser_client, ORDER_EXPORT, OrderResource, "xlsx"))
    header = [cell.value for cell in cells[0]]
    target, amount = header.index("Target"), header.index("Amount")
    assert not [cell.coordinate for row in cells for cell in row if cell.data_type == "f"]
    # XML reads a stored carriage return back as a line feed
    assert sorted(row[target].value for row in cells[1:]) == sorted("'" + f.replace("\r", "\n") for f in FORMULAE)
    assert {(row[amount].value, row[amount].data_type) for row in cells[1:]} == {(10, "n")}


def test_ledger_exports_keep_negative_amounts_as_numbers(superuser_client, planted):
    cells = xlsx_cells(export(superuser_client, LEDGER_EXPORT, LedgerEntryResource, "xlsx"))
    header = [cell.value for cell in cells[0]]
    amount, memo = header.index("Amount"), header.index("Memo")
    by_kind = {row[header.index("Kind")].value: row for row in cells[1:]}
    assert (by_kind["debit"][amount].value, by_kind["debit"][amount].data_type) == (-12.5, "n")
    assert (by_kind["debit"][memo].value, by_kind["recharge"][memo].value) == ("'@SUM(A1)", "'=1+1")
    assert not [cell.coordinate for row in cells for cell in row if cell.data_type == "f"]

    rows = csv_rows(export(superuser_client, LEDGER_EXPORT, LedgerEntryResource, "csv"))
    amounts = sorted(row[rows[0].index("Amount")] for row in rows[1:])
    assert "-12.50" in amounts and "-10.00" in amounts and "1000.00" in amounts


def test_a_control_character_stored_before_inputs_refused_it_does_not_break_xlsx(superuser_client, planted):
    order = Order.objects.first()
    Order.objects.filter(pk=order.pk).update(memo="bad\x01memo", target="\x01=1+1")
    Customer.objects.filter(pk=planted.pk).update(name="Zhang\x02San")
    LedgerEntry.objects.filter(kind="debit").update(memo="x\x1fy")

    cells = xlsx_cells(export(superuser_client, ORDER_EXPORT, OrderResource, "xlsx"))
    header = [cell.value for cell in cells[0]]
    row = next(row for row in cells[1:] if row[header.index("Order number")].value == order.order_no)
    assert (row[header.index("Memo")].value, row[header.index("Target")].value) == ("badmemo", "'=1+1")
    assert row[header.index("Customer")].value == "ZhangSan"
    ledger = xlsx_cells(export(superuser_client, LEDGER_EXPORT, LedgerEntryResource, "xlsx"))
    assert "xy" in [cell.value for row in ledger for cell in row]
    assert b"badmemo" in export(superuser_client, ORDER_EXPORT, OrderResource, "csv")


def test_an_operations_user_exports_the_same_way(client, planted):
    client.cookies["django_language"] = "en"
    client.force_login(role_user(OPERATIONS))
    rows = csv_rows(export(client, ORDER_EXPORT, OrderResource, "csv"))
    assert len(rows) == 1 + len(FORMULAE)


# --- bad filters -----------------------------------------------------------------------------------

LISTS = [
    "admin:orders_order_changelist",
    "admin:customers_ledgerentry_changelist",
    "admin:customers_recharge_changelist",
    "admin:customers_debit_changelist",
    "admin:customers_customer_changelist",
    "admin:customers_tier_changelist",
    "admin:orders_product_changelist",
]
BAD_FILTER_MESSAGE = "The filter in the address is not valid, so the list is shown without it."


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def bad_filter_answers(client, url: str) -> dict[str, int]:
    """Each bad filter's status on `url`; a redirect must be the list's (?e=1) with the message shown once."""
    answers = {}
    for query in BAD_FILTERS:
        response = client.get(f"{url}?{query}")
        answers[query] = response.status_code
        if response.status_code == 302:
            assert response["Location"] == f"{url.removesuffix('export/')}?e=1", query
            assert message_texts(response) == [BAD_FILTER_MESSAGE], query
            page = client.get(response["Location"])
            assert page.status_code == 200 and page.content.decode().count(BAD_FILTER_MESSAGE) == 1, query
    return answers


# 200: a value the filter takes (no row matches, or it filters nothing); 400: a lookup the list does
# not offer (Django's DisallowedModelAdminLookup, a Bad Request, not a 500); 302: the list's own answer.
FILTER_REFUSED = {query: 302 for query in BAD_FILTERS} | {
    "created_at__month=13": 200,
    "created_at__day=99": 200,
    "status__exact=x": 200,
    "customer__id__exact=99999999999999999999999": 200,
}


@pytest.mark.parametrize("url", [ORDER_EXPORT, LEDGER_EXPORT])
def test_a_bad_filter_on_an_export_answers_as_the_list_does(superuser_client, planted, url):
    listed = bad_filter_answers(superuser_client, url.removesuffix("export/"))
    assert 500 not in listed.values()
    assert bad_filter_answers(superuser_client, url) == listed
    for query in BAD_FILTERS:  # the export form's POST too
        response = superuser_client.post(f"{url}?{query}", {"format": "1", "resource": "0"})
        assert response.status_code == (listed[query] if listed[query] != 200 else 200), query
        if response.status_code == 302:
            superuser_client.get(response["Location"])


@pytest.mark.parametrize("name", LISTS)
def test_a_bad_filter_on_a_list_is_a_message_never_a_500(superuser_client, planted, name):
    answers = bad_filter_answers(superuser_client, reverse(name))
    assert set(answers.values()) <= {200, 302, 400}, answers
    if name == "admin:orders_order_changelist":
        assert answers == FILTER_REFUSED


@pytest.mark.parametrize(
    "query", ["created_at__year=0", "created_at__year=abc", "created_at__year=2024&created_at__month=13", "status__exact=x"]
)
def test_customers_own_lists_answer_bad_filters_the_same_way(client, product, query):
    me = CustomerFactory()
    client = Client(raise_request_exception=False)
    client.cookies["django_language"] = "en"
    client.force_login(role_user(CUSTOMERS, customer=me))
    for name in ("admin:orders_myorder_changelist", "admin:customers_myledgerentry_changelist"):
        response = client.get(f"{reverse(name)}?{query}")
        assert response.status_code in (200, 302, 400), (name, query)
        if response.status_code == 302:
            assert response["Location"].endswith("/?e=1")
            assert client.get(response["Location"]).status_code == 200


def test_the_customer_list_with_year_zero_was_a_500(superuser_client, planted):
    response = superuser_client.get(reverse("admin:customers_customer_changelist") + "?created_at__year=0")
    assert (response.status_code, response["Location"]) == (302, reverse("admin:customers_customer_changelist") + "?e=1")


def test_good_filters_still_filter_lists_and_exports(superuser_client, planted):
    year = Order.objects.first().created_at.year
    list_page = superuser_client.get(reverse("admin:orders_order_changelist") + f"?created_at__year={year}&status__exact=pending")
    assert list_page.status_code == 200 and len(list_page.context_data["cl"].result_list) == len(FORMULAE)
    assert len(csv_rows(export(superuser_client, ORDER_EXPORT, OrderResource, "csv", f"created_at__year={year}"))) == 8
    assert len(csv_rows(export(superuser_client, ORDER_EXPORT, OrderResource, "csv", f"created_at__year={year - 1}"))) == 1
    assert len(csv_rows(export(superuser_client, LEDGER_EXPORT, LedgerEntryResource, "csv", "kind__exact=debit"))) == 2


# --- the export as people read it -------------------------------------------------------------------


@pytest.fixture
def chinese_client(superuser_client):
    superuser_client.cookies["django_language"] = "zh-hans"
    return superuser_client


def test_columns_are_headed_in_chinese_and_codes_are_written_as_their_labels(chinese_client, planted):
    ledger = xlsx_cells(export(chinese_client, LEDGER_EXPORT, LedgerEntryResource, "xlsx"))
    assert [cell.value for cell in ledger[0]] == [
        "ID", "创建时间", "客户", "手机号", "类型", "金额", "变动后余额", "订单号", "备注"
    ]
    assert {row[4].value for row in ledger[1:]} == {"充值", "扣款", "下单扣款"}
    orders = csv_rows(export(chinese_client, ORDER_EXPORT, OrderResource, "csv"))
    assert orders[0][:3] == ["订单号", "创建时间", "客户"] and orders[0][11] == "状态"
    assert {row[11] for row in orders[1:]} == {"待执行"}


def test_the_export_page_offers_the_columns_by_name_and_xlsx_first(chinese_client, planted):
    response = chinese_client.get(ORDER_EXPORT)
    assert [t.name for t in response.templates][0] == "admin/import_export/export.html"
    form = response.context["form"]
    assert form["format"].value() == "0" and form.fields["format"].choices[1] == ("0", "xlsx")
    labels = [str(field.label) for field in form.visible_fields() if getattr(field.field, "is_selectable_field", False)]
    assert labels[:3] == ["订单号", "创建时间", "客户"]
    assert '<option value="0" selected>xlsx</option>' in response.content.decode()


def test_the_file_is_named_by_the_local_date_in_an_ascii_safe_header(chinese_client, planted, monkeypatch):
    # 01:30 on 2 December in Shanghai is still 1 December in UTC.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 1, 17, 30, tzinfo=UTC))
    data = {"format": "0", "resource": "0", "orderresource_order_no": "on"}
    response = chinese_client.post(ORDER_EXPORT, data)
    disposition = response["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"order-2026-12-02.xlsx\"; filename*=UTF-8''%E8%AE%A2%E5%8D%95-2026-12-02.xlsx"
    )
    assert disposition.isascii()
