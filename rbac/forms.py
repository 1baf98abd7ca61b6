from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.translation import gettext_lazy as _

from rbac.lockout import lockout_message, login_locked


class LoginForm(AdminAuthenticationForm):
    """The admin's password login: a username or a customer's mobile (rbac.backends.MobilePasswordBackend),
    and the lockout's message when django-axes refused or locked the sign-in."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Username or mobile")

    def get_invalid_login_error(self):
        if login_locked(self.request):
            return forms.ValidationError(lockout_message(), code="locked")
        return super().get_invalid_login_error()
