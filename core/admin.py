"""Admin base pieces every app shares: checked change lists, read-only admins, big lists, and admins
whose saves are service calls."""

from contextlib import contextmanager
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldError, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.models import ExportJob
from core.money import is_money_field, money_display
from core.validators import plain_text_validator


def admin_link(request, obj, text=None, *, site=admin.site, model=None):
    """`obj` (or `text`) linked to its admin page (that of `model`, a proxy of its model, if given) when
    the viewer may open that page, else plain text: a page never offers a link that answers 403."""
    text = str(obj) if text is None else text
    model = model or type(obj)
    model_admin = site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request, obj):
        return text
    opts = model._meta
    url = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
    return format_html('<a href="{}">{}</a>', url, text)


def admin_list_url(request, model, *, site=admin.site, **filters) -> str | None:
    """The address of `model`'s list narrowed by `filters`, or None when the viewer may not open that list."""
    model_admin = site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        return None
    opts = model._meta
    return f"{reverse(f'{site.name}:{opts.app_label}_{opts.model_name}_changelist')}?{urlencode(filters)}"


def admin_add_url(request, model, *, site=admin.site, **initial) -> str | None:
    """The address of `model`'s add form filled with `initial`, or None when the viewer may not add one."""
    model_admin = site._registry.get(model)
    if model_admin is None or not model_admin.has_add_permission(request):
        return None
    opts = model._meta
    return f"{reverse(f'{site.name}:{opts.app_label}_{opts.model_name}_add')}?{urlencode(initial)}"


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows, so a list never runs a full COUNT(*) on a big table;
    past the limit it offers the first COUNT_LIMIT rows' pages (narrow the list with a filter).
    A page reads its rows' keys first (see _get_page)."""

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.COUNT_LIMIT + 1].count()

    def _get_page(self, object_list, number, paginator):
        # The page's keys first, then its rows by key. Sorting and skipping then read only an index
        # (a data scope's orders lie scattered over a big table: reading each row to sort it is what
        # costs), and only the page's rows are read whole.
        if isinstance(object_list, models.QuerySet):
            keys = list(object_list.values_list("pk", flat=True))
            object_list = self.object_list.filter(pk__in=keys)
        return super()._get_page(object_list, number, paginator)


class CheckedChangeList(ChangeList):
    """A change list (or an export's) whose filters from the address are checked before any query:
    a value the filter cannot take is the list's usual answer (its page without filters) with a
    message, never a 500."""

    def get_queryset(self, request, exclude_parameters=None):
        try:
            queryset = super().get_queryset(request, exclude_parameters)
            # Some values pass the filter but fail when the SQL is made (a year 0 or 10000, a date
            # the database cannot hold): make it now, while the answer can still be the list's. An
            # address without filters has no such value to check.
            if self.get_filters_params():
                queryset.query.get_compiler(queryset.db, elide_empty=False).as_sql()
        except IncorrectLookupParameters:
            self.bad_filter_report(request)
            raise
        except (ValueError, TypeError, OverflowError, ValidationError, FieldError) as error:
            self.bad_filter_report(request)
            raise IncorrectLookupParameters(error) from error
        return queryset

    def bad_filter_report(self, request) -> None:
        # Silently for a request without messages: an export the agent builds off the request.
        message = gettext("The filter in the address is not valid, so the list is shown without it.")
        messages.error(request, message, fail_silently=True)


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


def money_column(name: str, description):
    """A list column showing the money field `name` as people read it (core.money.money_display)."""

    @admin.display(description=description, ordering=name)
    def column(obj):
        value = getattr(obj, name)
        return None if value is None else money_display(value)

    column.__name__ = name  # the column's CSS class stays "field-<name>"
    return column


class MoneyColumnsMixin:
    """Every money column of a change list shows ¥ and thousands separators."""

    def get_list_display(self, request):
        money = {field.name: field for field in self.opts.fields if is_money_field(field)}
        return [
            money_column(name, money[name].verbose_name) if isinstance(name, str) and name in money else name
            for name in super().get_list_display(request)
        ]


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


class BigListMixin(MoneyColumnsMixin, InputChecksMixin):
    """Change-list settings for tables that grow to millions of rows."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    date_hierarchy = "created_at"

    @property
    def change_list_template(self):
        return "admin/big_change_list.html"  # Jinja2: the whole page, import-export's links included

    @change_list_template.setter
    def change_list_template(self, _name):
        """Ignored: import-export's mixins set their own change list templates from __init__, wherever they sit among
        a class's bases, and the page writes their Import and Export links itself."""


class ServiceRefused(Exception):
    """A service refused what a validated admin form asked; the form now carries the refusal."""

    def __init__(self, form):
        super().__init__(form.errors)
        self.form = form


class RefusalShownMixin:
    """Lets save_model call services: a refusal (DomainError) raised inside `refusal_shown(form)` rolls
    the whole save back (the admin's transaction) and answers the same page again, the refusal on the
    form (core.forms.RefusalShownForm says on which field), so nothing is written and nothing is a 500.

    Django's change view saves after validation with no way back to the form, so the view is asked
    again for the same request, and `get_form` hands it the refused form, bound and invalid, to render."""

    @contextmanager
    def refusal_shown(self, form):
        try:
            yield
        except DomainError as error:
            form.refusal_add(error)
            raise ServiceRefused(form) from error

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            if object_id is None:
                refused.form.instance.pk = None  # an insert that was rolled back: the id is no one's
            request.refused_form = refused.form
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        refused = getattr(request, "refused_form", None)
        if refused is not None:
            return lambda *args, **kwargs: refused
        return super().get_form(request, obj, change, **kwargs)


class ServiceSaveAdmin(RefusalShownMixin):
    """An add form (core.forms.ServiceSaveForm) saved by one service call that the admin makes after
    validation, with the signed-in user and their address: the form itself writes nothing. The service
    replays the form's token, so a double-clicked Save acts once. Mixed with rbac.admin.OperationLogged,
    which gives `client_address(request)` (the ground floor cannot read addresses)."""

    def service_call(self, form, *, actor, address: str | None):
        """Call the service with the validated form's data, the actor, the address and the form's token;
        return what it created."""
        raise NotImplementedError

    def service_save(self, form, *, actor, address: str | None):
        if actor is None or not actor.is_authenticated:
            raise PermissionDenied("A service save needs the signed-in user as its actor.")
        with self.refusal_shown(form):
            return self.service_call(form, actor=actor, address=address)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = self.service_save(form, actor=request.user, address=self.client_address(request))
        # The view goes on with `obj` (its history entry, message, redirect): make it the row the service
        # wrote, from the service's copy rather than read back.
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding, obj._state.db = False, created._state.db


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    """The exports the agent built (or is building): each person sees their own, administrators everyone's
    (core.view_all_exportjob); a file is downloaded by who may still export its list."""

    list_display = ("requested_at", "file_name", "requested_by", "status", "rows", "expires_at", "download")
    list_display_links = ("file_name",)
    list_filter = ("status",)
    actions = None
    fields = readonly_fields = (
        "file_name", "requested_by", "requested_at", "query", "status", "rows", "finished_at", "expires_at", "error",
        "download",
    )

    def sees_all(self, request) -> bool:
        return request.user.has_perm("core.view_all_exportjob")

    def may_export(self, request) -> bool:
        return any(
            model_admin.has_export_permission(request)
            for model_admin in self.admin_site._registry.values()
            if hasattr(model_admin, "has_export_permission")
        )

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("requested_by")
        return queryset if self.sees_all(request) else queryset.filter(requested_by=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and self.may_export(request)

    def has_view_permission(self, request, obj=None):
        if not self.has_module_permission(request):
            return False
        return obj is None or obj.requested_by_id == request.user.pk or self.sees_all(request)

    @admin.display(description=_("download"))
    def download(self, obj):
        if obj.status != ExportJob.Status.READY:
            return "-"
        url = reverse(f"{self.admin_site.name}:core_exportjob_download", args=[obj.pk])
        return format_html('<a href="{}"><i class="fas fa-download"></i> {}</a>', url, gettext("Download"))

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:job_id>/download/", download, name="core_exportjob_download"), *super().get_urls()]

    def download_view(self, request, job_id):
        job = self.get_queryset(request).filter(pk=job_id).first() if self.has_view_permission(request) else None
        if job is None or job.status != ExportJob.Status.READY or not job.file:
            raise Http404(gettext("This export is not ready, or it has expired."))
        list_admin = next((ma for m, ma in self.admin_site._registry.items() if m._meta.label_lower == job.model), None)
        if list_admin is None or not list_admin.has_export_permission(request):
            raise PermissionDenied
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name)
