"""The login log: one row for every sign-in and every failed one, through Django's auth signals.

What was typed as the username or mobile is kept; the password and the SMS code never are. A failure
that django-axes refused or that reached the limit is marked locked out (axes records the failure in
its own receiver of the same signal, which runs first: "axes" comes before "rbac" in INSTALLED_APPS).
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from rbac.accounts import login_account_find
from rbac.addresses import client_address
from rbac.lockout import login_locked
from rbac.models import LoginLog

SMS_BACKEND = "rbac.backends.SmsCodeBackend"


def _typed(request, credentials: dict) -> str:
    typed = credentials.get("mobile") or credentials.get("username")
    if typed is None and request is not None:
        typed = request.POST.get("mobile") or request.POST.get("username")
    return (typed or "").strip()


def _record(*, request, user, typed: str, method: str, succeeded: bool, locked_out: bool = False) -> LoginLog:
    meta = request.META if request is not None else {}
    return LoginLog.objects.create(
        user=user,
        username=typed[:150],
        method=method,
        succeeded=succeeded,
        locked_out=locked_out,
        address=client_address(request),
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
    )


@receiver(user_logged_in, dispatch_uid="rbac.login_log.signed_in")
def login_recorded(sender, request, user, **kwargs):
    method = LoginLog.Method.SMS if getattr(user, "backend", "") == SMS_BACKEND else LoginLog.Method.PASSWORD
    typed = _typed(request, {}) or user.get_username()
    _record(request=request, user=user, typed=typed, method=method, succeeded=True)


@receiver(user_login_failed, dispatch_uid="rbac.login_log.failed")
def login_failure_recorded(sender, credentials, request=None, **kwargs):
    method = LoginLog.Method.SMS if "mobile" in credentials else LoginLog.Method.PASSWORD
    typed = _typed(request, credentials)
    _record(
        request=request,
        user=login_account_find(typed),
        typed=typed,
        method=method,
        succeeded=False,
        locked_out=login_locked(request),
    )
