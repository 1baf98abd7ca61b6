from django import template
from django.utils.safestring import mark_safe
from simpleui.templatetags import simpletags

from rbac.menus import menu_for

register = template.Library()


@register.simple_tag(takes_context=True)
def role_menus(context):
    """simpleui's `menus` tag fed with this user's menu instead of the static SIMPLEUI_CONFIG."""
    config = {"system_keep": False, "menus": menu_for(context.request)}

    def get_config(name):
        return config if name == "SIMPLEUI_CONFIG" else simpletags.get_config(name)

    return mark_safe(simpletags.menus(context, _get_config=get_config))
