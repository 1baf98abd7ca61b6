"""The customers app's imports (core.imports): batch recharges, and customers created or updated by mobile."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.imports import BatchResource, BatchRow, Column
from core.money import money_display
from core.validators import MOBILE_RE, text_plain_check
from customers.models import Customer, LedgerEntry, Tier
from customers.money import MONEY_MAX, money_amount_parse
from customers.selectors import customers_visible_to
from customers.services import balance_recharge, customer_upsert

MOBILE = Column("mobile", _("mobile"), ("手机号", "手机", "手机号码"))
LOOKUP_CHUNK = 1_000  # mobiles per IN (...) query


def customers_by_mobile(mobiles, *, user) -> dict[str, Customer]:
    """The customers of these mobiles that `user` may see (customers.selectors): any other is not found."""
    queryset = customers_visible_to(user=user).select_related("tier")
    mobiles = sorted(mobile for mobile in set(mobiles) if MOBILE_RE.fullmatch(mobile))
    found = {}
    for start in range(0, len(mobiles), LOOKUP_CHUNK):
        found |= {c.mobile: c for c in queryset.filter(mobile__in=mobiles[start : start + LOOKUP_CHUNK])}
    return found


def row_customer(row: BatchRow, customers: dict[str, Customer]) -> Customer | None:
    """The active customer a row's mobile names, or None with the row's error."""
    mobile = row.values["mobile"]
    customer = customers.get(mobile)
    if not mobile:
        row.errors.append(gettext("The mobile is missing."))
    elif not MOBILE_RE.fullmatch(mobile):
        row.errors.append(gettext("“%(mobile)s” is not a mainland mobile number.") % {"mobile": mobile})
    elif customer is None:
        row.errors.append(gettext("No customer has the mobile %(mobile)s.") % {"mobile": mobile})
    elif not customer.is_active:
        row.errors.append(gettext("Customer %(customer)s is inactive.") % {"customer": customer})
    else:
        return customer
    return None


def row_text(row: BatchRow, name: str, *, max_length: int) -> str:
    value = row.values.get(name, "")
    try:
        text_plain_check(value, field=name)
    except DomainError as error:
        row.errors.append(error.message)
    if len(value) > max_length:
        row.errors.append(gettext("The %(field)s is longer than %(max)s characters.") % {"field": gettext(name), "max": max_length})
    return value


class RechargeBatch(BatchResource):
    """Batch recharge"""

    columns = (MOBILE, Column("amount", _("amount"), ("金额", "充值金额")), Column("memo", _("memo"), ("备注",), required=False))
    preview_headers = (_("row"), _("customer"), _("amount"), _("new balance"), _("memo"))
    summary_headers = (_("rows"), _("customers"), _("total amount"))

    def imported(self, *, token):
        return LedgerEntry.objects.filter(token=token).exists()

    def rows_check(self, rows):
        customers = customers_by_mobile((row.values["mobile"] for row in rows), user=self.user)
        balances: dict[int, object] = {}
        total = 0
        for row in rows:
            customer = row_customer(row, customers)
            memo = row_text(row, "memo", max_length=LedgerEntry._meta.get_field("memo").max_length)
            try:
                amount = money_amount_parse(row.values["amount"])
            except DomainError as error:
                row.errors.append(error.message)
                amount = None
            balance = None
            if customer is not None and amount is not None:
                balance = balances.get(customer.pk, customer.balance) + amount
                if balance > MONEY_MAX:
                    row.errors.append(
                        gettext("The balance would become %(balance)s, more than the largest balance (%(max)s).")
                        % {"balance": balance, "max": MONEY_MAX}
                    )
                balances[customer.pk] = balance
                total += amount
                row.data = {"customer_id": customer.pk, "amount": amount, "memo": memo}
            row.shown = [
                customer or row.values["mobile"],
                money_display(amount) if amount is not None else row.values["amount"],
                money_display(balance) if balance is not None else "",
                memo,
            ]
        self.duplicates_mark(rows, lambda row: (row.values["mobile"], row.data.get("amount", row.values["amount"]), row.values.get("memo", "")))
        return [(len(rows), len(balances), money_display(total))]

    def row_apply(self, row, *, actor, address, token):
        balance_recharge(**row.data, actor=actor, address=address, token=token)


TRUE_WORDS = {"1", "true", "yes", "y", "t", "是", "有效", "启用", "正常"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "否", "无效", "停用", "禁用"}


class CustomerBatch(BatchResource):
    """Customers"""

    columns = (
        MOBILE,
        Column("name", _("name"), ("名称", "姓名", "客户名称", "客户"), required=False),
        Column("tier", _("tier"), ("客户级别", "级别"), required=False),
        Column("email", _("email"), ("电子邮箱", "邮箱"), required=False),
        Column("is_active", _("active"), ("active", "有效", "是否有效"), required=False),
    )
    refused_headers = {
        header: _("The file has a balance column: balances change only through recharges and debits; remove the column.")
        for header in ("balance", "余额")
    }
    preview_headers = (_("row"), _("mobile"), _("action"), _("name"), _("tier"), _("email"), _("active"))
    summary_headers = (_("rows"), _("new customers"), _("updated customers"))
    refuses_duplicates = False  # importing the same customers again changes nothing

    def rows_check(self, rows):
        existing = customers_by_mobile((row.values["mobile"] for row in rows), user=self.user)
        elsewhere = set(  # mobiles of customers outside the importer's scope: neither updated nor made again
            Customer.objects.filter(mobile__in=[row.values["mobile"] for row in rows]).exclude(mobile__in=existing)
            .values_list("mobile", flat=True)
        )
        tiers = {tier.name.casefold(): tier for tier in Tier.objects.all()}
        added = updated = 0
        for row in rows:
            mobile = row.values["mobile"]
            if not MOBILE_RE.fullmatch(mobile):
                row.errors.append(gettext("“%(mobile)s” is not a mainland mobile number.") % {"mobile": mobile})
            customer = existing.get(mobile)
            if mobile in elsewhere:
                row.errors.append(gettext("This customer is not in your data scope."))
            changes = self.row_changes(row, tiers)
            if customer is None and not row.errors:
                for name in ("name", "tier"):
                    if name not in changes:
                        row.errors.append(
                            gettext("A new customer needs a %(field)s.") % {"field": Customer._meta.get_field(name).verbose_name}
                        )
            row.data = {"mobile": mobile, "changes": changes}
            if customer is None:
                added += 1
                action = gettext("new")
            else:
                changes = {name: value for name, value in changes.items() if getattr(customer, name) != value}
                updated += bool(changes)
                action = gettext("update") if changes else gettext("unchanged")
            shown = {name: value for name, value in changes.items()}
            if "is_active" in shown:
                shown["is_active"] = gettext("yes") if shown["is_active"] else gettext("no")
            row.shown = [mobile, action, *(shown.get(name, "") for name in ("name", "tier", "email", "is_active"))]
        self.duplicates_mark(rows, lambda row: row.values["mobile"])
        return [(len(rows), added, updated)]

    def row_changes(self, row: BatchRow, tiers: dict[str, Tier]) -> dict:
        """The fields a row sets: a column left empty keeps what the customer has."""
        values, changes = row.values, {}
        if values.get("name"):
            changes["name"] = row_text(row, "name", max_length=Customer._meta.get_field("name").max_length)
        if values.get("tier"):
            tier = tiers.get(values["tier"].casefold())
            if tier is None:
                row.errors.append(gettext("No tier is named “%(tier)s”.") % {"tier": values["tier"]})
            changes["tier"] = tier
        if values.get("email"):
            try:
                validate_email(values["email"])
            except ValidationError:
                row.errors.append(gettext("“%(email)s” is not an email address.") % {"email": values["email"]})
            changes["email"] = values["email"]
        if values.get("is_active"):
            word = values["is_active"].casefold()
            if word not in TRUE_WORDS | FALSE_WORDS:
                row.errors.append(gettext("“%(value)s” is not yes or no.") % {"value": values["is_active"]})
            changes["is_active"] = word in TRUE_WORDS
        return changes

    def row_apply(self, row, *, actor, address, token):
        customer_upsert(**row.data, actor=actor, address=address)
