"""The form renderer: Django's Jinja2 copies of its widget, label and error-list templates and our
widgets' (core/jinja2), and the Django-language templates (the admin's widgets) for any it has not."""

from functools import cached_property

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FormRenderer(Jinja2):
    """A form renders a template per widget, label and error list, empty ones included: Jinja2 renders
    Django's own copies of those several times faster than the template language, to the same HTML."""

    @cached_property
    def django_templates(self):
        return DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.django_templates.get_template(template_name)
