"""Admin template tags that stay cheap on tables with millions of rows."""

import calendar
import datetime
import html
from types import SimpleNamespace
from urllib.parse import quote as url_quote

from django import template
from django.contrib.admin import ModelAdmin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    _coerce_field_name,
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.admin_list import date_hierarchy as django_date_hierarchy
from django.contrib.admin.templatetags.admin_list import results as django_results
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    quote,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.template import engines
from django.utils import dateformat, formats, numberformat, timezone
from django.utils.functional import Promise
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeData, mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja2(context, template_name: str):
    """The Jinja2 template `template_name` (templates/jinja2, backoffice.jinja2) with this template's context."""
    found = engines["jinja2"].get_template(template_name)
    return mark_safe(found.render(context.flatten(), context.get("request")))  # autoescaped by Jinja2


def _local(value):
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _bounds(cl):
    """The first and last date of the list. The first page's rows give what they can: all of it when they are
    the whole list, one end when the list is sorted by the date; the rest comes from index-ordered LIMIT 1
    reads instead of a DISTINCT over all rows."""
    field = cl.date_hierarchy
    if cl.result_count == 0:
        return None, None
    shown = [getattr(row, field) for row in cl.result_list] if cl.page_num == 1 and "__" not in field else []
    if shown and len(shown) == cl.result_count:
        return _local(min(shown)), _local(max(shown))
    rows = cl.queryset.order_by().values_list(field, flat=True)
    sorted_by = cl.queryset.query.order_by[:1]
    first = shown[0] if shown and sorted_by == (field,) else rows.order_by(field).first()
    last = shown[0] if shown and sorted_by == (f"-{field}",) else rows.order_by(f"-{field}").first()
    if first is None or last is None:  # the only row left the list between the reads (a pending order claimed)
        return None, None
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


def count_limit(cl) -> str:
    """The count a bounded paginator stops at, as people read it ("10,000")."""
    return f"{cl.paginator.COUNT_LIMIT:,}"


@register.simple_tag
def result_count(cl) -> str:
    """The list's count as people read it: "more than 10,000" once its paginator stopped counting,
    never the limit + 1 as if that were the total."""
    # Grouped by thousands with commas, as the platform shows money: Chinese formats group nothing by default.
    if count_capped(cl):
        return _("more than %(count)s results") % {"count": count_limit(cl)}
    count = f"{cl.result_count:,}"
    return ngettext("%(count)s result", "%(count)s results", cl.result_count) % {"count": count}


def _escaped(value) -> str:
    """conditional_escape's text (what format_html puts in for a value), without its lazy-argument wrapper."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _field_display(field, empty):
    """display_for_field for one column of a page, with what depends only on the page (the active language's
    formats) looked up once: date-times, integers and text, the cells every big list has; any other field Django's."""
    if getattr(field, "flatchoices", None) or isinstance(field, models.BooleanField):
        return None
    empty_values = field.empty_values
    if isinstance(field, models.DateTimeField):
        # dateformat.format(value, DATETIME_FORMAT), the format split into its letters and text once
        pieces = [
            (bool(index % 2), piece if index % 2 else dateformat.re_escaped.sub(r"\1", piece))
            for index, piece in enumerate(dateformat.re_formatchars.split(formats.get_format("DATETIME_FORMAT")))
            if piece
        ]

        def display(value):
            if value in empty_values:
                return empty
            shown = dateformat.DateFormat(timezone.template_localtime(value))
            return "".join(str(getattr(shown, piece)()) if letter else piece for letter, piece in pieces)

        return display
    if isinstance(field, (models.CharField, models.TextField)) and not isinstance(field, models.URLField):
        return lambda value: empty if value in empty_values else str(value)  # display_for_value's, for text
    if isinstance(field, models.IntegerField):
        # formats.number_format(value), its separators looked up once
        language = get_language()
        separators = (
            formats.get_format("DECIMAL_SEPARATOR", language),
            formats.get_format("NUMBER_GROUPING", language),
            formats.get_format("THOUSAND_SEPARATOR", language),
        )
        decimal_separator, grouping, thousand_separator = separators

        def display(value):
            if value in empty_values:
                return empty
            return numberformat.format(value, decimal_separator, None, grouping, thousand_separator, use_l10n=True)

        return display
    return None


def _cell_renderer(cl, index: int, name):
    """How one list_display column turns an object into its cell's classes and inner HTML, decided once per
    page rather than per cell (Django's items_for_result looks the column up again in every row)."""
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    classes = "action-checkbox" if name == "action_checkbox" else f"field-{_coerce_field_name(name, index)}"
    if name == "action_checkbox" and type(model_admin).action_checkbox is ModelAdmin.action_checkbox:
        label = _("Select this object for an action - {}")
        # The input Django's CheckboxInput renders, without a form renderer's template per row; escaped as
        # format_html escapes (the label is ours, translated, and, as in Django's, not escaped itself).
        start = f'<input type="checkbox" name="{html.escape(ACTION_CHECKBOX_NAME)}" value="'
        return lambda obj: (classes, mark_safe(
            f'{start}{_escaped(obj.pk)}" class="action-select" aria-label="{label.format(_escaped(str(obj)))}">'
        ))
    try:
        field = _get_non_gfk_field(cl.lookup_opts, name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        field = None
    if field is not None and not field.auto_created:
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            classes += " nowrap"
        if isinstance(field.remote_field, models.ManyToOneRel):
            return lambda obj: (classes, _or_empty(getattr(obj, field.name), empty))
        link = name in (cl.list_display_links or ())
        display = _field_display(field, empty)
        if display is not None:
            return lambda obj: (classes, display(getattr(obj, name)))
        return lambda obj: (classes, display_for_field(getattr(obj, name), field, empty, avoid_link=link))
    if callable(name):
        attr = value_of = name  # a function column, called with the object as Django's lookup_field does
    elif "__" in name:
        return None  # a lookup across relations: Django's own rendering
    elif hasattr(model_admin, name) and name != "__str__":
        attr = getattr(model_admin, name)
        value_of = attr
    elif hasattr(cl.model, name):
        attr = getattr(cl.model, name)  # a method or a property of the model

        def value_of(obj):
            value = getattr(obj, name)
            return value() if callable(value) else value
    else:
        return None
    empty = getattr(attr, "empty_value_display", empty)
    boolean = getattr(attr.fget if isinstance(attr, property) else attr, "boolean", False)

    def render(obj):
        value = value_of(obj)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        nowrap = " nowrap" if isinstance(value, (datetime.date, datetime.time)) else ""
        return classes + nowrap, display_for_value(value, empty, boolean)

    return render


def _or_empty(value, empty):
    return empty if value is None else value


def _link_columns(cl) -> list[int]:
    """Which columns link to the object's page, as Django's items_for_result decides it."""
    links = cl.list_display_links
    if links is None:
        return []
    return [index for index, name in enumerate(cl.list_display) if name in links]


def result_rows(cl) -> list:
    """Each row of the page as one safe string of cells, the cells Django's items_for_result renders."""
    renderers = [_cell_renderer(cl, index, name) for index, name in enumerate(cl.list_display)]
    links = _link_columns(cl)
    if cl.formset or cl.is_popup or cl.to_field or None in renderers or len(links) != 1:
        return list(django_results(cl))
    link = links[0]
    # One change address for every row with the object's key put in: reversed and given the list's filters once.
    placeholder = "object-key"
    url = cl.url_for_result(SimpleNamespace(**{cl.pk_attname: placeholder}))
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    rows = []
    for obj in cl.result_list:
        cells = []
        for index, render in enumerate(renderers):
            try:
                classes, shown = render(obj)
            except ObjectDoesNotExist:
                classes = f"field-{_coerce_field_name(cl.list_display[index], index)}"
                shown = cl.model_admin.get_empty_value_display()
            if index == link:
                key = url_quote(str(quote(getattr(obj, cl.pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@")  # as reverse() does
                href = url.replace(placeholder, key, 1)
                cells.append(f'<th class="{_escaped(classes)}"><a href="{_escaped(href)}">{_escaped(shown)}</a></th>')
            else:
                cells.append(f'<td class="{_escaped(classes)}">{_escaped(shown)}</td>')
        # Safe: every value in a cell is escaped as format_html escapes it (_escaped: HTML that is marked safe,
        # such as display functions' format_html, is kept; any other text is escaped).
        rows.append(ResultList(None, [mark_safe("".join(cells))]))
    return rows


def _header_html(header: dict, sorted_fields: int) -> str:
    """One column's header as simpleui's change_list_results.html writes it, escaped as format_html escapes."""
    text = capfirst(header["text"])
    if isinstance(header["text"], SafeData):
        text = mark_safe(text)  # as the template's capfirst filter keeps safe text safe
    text = _escaped(text)
    sort_options = ""
    if header["sortable"] and header["sort_priority"] > 0:
        priority = ""
        if sorted_fields > 1:
            title = _("Sorting priority: %(priority_number)s") % {"priority_number": header["sort_priority"]}
            priority = f'<span class="sortpriority" title="{_escaped(title)}">{header["sort_priority"]}</span>'
        direction = "ascending" if header["ascending"] else "descending"
        sort_options = (
            f'<div class="sortoptions"><a class="sortremove" href="{_escaped(header["url_remove"])}"'
            f' title="{_escaped(_("Remove from sorting"))}"></a>{priority}<a href="{_escaped(header["url_toggle"])}"'
            f' class="toggle {direction}" title="{_escaped(_("Toggle sorting"))}"></a></div>'
        )
    text = f'<a href="{_escaped(header["url_primary"])}">{text}</a>' if header["sortable"] else f"<span>{text}</span>"
    return (
        f'<th scope="col" {_escaped(header["class_attrib"])}>{sort_options}<div class="text">{text}</div>'
        '<div class="clear"></div></th>'
    )


def big_result_list(cl) -> str:
    """Django's result_list (the headers and the rows of the page), as simpleui's change_list_results.html writes
    it, in Python with the rows from result_rows: the template's loops cost more than the rows themselves. Big lists
    have no editable columns (list_editable), so there are no row forms' errors to show."""
    headers = list(result_headers(cl))
    sorted_fields = sum(1 for header in headers if header["sortable"] and header["sorted"])
    hidden = "".join(str(field) for field in result_hidden_fields(cl))
    rows = "".join(
        f'<tr class="row{index % 2 + 1}">{"".join(str(cell) for cell in row)}</tr>'
        for index, row in enumerate(result_rows(cl))
    )
    # Safe: the headers' values are escaped as format_html escapes them (_escaped), the hidden fields and the
    # cells are the safe HTML that the template wrote unescaped.
    return mark_safe(
        (f'<div class="hiddenfields">{hidden}</div>' if hidden else "")
        + '<div class="results"><table id="result_list"><thead><tr>'
        + "".join(_header_html(header, sorted_fields) for header in headers)
        + f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


register.simple_tag(big_result_list)
