"""Spreadsheet exports that are safe to open: the one place every admin export goes through.

A cell a customer typed (a name, target or memo) reaches finance's spreadsheet. django-import-export's
own IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only drops a leading "=", and turns every cell into
text first (in XLSX an amount becomes text, an empty cell the word "None"); these formats keep its
setting and hook but escape properly: text cells only, every formula-looking start, numbers left as
they are. They also drop the control characters an XLSX cell cannot hold (rows stored before inputs
refused them), so one odd memo cannot break a whole export.
"""

import re

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
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


class SafeExportMixin(ExportMixin):
    """Exports in the safe formats; a bad filter in the export's address answers as the list does."""

    export_formats = [SafeXLSX, SafeCSV]

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
