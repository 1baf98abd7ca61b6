"""A foreign-key field for large tables: a native <input list> whose <datalist> options come from
Django's permission-checked admin autocomplete endpoint as the user types."""

from collections.abc import Callable

from django import forms
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class DatalistInput(forms.TextInput):
    template_name = "core/datalist_input.html"

    def __init__(self, *, app_label: str, model_name: str, field_name: str, attrs=None):
        # The model and field that refer to the big table: the autocomplete view checks them.
        self.source = {"app_label": app_label, "model_name": model_name, "field_name": field_name}
        super().__init__(attrs={"autocomplete": "off", "class": "vTextField datalist-input", **(attrs or {})})

    class Media:
        js = ("core/datalist.js",)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["list_id"] = f"{widget['attrs'].get('id') or name}_datalist"
        widget["attrs"].update(
            {
                "list": widget["list_id"],
                "data-autocomplete-url": reverse("admin:autocomplete"),
                "data-app-label": self.source["app_label"],
                "data-model-name": self.source["model_name"],
                "data-field-name": self.source["field_name"],
            }
        )
        return context


class DatalistModelChoiceField(forms.ModelChoiceField):
    """Accepts what `match(queryset, text)` narrows to exactly one object; shows objects by their label."""

    default_error_messages = {
        "unknown": _("No match for “%(value)s”. Pick one of the suggestions."),
        "ambiguous": _("“%(value)s” matches more than one; pick one of the suggestions."),
    }

    def __init__(self, queryset, *, match: Callable[[models.QuerySet, str], models.QuerySet], widget, **kwargs):
        self.match = match
        super().__init__(queryset, widget=widget, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, models.Model):
            return str(value)
        if isinstance(value, int):  # the initial primary key on a change form: show the label instead
            obj = self.queryset.filter(pk=value).first()
            return str(obj) if obj is not None else ""
        return value

    def to_python(self, value):
        text = (value or "").strip() if isinstance(value, str) else value
        if text in self.empty_values:
            return None
        if isinstance(text, models.Model):
            return text
        found = list(self.match(self.queryset, str(text))[:2])
        if not found:
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown", params={"value": text})
        if len(found) > 1:
            raise forms.ValidationError(self.error_messages["ambiguous"], code="ambiguous", params={"value": text})
        return found[0]

    def has_changed(self, initial, data):
        return str(self.prepare_value(initial) or "") != str(data or "")
