"""Spreadsheet exports that are safe to open and read as the admin does: the one place every admin
export goes through.

Columns are headed by the fields' (translated) names, codes such as `recharge` are written as their
labels, XLSX is the format offered first, and the file is named after the list and the local date
(订单-2026-12-02.xlsx, with an ASCII name for clients that cannot read the UTF-8 one).

A cell a customer typed (a name, target or memo) reaches finance's spreadsheet. django-import-export's
own IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only drops a leading "=", and turns every cell into
text first (in XLSX an amount becomes text, an empty cell the word "None"); these formats keep its
setting and hook but escape properly: text cells only, every formula-looking start, numbers left as
they are. They also drop the control characters an XLSX cell cannot hold (rows stored before inputs
refused them), so one odd memo cannot break a whole export.

Exports stream in constant memory, however many rows: the rows are read in chunks by primary key
(newest first) and written as they come, CSV straight into the response, XLSX through openpyxl's
write-only mode into a temporary file. An export of more than EXPORT_INLINE_MAX_ROWS rows is queued
instead (core.models.ExportJob): the agent builds it from the list's address as the person who asked
would see it, and the exports list offers the file.
"""

import csv
import io
import logging
import re
import tempfile
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext
from import_export import resources
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import SelectableFieldsExportForm
from multidb.middleware import pinning_cookie
from multidb.pinning import unpin_this_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from core.models import ExportJob

logger = logging.getLogger(__name__)

# What makes a spreadsheet read a cell as a formula (OWASP's list), a tab or line break before one included.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# A plain number is never a formula: a negative amount rendered as text (CSV) stays a number.
PLAIN_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def cell_safe(value):
    """A text cell without control characters, quoted with a leading ' when it could start a formula."""
    if not isinstance(value, str):
        return value  # numbers, dates and empty cells keep their type
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_START) and not PLAIN_NUMBER_RE.fullmatch(value):
        return "'" + value
    return value


# Rows read per query: big enough that the queries cost little, small enough that memory stays flat.
CHUNK_ROWS = 2000
# How often a build reports its progress (rows so far), which also tells that it is alive.
PROGRESS_ROWS = 20_000
# A build that has not reported for this long lost its agent: another agent starts it again.
STALE_SECONDS = 300


class SafeCells:
    def _escape_formulae(self, dataset):
        """import-export calls this when IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT is on (our settings)."""
        for _row in range(dataset.height):
            dataset.append([cell_safe(value) for value in dataset.lpop()])


class SafeCSV(SafeCells, CSV):
    pass


class SafeXLSX(SafeCells, XLSX):
    pass


class LabelledResource(resources.ModelResource):
    """A model's export as people read it: columns named by the fields' verbose names (translated when
    exported), a field with choices written as its label ("充值", not "recharge")."""

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        field = super().field_from_django_field(field_name, django_field, readonly)
        field.column_name = django_field.verbose_name
        if django_field.choices:
            field.attribute = f"get_{field_name}_display"
        return field

    def get_export_headers(self, selected_fields=None):
        return [capfirst(header) for header in super().get_export_headers(selected_fields)]


class LabelledExportForm(SelectableFieldsExportForm):
    """import-export's export form, its checkboxes labelled by the column names alone (its own label is
    the attribute name in English, then the column name) and XLSX picked to start with."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["format"].initial = "0"  # SafeExportMixin.export_formats[0], XLSX

    def _get_field_label(self, resource, field_name: str) -> str:
        return capfirst(resource.fields[field_name].column_name)


class SafeExportMixin(ExportMixin):
    """Exports in the safe formats, in the admin's layout (templates/admin/import_export/export.html),
    streamed, or queued for the agent past EXPORT_INLINE_MAX_ROWS; a bad filter in the export's address
    answers as the list does."""

    export_formats = [SafeXLSX, SafeCSV]
    export_form_class = LabelledExportForm

    def get_resource_classes(self, request):
        return self.resource_classes or [resources.modelresource_factory(self.model, resource_class=LabelledResource)]

    def get_export_filename(self, request, queryset, file_format):
        """The file's ASCII name, order-2026-12-02.xlsx (import-export's is the model's name and UTC's date)."""
        return self.export_filename(self.opts.model_name, file_format)

    def export_filename(self, name, file_format) -> str:
        return f"{name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        """Up to EXPORT_INLINE_MAX_ROWS rows the file streams back now; more are queued for the agent."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        limit = settings.EXPORT_INLINE_MAX_ROWS
        if queryset.order_by()[: limit + 1].count() > limit:
            return self.export_queue(request, file_format, export_form)
        resource = self.choose_export_resource_class(export_form, request)(**self.get_export_resource_kwargs(request))
        rows = export_rows(resource, queryset, self.get_export_resource_fields_from_form(export_form), native=file_format.is_binary())
        if file_format.is_binary():
            response = FileResponse(xlsx_file(rows, title=self.opts.verbose_name_plural), content_type=file_format.get_content_type())
        else:
            response = StreamingHttpResponse(csv_chunks(rows), content_type=file_format.get_content_type())
        named = self.export_filename(capfirst(self.opts.verbose_name_plural), file_format)
        response["Content-Disposition"] = (
            f'attachment; filename="{self.get_export_filename(request, queryset, file_format)}"; '
            f"filename*=UTF-8''{quote(named)}"
        )
        return response

    def export_queue(self, request, file_format, export_form):
        job = ExportJob.objects.create(
            requested_by=request.user,
            model=self.opts.label_lower,
            query=request.GET.urlencode(),
            fields=self.get_export_resource_fields_from_form(export_form) or [],
            resource_index=self.get_resource_index(export_form),
            file_format=file_format.get_extension(),
            language=translation.get_language(),
            file_name=self.export_filename(capfirst(self.opts.verbose_name_plural), file_format),
        )
        messages.info(
            request,
            gettext(
                "More than %(limit)s rows: the export %(name)s is being prepared and will be offered on the "
                "exports list when it is ready."
            ) % {"limit": settings.EXPORT_INLINE_MAX_ROWS, "name": job.file_name},
        )
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:core_exportjob_changelist"))

    def export_action(self, request):
        if pinning_cookie() not in request.COOKIES:
            # Its form is posted, which pins the request to the primary database (multidb's middleware), but
            # an export writes nothing (a queued one its job alone): a read replica answers, as for the list,
            # unless this user wrote a moment ago (the cookie).
            unpin_this_thread()
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # The list's own answer: its page without the filters, with the message the list added.
            changelist = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist"
            return HttpResponseRedirect(f"{reverse(changelist)}?{ERROR_FLAG}=1")


def export_rows(resource, queryset, field_names=None, *, native: bool):
    """The header, then every row's cells as the resource renders them (labels, local times; numbers and
    dates native for XLSX), each made safe (cell_safe).

    Rows come in chunks by primary key, newest first, whatever the list's order: MariaDB's client would
    hold a whole .iterator() result in memory, and an offset gets slower page by page. Each chunk takes
    the list's select_related and prefetch_related, so there is no query per row."""
    fields = resource.get_export_fields(field_names)
    yield [cell_safe(str(header)) for header in resource.get_export_headers(field_names)]
    queryset = queryset.order_by("-pk")
    last = None
    while True:
        chunk = list((queryset if last is None else queryset.filter(pk__lt=last))[:CHUNK_ROWS])
        for obj in chunk:
            yield [cell_safe(resource.export_field(field, obj, force_native_type=native)) for field in fields]
        if len(chunk) < CHUNK_ROWS:
            return
        last = chunk[-1].pk


def csv_chunks(rows, *, rows_per_chunk: int = 500):
    """The rows as CSV (UTF-8, as import-export writes it), some hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % rows_per_chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_write(rows, file, *, title) -> None:
    """The rows as an XLSX workbook in `file` (seekable), written row by row (openpyxl's write-only mode);
    the header bold and frozen, as import-export's XLSX has it."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=re.sub(r"[\\/*?:\[\]]", "-", str(title))[:31] or "Sheet")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for value in next(rows):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(file)


def xlsx_file(rows, *, title):
    """The rows as XLSX in a temporary file (deleted when closed), ready to be read from the start."""
    file = tempfile.TemporaryFile()
    xlsx_write(rows, file, title=title)
    file.seek(0)
    return file


# --- exports built off the request, by the agent -----------------------------------------------------


class ExportStopped(Exception):
    """The agent is stopping: the export goes back to the queue."""


def export_job_claim(*, agent: str) -> ExportJob | None:
    """The oldest queued export (or one whose build stopped reporting), now this agent's; None if there is none.
    A conditional update, so two agents never build the same export."""
    stale = timezone.now() - timedelta(seconds=STALE_SECONDS)
    waiting = Q(status=ExportJob.Status.QUEUED) | Q(status=ExportJob.Status.RUNNING, updated_at__lt=stale)
    for job in ExportJob.objects.filter(waiting).order_by("requested_at", "id")[:5]:
        taken = ExportJob.objects.filter(waiting, pk=job.pk).update(
            status=ExportJob.Status.RUNNING, agent=agent, rows=0, updated_at=timezone.now()
        )
        if taken:
            job.refresh_from_db()
            return job
    return None


def export_job_request(job: ExportJob) -> HttpRequest:
    """A request like the one that asked for the export: its list's address, its user."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(job.query)
    request.user = job.requested_by
    request.META["SERVER_NAME"] = "agent"
    return request


def export_job_build(job: ExportJob, *, stop=None) -> ExportJob:
    """Build a claimed export as its requester sees the list now (permission and data scope checked
    again), store the file and mark it ready; a failure is recorded on the job. `stop` (an Event)
    puts it back in the queue between two chunks."""
    try:
        with translation.override(job.language):
            request = export_job_request(job)
            model_admin = next((ma for m, ma in admin.site._registry.items() if m._meta.label_lower == job.model), None)
            if model_admin is None or not job.requested_by.is_active or not model_admin.has_export_permission(request):
                raise PermissionDenied(gettext("You may no longer export this list."))
            file_format = next(f for f in model_admin.get_export_formats() if f().get_extension() == job.file_format)()
            resource_class = model_admin.get_export_resource_classes(request)[job.resource_index]
            resource = resource_class(**model_admin.get_export_resource_kwargs(request))
            queryset = model_admin.get_export_queryset(request)  # the list's filters, search and scope
            rows = export_rows(resource, queryset, job.fields or None, native=file_format.is_binary())
            with tempfile.TemporaryFile() as file:
                counted = export_progress(job, rows, stop=stop)
                if file_format.is_binary():
                    xlsx_write(counted, file, title=model_admin.opts.verbose_name_plural)
                else:
                    for chunk in csv_chunks(counted):
                        file.write(chunk)
                file.seek(0)
                job.file.save(f"{job.pk}-{job.model.replace('.', '-')}.{job.file_format}", File(file), save=False)
    except ExportStopped:
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.QUEUED, rows=None, agent="")
        job.status = ExportJob.Status.QUEUED
        return job
    except (PermissionDenied, IncorrectLookupParameters) as error:
        return export_job_fail(job, str(error) or gettext("The filter in the address is not valid."))
    except Exception as error:
        logger.exception("export %s failed", job.pk)
        return export_job_fail(job, f"{error.__class__.__name__}: {error}")
    now = timezone.now()
    job.status, job.finished_at = ExportJob.Status.READY, now
    job.expires_at = now + timedelta(hours=settings.EXPORT_KEEP_HOURS)
    job.save(update_fields=["status", "rows", "file", "finished_at", "expires_at", "updated_at"])
    return job


def export_progress(job: ExportJob, rows, *, stop=None):
    """The rows, counting them onto the job (its progress on the list, and the sign it is alive)."""
    job.rows = 0
    for index, row in enumerate(rows):
        yield row
        if index == 0:
            continue  # the header
        job.rows = index
        if index % CHUNK_ROWS == 0:
            if stop is not None and stop.is_set():
                raise ExportStopped
            if index % PROGRESS_ROWS == 0:
                ExportJob.objects.filter(pk=job.pk).update(rows=index, updated_at=timezone.now())


def export_job_fail(job: ExportJob, error: str) -> ExportJob:
    job.status, job.error, job.finished_at = ExportJob.Status.FAILED, error, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    return job


def export_jobs_expire() -> int:
    """Remove the files of exports past their expiry; the job stays, as the record of who exported what."""
    expired = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.READY, expires_at__lte=timezone.now()):
        job.file.delete(save=False)
        job.status = ExportJob.Status.EXPIRED
        job.save(update_fields=["status", "file", "updated_at"])
        expired += 1
    return expired
