"""What every import refuses clearly (never a 500), and the files it reads alike: Excel's and
LibreOffice's XLSX, UTF-8 and GBK CSV, formulas as their text."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core import imports
from customers.models import Customer, LedgerEntry
from rbac.roles import FINANCE
from tests.factories import CustomerFactory
from tests.imports import CSV, XLSX, confirm, csv_file, row_errors, upload, xlsx_file
from tests.roles import role_user

RECHARGE = "customers_recharge"
FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def finance(client, db):
    client.force_login(role_user(FINANCE))
    return client


def refusal(response) -> str:
    """The upload form's error for the file, or the file's error above the preview."""
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    form_errors = response.context["form"].errors.get("import_file")
    result = response.context.get("result")
    return " ".join(form_errors or (result.file_errors if result else []))


def test_a_libreoffice_workbook_is_read_formulas_as_text(finance, db):
    """tests/fixtures/recharge-libreoffice.xlsx: LibreOffice Calc 7 headless, `soffice --headless
    --convert-to xlsx` of a CSV whose last memo is =1+2 (which Calc turns into a formula)."""
    a, b = CustomerFactory(mobile="13800000001"), CustomerFactory(mobile="13800000002")
    file = SimpleUploadedFile("recharge-libreoffice.xlsx", (FIXTURES / "recharge-libreoffice.xlsx").read_bytes())
    preview = upload(finance, RECHARGE, file, XLSX)
    assert preview.context.get("confirm_form") is not None, row_errors(preview)
    assert confirm(finance, RECHARGE, preview).status_code == 302
    assert [Customer.objects.get(pk=c.pk).balance for c in (a, b)] == [Decimal("100.00"), Decimal("20.50")]
    assert list(LedgerEntry.objects.order_by("customer__mobile").values_list("memo", flat=True)) == ["LibreOffice 充值", "=1+2"]


def test_a_gbk_csv_as_excel_writes_it_on_chinese_windows_is_read(finance, db):
    a = CustomerFactory(mobile="13800000001")
    preview = upload(finance, RECHARGE, csv_file([["手机号", "金额", "备注"], [a.mobile, "5", "月度"]], encoding="gbk"), CSV)
    assert preview.context.get("confirm_form") is not None, row_errors(preview)
    assert preview.context["result"].rows[0].shown[-1] == "月度"


def test_a_formula_in_an_amount_is_not_an_amount(finance, db):
    a = CustomerFactory(mobile="13800000001")
    preview = upload(finance, RECHARGE, xlsx_file([["mobile", "amount"], [a.mobile, "=10*100"]]))
    assert "=10*100" in row_errors(preview)[2][0]


@pytest.mark.parametrize(
    "file, file_format, says",
    [
        (SimpleUploadedFile("x.xlsx", b"\x89PNG\r\n\x1a\n not a workbook"), XLSX, "xlsx"),
        (SimpleUploadedFile("x.csv", b"\xff\xfe\x00\x00\x81\x00"), CSV, "CSV"),
        (SimpleUploadedFile("x.csv", b""), CSV, "empty"),
        (SimpleUploadedFile("x.csv", "手机号,金额\n".encode()), CSV, "no rows"),
        (SimpleUploadedFile("x.csv", "手机号,备注\n13800000001,x\n".encode()), CSV, "amount"),
        (SimpleUploadedFile("x.csv", b"a,b\n1,2\n"), XLSX, "xlsx"),  # the wrong format chosen
    ],
)
def test_bad_files_are_refused_clearly(finance, file, file_format, says, settings):
    settings.LANGUAGE_CODE = "en"
    response = upload(finance, RECHARGE, file, file_format)
    assert says.lower() in refusal(response).lower()
    assert LedgerEntry.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused_unread(finance, monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_MAX_BYTES", 100)
    response = upload(finance, RECHARGE, SimpleUploadedFile("x.csv", b"mobile,amount\n" + b"13800000001,1\n" * 20), CSV)
    assert "MB" in refusal(response)


def test_a_file_over_the_row_limit_is_refused(finance, monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_MAX_ROWS", 5)
    response = upload(finance, RECHARGE, xlsx_file([["mobile", "amount"], *[["13800000001", "1"]] * 6]))
    assert "5" in refusal(response)


def test_a_confirm_without_its_upload_is_refused(finance, db):
    from django.urls import reverse

    response = finance.post(reverse("admin:customers_recharge_process_import"), {"import_file_name": "../../etc/passwd", "original_file_name": "x", "format": "0"})
    assert response.status_code == 200 and response.context["result"].file_errors
    assert finance.post(reverse("admin:customers_recharge_process_import"), {"format": "9"}).status_code == 200
    assert finance.get(reverse("admin:customers_recharge_process_import")).status_code == 405


def test_a_confirm_reads_only_an_upload_of_this_session(finance, client, db, tmp_path):
    """The confirm form's file name is the client's to change: another session's upload, or any file in
    the temporary folder, is refused unread."""
    from django.test import Client

    a = CustomerFactory(mobile="13800000001")
    preview = upload(finance, RECHARGE, xlsx_file([["mobile", "amount"], [a.mobile, "10"]]))
    other = Client()
    other.force_login(role_user(FINANCE, username="finance-2"))
    response = confirm(other, RECHARGE, preview)
    assert response.status_code == 200 and response.context["result"].file_errors
    assert LedgerEntry.objects.count() == 0
    assert confirm(finance, RECHARGE, preview).status_code == 302
