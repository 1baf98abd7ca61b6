from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import user_reference
from core.validators import mobile_validator

MONEY = {"max_digits": 14, "decimal_places": 2}
# Totals of many amounts (the day summaries): room for a million amounts of MONEY's largest.
MONEY_TOTAL = {"max_digits": 20, "decimal_places": 2}



def created_by_field() -> models.ForeignKey:
    """Who did it: every write action records its user."""
    return user_reference(_("created by"), editable=False)


class Tier(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    discount_percent = models.DecimalField(
        # xgettext:no-python-format
        _("discount (% off)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        # xgettext:no-python-format
        help_text=_("Percent taken off the list amount: 0 = none, 15 = 15 % off, 100 = free."),
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="tier_discount_0_100",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=100, db_index=True)
    mobile = models.CharField(_("mobile"), max_length=11, unique=True, validators=[mobile_validator])
    email = models.EmailField(_("email"), blank=True)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="customers", verbose_name=_("tier"))
    balance = models.DecimalField(_("balance"), default=Decimal("0.00"), editable=False, **MONEY)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer",
        verbose_name=_("login account"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The staff member who manages the customer: who sees them follows from it (rbac.scope).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner"),
        help_text=_("The staff member who manages this customer; staff see the customers their data scope covers."),
    )
    created_by = created_by_field()
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        permissions = [("import_customer", _("Can import customers")), ("assign_owner", _("Can choose a customer's owner"))]
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="customer_balance_not_negative")]

    def __str__(self) -> str:
        return f"{self.name} ({self.mobile})"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        RECHARGE = "recharge", _("recharge")
        DEBIT = "debit", _("debit")
        CHARGE = "charge", _("charge")
        REFUND = "refund", _("refund")

    class Memo(models.TextChoices):
        """The memos the platform writes, stored as a code and its parameters and put into words when
        shown (each reader in their own language); staff's memos are plain text in `memo`."""

        ORDER_FAILED = "order_failed", _("refund of a failed order")
        REFUND_OWED = "refund_owed", _("owed refund posted")

    MEMO_TEXTS = {
        Memo.ORDER_FAILED: _("refund: the order failed"),
        Memo.REFUND_OWED: _("refund of %(amount)s posted"),
    }

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), help_text=_("Signed: positive adds to the balance."), **MONEY)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("order"),
    )
    created_by = user_reference(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    memo_code = models.CharField(_("memo code"), max_length=20, blank=True, choices=Memo.choices)
    memo_params = models.JSONField(_("memo parameters"), default=dict, blank=True)
    # Idempotency token of the submission that created a recharge or debit (orders keep their own).
    token = models.CharField(_("idempotency token"), max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "-id"], name="ledger_customer_recent")]
        constraints = [
            # Charges and refunds mirror their order's amount, which is 0.00 for a free order (100 % off);
            # staff movements of money are never zero.
            models.CheckConstraint(
                condition=~Q(amount=0) | Q(kind__in=["charge", "refund"]), name="ledger_amount_not_zero"
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(
                condition=(
                    Q(kind="recharge", amount__gt=0)
                    | Q(kind="debit", amount__lt=0)
                    | Q(kind="charge", amount__lte=0)
                    | Q(kind="refund", amount__gte=0)
                ),
                name="ledger_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["charge", "refund"], order__isnull=False)
                    | Q(kind__in=["recharge", "debit"], order__isnull=True)
                ),
                name="ledger_order_only_for_charge_refund",
            ),
            # NULL orders are distinct, so this allows many recharges while capping each order
            # at one charge and one refund.
            models.UniqueConstraint(fields=["order", "kind"], name="ledger_one_entry_per_order_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def memo_text(self) -> str:
        return self.MEMO_TEXTS[self.memo_code] % self.memo_params if self.memo_code else self.memo

    memo_text.fget.short_description = _("memo")

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Ledger entries are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are immutable.")


class RechargeManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=LedgerEntry.Kind.RECHARGE)


class DebitManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=LedgerEntry.Kind.DEBIT)


class Recharge(LedgerEntry):
    objects = RechargeManager()

    class Meta:
        proxy = True
        verbose_name = _("recharge")
        verbose_name_plural = _("recharges")
        permissions = [("import_recharge", _("Can import recharges"))]


class Debit(LedgerEntry):
    objects = DebitManager()

    class Meta:
        proxy = True
        verbose_name = _("debit")
        verbose_name_plural = _("debits")


class MyLedgerEntry(LedgerEntry):
    """A customer's own ledger (the admin scopes it to the signed-in customer)."""

    class Meta:
        proxy = True
        verbose_name = _("my ledger entry")
        verbose_name_plural = _("my ledger")


class LedgerDay(models.Model):
    """The ledger summed over one local day (core.days) and one shard of the customers (core.days.shard_of),
    kept by ledger_post in the same transaction as each entry, so the dashboard reads a few rows a day
    whatever the number of entries; sharded so that postings for different customers seldom wait for one
    row. Amounts are sizes, not signed. `manage.py rebuild_day_summaries` computes them again from the
    ledger; `reconcile` compares."""

    day = models.DateField(_("day"))
    shard = models.PositiveSmallIntegerField(_("shard"))
    recharges = models.DecimalField(_("recharges"), default=Decimal(0), **MONEY_TOTAL)
    debits = models.DecimalField(_("debits"), default=Decimal(0), **MONEY_TOTAL)
    charges = models.DecimalField(_("charges"), default=Decimal(0), **MONEY_TOTAL)
    refunds = models.DecimalField(_("refunds"), default=Decimal(0), **MONEY_TOTAL)

    # The ledger kind each column sums.
    KIND_COLUMNS = {
        LedgerEntry.Kind.RECHARGE: "recharges",
        LedgerEntry.Kind.DEBIT: "debits",
        LedgerEntry.Kind.CHARGE: "charges",
        LedgerEntry.Kind.REFUND: "refunds",
    }

    class Meta:
        verbose_name = _("ledger day")
        verbose_name_plural = _("ledger days")
        constraints = [models.UniqueConstraint(fields=["day", "shard"], name="ledger_day_unique")]
