import ipaddress
import json
from datetime import timedelta

from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import BigListMixin, ReadOnly
from core.exports import SafeExportMixin
from rbac.addresses import client_address
from rbac.forms import AccountChangeForm, LoginForm
from rbac.lockout import login_username
from rbac.models import LoginLog, OperationLog, RoleScope, SignedInSession, StaffProfile, Team
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, CUSTOMERS, FINANCE, OPERATIONS
from rbac.services import login_unlock, operation_record, sessions_sign_out


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
    """A log is read, filtered and exported; nobody adds, changes or deletes its rows, superusers included.
    So it has no actions: no checkboxes and no "0 of 100 selected" counter (simpleui shows one regardless)."""

    actions = None
    actions_selection_counter = False


@admin.register(LoginLog)
class LoginLogAdmin(LogAdmin):
    list_display = ("created_at", "username", "user", "method", "outcome", "lockout", "address", "user_agent")
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

    @admin.display(description=_("successful"), ordering="succeeded")
    def outcome(self, log):
        if log.succeeded:
            return format_html('<span class="log-ok">✓ {}</span>', gettext("successful"))
        return format_html('<span class="log-refused">✗ {}</span>', gettext("failed"))

    @admin.display(description=_("locked out"), ordering="locked_out")
    def lockout(self, log):
        """Only a refusal by the lockout is marked: a red cross on every ordinary sign-in read as an alarm."""
        return format_html('<span class="log-refused">{}</span>', gettext("locked out")) if log.locked_out else ""


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
            message = json.loads(obj.summary)
            for part in message:
                for change in part.values():
                    change["fields"] = [field_label(name) for name in change.get("fields", [])]
            return LogEntry(change_message=json.dumps(message)).get_change_message()
        return obj.summary


def field_label(name: str) -> str:
    """A changed field's label in the reader's language. Django stores the form's English label,
    capitalised ("Active"), where the catalogue knows the field's verbose name ("active")."""
    translated = gettext(name)
    return translated if translated != name else gettext(name[:1].lower() + name[1:])


# The roles' groups keep their English names, which the code refers to (rbac.roles); people read them translated.
ROLE_LABELS = {
    ADMINISTRATORS: _("Administrators"),
    FINANCE: _("Finance"),
    CUSTOMER_SERVICE: _("Customer service"),
    CUSTOMER_SERVICE_LEAD: _("Customer service lead"),
    OPERATIONS: _("Operations"),
    CUSTOMERS: _("Customers"),
}
# Django names a model's four permissions "Can add order" and so on, in English, when it creates them.
PERMISSION_ACTIONS = {
    "add": _("Add %(model)s"),
    "change": _("Change %(model)s"),
    "delete": _("Delete %(model)s"),
    "view": _("View %(model)s"),
}


def role_label(group: Group) -> str:
    return str(ROLE_LABELS.get(group.name, group.name))


def permission_label(permission: Permission) -> str:
    """A permission as people read it, "订单 | 添加订单": the app, then the action on the model (Django's own
    four) or the permission's translated name (the custom ones, such as retrying orders)."""
    model = permission.content_type.model_class()
    if model is None:  # a permission of an app that is gone
        return str(permission)
    action, _sep, model_name = permission.codename.partition("_")
    if action in PERMISSION_ACTIONS and model_name == model._meta.model_name:
        name = PERMISSION_ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{model._meta.app_config.verbose_name} | {name}"


class RoleFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        return [(group.pk, role_label(group)) for group in Group.objects.order_by("name")]


class RoleLabels:
    """Roles and permissions translated in the user and group pages' selection widgets. The two-box
    selector is used by clicking, so Django's "hold down Control or Command" hint is left off."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if isinstance(formfield.widget, FilteredSelectMultiple):
            formfield.help_text = db_field.help_text
        if db_field.name == "groups":
            formfield.label_from_instance = role_label
        elif db_field.name in ("permissions", "user_permissions"):
            formfield.label_from_instance = permission_label
        return formfield


class StaffProfileInline(admin.TabularInline):
    model = StaffProfile
    fields = ("team",)
    can_delete = False
    verbose_name_plural = _("team")


class RoleScopeInline(admin.TabularInline):
    model = RoleScope
    fields = ("scope",)
    can_delete = False
    verbose_name_plural = _("data scope")


@admin.register(SignedInSession)
class SignedInSessionAdmin(ReadOnly, admin.ModelAdmin):
    """Who is signed in now; administrators sign a visit out (rbac.services.sessions_sign_out)."""

    list_display = ("user", "address", "signed_in_at", "last_seen_at", "user_agent")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    search_help_text = _("Username (exact).")
    actions = ["sign_out_selected"]

    def get_queryset(self, request):
        # A visit not seen for a session's lifetime has ended without signing out (its browser closed).
        alive = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
        return super().get_queryset(request).filter(last_seen_at__gte=alive)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(user__username=term) if term else queryset), False

    @admin.action(description=_("Sign the selected visits out"), permissions=["sign_out"])
    def sign_out_selected(self, request, queryset):
        ended = sessions_sign_out(
            session_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, address=client_address(request)
        )
        self.message_user(request, gettext("%(count)s visits signed out.") % {"count": ended})

    def has_sign_out_permission(self, request):
        return request.user.has_perm("rbac.delete_signedinsession")


@admin.register(Team)
class TeamAdmin(OperationLogged, admin.ModelAdmin):
    list_display = ("name", "parent")
    list_select_related = ("parent",)
    search_fields = ("name",)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class LoggedUserAdmin(OperationLogged, RoleLabels, UserAdmin):
    form = AccountChangeForm
    list_display = (*UserAdmin.list_display, "roles")
    list_filter = ("is_staff", "is_superuser", "is_active", ("groups", RoleFilter))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_inlines(self, request, obj):
        return [StaffProfileInline] if obj is not None else []  # the team is set once the account exists

    @admin.display(description=_("roles"))
    def roles(self, user):
        return ", ".join(role_label(group) for group in user.groups.all())


@admin.register(Group)
class LoggedGroupAdmin(OperationLogged, RoleLabels, GroupAdmin):
    list_display = ("role_name", "scope")
    list_select_related = ("scope",)
    inlines = [RoleScopeInline]

    def get_readonly_fields(self, request, obj=None):
        return ("role_name",) if obj is not None else ()

    def get_fields(self, request, obj=None):
        return ("name", "role_name", "permissions") if obj is not None else ("name", "permissions")

    @admin.display(description=_("role"), ordering="name")
    def role_name(self, group):
        return role_label(group)


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
