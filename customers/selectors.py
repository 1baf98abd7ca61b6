import re

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from core.validators import MOBILE_RE
from customers.models import Customer
from rbac.scope import owner_ids_visible_to

# A customer's label, as str(customer) renders it: "name (mobile)".
LABEL_RE = re.compile(rf"(?P<name>.*\S)\s*\((?P<mobile>{MOBILE_RE.pattern})\)")


def customer_match(queryset: QuerySet, text: str) -> QuerySet:
    """Customers a typed value names: a label picked from the suggestions, a bare mobile or an exact name."""
    text = text.strip()
    if MOBILE_RE.fullmatch(text):
        return queryset.filter(mobile=text)
    label = LABEL_RE.fullmatch(text)
    if label:
        return queryset.filter(mobile=label["mobile"], name=label["name"])
    return queryset.filter(name=text)


def customer_of(user) -> Customer | None:
    """The customer a login belongs to, or None for staff without one."""
    return getattr(user, "customer", None) if user.is_authenticated else None


# --- data scope: the one place that decides whose customers, orders and ledger rows a user sees -------


def customers_visible_to(*, user) -> QuerySet:
    """The customers `user` may see: a customer account its own customer only; staff those their
    data scope covers (rbac.scope); superusers and scope "all" every customer."""
    return visible_to(Customer.objects.all(), user=user, customer_field="")


def customer_ids_visible_to(*, user) -> QuerySet:
    """The ids of customers_visible_to, as a subquery."""
    return customers_visible_to(user=user).values("pk")


def visible_to(queryset: QuerySet, *, user, customer_field: str = "customer") -> QuerySet:
    """`queryset` (of customers, or of rows with a `customer_field`) narrowed to what `user` may see.
    Rows of other tables go through the customers' ids as a subquery: no join in the list's query."""
    customer = customer_of(user)
    if customer is not None:
        return queryset.filter(**{customer_field or "pk": customer.pk})
    if not user.is_authenticated:
        return queryset.none()
    owners = owner_ids_visible_to(user)
    if owners is None:
        return queryset
    if not customer_field:
        return queryset.filter(owner_id__in=owners)
    visible = Customer.objects.filter(owner_id__in=owners)
    if _scope_is_wide(user, visible):
        # Rows taken in the list's order, skipping the customers outside the scope: for the ids of a scope's
        # own customers MariaDB reads and sorts every row of theirs before a page (at 1,000,000 orders a
        # team's list of 2,000 customers took 4x its time at 10,000); for a few customers that is the fast way.
        hidden = Customer.objects.exclude(owner_id__in=owners).values("pk")
        return queryset.exclude(**{f"{customer_field}_id__in": hidden})
    return queryset.filter(**{f"{customer_field}_id__in": visible.values("pk")})


WIDE_SCOPE_CUSTOMERS = 500


def _scope_is_wide(user, visible: QuerySet) -> bool:
    """Whether `user`'s scope covers WIDE_SCOPE_CUSTOMERS customers or more: one bounded read, once per user object."""
    if not hasattr(user, "_scope_is_wide"):
        user._scope_is_wide = visible.order_by()[WIDE_SCOPE_CUSTOMERS - 1 : WIDE_SCOPE_CUSTOMERS].exists()
    return user._scope_is_wide


def customer_visible(*, user, customer: Customer) -> bool:
    """Whether `user` may see `customer` (already loaded: no query for a customer account or scope "all")."""
    own = customer_of(user)
    if own is not None:
        return own.pk == customer.pk
    owners = owner_ids_visible_to(user)
    return owners is None or customer.owner_id in owners


def staff_accounts_visible_to(*, user) -> QuerySet:
    """The active staff accounts whose customers `user` sees: who may be made a customer's owner."""
    accounts = get_user_model()._default_manager.filter(is_staff=True, is_active=True, customer__isnull=True)
    owners = owner_ids_visible_to(user)
    return (accounts if owners is None else accounts.filter(pk__in=owners)).order_by("username")
