import functools
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields

from core.admin import BigListMixin, InputChecksMixin, MoneyColumnsMixin, ServiceSaveAdmin
from core.exports import LabelledResource, SafeExportMixin
from core.imports import BatchImportMixin
from core.money import money_display
from customers.admin import CustomerScoped, LedgerEntryAdmin, people_search
from customers.errors import DomainError
from customers.models import Customer, LedgerEntry
from customers.selectors import customer_match, customer_of, customers_visible_to
from orders.forms import MyOrderPlaceForm, OrderPlaceForm
from orders.imports import OrderBatch
from orders.models import MyOrder, Order, OrderEvent, PricePolicy, Product
from orders.services import order_cancel, order_place, order_quote, order_refund_complete, order_retry
from rbac.addresses import client_address
from rbac.admin import OperationLogged

# An order number as orders.services.order_no_new makes it: local time to the millisecond, 6 random digits.
ORDER_NO_RE = re.compile(r"\d{23}")

STATUS_COLOURS = {
    Order.Status.PENDING: "#e6a23c",
    Order.Status.RUNNING: "#409eff",
    Order.Status.SUCCEEDED: "#67c23a",
    Order.Status.FAILED: "#f56c6c",
    Order.Status.CANCELLED: "#909399",
}
ACTION_AT_MOST = 500


@functools.lru_cache(maxsize=64)
def status_badge_html(status: str, language: str | None):
    """An order status's badge in one language: the same few strings on every row of every page, made once
    (a row's own get_status_display() would translate every status label again, for each row)."""
    label = Order.Status(status).label if status in Order.Status.values else status
    return format_html(
        '<span class="order-status order-status-{}" style="background:{};color:#fff;padding:2px 8px;'
        'border-radius:10px;white-space:nowrap">{}</span>',
        status,
        STATUS_COLOURS.get(status, "#909399"),
        label,
    )


PREVIEW_FIGURES = (
    ("unit_price", _("unit price")),
    ("list_amount", _("list amount")),
    ("discount_percent", _("discount (% off)")),
    ("amount", _("amount")),
    ("balance", _("balance")),
)


class PricePolicyInline(admin.TabularInline):
    model = PricePolicy
    extra = 1


@admin.register(Product)
class ProductAdmin(OperationLogged, MoneyColumnsMixin, InputChecksMixin, admin.ModelAdmin):
    list_display = ("code", "name", "unit_price", "min_quantity", "max_quantity", "executor", "is_active")
    list_filter = ("is_active", "executor")
    search_fields = ("code", "name")
    inlines = [PricePolicyInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class OrderResource(LabelledResource):
    customer = fields.Field(attribute="customer__name", column_name=_("customer"))
    mobile = fields.Field(attribute="customer__mobile", column_name=_("mobile"))
    product = fields.Field(attribute="product__name", column_name=_("product"))
    status = fields.Field(attribute="get_status_display", column_name=_("status"))

    class Meta:
        model = Order
        fields = (
            "order_no", "created_at", "customer", "mobile", "product", "quantity", "target",
            "unit_price", "list_amount", "discount_percent", "amount", "status", "memo",
        )
        export_order = fields


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "agent", "note_text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return True  # shown only inside an order page the user was allowed to open

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(
    CustomerScoped, BatchImportMixin, OperationLogged, ServiceSaveAdmin, BigListMixin, SafeExportMixin, admin.ModelAdmin
):
    form = OrderPlaceForm
    batch_class = OrderBatch
    import_title = _("Mass order")
    add_recorded_by_service = True
    list_display = ("order_no", "customer", "product", "quantity", "amount", "status_badge", "created_at")
    # No JOIN in the page query: joined, MariaDB starts from the small table and sorts the whole join
    # (seconds at 1,000,000 orders); the page's customers and products come by primary key instead.
    list_select_related = ()
    list_filter = ("status", "product", "customer__tier", "created_at")
    search_fields = ("order_no", "customer__mobile", "customer__name", "target")
    search_help_text = _("Order number, mobile or target (exact), or the start of a customer name.")
    ordering = ("-created_at", "-id")  # matches the index order_created
    list_per_page = 20  # what a person reads; a search or a filter narrows the rest
    actions = ["cancel_selected", "retry_selected", "refund_owed_selected"]
    resource_classes = [OrderResource]  # the export's
    add_fields = ("customer", "product", "quantity", "target", "memo", "idempotency_token", "price_preview")
    change_fieldsets = (
        (None, {"fields": (
            "order_no", "status_badge", "customer", "product", "quantity", "target", "memo", "retry_of", "retried_as_order",
        )}),
        (_("Price"), {"fields": ("unit_price", "list_amount", "discount_percent", "amount")}),
        (_("Execution"), {"fields": ("attempts", "lease_owner", "started_at", "finished_at", "last_error", "result")}),
        (_("Audit"), {"fields": ("created_by", "created_at", "updated_at")}),
    )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return status_badge_html(obj.status, get_language())

    @admin.display(description=_("retried as"))
    def retried_as_order(self, obj):
        return getattr(obj, "retried_as", None)  # linked by the read-only field's tag (core_admin)

    @admin.display(description=_("price preview"))
    def price_preview(self, obj):
        info = self.opts.app_label, self.opts.model_name
        # The reason note starts hidden by its style: the admin's .errornote rule would override a `hidden` attribute.
        return format_html(
            '<div id="order-preview" data-quote-url="{}"><dl>{}</dl>'
            '<p class="errornote" data-key="error" style="display:none"></p></div>',
            reverse("admin:%s_%s_quote" % info),
            format_html_join("", '<dt>{}</dt><dd data-key="{}">–</dd>', ((label, key) for key, label in PREVIEW_FIGURES)),
        )

    # --- add: the admin places the order through order_place; after creation only the memo changes --

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": self.add_fields}),)
        # A retry's links show only where there is one: most orders are never retried.
        absent = {name for name, present in (
            ("retry_of", obj.retry_of_id), ("retried_as_order", self.retried_as_order(obj))
        ) if not present}
        return [
            (title, {**options, "fields": tuple(name for name in options["fields"] if name not in absent)})
            for title, options in self.change_fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("price_preview",)
        return [name for _name, options in self.get_fieldsets(request, obj) for name in options["fields"] if name != "memo"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def order_customer(self, form, *, actor) -> Customer:
        return form.cleaned_data["customer"]

    def service_call(self, form, *, actor, address):
        data = form.cleaned_data
        return order_place(
            customer_id=self.order_customer(form, actor=actor).pk,
            product_id=data["product"].pk,
            quantity=data["quantity"],
            target=data["target"],
            actor=actor,
            address=address,
            token=data["idempotency_token"],
            memo=data.get("memo", ""),
        )

    def get_inlines(self, request, obj):
        return [OrderEventInline] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            # Only the memo: the status belongs to the services and may have moved since the page loaded.
            obj.save(update_fields=["memo", "updated_at"])
        else:
            super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return False  # orders are never deleted; cancel them

    # --- list --------------------------------------------------------------------------------------

    def get_queryset(self, request):
        # Scoped by CustomerScoped; the customers and products its list shows come by primary key (list_select_related).
        shown = [name for name in ("customer", "product") if name in self.list_display]
        return super().get_queryset(request).prefetch_related(*shown)

    def get_search_results(self, request, queryset, search_term):
        customers = customers_visible_to(user=request.user)
        return people_search(queryset, search_term, exact=self.search_exact, also="target", customers=customers), False

    def search_exact(self, term: str) -> dict | None:
        return {"order_no": term} if ORDER_NO_RE.fullmatch(term) else None

    def _for_each_selected(self, request, queryset, *, too_many: str, act) -> None:
        """Call `act(order)` (a service call that returns its success message) on each selected order
        and report each outcome; more than an action handles at once is refused whole."""
        # Only what the calls need, and none of the list's prefetches: on deferred keys each would cost a query per order.
        selected = queryset.select_related(None).prefetch_related(None).order_by("id").only("id", "order_no")
        orders = list(selected[: ACTION_AT_MOST + 1])
        if len(orders) > ACTION_AT_MOST:
            self.message_user(request, too_many % {"n": ACTION_AT_MOST}, messages.ERROR)
            return
        for order in orders:
            try:
                done = act(order)
            except DomainError as error:
                self.message_user(request, error.message, messages.WARNING)
            else:
                self.message_user(request, done, messages.SUCCESS)

    @admin.action(description=_("Cancel selected orders (pending ones are refunded)"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        def cancel(order):
            # No note: the event records who cancelled, and the operation log from where.
            cancelled = order_cancel(order_id=order.pk, actor=request.user, address=client_address(request))
            return gettext("Order %(order_no)s cancelled; %(amount)s refunded.") % {
                "order_no": cancelled.order_no, "amount": money_display(cancelled.amount)
            }

        too_many = gettext("Select at most %(n)s orders to cancel at once.")
        self._for_each_selected(request, queryset, too_many=too_many, act=cancel)

    @admin.action(description=_("Retry selected failed orders (each is placed and charged again)"), permissions=["retry"])
    def retry_selected(self, request, queryset):
        def retry(order):
            placed = order_retry(order_id=order.pk, actor=request.user, address=client_address(request))
            return gettext("Order %(order_no)s placed again as %(retry_no)s; %(amount)s charged.") % {
                "order_no": order.order_no, "retry_no": placed.order_no, "amount": money_display(placed.amount)
            }

        too_many = gettext("Select at most %(n)s orders to retry at once.")
        self._for_each_selected(request, queryset, too_many=too_many, act=retry)

    @admin.action(
        description=_("Post the refunds still owed to selected failed orders (their balance had no room then)"),
        permissions=["retry"],
    )
    def refund_owed_selected(self, request, queryset):
        def refund(order):
            refunded = order_refund_complete(order_id=order.pk, actor=request.user, address=client_address(request))
            return gettext("Order %(order_no)s: %(amount)s refunded.") % {
                "order_no": refunded.order_no, "amount": money_display(refunded.amount)
            }

        too_many = gettext("Select at most %(n)s orders to refund at once.")
        self._for_each_selected(request, queryset, too_many=too_many, act=refund)

    def has_retry_permission(self, request):
        return request.user.has_perm("orders.retry_order")

    # --- live price preview --------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("quote/", self.admin_site.admin_view(self.quote_view), name="%s_%s_quote" % info),
            *super().get_urls(),
        ]

    def quote_customer(self, request) -> Customer | None:
        found = list(customer_match(customers_visible_to(user=request.user), request.GET.get("customer", ""))[:2])
        return found[0] if len(found) == 1 else None

    def quote_view(self, request):
        """What the order on the add form would cost now (JSON); writes nothing."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        customer = self.quote_customer(request)
        if customer is None:
            return JsonResponse({"ok": False, "error": gettext("Pick a customer from the suggestions.")})
        try:
            product_id = int(request.GET.get("product", ""))
            quote = order_quote(customer_id=customer.pk, product_id=product_id, quantity=request.GET.get("quantity", ""))
        except (ValueError, Product.DoesNotExist):
            return JsonResponse({"ok": False, "error": gettext("Pick a product.")})
        except DomainError as error:
            return JsonResponse({"ok": False, "error": error.message})
        figures = {key: getattr(quote, key) for key, _label in PREVIEW_FIGURES}
        shown = {key: str(value) if key == "discount_percent" else money_display(value) for key, value in figures.items()}
        return JsonResponse({"ok": True, **shown})


@admin.register(MyOrder)
class MyOrderAdmin(OrderAdmin):
    """A customer's own orders: no customer field, nobody else's orders (those are not found)."""

    form = MyOrderPlaceForm
    actions = ["cancel_selected"]
    list_display = ("order_no", "product", "quantity", "target", "amount", "status_badge", "created_at")
    list_filter = ("status", "product", "created_at")
    search_fields = ("order_no", "target")
    search_help_text = _("Order number or target (exact).")
    add_fields = ("product", "quantity", "target", "memo", "idempotency_token", "price_preview")
    change_fieldsets = (
        (None, {"fields": (
            "order_no", "status_badge", "product", "quantity", "target", "memo", "retry_of", "retried_as_order",
        )}),
        (_("Price"), {"fields": ("unit_price", "list_amount", "discount_percent", "amount")}),
        (_("Result"), {"fields": ("finished_at", "result")}),
        (None, {"fields": ("created_at",)}),
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)  # her own orders (CustomerScoped)
        return queryset if self._is_customer(request) else queryset.none()

    def get_object(self, request, object_id, from_field=None):
        if not self._is_customer(request):
            raise PermissionDenied
        return super().get_object(request, object_id, from_field)  # someone else's order: 404 (CustomerScoped)

    def get_inlines(self, request, obj):
        return []

    def get_search_results(self, request, queryset, search_term):
        # Her own orders by their number or by what they were for: her name and mobile would match them all.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(**(self.search_exact(term) or {"target": term})), False

    def has_import_permission(self, request):
        return False  # mass orders are staff's (OrderAdmin)

    def quote_customer(self, request):
        return customer_of(request.user)

    def order_customer(self, form, *, actor):
        return customer_of(actor)

    def _is_customer(self, request) -> bool:
        return customer_of(request.user) is not None

    def has_module_permission(self, request):
        return self._is_customer(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._is_customer(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._is_customer(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        # The change permission is for cancelling from the list; a placed order's page is read-only to her.
        return obj is None and self._is_customer(request) and super().has_change_permission(request)


admin.site.unregister(LedgerEntry)


@admin.register(LedgerEntry)
class LedgerEntryWithOrdersAdmin(LedgerEntryAdmin):
    """The ledger, whose search also finds an order's entries by the order number (a format orders owns)."""

    search_fields = (*LedgerEntryAdmin.search_fields, "order__order_no")
    search_help_text = _("Order number or mobile (exact), or the start of a customer name.")

    def search_exact(self, term):
        return {"order__order_no": term} if ORDER_NO_RE.fullmatch(term) else None
