import ipaddress
import json

from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import BigListMixin, ReadOnly
from core.exports import SafeExportMixin
from rbac.addresses import client_address
from rbac.forms import AccountChangeForm, LoginForm
from rbac.lockout import login_username
from rbac.models import LoginLog, OperationLog
from rbac.services import login_unlock, operation_record


class OperationLogged:
    """Every write made through this admin also goes to the operation log, inside the admin's own
    transaction. Admins whose add form is a service call leave that record to the service."""

    add_recorded_by_service = False

    def client_address(self, request) -> str | None:
        """The address the log (and a service this admin calls) records with the acting user."""
        return client_address(request)

    def operation_record(self, request, obj, action: str, message="") -> None:
        """Django's change message (a JSON structure) is kept as it is and shown in the reader's language."""
        summary = json.dumps(message) if isinstance(message, list) else message
        operation_record(actor=request.user, address=self.client_address(request), action=action, obj=obj, summary=summary)

    def log_addition(self, request, obj, message):
        if not self.add_recorded_by_service:
            self.operation_record(request, obj, OperationLog.Action.ADD, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self.operation_record(request, obj, OperationLog.Action.CHANGE, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self.operation_record(request, obj, OperationLog.Action.DELETE)
        return super().log_deletions(request, queryset)


class LogAdmin(ReadOnly, BigListMixin, SafeExportMixin, admin.ModelAdmin):
    """A log is read, filtered and exported; nobody adds, changes or deletes its rows, superusers included."""


@admin.register(LoginLog)
class LoginLogAdmin(LogAdmin):
    list_display = ("created_at", "username", "user", "method", "succeeded", "locked_out", "address", "user_agent")
    list_filter = ("succeeded", "locked_out", "method", "created_at")
    list_select_related = ("user",)
    search_fields = ("username", "address")
    search_help_text = _("Login name or address (exact).")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return queryset.filter(username=term), False
        return queryset.filter(address=term), False


@admin.register(OperationLog)
class OperationLogAdmin(LogAdmin):
    list_display = ("created_at", "actor", "address", "action", "object_type_name", "object_repr", "summary_text")
    list_filter = ("action", "object_type", "created_at")
    list_select_related = ("actor",)
    search_fields = ("actor__username", "object_id")
    search_help_text = _("Operator's username or the object's ID (exact).")
    fields = ("created_at", "actor", "address", "action", "object_type_name", "object_id", "object_repr", "summary_text")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(actor__username=term) | queryset.filter(object_id=term), False

    @admin.display(description=_("object type"), ordering="object_type")
    def object_type_name(self, obj):
        try:
            return apps.get_model(obj.object_type)._meta.verbose_name
        except (LookupError, ValueError):
            return obj.object_type

    @admin.display(description=_("summary"))
    def summary_text(self, obj):
        """Admin edits are stored as Django's change-message structure and shown in the reader's language."""
        if obj.summary.startswith("["):
            return LogEntry(change_message=obj.summary).get_change_message()
        return obj.summary


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class LoggedUserAdmin(OperationLogged, UserAdmin):
    form = AccountChangeForm


@admin.register(Group)
class LoggedGroupAdmin(OperationLogged, GroupAdmin):
    pass


admin.site.login_form = LoginForm  # a username or a customer's mobile, and the lockout's message


def _recent_failures(field: str):
    """Failed sign-ins within the cool-off of the row's user (or address), all rows of it summed:
    what the lockout counts (AXES_LOCKOUT_PARAMETERS)."""
    recent = AccessAttempt.objects.filter(
        attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME, **{field: OuterRef(field)}
    )
    total = recent.order_by().values(field).annotate(total=Sum("failures_since_start")).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


@admin.register(AccessAttempt)
class LockoutAdmin(ReadOnly, BigListMixin, admin.ModelAdmin):
    """django-axes' failed sign-ins: administrators see who and which address is locked, and unlock them
    with the "unlock" action (rbac.services.login_unlock, recorded in the operation log)."""

    actions = ["unlock_selected"]
    date_hierarchy = None

    list_display = ("attempt_time", "username", "ip_address", "failures_since_start", "user_failures",
                    "address_failures", "locked", "user_agent")
    list_filter = ("attempt_time",)
    search_fields = ("username", "ip_address")
    search_help_text = _("Username, mobile or address (exact).")
    fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info")
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(user_total=_recent_failures("username"), address_total=_recent_failures("ip_address"))
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return queryset.filter(username=login_username(None, {"username": term})), False
        return queryset.filter(ip_address=term), False

    @admin.display(description=_("recent failures of this user"))
    def user_failures(self, obj):
        return obj.user_total

    @admin.display(description=_("recent failures from this address"))
    def address_failures(self, obj):
        return obj.address_total

    @admin.display(description=_("locked"), boolean=True)
    def locked(self, obj):
        return max(obj.user_total, obj.address_total) >= settings.AXES_FAILURE_LIMIT

    @admin.action(description=_("Unlock the selected users and addresses"), permissions=["unlock"])
    def unlock_selected(self, request, queryset):
        cleared = login_unlock(
            attempt_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, address=client_address(request)
        )
        self.message_user(
            request, gettext("%(count)s failed sign-in records cleared: they can sign in again.") % {"count": cleared}
        )

    def has_unlock_permission(self, request):
        return request.user.has_perm("axes.delete_accessattempt")
