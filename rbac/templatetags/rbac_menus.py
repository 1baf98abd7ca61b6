from django import template
from django.utils.safestring import mark_safe
from simpleui.templatetags import simpletags

from rbac.menus import menu_for

register = template.Library()
# What json_script escapes: inside a script, no text can then close it or open a comment.
SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def role_menus(context):
    """simpleui's `menus` tag fed with this user's menu instead of the static SIMPLEUI_CONFIG."""
    config = {"system_keep": False, "menus": menu_for(context.request)}

    def get_config(name):
        return config if name == "SIMPLEUI_CONFIG" else simpletags.get_config(name)

    # A plain dict for a context: given the request's, simpleui also stores the menu in the session
    # (nothing reads it back), which saves the session on every page that shows the menu.
    html = simpletags.menus({"app_list": []}, _get_config=get_config)
    # simpleui writes its JSON straight into the script: escape it there, as json_script would.
    start, end = html.index("var menus=") + len("var menus="), html.rindex("</script>")
    return mark_safe(html[:start] + html[start:end].translate(SCRIPT_ESCAPES) + html[end:])
