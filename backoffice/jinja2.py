"""The Jinja2 environment of the admin's busiest templates (templates/jinja2): the change lists' search form,
action bar and pagination are rendered on every list page, and the template language spent more on their loops
than the rest of the page's templates together. Django's template tags they used are the functions here."""

import datetime

from django.conf import settings
from django.template.defaultfilters import date, escapejs, json_script
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext, ngettext
from jinja2 import Environment
from markupsafe import Markup
from simpleui.templatetags import simpletags

from backoffice.templatetags import backoffice_admin, backoffice_hardened


def now(format_string: str) -> str:
    """{% now format_string %}"""
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    return date(datetime.datetime.now(tz=zone), format_string)


def load_dates(cl) -> Markup:
    """simpleui's {% load_dates %}: a <script> naming the list's date filters, written from code alone."""
    return Markup(simpletags.load_dates({"cl": cl}))


def environment(**options) -> Environment:
    env = Environment(**options)
    env.globals.update(
        _=gettext, ngettext=ngettext, static=static, url=reverse, now=now, get_language=get_language,
        load_dates=load_dates, get_date_type=simpletags.get_date_type, has_filter=simpletags.has_filter,
        search_placeholder=lambda cl: backoffice_hardened.search_placeholder({"cl": cl}),
        result_count=backoffice_admin.result_count,
    )
    env.filters.update(escapejs=escapejs, json_script=json_script, capfirst=capfirst)
    return env
