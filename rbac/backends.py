from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from core.validators import MOBILE_RE
from rbac.accounts import customer_login_account
from rbac.login_codes import login_code_user
from rbac.permission_cache import permissions_cached


class MobilePasswordBackend(ModelBackend):
    """Signs a customer in with the mobile of their customer record and their password.

    Only a customer account of an active customer (rbac.accounts); a username wins over a mobile, so a
    typed name that is some account's username is left to ModelBackend alone."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        mobile = username.strip()
        if not MOBILE_RE.fullmatch(mobile) or get_user_model()._default_manager.filter(username=mobile).exists():
            return None
        user = customer_login_account(mobile)
        if user is None:
            get_user_model()().set_password(password)  # as long as a wrong password takes (ModelBackend does the same)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class SmsCodeBackend(ModelBackend):
    """Signs a customer in with the code texted to their mobile (see rbac.login_codes)."""

    def authenticate(self, request, mobile=None, code=None, **kwargs):
        if mobile is None or code is None:
            return None
        user = login_code_user(mobile=mobile, code=code)
        return user if user is not None and self.user_can_authenticate(user) else None


class CachedPermissionsBackend(ModelBackend):
    """Signs no one in: ahead of ModelBackend, it loads a user's permissions through the cache
    (rbac.permission_cache). ModelBackend and its subclasses below read the same per-request attribute
    (`_perm_cache`), so none of them queries again."""

    def authenticate(self, request, **credentials):
        return None

    def get_all_permissions(self, user_obj, obj=None):
        if obj is None and user_obj.is_active and not user_obj.is_anonymous and not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = permissions_cached(user_obj, partial(super().get_all_permissions, user_obj))
        return super().get_all_permissions(user_obj, obj)
