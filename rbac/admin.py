import ipaddress
import json

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from rbac.addresses import client_address
from rbac.models import LoginLog, OperationLog
from rbac.services import operation_record


def _change_message_json(message) -> str:
    return json.dumps(message) if isinstance(message, list) else message


class OperationLogged:
    """Every write made through this admin also goes to the operation log, inside the admin's own
    transaction. Admins whose add form is a service call leave that record to the service."""

    add_recorded_by_service = False

    def log_addition(self, request, obj, message):
        if self.add_recorded_by_service:
            return super().log_addition(request, obj, message)
        operation_record(
            actor=request.user,
            address=client_address(request),
            action=OperationLog.Action.ADD,
            obj=obj,
            summary=_change_message_json(message),
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        operation_record(
            actor=request.user,
            address=client_address(request),
            action=OperationLog.Action.CHANGE,
            obj=obj,
            summary=_change_message_json(message),
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            operation_record(
                actor=request.user, address=client_address(request), action=OperationLog.Action.DELETE, obj=obj
            )
        return super().log_deletions(request, queryset)


class LogAdmin(ExportMixin, admin.ModelAdmin):
    """A log is read, filtered and exported; nobody adds, changes or deletes its rows, superusers included."""

    export_formats = [XLSX, CSV]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoginLog)
class LoginLogAdmin(LogAdmin):
    list_display = ("created_at", "username", "user", "method", "succeeded", "address", "user_agent")
    list_filter = ("succeeded", "method", "created_at")
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
    list_display = ("created_at", "actor", "address", "action", "object_type", "object_repr", "summary_text")
    list_filter = ("action", "object_type", "created_at")
    list_select_related = ("actor",)
    search_fields = ("actor__username", "object_id")
    search_help_text = _("Operator's username or the object's ID (exact).")
    fields = ("created_at", "actor", "address", "action", "object_type", "object_id", "object_repr", "summary_text")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(actor__username=term) | queryset.filter(object_id=term), False

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
    pass


@admin.register(Group)
class LoggedGroupAdmin(OperationLogged, GroupAdmin):
    pass
