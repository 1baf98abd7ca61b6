"""Spreadsheet imports in django-import-export's admin flow: upload, a preview with every row's error,
confirm. The one place every admin import goes through.

A batch (BatchResource) reads its columns by their English names, their labels in the reader's
language or the Chinese headers people type; every cell is read as text (a formula stays the text
it is, never evaluated), so "=1+1" in a memo is the memo "=1+1" and in an amount column a bad amount.
The preview checks every row against the database without writing; confirming checks them again
and applies them all in one transaction through the services, or none (the first refusal rolls the
whole batch back).

The contents' hash names each row's idempotency token (import-<hash>-<row>), which the services
already replay: the same file again is refused as a duplicate, and a confirm replayed by a double
click moves no money twice.
"""

import csv
import hashlib
import io
import os
from dataclasses import dataclass, field

import openpyxl
import tablib
from django import forms
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.admin import ImportMixin
from import_export.fields import Field
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ImportForm

from core.days import shard_of
from core.errors import DomainError

IMPORT_MAX_BYTES = 10 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
PREVIEW_ROWS = 1_000  # the preview lists this many rows; the totals count them all
UPLOADS_KEY = "import_uploads"  # the session's list of this user's stored uploads awaiting a confirm
TOKEN_HASH_LENGTH = 40  # import-<40 hex>-<row> fits the services' 64-character tokens


class FileRefused(Exception):
    """The file cannot be read as this import's table; the message says why."""


def cell_text(value) -> str:
    """A cell as the text it shows: numbers without a float's artefacts (13800138000, not 13800138000.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class ImportXLSX(XLSX):
    """The first sheet, read streaming, formulas as their text (data_only=False), at most
    IMPORT_MAX_ROWS rows: the file's own size claims are never trusted."""

    def create_dataset(self, in_stream):
        try:
            book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=False)
        except Exception as error:  # noqa: BLE001 - openpyxl raises anything on a file that is not XLSX
            raise FileRefused(gettext("The file is not an Excel workbook (.xlsx).")) from error
        try:
            return rows_dataset(book.active.iter_rows(values_only=True))
        finally:
            book.close()


class ImportCSV(CSV):
    """CSV in UTF-8 (with or without a byte-order mark) or GB 18030, which Excel and WPS write on
    Chinese Windows; read as bytes so the encoding is found here, not by the temporary storage."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream):
        if isinstance(in_stream, str):
            text = in_stream
        else:
            try:
                text = in_stream.decode("utf-8-sig")
            except UnicodeDecodeError:
                try:
                    text = in_stream.decode("gb18030")
                except UnicodeDecodeError:
                    raise FileRefused(gettext("The CSV file is neither UTF-8 nor GBK text.")) from None
        if "\x00" in text:
            raise FileRefused(gettext("The file is not a CSV text file."))
        try:
            return rows_dataset(csv.reader(io.StringIO(text)))
        except csv.Error as error:
            raise FileRefused(gettext("The CSV file cannot be read: %(error)s") % {"error": error}) from None


def rows_dataset(rows) -> tablib.Dataset:
    """The first row as headers, the rest as text cells, blank rows dropped."""
    rows = iter(rows)
    headers = next(rows, None)
    if headers is None:
        raise FileRefused(gettext("The file is empty."))
    dataset = tablib.Dataset(headers=[cell_text(value) for value in headers])
    dataset.row_numbers = []
    width = len(dataset.headers)
    for number, row in enumerate(rows, start=2):
        cells = [cell_text(value) for value in row][:width]
        if not any(cells):
            continue
        if len(dataset) >= IMPORT_MAX_ROWS:
            raise FileRefused(
                gettext("The file has more than %(max)s rows; split it into smaller files.") % {"max": IMPORT_MAX_ROWS}
            )
        dataset.append([*cells, *[""] * (width - len(cells))])
        dataset.row_numbers.append(number)
    if not len(dataset):
        raise FileRefused(gettext("The file has no rows to import."))
    return dataset


@dataclass(frozen=True)
class Column:
    name: str  # the key the batch reads
    label: object  # the header the template writes, in the reader's language
    aliases: tuple[str, ...] = ()  # other headers accepted (English names, the Chinese people type)
    required: bool = True

    def headers(self) -> set[str]:
        return {header.casefold() for header in (self.name, str(self.label), *self.aliases)}


@dataclass
class BatchRow:
    number: int  # the row's number in the spreadsheet (the headers are row 1)
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    shown: list = field(default_factory=list)  # the preview's cells, under BatchResource.preview_headers
    data: dict = field(default_factory=dict)  # what row_apply passes to the service, once checked


class BatchResult:
    """What import-export's views ask of an import result, and what the preview shows."""

    def __init__(self):
        self.file_errors: list[str] = []
        self.rows: list[BatchRow] = []
        self.summary: list[tuple] = []  # rows of the summary table under BatchResource.summary_headers
        self.applied = 0

    def has_errors(self) -> bool:
        return bool(self.file_errors) or any(row.errors for row in self.rows)

    def has_validation_errors(self) -> bool:
        return False

    def error_rows(self) -> list[BatchRow]:
        return [row for row in self.rows if row.errors]

    def preview_rows(self) -> list[BatchRow]:
        return self.rows[:PREVIEW_ROWS]

    def rows_not_shown(self) -> int:
        return max(len(self.rows) - PREVIEW_ROWS, 0)


class RowRefused(DomainError):
    def __init__(self, row: BatchRow, error: DomainError):
        super().__init__(gettext("Row %(row)s: %(error)s") % {"row": row.number, "error": error.message})


class BatchResource(resources.Resource):
    """One kind of import: its columns, its checks (rows_check) and its writes (row_apply)."""

    columns: tuple[Column, ...] = ()
    refused_headers: dict[str, object] = {}  # header (casefolded) -> why a file with it is refused
    preview_headers: tuple = ()
    summary_headers: tuple = ()
    refuses_duplicates = True  # the same file again is refused (batches that move money)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for column in self.columns:  # what import-export's page lists as the importer's fields
            self.fields[column.name] = Field(attribute=column.name, column_name=str(column.label))

    @classmethod
    def get_display_name(cls):
        return cls.__doc__.strip().splitlines()[0] if cls.__doc__ else cls.__name__

    def import_data(self, dataset, dry_run=False, raise_errors=False, user=None, address=None, **kwargs):
        result = BatchResult()
        try:
            result.rows = self.rows_read(dataset)
        except FileRefused as refused:
            result.file_errors.append(str(refused))
            return result
        digest = self.digest(dataset)
        if self.refuses_duplicates and self.imported(token=self.row_token(digest, result.rows[0])):
            result.file_errors.append(gettext("This file was already imported; nothing was imported again."))
            return result
        self.user = user  # whose data scope the rows' customers are looked up in
        result.summary = self.rows_check(result.rows)
        if dry_run or result.has_errors():
            return result
        try:
            with transaction.atomic():
                for row in sorted(result.rows, key=self.lock_order):
                    try:
                        self.row_apply(row, actor=user, address=address, token=self.row_token(digest, row))
                    except DomainError as error:
                        raise RowRefused(row, error) from error
        except RowRefused as refused:
            result.file_errors.append(refused.message)
            return result
        result.applied = len(result.rows)
        return result

    @staticmethod
    def lock_order(row: "BatchRow") -> tuple:
        """Rows are written customer by customer in the platform's lock order (the day summaries' shard,
        then the customer: core.days), in file order within one customer, so two imports, or an import and
        the single writes beside it, never wait on each other's locks in a cycle."""
        customer_id = row.data.get("customer_id")
        if customer_id is None:  # customers themselves, locked by mobile
            return (0, 0, row.data.get("mobile", ""), row.number)
        return (shard_of(customer_id), customer_id, "", row.number)

    def rows_read(self, dataset) -> list[BatchRow]:
        headers = [header.casefold() for header in dataset.headers or []]
        for header in headers:
            if header in self.refused_headers:
                raise FileRefused(str(self.refused_headers[header]))
        positions = {}
        for column in self.columns:
            found = [i for i, header in enumerate(headers) if header in column.headers()]
            if found:
                positions[column.name] = found[0]
        missing = [str(column.label) for column in self.columns if column.required and column.name not in positions]
        if missing:
            raise FileRefused(
                gettext("The file lacks the column(s) %(missing)s; download the template to see the headers.")
                % {"missing": "、".join(missing)}
            )
        numbers = getattr(dataset, "row_numbers", None) or range(2, len(dataset) + 2)
        return [
            BatchRow(number=number, values={name: row[position] for name, position in positions.items()})
            for number, row in zip(numbers, dataset, strict=True)
        ]

    @staticmethod
    def digest(dataset) -> str:
        """The hash of the file's contents (headers and cells): the same table saved again is the same file."""
        hashed = hashlib.sha256()
        for row in [dataset.headers, *dataset]:
            hashed.update("\x1f".join(row).encode() + b"\x1e")
        return hashed.hexdigest()[:TOKEN_HASH_LENGTH]

    @staticmethod
    def row_token(digest: str, row: BatchRow) -> str:
        return f"import-{digest}-{row.number}"

    @staticmethod
    def duplicates_mark(rows: list[BatchRow], key) -> None:
        """A row identical to an earlier one (by `key(row)`) is an error: a copy-and-paste slip."""
        seen: dict = {}
        for row in rows:
            first = seen.setdefault(key(row), row.number)
            if first != row.number:
                row.errors.append(gettext("The same as row %(row)s.") % {"row": first})

    def imported(self, *, token: str) -> bool:
        """Whether the row with this token was already imported."""
        raise NotImplementedError

    def rows_check(self, rows: list[BatchRow]) -> list[tuple]:
        """Fill each row's errors and preview cells without writing; return the summary table's rows."""
        raise NotImplementedError

    def row_apply(self, row: BatchRow, *, actor, address: str | None, token: str) -> None:
        """Write one checked row through its service; a DomainError rolls the whole batch back."""
        raise NotImplementedError


class BatchImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(max)s MB; split it into smaller files.")
                % {"max": IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        return upload


class BatchImportMixin(ImportMixin):
    """An admin's import page (its own permission, app.import_<model>), its template download, and
    the confirm step's answers: a refused batch shows its errors again, a confirm whose upload is gone
    (imported by the first click, or expired) says so. Mixed with rbac.admin.OperationLogged, which
    gives `client_address(request)` for the services."""

    import_formats = [ImportXLSX, ImportCSV]
    import_form_class = BatchImportForm
    import_template_name = "admin/import_export/batch_import.html"
    skip_admin_log = True  # the services record each write in the operation log
    batch_class: type[BatchResource]
    import_title = _("Import")  # the page's and the menu's title

    def get_import_resource_classes(self, request):
        return [self.batch_class]  # resource_classes stay the export's

    def has_import_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('import', opts)}")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name="%s_%s_import_template" % info,
            ),
            *super().get_urls(),
        ]

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        if isinstance(response, TemplateResponse):
            response.context_data.update(self.import_context(request))
        return response

    def import_context(self, request) -> dict:
        resource = self.batch_class
        return {
            "title": self.import_title,
            "batch": resource,
            "columns": resource.columns,
            "changelist_url": self.changelist_url_for(request),
        }

    def changelist_url_for(self, request) -> str | None:
        if request is None or not self.has_view_or_change_permission(request):
            return None
        return reverse("admin:%s_%s_changelist" % (self.opts.app_label, self.opts.model_name))

    def get_confirm_form_initial(self, request, import_form):
        """The stored upload's name is remembered in the session: a confirm may read only an upload this
        user made (the confirm form's name is the client's to change)."""
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            request.session[UPLOADS_KEY] = [*request.session.get(UPLOADS_KEY, [])[-9:], os.path.basename(initial["import_file_name"])]
        return initial

    def get_import_data_kwargs(self, request=None, **kwargs):
        return {"address": self.client_address(request)}

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, FileRefused):
            form.add_error("import_file", str(e))
        else:
            form.add_error("import_file", gettext("The file cannot be read; check that it is the format chosen."))

    def write_to_tmp_storage(self, import_file, input_format):
        tmp_storage = self.get_tmp_storage_class()(
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        tmp_storage.save(b"".join(import_file.chunks()))
        return tmp_storage

    def process_import(self, request, **kwargs):
        if request.method != "POST":
            return HttpResponse(status=405)
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return self.import_refused(request, gettext("The confirmation is incomplete; upload the file again."))
        try:
            input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])]()
        except (ValueError, IndexError):
            return self.import_refused(request, gettext("The confirmation is incomplete; upload the file again."))
        uploads = request.session.get(UPLOADS_KEY, [])
        if confirm_form.cleaned_data["import_file_name"] not in uploads:
            return self.import_refused(
                request, gettext("This upload was already imported or has expired; nothing was imported again.")
            )
        tmp_storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            encoding=None,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        try:
            data = tmp_storage.read()
        except OSError:
            return self.import_refused(
                request, gettext("This upload was already imported or has expired; nothing was imported again.")
            )
        try:
            dataset = input_format.create_dataset(data)
        except FileRefused as refused:
            return self.import_refused(request, str(refused))
        result = self.process_dataset(dataset, confirm_form, request, **kwargs)
        if result.has_errors():
            return self.import_page(request, result=result)
        try:
            tmp_storage.remove()
        except OSError:
            pass  # a replayed confirm that ran alongside the first removed it already
        request.session[UPLOADS_KEY] = [name for name in uploads if name != confirm_form.cleaned_data["import_file_name"]]
        self.message_user(
            request,
            ngettext("Imported %(count)s row.", "Imported %(count)s rows.", result.applied) % {"count": result.applied},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self.changelist_url_for(request) or request.path.replace("process_import/", "import/"))

    def import_refused(self, request, message: str):
        result = BatchResult()
        result.file_errors.append(message)
        return self.import_page(request, result=result)

    def import_page(self, request, *, result):
        context = {
            **self.admin_site.each_context(request),
            **self.import_context(request),
            "opts": self.opts,
            "form": self.get_import_form_class(request)(self.get_import_formats(), self.get_import_resource_classes(request)),
            "result": result,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def import_template_view(self, request):
        """An empty workbook with the import's headers, in the reader's language."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        resource = self.batch_class
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append([capfirst(str(column.label)) for column in resource.columns])
        content = io.BytesIO()
        book.save(content)
        response = HttpResponse(content.getvalue(), content_type=XLSX.CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{self.opts.model_name}-import-template.xlsx"'
        return response
