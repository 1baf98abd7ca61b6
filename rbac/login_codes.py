"""SMS code login for customers: a 6-digit code sent to the mobile of their customer record.

Codes live in the cache (Redis in production), hashed, for LOGIN_CODE_TTL_SECONDS; each is good for
one login and LOGIN_CODE_ATTEMPTS tries. A mobile gets one code a minute, an address
LOGIN_CODES_PER_ADDRESS an hour, so the page can neither guess codes nor flood phones. Whether a mobile
has an account is never revealed: an unknown mobile gets the same answer and no message (except while
the SMS provider fails: a known mobile is then told its code could not be sent).

Only a customer account signs in this way (rbac.accounts). Failures count towards the lockout
(django-axes, rbac.lockout) like wrong passwords do.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from core.validators import MOBILE_RE
from rbac.accounts import customer_login_account
from rbac.errors import CodeNotSent, LoginRefused
from rbac.sms import SmsNotSent, sms_send

RESEND_SECONDS = 60


def _digest(mobile: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def _account(mobile: str):
    """The active customer account of the active customer with this mobile, or None: a staff account tied
    to a customer (however it got there) never signs in by a code."""
    return customer_login_account(mobile)


def mobile_parse(value: str) -> str:
    mobile = (value or "").strip()
    if not MOBILE_RE.fullmatch(mobile):
        raise LoginRefused(_("Enter a mainland mobile number: 11 digits starting with 13–19."))
    return mobile


def _cache_answer(value):
    # With IGNORE_EXCEPTIONS, django-redis answers None while Redis is down: no codes then.
    if value is None:
        raise LoginRefused(_("Login by SMS code is unavailable at the moment; please log in with your password."))
    return value


def login_code_send(*, mobile: str, address: str) -> None:
    """Text a login code to the mobile if it belongs to a customer account (silently nothing if not)."""
    mobile = mobile_parse(mobile)
    if not _cache_answer(cache.add(f"login-code:sent:{mobile}", 1, RESEND_SECONDS)):
        raise LoginRefused(_("A code was sent to this mobile less than a minute ago; please wait."))
    per_address = f"login-code:address:{address}"
    cache.add(per_address, 0, 3600)
    if _cache_answer(cache.incr(per_address)) > settings.LOGIN_CODES_PER_ADDRESS:
        raise LoginRefused(_("Too many codes were asked for from here; please try again later."))
    if _account(mobile) is None:
        return
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set_many(
        {f"login-code:{mobile}": _digest(mobile, code), f"login-code:tries:{mobile}": 0},
        settings.LOGIN_CODE_TTL_SECONDS,
    )
    text = _("Your login code is %(code)s, valid for %(minutes)s minutes.") % {
        "code": code,
        "minutes": settings.LOGIN_CODE_TTL_SECONDS // 60,
    }
    try:
        sms_send(mobile=mobile, text=text, params={"code": code})
    except SmsNotSent:
        # The code never arrived: forget it, and the mobile may ask again at once.
        cache.delete_many([f"login-code:{mobile}", f"login-code:tries:{mobile}", f"login-code:sent:{mobile}"])
        raise CodeNotSent(_("The code could not be sent; please try again.")) from None


def login_code_user(*, mobile: str, code: str):
    """The account the code logs in, using the code up; None for a wrong, used or expired code."""
    try:
        mobile = mobile_parse(mobile)
    except LoginRefused:
        return None
    expected = cache.get(f"login-code:{mobile}")
    if expected is None:
        return None
    try:
        tries = cache.incr(f"login-code:tries:{mobile}")
    except ValueError:  # the code expired between the two reads
        return None
    if tries is None or tries > settings.LOGIN_CODE_ATTEMPTS:
        cache.delete(f"login-code:{mobile}")
        return None
    if not hmac.compare_digest(expected, _digest(mobile, (code or "").strip())):
        return None
    # Only the first of two simultaneous logins with the same code may use it.
    if not cache.delete(f"login-code:{mobile}"):
        return None
    return _account(mobile)
