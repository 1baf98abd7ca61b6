"""Data for the simpleui templates we harden (templates/admin/base.html, actions.html): plain Python
values for `json_script`, instead of simpleui's tags that write JSON into a <script> unescaped."""

import html

from django import template
from django.utils.html import strip_tags
from django.utils.safestring import SafeData
from simpleui.templatetags import simpletags

register = template.Library()


def message_text(message) -> str:
    """A message as plain text. A message marked safe is HTML the server built on purpose (Django's
    "The customer “<a href=…>name</a>” was added successfully."): its tags are dropped and its
    entities read back, so it reads as the sentence it is; the page shows every message as text."""
    text = str(message.message)
    if isinstance(message.message, SafeData):
        text = html.unescape(strip_tags(text))
    return text


@register.simple_tag(takes_context=True)
def plain_messages(context) -> list[dict]:
    return [{"msg": message_text(message), "tag": message.tags} for message in context.get("messages") or ()]


@register.simple_tag(takes_context=True)
def custom_buttons(context) -> dict:
    """simpleui's action buttons (labels, icons, confirmations), as data."""
    return simpletags.get_custom_button(context.request, context["cl"].model_admin)
