"""Template tags of the admin base pieces (core.admin)."""

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from core.admin import admin_link

register = template.Library()


@register.simple_tag(takes_context=True)
def readonly_contents(context, field):
    """A read-only field's value as Django's admin shows it, except that a related object is linked only
    for a viewer who may open its page (Django links every one, whoever looks)."""
    instance, name = field.form.instance, field.field["field"]
    try:
        db_field = instance._meta.get_field(name) if isinstance(name, str) else None
    except FieldDoesNotExist:
        db_field = None
    related = getattr(instance, name) if isinstance(db_field, models.ForeignKey) else None
    if related is None:
        return field.contents()
    return admin_link(context.request, related, site=field.model_admin.admin_site)
