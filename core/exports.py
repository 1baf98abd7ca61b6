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
"""

import re
from urllib.parse import quote

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from import_export import resources
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import SelectableFieldsExportForm
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

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
    """Exports in the safe formats, in the admin's layout (templates/admin/import_export/export.html);
    a bad filter in the export's address answers as the list does."""

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
        """The response names the file in the reader's language too (订单-2026-12-02.xlsx), as RFC 6266's
        filename*, which keeps the header ASCII; clients that cannot read it take the ASCII name."""
        response = super()._do_file_export(file_format, request, queryset, export_form)
        named = self.export_filename(capfirst(self.opts.verbose_name_plural), file_format)
        response["Content-Disposition"] += f"; filename*=UTF-8''{quote(named)}"
        return response

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # The list's own answer: its page without the filters, with the message the list added.
            changelist = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist"
            return HttpResponseRedirect(f"{reverse(changelist)}?{ERROR_FLAG}=1")

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # import-export's own version tells XLSX (native numbers and dates) from CSV by exact class,
        # so it would take SafeXLSX for a text format; is_binary() says the same for both.
        if not self.has_export_permission(request):
            raise PermissionDenied
        data = self.get_data_for_export(request, queryset, force_native_type=file_format.is_binary(), **kwargs)
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data
