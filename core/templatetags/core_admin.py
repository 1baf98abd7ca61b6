"""Template tags of the admin base pieces (core.admin)."""

from django import template
from django.contrib.admin.utils import lookup_field
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models

from core.admin import admin_link
from core.money import is_money_field, money_display

register = template.Library()


@register.simple_tag(takes_context=True)
def readonly_contents(context, field):
    """A read-only field's value as Django's admin shows it, except that a related object (a foreign key's,
    or what a display method returns) is linked only for a viewer who may open its page (Django links every
    one, whoever looks), and money reads as money."""
    instance, name, model_admin = field.form.instance, field.field["field"], field.model_admin
    try:
        db_field = instance._meta.get_field(name) if isinstance(name, str) else None
    except FieldDoesNotExist:
        db_field = None
    if db_field is None:
        try:
            value = lookup_field(name, instance, model_admin)[2]
        except (AttributeError, ValueError, ObjectDoesNotExist):
            value = None
    else:
        value = getattr(instance, name) if db_field.concrete else None
    if value is not None and is_money_field(db_field):
        return money_display(value)
    if isinstance(value, models.Model):
        # A row of the page's own table (an order's retry) opens through the page's admin: a customer's
        # own order links to her "My orders" page, not to staff's.
        same_table = value._meta.concrete_model is instance._meta.concrete_model
        return admin_link(context.request, value, site=model_admin.admin_site, model=type(instance) if same_table else None)
    return field.contents()
