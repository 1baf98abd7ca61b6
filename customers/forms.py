from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from core.forms import RefusalShownForm, ServiceSaveForm
from core.widgets import DatalistInput, DatalistModelChoiceField
from customers.errors import BalanceLimitExceeded, DomainError, InvalidAmount
from customers.models import Customer, Debit, LedgerEntry, Recharge
from customers.money import money_amount_parse
from customers.selectors import customer_match
from customers.services import customer_login_check
from rbac.accounts import customer_accounts


def customer_field(*, app_label: str, model_name: str) -> DatalistModelChoiceField:
    return DatalistModelChoiceField(
        Customer.objects.select_related("tier"),
        match=customer_match,
        widget=DatalistInput(
            app_label=app_label,
            model_name=model_name,
            field_name="customer",
            attrs={"placeholder": _("name, mobile or label")},
        ),
        label=capfirst(_("customer")),
        help_text=_("Type a name or mobile and pick a suggestion, or enter the mobile number."),
    )


class BalanceMoveForm(ServiceSaveForm):
    """Recharge or debit (the admin calls balance_recharge or balance_debit)."""

    amount = forms.CharField(label=_("amount"), max_length=40)

    class Meta:
        model = LedgerEntry
        fields = ["customer", "memo"]

    class Media:
        js = ("customers/balance_preview.js",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        opts = self._meta.model._meta
        self.fields["customer"] = customer_field(app_label=opts.app_label, model_name=opts.model_name)

    def clean_amount(self):
        try:
            return money_amount_parse(self.cleaned_data["amount"])
        except InvalidAmount as error:
            raise forms.ValidationError(error.message) from None

    def error_field(self, error):
        return "amount" if isinstance(error, (InvalidAmount, BalanceLimitExceeded)) else super().error_field(error)


class RechargeForm(BalanceMoveForm):
    class Meta(BalanceMoveForm.Meta):
        model = Recharge


class DebitForm(BalanceMoveForm):
    class Meta(BalanceMoveForm.Meta):
        model = Debit


class CustomerForm(RefusalShownForm, forms.ModelForm):
    """The customer form's login account: pick a customer account that no other customer has, or create
    one. The admin's save calls customers.services (customer_login_set / customer_login_create); the
    customer's `user` itself is not a field here, so a forged POST cannot set it."""

    login_account = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("login account"),
        help_text=_("Only customer accounts that no other customer has are listed."),
    )
    login_create = forms.BooleanField(
        required=False,
        label=_("create a login account"),
        help_text=_("A new customer account with this username and password, tied to this customer."),
    )
    login_username = forms.CharField(required=False, max_length=150, label=_("new account's username"))
    login_password = forms.CharField(
        required=False,
        strip=False,
        label=_("new account's password"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Customer
        exclude = ["user"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pk = self.instance.pk
        accounts = customer_accounts().filter(Q(customer__isnull=True) | Q(customer__pk=pk) if pk else Q(customer__isnull=True))
        self.fields["login_account"].queryset = accounts.order_by("username")
        self.fields["login_account"].initial = self.instance.user_id

    def clean(self):
        data = super().clean()
        if data.get("login_create"):
            if data.get("login_account") is not None and data["login_account"].pk != self.instance.user_id:
                raise forms.ValidationError(_("Pick an existing login account or create a new one, not both."))
            if not data.get("login_username"):
                self.add_error("login_username", _("Enter the new account's username."))
            if not data.get("login_password"):
                self.add_error("login_password", _("Enter the new account's password."))
            self._login_create_check(data)
        elif data.get("login_account") is not None and "login_account" in self.changed_data:
            try:
                customer_login_check(user=data["login_account"], customer_id=self.instance.pk)
            except DomainError as error:
                self.add_error("login_account", error.message)
        return data

    def _login_create_check(self, data) -> None:
        """The username and password rules, shown beside their fields (the service checks them again)."""
        username, password = data.get("login_username"), data.get("login_password")
        if username:
            user = get_user_model()(username=username, is_staff=True)
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as error:
                self.add_error("login_username", error.message_dict.get("username", error.messages))
        if password:
            try:
                password_validation.validate_password(password, get_user_model()(username=username or ""))
            except ValidationError as error:
                self.add_error("login_password", error.messages)

    def error_field(self, error):
        """A refused new account (its username or password) shows above the form, a refused pick on it."""
        return None if self.cleaned_data.get("login_create") else "login_account"

    def login_wanted(self) -> bool:
        """Whether saving must call a login-account service."""
        return bool(self.cleaned_data.get("login_create")) or "login_account" in self.changed_data
