"""Template tags of the admin base pieces (core.admin)."""

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from core.admin import admin_link
from core.money import is_money_field, money_display

register = template.Library()


@register.simple_tag(takes_context=True)
def readonly_contents(context, field):
    """A read-only field's value as Django's admin shows it, except that a related object is linked only
    for a viewer who may open its page (Django links every one, whoever looks), and money reads as money."""
    instance, name = field.form.instance, field.field["field"]
    try:
        db_field = instance._meta.get_field(name) if isinstance(name, str) else None
    except FieldDoesNotExist:
        db_field = None
    value = getattr(instance, name) if db_field is not None and db_field.concrete else None
    if value is not None and is_money_field(db_field):
        return money_display(value)
    if value is not None and isinstance(db_field, models.ForeignKey):
        return admin_link(context.request, value, site=field.model_admin.admin_site)
    return field.contents()
