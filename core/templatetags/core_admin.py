"""Template tags of the admin base pieces (core.admin)."""

from django import template
from django.contrib.admin.utils import lookup_field
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


def _class_names(*names: str) -> str:
    return " ".join(name for name in names if name)


@register.simple_tag(takes_context=True)
def fieldset_html(context, fieldset):
    """simpleui's admin/includes/fieldset.html in Python (a form page spent more in that template than in
    anything else): each line of fields in a form-row, a line of several in field boxes; a read-only
    value through `readonly_contents`. Help texts and the description are the admin's own, not escaped."""
    parts = [format_html('<fieldset class="module aligned {}">', fieldset.classes)]
    if fieldset.name:
        parts.append(format_html("<h2>{}</h2>", fieldset.name))
    if fieldset.description:
        parts.append(format_html('<div class="description">{}</div>', mark_safe(fieldset.description)))
    has_errors = bool(fieldset.form.errors)  # none on a form not yet sent: no empty error list to render
    for line in fieldset:
        fields = list(line)
        single = len(line.fields) == 1
        errors = line.errors() if single and has_errors else ""
        names = [f"field-{field.field['name'] if field.is_readonly else field.field.name}" for field in fields]
        row_class = _class_names(
            "form-row", "errors" if errors else "", "" if line.has_visible_field else "hidden", *names
        )
        parts.append(format_html('<div class="{}">{}', row_class, errors))
        for field, name in zip(fields, names, strict=True):
            if not single:
                hidden = not field.is_readonly and field.field.is_hidden
                field_errors = "" if field.is_readonly or not has_errors else field.errors()
                box_class = _class_names("fieldBox", name, "errors" if field_errors else "", "hidden" if hidden else "")
                parts.append(format_html('<div class="{}">{}', box_class, field_errors))
            elif field.is_checkbox:
                parts.append(mark_safe('<div class="checkbox-row">'))
            else:
                parts.append(mark_safe("<div>"))
            if field.is_checkbox:
                parts.append(format_html("{}{}", field.field, field.label_tag()))
            elif field.is_readonly:
                contents = readonly_contents(context, field)
                parts.append(format_html('{}<div class="readonly">{}</div>', field.label_tag(), contents))
            else:
                parts.append(format_html("{}{}", field.label_tag(), field.field))
            help_text = field.field["help_text"] if field.is_readonly else field.field.help_text
            if help_text:
                parts.append(format_html('<div class="help">{}</div>', mark_safe(help_text)))
            parts.append(mark_safe("</div>"))
        parts.append(mark_safe("</div>"))
    parts.append(mark_safe("</fieldset>"))
    return mark_safe("".join(parts))
