import re

from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from dashboard.selectors import DAYS_CHOICES, DAYS_MAX, dashboard_data


class DaysInvalid(ValueError):
    pass


def days_parse(value: str | None) -> int:
    """The `days` a request asks for: 30 when absent, else a whole number from 1 to DAYS_MAX."""
    if value is None:
        return 30
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= DAYS_MAX:  # ASCII digits only
        raise DaysInvalid(_("“days” must be a whole number from 1 to %(max)d.") % {"max": DAYS_MAX})
    return int(value)


def dashboard_data_view(request):
    """GET /admin/dashboard/data/?days=N: the figures this user may see, as JSON."""
    try:
        days = days_parse(request.GET.get("days"))
    except DaysInvalid as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(dashboard_data(user=request.user, days=days))


def dashboard_view(request):
    """The home tab: the figures as cards, charts and a table."""
    context = {**admin.site.each_context(request), "title": _("Dashboard"), "choices": DAYS_CHOICES}
    try:
        context["days"] = days_parse(request.GET.get("days"))
    except DaysInvalid as error:
        return TemplateResponse(request, "dashboard/dashboard.html", {**context, "error": str(error)}, status=400)
    data = context["data"] = dashboard_data(user=request.user, days=context["days"])
    if data.get("queue", {}).get("oldest_pending_seconds") is not None:
        context["oldest_pending"] = duration_display(data["queue"]["oldest_pending_seconds"])
    context["labels"] = {
        "orders": _("orders"),
        "amount": _("amount"),
        "recharges": _("recharges"),
        "days": _("Orders and amounts per day") if "today" in data else _("Recharges per day"),
        "hours": _("Orders per hour, the last 24 hours"),
    }
    return TemplateResponse(request, "dashboard/dashboard.html", context)


def duration_display(seconds: int) -> str:
    minutes = seconds // 60
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    if minutes < 48 * 60:
        return _("%(hours)d h %(minutes)d min") % {"hours": minutes // 60, "minutes": minutes % 60}
    return _("%(days)d days") % {"days": minutes // (24 * 60)}
