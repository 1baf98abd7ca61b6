import re
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from core.fields import user_reference
from customers.models import MONEY, MONEY_TOTAL, Customer, created_by_field


def regex_validate(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(_("Not a valid regular expression: %(error)s"), params={"error": exc}) from None


def revision_new() -> int:
    return secrets.randbits(63)  # random, not counted: a product recreated under the same id never repeats one


class ProductQuerySet(models.QuerySet):
    """Every write through it renews the revision of the products it writes (see Product.revision)."""

    def update(self, **kwargs):
        # Always a new revision, even over one passed in: bulk_update writing back products read
        # earlier would otherwise restore a revision some process may still hold a copy of.
        return super().update(**{**kwargs, "revision": revision_new()})

    def bulk_create(self, objs, batch_size=None, **kwargs):
        objs = list(objs)
        for product in objs:
            product.revision = revision_new()
        if kwargs.get("update_fields"):  # an upsert rewrites the existing row: its revision too
            kwargs["update_fields"] = [*kwargs["update_fields"], "revision"]
        return super().bulk_create(objs, batch_size, **kwargs)


class Product(models.Model):
    class Executor(models.TextChoices):
        SANDBOX = "sandbox", _("sandbox (built in)")
        HTTP = "http", _("HTTP endpoint")

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", _("Use letters, digits, “_”, “.” and “-” only."))],
    )
    name = models.CharField(_("name"), max_length=100)
    unit_price = models.DecimalField(_("unit price"), validators=[MinValueValidator(0)], **MONEY)
    min_quantity = models.PositiveIntegerField(_("minimum quantity"), default=1, validators=[MinValueValidator(1)])
    max_quantity = models.PositiveIntegerField(_("maximum quantity"), default=1000, validators=[MinValueValidator(1)])
    target_pattern = models.CharField(
        _("target pattern"),
        max_length=200,
        blank=True,
        validators=[regex_validate],
        help_text=_("Regular expression the whole target must match; empty accepts any target."),
    )
    executor = models.CharField(_("executor"), max_length=10, choices=Executor.choices, default=Executor.SANDBOX)
    endpoint = models.URLField(_("endpoint"), blank=True, help_text=_("HTTP executor: the URL orders are POSTed to."))
    timeout_seconds = models.PositiveIntegerField(
        _("timeout (seconds)"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("HTTP executor: the longest the whole request may take, the full reply included."),
    )
    sandbox_delay_ms = models.PositiveIntegerField(_("sandbox delay (ms)"), default=500)
    max_attempts = models.PositiveSmallIntegerField(
        _("maximum attempts"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty uses the platform default."),
    )
    max_run_seconds = models.PositiveIntegerField(
        _("maximum run time (seconds)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "An attempt still running after this long counts as a transient failure and is retried; "
            "empty uses the platform default."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Changes with every change to the product or its price policies, in the transaction of the
    # change, so that processes pricing orders from a copy (orders.pricing) load it again. Renewed
    # by save() and delete() of either model, by their querysets' and managers' update, bulk_create,
    # bulk_update and delete (product.price_policies.update, add and set too), and by loaddata (the
    # raw-save receivers below). Not seen: SQL. After it, call Product.revise(ids) in the same
    # transaction, or run `manage.py revise_products` (every product) once it is committed.
    revision = models.BigIntegerField(_("revision"), default=revision_new, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_unit_price_not_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="product_min_quantity_positive"),
            models.CheckConstraint(
                condition=Q(max_quantity__gte=F("min_quantity")), name="product_max_quantity_at_least_min"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self):
        if self.max_quantity is not None and self.min_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValidationError({"max_quantity": _("The maximum quantity cannot be below the minimum.")})
        if self.executor == self.Executor.HTTP and not self.endpoint:
            raise ValidationError({"endpoint": _("The HTTP executor needs an endpoint.")})

    @property
    def attempts_allowed(self) -> int:
        return self.max_attempts or settings.ORDER_MAX_ATTEMPTS

    @property
    def run_seconds_allowed(self) -> int:
        return self.max_run_seconds or settings.ORDER_MAX_RUN_SECONDS

    def save(self, *args, **kwargs):
        self.revision = revision_new()
        if kwargs.get("update_fields"):
            kwargs["update_fields"] = {*kwargs["update_fields"], "revision"}
        super().save(*args, **kwargs)

    @classmethod
    def revise(cls, *product_ids: int) -> None:
        cls.objects.filter(pk__in=product_ids).update()  # the update alone renews the revision


class PricePolicyQuerySet(models.QuerySet):
    """Every write through it renews, in its transaction, the revision of each product whose price
    list it changes: its policies' products and, for a policy moved, the product it leaves."""

    def _rows_lock(self) -> tuple[list[int], set[int]]:
        """The ids of the rows to write, locked, and their products. The write then takes exactly
        these rows, not the filter again: a row another transaction commits in between would be
        written without its product renewed."""
        # By id: no join to the product for the ordering (it would lock the products' rows too),
        # and concurrent writers lock in one order.
        rows = list(self.select_for_update().order_by("pk").values_list("pk", "product_id"))
        return [pk for pk, _ in rows], {product_id for _, product_id in rows}

    def update(self, **kwargs):  # bulk_update comes through here too
        self._for_write = True  # as Django's write methods: self.db is then the database written to
        with transaction.atomic(using=self.db):
            pks, product_ids = self._rows_lock()
            updated = super(PricePolicyQuerySet, self.filter(pk__in=pks)).update(**kwargs)
            if {"product", "product_id"} & kwargs.keys():  # moved: the products they join too
                joined = self.model._base_manager.using(self.db).filter(pk__in=pks)
                product_ids.update(joined.values_list("product_id", flat=True))
            Product.revise(*product_ids)
        return updated

    def bulk_create(self, objs, batch_size=None, **kwargs):
        objs = list(objs)
        self._for_write = True
        with transaction.atomic(using=self.db):
            # An upsert onto an existing id may move that policy from its product.
            stored = self.model._base_manager.using(self.db).select_for_update().order_by("pk")
            stored = stored.filter(pk__in=[policy.pk for policy in objs if policy.pk])
            product_ids = {*stored.values_list("product_id", flat=True), *(policy.product_id for policy in objs)}
            created = super().bulk_create(objs, batch_size, **kwargs)
            Product.revise(*product_ids)
        return created

    def delete(self):
        self._for_write = True
        with transaction.atomic(using=self.db):
            pks, product_ids = self._rows_lock()
            deleted = super(PricePolicyQuerySet, self.filter(pk__in=pks)).delete()
            Product.revise(*product_ids)
        return deleted

    delete.queryset_only = True  # as Django's: no PricePolicy.objects.delete() of every row


class PricePolicy(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="price_policies", verbose_name=_("product")
    )
    min_quantity = models.PositiveIntegerField(_("from quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), validators=[MinValueValidator(0)], **MONEY)

    objects = PricePolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("price policy")
        verbose_name_plural = _("price policies")
        ordering = ["product", "min_quantity"]
        # product.price_policies.add() and set() write through the base manager: ours, so they renew too.
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["product", "min_quantity"], name="price_policy_unique_step"),
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="price_policy_min_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="price_policy_unit_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_quantity}: {self.unit_price}"

    # Each write and its product's new revision commit together: apart, a crash between them would
    # leave processes charging the old price.
    def save(self, *args, **kwargs):
        with transaction.atomic():
            left = []  # a policy moved to another product changes the price of the one it leaves too
            if self.pk:
                stored = PricePolicy.objects.filter(pk=self.pk).exclude(product_id=self.product_id)
                left = list(stored.values_list("product_id", flat=True))
            super().save(*args, **kwargs)
            Product.revise(self.product_id, *left)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            deleted = super().delete(*args, **kwargs)
            Product.revise(self.product_id)
        return deleted


# loaddata saves raw, past save(): a fixture may carry a revision some process holds a copy of, or
# change a policy of a product it does not list. loaddata runs in one transaction, so the renewal
# before the write commits with it.
@receiver(pre_save, sender=Product)
def product_raw_save_revise(sender, instance, raw, **kwargs):
    if raw:
        instance.revision = revision_new()


@receiver(pre_save, sender=PricePolicy)
def price_policy_raw_save_revise(sender, instance, raw, **kwargs):
    if raw:
        stored = PricePolicy.objects.filter(pk=instance.pk).values_list("product_id", flat=True)
        Product.revise(instance.product_id, *stored)


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class Order(models.Model):
    # Outside the class so that Meta, which cannot see the class's names, builds its constraint from it.
    Status = OrderStatus

    # The lifecycle: every allowed (from, to). Services refuse anything else.
    TRANSITIONS = {
        Status.PENDING: (Status.RUNNING, Status.CANCELLED),
        Status.RUNNING: (Status.SUCCEEDED, Status.PENDING, Status.FAILED),
        Status.SUCCEEDED: (),
        Status.FAILED: (),
        Status.CANCELLED: (),
    }
    REFUNDED_STATUSES = (Status.CANCELLED, Status.FAILED)

    order_no = models.CharField(_("order number"), max_length=32, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    target = models.CharField(_("target"), max_length=255)
    unit_price = models.DecimalField(_("unit price"), editable=False, **MONEY)
    list_amount = models.DecimalField(_("list amount"), editable=False, **MONEY)
    discount_percent = models.DecimalField(_("discount (% off)"), max_digits=5, decimal_places=2, editable=False)
    amount = models.DecimalField(_("amount"), editable=False, **MONEY)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, editable=False
    )
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_by = created_by_field()
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    token = models.CharField(_("idempotency token"), max_length=64, unique=True, editable=False)

    # What the agent needs.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, editable=False)
    available_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, editable=False)
    lease_owner = models.CharField(_("held by"), max_length=100, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    result = models.TextField(_("result"), blank=True, editable=False)
    # A retry is a new order placed for a failed one (order_retry); each failed order is retried once.
    retry_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="retried_as",
        editable=False,
        verbose_name=_("retry of"),
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        permissions = [("retry_order", _("Can retry failed orders")), ("import_order", _("Can import orders"))]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="order_customer_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["-created_at", "-id"], name="order_created"),
            models.Index(fields=["status", "available_at"], name="order_ready"),
            models.Index(fields=["status", "lease_expires_at"], name="order_lease"),
            models.Index(fields=["target"], name="order_target"),  # the order search's exact target
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="order_discount_0_100",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values),
                name="order_status_known",
            ),
        ]

    def __str__(self) -> str:
        return self.order_no


class MyOrder(Order):
    """A customer's own orders (the admin scopes it to the signed-in customer)."""

    class Meta:
        proxy = True
        verbose_name = _("my order")
        verbose_name_plural = _("my orders")


class OrderNote(models.TextChoices):
    """The notes the platform writes on status changes. Stored as a code and its parameters and put
    into words when shown, so each reader sees them in their own language."""

    ATTEMPT = "attempt", _("attempt started")
    RETRY = "retry", _("retry after a failure")
    LEASE_EXPIRED = "lease_expired", _("lease expired")
    REFUND_NOT_POSTED = "refund_not_posted", _("failed without its refund")
    REFUND_POSTED = "refund_posted", _("owed refund posted")
    AGENT_STOPPING = "agent_stopping", _("agent stopping")


NOTE_TEXTS = {
    OrderNote.ATTEMPT: _("attempt %(n)s"),
    OrderNote.RETRY: _("retry after: %(error)s"),
    OrderNote.LEASE_EXPIRED: _("Lease of %(agent)s expired."),
    OrderNote.REFUND_NOT_POSTED: _("%(error)s (the refund of %(amount)s was not posted: the balance would pass the largest balance, %(max)s)"),
    OrderNote.REFUND_POSTED: _("refund of %(amount)s posted"),
    OrderNote.AGENT_STOPPING: _("given back untouched: the agent is stopping"),
}


def order_note(code: str, **params) -> dict:
    """A note the platform writes: its code and parameters (plain values, or notes themselves)."""
    return {"code": code, "params": params}


def note_render(note) -> str:
    """A note in the active language; plain text (an agent's error, a note staff typed) and plain
    values as they are."""
    if not isinstance(note, dict):
        return note
    return NOTE_TEXTS[note["code"]] % {name: note_render(value) for name, value in note["params"].items()}


class OrderEvent(models.Model):
    """One status change: who (a user or an agent), when, from, to, and why: a note staff or an agent
    typed, or one of the platform's (note_code with its note_params)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(_("from"), max_length=10, blank=True, choices=Order.Status.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=Order.Status.choices)
    actor = user_reference(_("by user"))
    agent = models.CharField(_("by agent"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    note_code = models.CharField(_("note code"), max_length=20, blank=True, choices=OrderNote.choices)
    note_params = models.JSONField(_("note parameters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"

    @property
    def note_text(self) -> str:
        return note_render(order_note(self.note_code, **self.note_params) if self.note_code else self.note)

    note_text.fget.short_description = _("note")


class OrderDay(models.Model):
    """The orders placed on one local day (core.days) by one shard of the customers (core.days.shard_of):
    how many, their amount, and how many of them have ended in each final status. Kept by the order
    services in the transaction of each placement and final transition; `manage.py rebuild_day_summaries`
    computes them again, `reconcile` compares."""

    day = models.DateField(_("day"))
    shard = models.PositiveSmallIntegerField(_("shard"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    amount = models.DecimalField(_("amount"), default=Decimal(0), **MONEY_TOTAL)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    cancelled = models.PositiveIntegerField(_("cancelled"), default=0)

    # The final statuses, each counted in the column of its name.
    FINAL_STATUSES = (OrderStatus.SUCCEEDED, OrderStatus.FAILED, OrderStatus.CANCELLED)

    class Meta:
        verbose_name = _("order day")
        verbose_name_plural = _("order days")
        constraints = [models.UniqueConstraint(fields=["day", "shard"], name="order_day_unique")]
