"""Form pieces for admin forms saved through services (see core.admin.ServiceSaveAdmin)."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

from core.errors import DomainError


def idempotency_token_field() -> forms.CharField:
    """A hidden token made when the form is first shown; a double-clicked Save sends it twice."""
    return forms.CharField(widget=forms.HiddenInput, max_length=64, initial=lambda: uuid.uuid4().hex)


class RefusalShownForm:
    """A form that can show a service's refusal (a DomainError) on the field it concerns."""

    def error_field(self, error: DomainError) -> str | None:
        return getattr(error, "field", None)  # a field the error names (InvalidText), else above the form

    def refusal_add(self, error: DomainError) -> None:
        field = self.error_field(error)
        self.add_error(field if field in self.fields else None, error.message)


class ServiceSaveForm(RefusalShownForm, forms.ModelForm):
    """An add form that only validates: the admin saves it with one service call, passing the acting
    user (core.admin.ServiceSaveAdmin). The hidden token makes a double-clicked Save act once."""

    idempotency_token = idempotency_token_field()

    def _post_clean(self):
        """The form's fields give the user their errors; the model's full_clean is skipped: it would run
        them again, then each constraint (a query per unique one) that the service checks under its locks."""
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as error:
            self._update_errors(error)
