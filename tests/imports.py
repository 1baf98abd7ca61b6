"""Spreadsheets for the import tests, and the two steps of an import page (upload, confirm)."""

import csv
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

XLSX, CSV = "0", "1"  # core.imports.BatchImportMixin.import_formats


def xlsx_file(rows, name="batch.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    content = io.BytesIO()
    book.save(content)
    return SimpleUploadedFile(name, content.getvalue())


def csv_file(rows, name="batch.csv", encoding="utf-8") -> SimpleUploadedFile:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding))


def import_url(model: str) -> str:
    return reverse(f"admin:{model}_import")


def upload(client, model: str, file, file_format: str = XLSX):
    """The preview page of `file` (its response; `context["confirm_form"]` only when every row is right)."""
    return client.post(import_url(model), {"format": file_format, "import_file": file, "resource": "0"})


def confirm(client, model: str, preview):
    form = preview.context["confirm_form"]
    return client.post(reverse(f"admin:{model}_process_import"), {name: form.initial.get(name, "") for name in form.fields})


def row_errors(response) -> dict[int, list[str]]:
    return {row.number: row.errors for row in response.context["result"].error_rows()}
