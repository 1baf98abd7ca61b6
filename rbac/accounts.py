"""Which accounts may be a customer's login, and which account a typed username or mobile signs in.

A customer account is in the Customers role group and nothing else: not a superuser, in no other group,
with no permission of its own. Only such an account may be tied to a customer (customers.services), and
only such an account signs in by a customer's mobile, with the password or an SMS code: an account that
got tied some other way (by SQL, or given a staff role later) is never reached through a mobile.

rbac sits below customers, so the customer is reached through the reverse relation by name.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import QuerySet

from core.validators import MOBILE_RE
from rbac.roles import CUSTOMERS


def customer_accounts() -> QuerySet:
    """Every customer account, tied to a customer or not."""
    return (
        get_user_model()
        .objects.filter(is_superuser=False, groups__name=CUSTOMERS)
        .exclude(groups__in=Group.objects.exclude(name=CUSTOMERS))
        .exclude(user_permissions__isnull=False)
    )


def customer_account_is(user) -> bool:
    return user is not None and user.pk is not None and customer_accounts().filter(pk=user.pk).exists()


def customer_login_account(mobile: str):
    """The active customer account of the active customer with this mobile, or None."""
    if not MOBILE_RE.fullmatch(mobile or ""):
        return None
    return customer_accounts().filter(customer__mobile=mobile, customer__is_active=True, is_active=True, is_staff=True).first()


def login_account_find(typed: str):
    """The account a typed login name refers to: the user of that username (a username wins), else the
    customer account of that mobile, else None. Active or not: failures count against it either way."""
    typed = (typed or "").strip()
    if not typed:
        return None
    user = get_user_model()._default_manager.filter(username=typed).first()
    if user is None and MOBILE_RE.fullmatch(typed):
        user = customer_accounts().filter(customer__mobile=typed).first()
    return user
