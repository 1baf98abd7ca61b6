import re

from django.db.models import QuerySet

from core.validators import MOBILE_RE
from customers.models import Customer

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


def customer_rows_visible_to(queryset: QuerySet, *, user, path: str = "customer") -> QuerySet:
    """The rows of `queryset` (whose customer is at `path`) that `user` may see: a customer's login her own
    alone, staff every customer's. Every list, export and off-request export of customers' rows goes
    through here, so a data-scope rule (owners, teams) narrows them all in one place."""
    customer = customer_of(user)
    if customer is not None:
        return queryset.filter(**{path: customer})
    return queryset
