"""Lockout after repeated failed sign-ins (django-axes), for the password and the SMS-code login alike.

Failures count per user and per address (AXES_LOCKOUT_PARAMETERS): a mobile and the customer account it
signs in count as one user, whichever login page was used. A locked user sees the login page again with
a message saying so (rbac.forms and rbac.views put it there; the answer is a 429). Administrators see the
lockouts and unlock them in the admin (rbac.admin.LockoutAdmin).
"""

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from rbac.accounts import login_account_find


def login_username(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: the username of the account a typed username or mobile refers to, else
    what was typed (so unknown names are counted too)."""
    credentials = credentials or {}
    typed = credentials.get("mobile") or credentials.get("username")
    if typed is None and request is not None:
        typed = request.POST.get("mobile") or request.POST.get("username")
    typed = (typed or "").strip()
    if not typed:
        return None
    account = login_account_find(typed)
    return account.get_username() if account is not None else typed[:150]


def lockout_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return _(
        "Too many failed sign-ins: this account or this address is locked for %(minutes)s minutes. "
        "Try again later, or ask an administrator to unlock it."
    ) % {"minutes": minutes}


def login_locked(request) -> bool:
    """Whether the sign-in that just failed on this request was refused, or reached the limit, by the lockout."""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: our login pages already show the lockout message (they render it when
    `login_locked`); answer that page as 429. Anything else gets the message as plain text."""
    if original_response is not None and original_response.status_code == 200:
        original_response.status_code = settings.AXES_HTTP_RESPONSE_CODE
        return original_response
    return HttpResponse(
        lockout_message(), status=settings.AXES_HTTP_RESPONSE_CODE, content_type="text/plain; charset=utf-8"
    )


# django-axes ships no Chinese: the labels of its model that the lockout list shows, translated in our catalogue.
AXES_LABELS = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Attempt Time"),
    gettext_noop("IP Address"),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("Path"),
    gettext_noop("Failed Logins"),
)
