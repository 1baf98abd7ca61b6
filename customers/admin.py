from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.forms import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export import fields

from core.admin import (
    BigListMixin,
    InputChecksMixin,
    MoneyColumnsMixin,
    ReadOnly,
    ReadOnlyAdmin,
    RefusalShownMixin,
    ServiceSaveAdmin,
    admin_add_url,
    admin_list_url,
)
from core.exports import LabelledResource, SafeExportMixin
from core.imports import BatchImportMixin
from core.money import money_display
from core.validators import MOBILE_RE
from customers.forms import CustomerForm, DebitForm, RechargeForm
from customers.imports import CustomerBatch, RechargeBatch
from customers.models import Customer, Debit, LedgerEntry, MyLedgerEntry, Recharge, Tier
from customers.selectors import (
    customer_match,
    customer_of,
    customers_visible_to,
    staff_accounts_visible_to,
    visible_to,
)
from customers.services import balance_debit, balance_recharge, customer_login_create, customer_login_set
from rbac.admin import OperationLogged

RECENT_LEDGER_ROWS = 10


def people_search(
    queryset,
    term: str,
    *,
    customer_path: str = "customer",
    exact: Callable[[str], dict | None] | None = None,
    also: str | None = None,
    customers: QuerySet | None = None,
):
    """Map a search term to indexed lookups: what the caller's `exact(term)` names (the lookups of,
    say, an order number, or None), else a mobile exactly, else a name prefix; and, besides these,
    the row's own field `also` (an order's target) equal to the term. With `also`, the customers
    matched are looked up first, among `customers` (the viewer's) when given."""
    term = term.strip()
    if not term:
        return queryset
    lookups = exact(term) if exact else None
    if lookups:
        return queryset.filter(**lookups)
    # istartswith is a plain LIKE 'x%', which MariaDB answers from the name index; startswith is
    # LIKE BINARY, which cannot use a case-insensitive index and scans it whole.
    lookup = "mobile" if MOBILE_RE.fullmatch(term) else "name__istartswith"
    if also is None:
        return queryset.filter(**{f"{customer_path}__{lookup}": term})
    # An OR across the join to the customers reads every row; with the customers' keys in the query instead,
    # MariaDB merges the rows of the two indexes (index_merge) and reads only those.
    # Only the viewer's: with every customer of that name in the list, MariaDB may prefer to read each of
    # the scope's rows to test the OR.
    matched = (Customer.objects.all() if customers is None else customers).filter(**{lookup: term})
    keys = list(matched.values_list("pk", flat=True))
    return queryset.filter(Q(**{f"{customer_path}__in": keys}) | Q(**{also: term}))


class CustomerScoped:
    """Rows of customers outside the viewer's data scope (customers.selectors) do not exist here: not in
    the list, its search, filters, exports and actions, nor the autocomplete that reads this admin; the
    change, history and delete pages answer 404."""

    scope_customer_field = "customer"  # the rows' customer; "" for the customers themselves

    def get_queryset(self, request):
        return visible_to(super().get_queryset(request), user=request.user, customer_field=self.scope_customer_field)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and not self.has_view_or_change_permission(request):
            raise PermissionDenied  # as Django answers who may not open this admin's pages at all
        if obj is None:  # outside the scope, or none at all: the same answer
            raise Http404(gettext("No such %(name)s.") % {"name": self.opts.verbose_name})
        return obj


@admin.register(Tier)
class TierAdmin(OperationLogged, InputChecksMixin, admin.ModelAdmin):
    list_display = ("name", "discount_percent")
    search_fields = ("name",)


class RecentLedgerFormSet(BaseInlineFormSet):
    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_LEDGER_ROWS]
        return self._recent


class RecentLedgerInline(ReadOnly, admin.TabularInline):
    model = LedgerEntry
    formset = RecentLedgerFormSet
    fields = ("created_at", "kind", "amount", "balance_after", "order", "memo_text")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("recent ledger entries")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


@admin.register(Customer)
class CustomerAdmin(
    CustomerScoped,
    BatchImportMixin,
    OperationLogged,
    RefusalShownMixin,
    MoneyColumnsMixin,
    InputChecksMixin,
    admin.ModelAdmin,
):
    form = CustomerForm
    scope_customer_field = ""
    batch_class = CustomerBatch
    import_title = _("Import customers")
    list_display = ("name", "mobile", "tier", "balance", "owner", "is_active", "created_at")
    list_filter = ("tier", "is_active")
    list_select_related = ("tier", "owner")
    search_fields = ("^name", "mobile")
    readonly_fields = ("balance", "created_by", "created_at")
    login_fields = ("login_account", "login_create", "login_username", "login_password")
    fieldsets = (
        (_("Identity"), {"fields": ("name", "mobile", "email", "is_active")}),
        (_("Tier and owner"), {"fields": ("tier", "owner")}),
        (_("Balance"), {"fields": ("balance",)}),
        (_("Login account"), {"fields": login_fields}),
        (_("Audit"), {"fields": ("created_by", "created_at")}),
    )
    inlines = [RecentLedgerInline]
    actions = ["delete_selected", "deactivate_selected"]

    def get_fieldsets(self, request, obj=None):
        """Who may only view a customer sees the tied account read-only instead of the login fields."""
        if obj is None or self.has_change_permission(request, obj):
            return self.fieldsets
        return [
            (title, {"fields": ("user",) if opts["fields"] == self.login_fields else opts["fields"]})
            for title, opts in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if request.user.has_perm("customers.assign_owner"):
            return self.readonly_fields
        return (*self.readonly_fields, "owner")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            # Staff within the chooser's own scope: a customer is never handed to where they cannot follow.
            kwargs["queryset"] = staff_accounts_visible_to(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.owner = obj.owner or request.user  # the creator manages the customer unless another was chosen
            obj.save()
        else:
            # Only what the form edits: a full save would write back a balance a service changed meanwhile.
            obj.save(update_fields=[name for name in form.changed_data if name in self.model_field_names()])
        if form.login_wanted():
            # Checked by the form; refused here only if another save took the account meanwhile.
            with self.refusal_shown(form):
                self.login_save(request, obj, form.cleaned_data)
            obj.refresh_from_db(fields=["user"])

    def login_save(self, request, obj, data) -> None:
        if data.get("login_create"):
            customer_login_create(
                customer_id=obj.pk,
                username=data["login_username"],
                password=data["login_password"],
                actor=request.user,
                address=self.client_address(request),
            )
        else:
            account = data.get("login_account")
            customer_login_set(customer_id=obj.pk, user_id=account and account.pk, actor=request.user)

    def model_field_names(self) -> set[str]:
        return {field.name for field in self.model._meta.concrete_fields}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["customer_tools"] = self.customer_tools(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def customer_tools(self, request, customer) -> list[tuple[str, str]]:
        """The customer's orders and whole ledger, a recharge and a debit: those the viewer may open."""
        # The order model by the customer's relation to it: customers imports nothing from orders.
        orders = self.opts.get_field("orders").related_model
        tools = [
            (_("This customer's orders"), admin_list_url(request, orders, customer__id__exact=customer.pk)),
            (_("This customer's ledger"), admin_list_url(request, LedgerEntry, customer__id__exact=customer.pk)),
            (capfirst(Recharge._meta.verbose_name), admin_add_url(request, Recharge, customer=str(customer))),
            (capfirst(Debit._meta.verbose_name), admin_add_url(request, Debit, customer=str(customer))),
        ]
        return [(label, url) for label, url in tools if url]

    # --- a customer with history (orders, ledger entries) is deactivated, never deleted ----------------

    def render_delete_form(self, request, context):
        if context["object"].ledger_entries.exists():  # every order has its charge entry
            return self.delete_refused(request, [context["object"]])
        return super().render_delete_form(request, context)

    @admin.action(description=_("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        with_history = list(queryset.filter(ledger_entries__isnull=False).distinct())
        if with_history:
            return self.delete_refused(request, with_history)
        return django_delete_selected(self, request, queryset)

    def delete_refused(self, request, customers):
        context = {
            **self.admin_site.each_context(request),
            "title": ngettext("This customer cannot be deleted", "These customers cannot be deleted", len(customers)),
            "opts": self.opts,
            "customers": customers,
            "can_deactivate": any(customer.is_active for customer in customers) and self.has_change_permission(request),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/customers/customer/delete_refused.html", context)

    @admin.action(description=_("Deactivate selected customers (their history is kept)"), permissions=["change"])
    def deactivate_selected(self, request, queryset):
        with translation.override(None):  # Django's change messages name fields untranslated
            change_message = [{"changed": {"fields": [str(capfirst(self.opts.get_field("is_active").verbose_name))]}}]
        deactivated = 0
        for customer in queryset.filter(is_active=True):
            with transaction.atomic():  # the change and its operation-log row together
                customer.is_active = False
                customer.save(update_fields=["is_active"])
                self.log_change(request, customer, change_message)
            deactivated += 1
        self.message_user(
            request,
            ngettext("%(count)s customer deactivated.", "%(count)s customers deactivated.", deactivated)
            % {"count": deactivated},
        )


class LedgerEntryResource(LabelledResource):
    customer = fields.Field(attribute="customer__name", column_name=_("customer"))
    mobile = fields.Field(attribute="customer__mobile", column_name=_("mobile"))
    order = fields.Field(attribute="order__order_no", column_name=_("order number"))
    memo = fields.Field(attribute="memo_text", column_name=_("memo"))

    class Meta:
        model = LedgerEntry
        fields = ("id", "created_at", "customer", "mobile", "kind", "amount", "balance_after", "order", "memo")
        export_order = fields


@admin.register(LedgerEntry)
class LedgerEntryAdmin(CustomerScoped, BigListMixin, SafeExportMixin, ReadOnlyAdmin):
    list_display = ("created_at", "customer", "kind", "amount", "balance_after", "order", "created_by", "memo_text")
    list_select_related = ("customer", "order", "created_by")
    list_filter = ("kind", "created_at")
    search_fields = ("customer__name", "customer__mobile")
    search_help_text = _("Mobile (exact) or the start of a customer name.")
    resource_classes = [LedgerEntryResource]

    def get_search_results(self, request, queryset, search_term):
        return people_search(queryset, search_term, exact=self.search_exact), False

    def search_exact(self, term: str) -> dict | None:
        """Lookups for a term this list finds exactly; orders adds its order numbers (orders.admin)."""
        return None


class BalanceMoveAdmin(CustomerScoped, OperationLogged, ServiceSaveAdmin, BigListMixin, admin.ModelAdmin):
    """Recharges and debits: an add form saved by the balance service, and a read-only list of that kind."""

    service = None  # balance_recharge or balance_debit
    done_message = None  # what the success message says, with the customer, the amount and the new balance
    add_recorded_by_service = True

    list_display = ("created_at", "customer", "amount", "balance_after", "created_by", "memo")
    list_select_related = ("customer", "created_by")
    list_filter = ("created_at",)
    search_fields = ("customer__name", "customer__mobile")
    search_help_text = _("Mobile (exact) or the start of a customer name.")
    add_fields = ("customer", "balance_preview", "amount", "memo", "idempotency_token")
    view_fields = ("customer", "amount", "balance_after", "memo", "created_by", "created_at")

    def get_search_results(self, request, queryset, search_term):
        return people_search(queryset, search_term), False

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return ("balance_preview",) if obj is None else self.view_fields

    @admin.display(description=_("current balance"))
    def balance_preview(self, obj):
        url = reverse("admin:%s_%s_balance" % (self.opts.app_label, self.opts.model_name))
        return format_html('<span id="balance-preview" data-balance-url="{}">–</span>', url)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("balance/", self.admin_site.admin_view(self.balance_view), name="%s_%s_balance" % info),
            *super().get_urls(),
        ]

    def balance_view(self, request):
        """The balance of the customer picked on the add form (JSON), for who may make this move."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        found = list(customer_match(customers_visible_to(user=request.user), request.GET.get("customer", ""))[:2])
        if len(found) != 1:
            return JsonResponse({"ok": False, "error": gettext("Pick a customer from the suggestions.")})
        return JsonResponse({"ok": True, "balance": money_display(found[0].balance)})

    def service_call(self, form, *, actor, address):
        data = form.cleaned_data
        return self.service(
            customer_id=data["customer"].pk,
            amount=data["amount"],
            actor=actor,
            address=address,
            memo=data.get("memo", ""),
            token=data["idempotency_token"],
        )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # A recharge or debit cannot be edited once saved: no "save and continue editing".
        context["show_save_and_continue"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        """Instead of Django's "the debit “debit -1.50” was added": who, how much and the new balance."""
        shown = {"amount": money_display(abs(obj.amount)), "balance": money_display(obj.balance_after)}
        done = self.done_message % {"customer": obj.customer, **shown}
        self.message_user(request, done, messages.SUCCESS)
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.get_full_path())
        return self.response_post_save_add(request, obj)


@admin.register(Recharge)
class RechargeAdmin(BatchImportMixin, BalanceMoveAdmin):
    form = RechargeForm
    batch_class = RechargeBatch
    import_title = _("Batch recharge")
    service = staticmethod(balance_recharge)
    done_message = _("Recharged %(amount)s to %(customer)s; the balance is now %(balance)s.")


@admin.register(Debit)
class DebitAdmin(BalanceMoveAdmin):
    form = DebitForm
    service = staticmethod(balance_debit)
    done_message = _("Debited %(amount)s from %(customer)s; the balance is now %(balance)s.")


@admin.register(MyLedgerEntry)
class MyLedgerEntryAdmin(BigListMixin, ReadOnlyAdmin):
    """A customer's own ledger; anything else is not found."""

    list_display = ("created_at", "kind", "amount", "balance_after", "order", "memo_text")
    list_select_related = ("order",)
    list_filter = ("kind", "created_at")
    # What the entry means to her: not the staff member, the submission token or the memo's code.
    fields = readonly_fields = list_display

    def get_queryset(self, request):
        queryset = visible_to(super().get_queryset(request), user=request.user)
        return queryset if customer_of(request.user) is not None else queryset.none()

    def has_module_permission(self, request):
        return customer_of(request.user) is not None and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return customer_of(request.user) is not None and super().has_view_permission(request, obj)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such ledger entry."))
        return obj
