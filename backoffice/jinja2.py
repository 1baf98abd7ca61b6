"""The Jinja2 environment of the admin's busiest templates (templates/jinja2): the big change lists' whole page, and
every change list's search form and action bar, where the template language spent more on its loops and blocks than
the page's rows cost. The Django template tags they used are the functions here."""

import datetime

from django.conf import settings
from django.contrib.admin.templatetags.admin_list import pagination as pagination_context
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters, admin_urlname
from django.contrib.messages import get_messages
from django.template import engines
from django.template.defaultfilters import date, escapejs, json_script
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, get_language_bidi, gettext
from jinja2 import Environment
from markupsafe import Markup
from simpleui import get_version as simpleui_version
from simpleui.templatetags import simpletags

from backoffice.templatetags import backoffice_admin, backoffice_hardened


def now(format_string: str) -> str:
    """{% now format_string %}"""
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    return date(datetime.datetime.now(tz=zone), format_string)


def load_dates(cl) -> Markup:
    """simpleui's {% load_dates %}: a <script> naming the list's date filters, written from code alone."""
    return Markup(simpletags.load_dates({"cl": cl}))


def add_url(opts, preserved_filters, is_popup, to_field) -> str:
    """{% url opts|admin_urlname:'add' as url %}{% add_preserved_filters url is_popup to_field %}"""
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    return add_preserved_filters({"opts": opts, "preserved_filters": preserved_filters}, url, is_popup, to_field)


def plain_messages(request) -> list[dict]:
    """backoffice_hardened's {% plain_messages %}: the request's messages as plain text."""
    return backoffice_hardened.plain_messages({"messages": get_messages(request)})


def _template(name: str, context: dict | None) -> str:
    """A template the other change lists share (admin/date_hierarchy.html, admin/pagination.html), rendered as
    its inclusion tag renders it."""
    if context is None:
        return ""
    return engines["django"].get_template(name).render(context)  # safe: autoescaped by the template language


def date_hierarchy(cl) -> str:
    """{% cheap_date_hierarchy cl %}"""
    return _template("admin/date_hierarchy.html", backoffice_admin.cheap_date_hierarchy(cl))


def pagination(cl) -> str:
    """{% pagination cl %}"""
    return _template("admin/pagination.html", pagination_context(cl))


def environment(**options) -> Environment:
    env = Environment(**options)
    env.globals.update(
        _=gettext, static=static, now=now,
        load_dates=load_dates, get_date_type=simpletags.get_date_type, has_filter=simpletags.has_filter,
        search_placeholder=backoffice_hardened.search_placeholder,
        result_count=backoffice_admin.result_count, count_capped=backoffice_admin.count_capped,
        count_limit=backoffice_admin.count_limit, add_url=add_url, custom_buttons=backoffice_hardened.custom_buttons,
        model_ajax_url=lambda opts: simpletags.get_model_ajax_url({"opts": opts}),
        url=reverse, get_language=get_language, get_language_bidi=get_language_bidi, get_config=simpletags.get_config,
        simpleui_version=simpleui_version(), simpleui_language=simpletags.get_language, plain_messages=plain_messages,
        date_hierarchy=date_hierarchy, pagination=pagination,
        big_result_list=backoffice_admin.big_result_list,
    )
    env.filters.update(escapejs=escapejs, json_script=json_script, admin_urlname=admin_urlname)
    return env
