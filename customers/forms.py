import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.widgets import DatalistInput, DatalistModelChoiceField
from customers.errors import DomainError, InvalidAmount
from customers.models import Customer, Debit, LedgerEntry, Recharge
from customers.money import money_amount_parse
from customers.selectors import customer_match
from customers.services import balance_debit, balance_recharge


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


class BalanceMoveForm(forms.ModelForm):
    """Recharge or debit: the service runs while the form is validated, inside the admin's transaction,
    so a refused move is a form error on the same page and writes nothing."""

    service = None  # balance_recharge or balance_debit
    actor = None  # the signed-in user, set by the admin
    amount = forms.CharField(label=_("amount"), max_length=40)
    idempotency_token = idempotency_token_field()

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

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        try:
            entry = type(self).service(
                customer_id=data["customer"].pk,
                amount=data["amount"],
                actor=self.actor,
                memo=data.get("memo", ""),
                token=data["idempotency_token"],
            )
        except InvalidAmount as error:
            self.add_error("amount", error.message)
        except DomainError as error:
            self.add_error(None, error.message)
        else:
            self.instance = self._meta.model.objects.get(pk=entry.pk)


class RechargeForm(BalanceMoveForm):
    service = staticmethod(balance_recharge)

    class Meta(BalanceMoveForm.Meta):
        model = Recharge


class DebitForm(BalanceMoveForm):
    service = staticmethod(balance_debit)

    class Meta(BalanceMoveForm.Meta):
        model = Debit
