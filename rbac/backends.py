from django.contrib.auth.backends import ModelBackend

from rbac.login_codes import login_code_user


class SmsCodeBackend(ModelBackend):
    """Signs a customer in with the code texted to their mobile (see rbac.login_codes)."""

    def authenticate(self, request, mobile=None, code=None, **kwargs):
        if mobile is None or code is None:
            return None
        user = login_code_user(mobile=mobile, code=code)
        return user if user is not None and self.user_can_authenticate(user) else None
