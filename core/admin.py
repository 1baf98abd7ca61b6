"""Admin base pieces every app shares: checked change lists, read-only admins, big lists."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldError, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext

from core.validators import plain_text_validator


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows, so a list never runs a full COUNT(*) on a big table;
    past the limit it offers the first COUNT_LIMIT rows' pages (narrow the list with a filter)."""

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.COUNT_LIMIT + 1].count()


class CheckedChangeList(ChangeList):
    """A change list (or an export's) whose filters from the address are checked before any query:
    a value the filter cannot take is the list's usual answer (its page without filters) with a
    message, never a 500."""

    def get_queryset(self, request, exclude_parameters=None):
        try:
            queryset = super().get_queryset(request, exclude_parameters)
            # Some values pass the filter but fail when the SQL is made (a year 0 or 10000, a date
            # the database cannot hold): make it now, while the answer can still be the list's.
            queryset.query.get_compiler(queryset.db, elide_empty=False).as_sql()
        except IncorrectLookupParameters:
            self.bad_filter_report(request)
            raise
        except (ValueError, TypeError, OverflowError, ValidationError, FieldError) as error:
            self.bad_filter_report(request)
            raise IncorrectLookupParameters(error) from error
        return queryset

    def bad_filter_report(self, request) -> None:
        messages.error(request, gettext("The filter in the address is not valid, so the list is shown without it."))


class InputChecksMixin:
    """What a user can type into the admin is checked at the root: filters in a list's or an
    export's address (CheckedChangeList), and every one-line text field of the forms, which
    refuses control characters (core.validators)."""

    def get_changelist(self, request, **kwargs):
        return CheckedChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and isinstance(db_field, models.CharField) and not db_field.choices:
            formfield.validators.append(plain_text_validator)
        return formfield


class ReadOnly:
    """Ledger entries are immutable: nobody adds, changes or deletes them here, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class BigListMixin(InputChecksMixin):
    """Change-list settings for tables that grow to millions of rows."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    change_list_template = "admin/big_change_list.html"
    date_hierarchy = "created_at"
