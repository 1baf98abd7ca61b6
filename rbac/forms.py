from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import UserChangeForm
from django.utils.translation import gettext_lazy as _

from rbac.lockout import lockout_message, login_locked
from rbac.roles import CUSTOMERS


class LoginForm(AdminAuthenticationForm):
    """The admin's password login: a username or a customer's mobile (rbac.backends.MobilePasswordBackend),
    and the lockout's message when django-axes refused or locked the sign-in."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("The username or mobile, or the password, is not right. The password is case-sensitive."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Username or mobile")

    def get_invalid_login_error(self):
        if login_locked(self.request):
            return forms.ValidationError(lockout_message(), code="locked")
        return super().get_invalid_login_error()


class AccountChangeForm(UserChangeForm):
    """An administrator's account form: the login of a customer stays a customer account (rbac.accounts),
    so it cannot be made a superuser or given another role or permissions while tied."""

    def clean(self):
        data = super().clean()
        customer = getattr(self.instance, "customer", None) if self.instance.pk else None
        if customer is None:
            return data
        groups = {group.name for group in data.get("groups") or ()}
        if data.get("is_superuser") or groups != {CUSTOMERS} or data.get("user_permissions"):
            raise forms.ValidationError(
                _("This account is the login of customer %(customer)s, so it can only be in the Customers role, "
                  "with no permissions of its own; untie it from the customer first.") % {"customer": customer}
            )
        return data
