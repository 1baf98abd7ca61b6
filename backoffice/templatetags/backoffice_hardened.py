"""Data for the simpleui templates we harden (templates/admin/base.html, templates/jinja2/admin/actions.html):
plain Python values for `json_script`, instead of simpleui's tags that write JSON into a <script> unescaped."""

import functools
import html
from inspect import isfunction

from django import template
from django.contrib.auth.models import Permission
from django.db.models import ForeignKey
from django.utils.html import strip_tags
from django.utils.safestring import SafeData
from django.utils.translation import get_language
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


@functools.cache
def action_permission_exists(app_label: str, model_name: str, codename: str) -> bool:
    """Whether a permission is named after an action (simpleui then shows its button only to who has it).
    Permissions come from migrations, so each is looked up once per process, not on every list page."""
    return Permission.objects.filter(
        codename=codename, content_type__app_label=app_label, content_type__model=model_name
    ).exists()


def custom_buttons(request, cl) -> dict:
    """simpleui's action buttons (labels, icons, confirmations), as data: simpletags.get_custom_button,
    with its query per action and page (does a permission of the action's name exist?) asked once per process."""
    admin = cl.model_admin
    opts = admin.opts
    data = {}
    for eid, (name, (function, _name, label)) in enumerate((admin.get_actions(request) or {}).items()):
        values = {}
        for key, value in function.__dict__.items():
            if key not in ("__len__", "__wrapped__"):
                if key == "layer" and isfunction(value):
                    values["layer"] = {"is_fun": True, "url": simpletags.get_layer_url(admin)}
                else:
                    values[key] = value
        values["eid"] = eid
        if name == "export_admin_action":
            values["label"] = "选中导出"
            values["isExport"] = True
            values["icon"] = "el-icon-finished"
            values["formats"] = [
                {"value": index, "label": format_class().get_title()}
                for index, format_class in enumerate(admin.get_export_formats())
            ]
        else:
            values["label"] = label
        if (
            request.user.is_superuser
            or not action_permission_exists(opts.app_label, opts.model_name, name)
            or request.user.has_perm(f"{opts.app_label}.{name}")
        ):
            data[name] = values
    data.pop("delete_selected", None)
    return data


@functools.lru_cache(maxsize=256)
def _search_placeholder(model, search_fields: tuple, language: str | None) -> str:
    fields = simpletags.get_model_fields(model)
    for field in model._meta.fields:
        if isinstance(field, ForeignKey):
            fields.extend(simpletags.get_model_fields(field.related_model, field.name))
    verboses = []
    for name in search_fields:
        for path, verbose in fields:
            if path == name:
                verboses.append(verbose)
                break
    return ",".join(verboses)


def search_placeholder(cl) -> str:
    """simpleui's search_placeholder (the searched fields' names), made once per model, fields and language:
    simpleui's lists every field of the model and of each related model, translated, on every list page."""
    return _search_placeholder(cl.model, tuple(cl.search_fields), get_language())
