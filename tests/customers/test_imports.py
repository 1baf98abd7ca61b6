from decimal import Decimal

import pytest

from core.imports import ImportCSV
from customers.imports import RechargeBatch
from customers.models import Customer, LedgerEntry
from rbac.models import OperationLog
from rbac.roles import CUSTOMER_SERVICE, FINANCE, OPERATIONS
from tests.factories import CustomerFactory, TierFactory
from tests.imports import CSV, confirm, csv_file, import_url, row_errors, upload, xlsx_file
from tests.orders.test_concurrency import run_threads
from tests.roles import role_user

RECHARGE = "customers_recharge"
CUSTOMERS = "customers_customer"


@pytest.fixture
def finance(client, db):
    client.force_login(role_user(FINANCE))
    return client


@pytest.fixture
def service(client, db):
    client.force_login(role_user(CUSTOMER_SERVICE))
    return client


@pytest.fixture
def two(db, tier):
    return CustomerFactory(tier=tier, mobile="13800000001"), CustomerFactory(tier=tier, mobile="13800000002")


def balances(*customers):
    return [Customer.objects.get(pk=c.pk).balance for c in customers]


def test_recharge_preview_shows_each_row_and_writes_nothing(finance, two):
    a, b = two
    preview = upload(finance, RECHARGE, xlsx_file([["手机号", "金额", "备注"], [a.mobile, 100, "十二月"], [b.mobile, "50.5", ""], [a.mobile, "20", "补"]]))
    assert preview.status_code == 200 and preview.context.get("confirm_form") is not None
    rows = preview.context["result"].rows
    assert [row.shown[2] for row in rows] == ["¥100.00", "¥50.50", "¥120.00"]  # each row's new balance
    assert rows[0].shown[0] == a
    assert LedgerEntry.objects.count() == 0


def test_recharge_confirm_posts_every_row_through_the_service(finance, two):
    a, b = two
    preview = upload(finance, RECHARGE, csv_file([["mobile", "amount", "memo"], [a.mobile, "100", "=1+1"], [b.mobile, "50.50", ""]]), CSV)
    response = confirm(finance, RECHARGE, preview)
    assert response.status_code == 302
    assert balances(a, b) == [Decimal("100.00"), Decimal("50.50")]
    entries = LedgerEntry.objects.order_by("customer__mobile")  # written in the lock order (customer shard)
    assert [e.memo for e in entries] == ["=1+1", ""]  # a formula-looking cell is text
    assert all(e.created_by.groups.get().name == FINANCE and e.token.startswith("import-") for e in entries)
    assert OperationLog.objects.filter(action="recharge").count() == 2


def test_recharge_row_errors_are_listed_and_nothing_can_be_confirmed(finance, two):
    a, _b = two
    preview = upload(
        finance,
        RECHARGE,
        xlsx_file([["mobile", "amount"], ["13900000000", "10"], [a.mobile, "ten"], [a.mobile, "10.001"], [a.mobile, "5"], [a.mobile, "5"], ["=A1", "5"]]),
    )
    assert preview.context.get("confirm_form") is None
    errors = row_errors(preview)
    assert "13900000000" in errors[2][0]
    assert set(errors) == {2, 3, 4, 6, 7}
    assert "row 5" in errors[6][0].lower() or "5" in errors[6][0]  # the same as row 5
    assert LedgerEntry.objects.count() == 0


def test_recharge_rows_are_checked_again_at_confirm(finance, two):
    """The customer was deactivated after the preview: the confirm shows the row's error and writes nothing."""
    a, b = two
    preview = upload(finance, RECHARGE, xlsx_file([["mobile", "amount"], [a.mobile, "10"], [b.mobile, "10"]]))
    Customer.objects.filter(pk=b.pk).update(is_active=False)
    response = confirm(finance, RECHARGE, preview)
    assert response.status_code == 200 and response.context["result"].has_errors()
    assert set(row_errors(response)) == {3}
    assert balances(a, b) == [0, 0] and LedgerEntry.objects.count() == 0 and OperationLog.objects.count() == 0


def test_recharge_is_all_or_nothing(two, staff):
    """A row the service refuses while the batch is written (here the customer is deactivated between
    the checks and the writes) rolls back the rows written before it."""
    a, b = two

    class Raced(RechargeBatch):
        def rows_check(self, rows):
            summary = super().rows_check(rows)
            Customer.objects.filter(pk=b.pk).update(is_active=False)
            return summary

    dataset = ImportCSV().create_dataset(csv_file([["mobile", "amount"], [a.mobile, "10"], [b.mobile, "10"]]).read())
    result = Raced().import_data(dataset, dry_run=False, user=staff)
    assert result.applied == 0 and "3" in result.file_errors[0]
    assert balances(a, b) == [0, 0] and LedgerEntry.objects.count() == 0 and OperationLog.objects.count() == 0


def test_recharge_of_the_same_file_again_is_refused(finance, two):
    a, _b = two
    rows = [["mobile", "amount"], [a.mobile, "10"]]
    confirm(finance, RECHARGE, upload(finance, RECHARGE, xlsx_file(rows)))
    again = upload(finance, RECHARGE, csv_file(rows), CSV)  # the same table, saved as CSV this time
    assert again.context.get("confirm_form") is None
    assert "已经导入" in again.context["result"].file_errors[0]  # already imported
    assert balances(a) == [Decimal("10.00")]


def test_recharge_confirmed_twice_moves_money_once(finance, two):
    a, _b = two
    preview = upload(finance, RECHARGE, xlsx_file([["mobile", "amount"], [a.mobile, "10"]]))
    assert confirm(finance, RECHARGE, preview).status_code == 302
    second = confirm(finance, RECHARGE, preview)
    assert second.status_code == 200 and second.context["result"].file_errors
    assert balances(a) == [Decimal("10.00")] and LedgerEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_recharge_confirmed_twice_at_once_moves_money_once():
    """A double click whose two confirms run together: whichever is second waits for the first's
    customer lock, then the service replays each row's token (or the duplicate check refuses it)."""
    customers = [CustomerFactory(mobile=f"1380000001{i}") for i in range(3)]
    user = role_user(FINANCE)
    dataset = ImportCSV().create_dataset(csv_file([["mobile", "amount"], *[[c.mobile, "10"] for c in customers]]).read())
    results = []

    def confirm_once(_index):
        results.append(RechargeBatch().import_data(dataset, dry_run=False, user=user))

    assert run_threads(2, confirm_once) == []
    assert balances(*customers) == [Decimal("10.00")] * 3 and LedgerEntry.objects.count() == 3
    assert results[0].applied == 3  # the second either replayed (applied, nothing moved) or was refused
    assert results[1].applied == 3 or "已经导入" in results[1].file_errors[0]


@pytest.mark.django_db(transaction=True)
def test_two_imports_naming_the_same_customers_in_opposite_orders_both_go_through():
    """Rows are written in the platform's lock order whatever the file's order, so two batches over the
    same customers wait for each other instead of deadlocking (MariaDB would roll one back)."""
    customers = [CustomerFactory(mobile=f"138000002{i:02d}") for i in range(30)]
    user = role_user(FINANCE)
    files = [
        [["mobile", "amount"], *[[c.mobile, "10"] for c in customers]],
        [["mobile", "amount"], *[[c.mobile, "1"] for c in reversed(customers)]],
    ]
    results = []

    def import_one(index):
        dataset = ImportCSV().create_dataset(csv_file(files[index]).read())
        results.append(RechargeBatch().import_data(dataset, dry_run=False, user=user))

    assert run_threads(2, import_one) == []
    assert [(result.applied, result.file_errors) for result in results] == [(30, []), (30, [])]
    assert balances(*customers) == [Decimal("11.00")] * 30


def test_import_pages_need_the_import_permission(client, db, two):
    client.force_login(role_user(OPERATIONS))
    assert client.get(import_url(RECHARGE)).status_code == 403
    assert client.get(import_url(CUSTOMERS)).status_code == 403
    client.force_login(role_user(CUSTOMER_SERVICE))
    assert client.get(import_url(RECHARGE)).status_code == 403
    assert upload(client, RECHARGE, xlsx_file([["mobile", "amount"], [two[0].mobile, "10"]])).status_code == 403
    assert client.get(import_url(CUSTOMERS)).status_code == 200


def test_finance_may_import_recharges_and_download_the_template(finance):
    page = finance.get(import_url(RECHARGE))
    assert page.status_code == 200 and "手机号" in page.content.decode()
    template = finance.get(import_url(RECHARGE) + "template/")
    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd.openxmlformats")
    import io

    import openpyxl

    headers = [cell.value for cell in next(openpyxl.load_workbook(io.BytesIO(template.content)).active.rows)]
    assert headers == ["手机号", "金额", "备注"]


# --- customers ---------------------------------------------------------------------------------


def test_customers_are_created_and_updated_by_mobile(service, two):
    a, _b = two
    gold = TierFactory(name="Gold")
    rows = [["手机号", "姓名", "客户级别", "电子邮箱", "有效"], [a.mobile, "New name", "gold", "", "否"], ["13700000009", "Zhang", "Gold", "z@example.com", ""]]
    preview = upload(service, CUSTOMERS, xlsx_file(rows))
    assert preview.context.get("confirm_form") is not None, row_errors(preview)
    assert confirm(service, CUSTOMERS, preview).status_code == 302
    a.refresh_from_db()
    assert (a.name, a.tier, a.is_active, a.balance) == ("New name", gold, False, 0)
    new = Customer.objects.get(mobile="13700000009")
    assert (new.name, new.tier, new.email, new.is_active) == ("Zhang", gold, "z@example.com", True)
    assert set(OperationLog.objects.values_list("action", flat=True)) == {"add", "change"}


def test_customer_rows_are_checked(service, two):
    preview = upload(
        service,
        CUSTOMERS,
        xlsx_file([["mobile", "name", "tier", "email"], ["12345", "X", "", ""], ["13700000001", "Y", "Nope", ""], ["13700000002", "", "", "bad"], ["13700000003", "Z", "", ""]]),
    )
    errors = row_errors(preview)
    assert set(errors) == {2, 3, 4, 5}
    assert Customer.objects.count() == 2


def test_a_customer_file_with_a_balance_column_is_refused(service, two):
    preview = upload(service, CUSTOMERS, xlsx_file([["mobile", "name", "余额"], [two[0].mobile, "X", "1000"]]))
    assert preview.context.get("confirm_form") is None and "余额列" in preview.context["result"].file_errors[0]
    assert balances(two[0]) == [0]
