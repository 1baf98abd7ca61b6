import uuid

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.widgets import DatalistInput, DatalistModelChoiceField
from customers.errors import BalanceLimitExceeded, DomainError, InvalidAmount
from customers.models import Customer, Debit, LedgerEntry, Recharge
from customers.money import money_amount_parse
from customers.selectors import customer_match
from customers.services import balance_debit, balance_recharge, customer_login_check
from rbac.accounts import customer_accounts


def idempotency_token_field() -> forms.CharField:
    """A hidden token made when the form is first shown; a double-clicked Save sends it twice."""
    return forms.CharField(widget=forms.HiddenInput, max_length=64, initial=lambda: uuid.uuid4().hex)


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
        label=_("customer"),
        help_text=_("Type a name or mobile and pick a suggestion, or enter the mobile number."),
    )


class ServiceSaveForm(forms.ModelForm):
    """A form whose save is one service call, made while the form is validated, inside the admin's
    transaction: a refusal is a form error on the same page and writes nothing, and the hidden token
    makes a double-clicked Save act once. Subclasses make the call and say where each refusal shows."""

    actor = None  # the signed-in user, set by the admin
    address = None  # their client address, for the operation log
    idempotency_token = idempotency_token_field()

    def service_call(self, data: dict):
        """Call the service with the cleaned data and the token; return what it created."""
        raise NotImplementedError

    def error_field(self, error: DomainError) -> str | None:
        return getattr(error, "field", None)  # a field the error names (InvalidText), else above the form

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            created = self.service_call(self.cleaned_data)
        except DomainError as error:
            field = self.error_field(error)
            self.add_error(field if field in self.fields else None, error.message)
        else:
            self.instance = self._meta.model.objects.get(pk=created.pk)


class BalanceMoveForm(ServiceSaveForm):
    """Recharge or debit."""

    service = None  # balance_recharge or balance_debit
    amount = forms.CharField(label=_("amount"), max_length=40)

    class Meta:
        model = LedgerEntry
        fields = ["customer", "memo"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        opts = self._meta.model._meta
        self.fields["customer"] = customer_field(app_label=opts.app_label, model_name=opts.model_name)

    def clean_amount(self):
        try:
            return money_amount_parse(self.cleaned_data["amount"])
        except InvalidAmount as error:
            raise forms.ValidationError(error.message) from None

    def service_call(self, data):
        return type(self).service(
            customer_id=data["customer"].pk,
            amount=data["amount"],
            actor=self.actor,
            address=self.address,
            memo=data.get("memo", ""),
            token=data["idempotency_token"],
        )

    def error_field(self, error):
        return "amount" if isinstance(error, (InvalidAmount, BalanceLimitExceeded)) else super().error_field(error)


class RechargeForm(BalanceMoveForm):
    service = staticmethod(balance_recharge)

    class Meta(BalanceMoveForm.Meta):
        model = Recharge


class DebitForm(BalanceMoveForm):
    service = staticmethod(balance_debit)

    class Meta(BalanceMoveForm.Meta):
        model = Debit


class CustomerForm(forms.ModelForm):
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

    def login_wanted(self) -> bool:
        """Whether saving must call a login-account service."""
        return bool(self.cleaned_data.get("login_create")) or "login_account" in self.changed_data
