"""Admin template tags that stay cheap on tables with millions of rows."""

import calendar
import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy as django_date_hierarchy
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


def _local(value):
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _bounds(cl):
    """The first and last date of the list: two index-ordered LIMIT 1 reads instead of DISTINCT over all rows."""
    field = cl.date_hierarchy
    rows = cl.queryset.order_by().values_list(field, flat=True)
    first = rows.order_by(field).first()
    last = rows.order_by(f"-{field}").first()
    return _local(first), _local(last)


def cheap_date_hierarchy(cl):
    """Django's date drill-down, with the years, months and days listed from the list's first and last
    date instead of a DISTINCT over every row (which is slow at millions of rows and, on MySQL, needs
    the server's time-zone tables)."""
    if not cl.date_hierarchy:
        return None
    field_name = cl.date_hierarchy
    year_field, month_field, day_field = (f"{field_name}__{part}" for part in ("year", "month", "day"))
    year, month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))
    if year and month and day:
        return django_date_hierarchy(cl)  # no query at this level

    def link(filters):
        return cl.get_query_string(filters, [f"{field_name}__"])

    first, last = _bounds(cl)
    if not (year or month) and first and last and first.year == last.year:
        year = first.year
        if first.month == last.month:
            month = first.month
    if first is None:
        choices = []
    elif year and month:
        year, month = int(year), int(month)
        days = range(first.day, last.day + 1) if (first.year, first.month) == (last.year, last.month) else range(
            1, calendar.monthrange(year, month)[1] + 1
        )
        choices = [
            {
                "link": link({year_field: year, month_field: month, day_field: d}),
                "title": capfirst(formats.date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")),
            }
            for d in days
        ]
        return {"show": True, "back": {"link": link({year_field: year}), "title": str(year)}, "choices": choices}
    elif year:
        year = int(year)
        months = range(first.month, last.month + 1) if first.year == last.year else range(1, 13)
        choices = [
            {
                "link": link({year_field: year, month_field: m}),
                "title": capfirst(formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")),
            }
            for m in months
        ]
        return {"show": True, "back": {"link": link({}), "title": _("All dates")}, "choices": choices}
    else:
        choices = [{"link": link({year_field: str(y)}), "title": str(y)} for y in range(first.year, last.year + 1)]
    return {"show": True, "back": None, "choices": choices}


@register.tag(name="cheap_date_hierarchy")
def cheap_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=cheap_date_hierarchy, template_name="date_hierarchy.html", takes_context=False
    )


@register.filter
def count_capped(cl) -> bool:
    """Whether a bounded paginator (core.admin.BoundedCountPaginator) stopped counting this list."""
    limit = getattr(cl.paginator, "COUNT_LIMIT", None)
    return limit is not None and cl.result_count > limit


@register.simple_tag
def result_count(cl) -> str:
    """The list's count as people read it: "more than 10,000" once its paginator stopped counting,
    never the limit + 1 as if that were the total."""
    if count_capped(cl):
        limit = formats.number_format(cl.paginator.COUNT_LIMIT, force_grouping=True)
        return _("more than %(count)s results") % {"count": limit}
    count = formats.number_format(cl.result_count, force_grouping=True)
    return ngettext("%(count)s result", "%(count)s results", cl.result_count) % {"count": count}

