"""The left menu: grouped by task, showing each user only the screens their permissions open.

Built from the admin site's own permission checks (has_module_permission, has_view_or_change /
has_add_permission), so the menu and the pages agree; the pages still check on every request.
"""

import hashlib

from django.apps import apps
from django.contrib import admin
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

MENU_CACHE_SECONDS = 600

# (title, icon, entries as ("app_label.ModelName", icon) or ("app_label.ModelName", icon, "import") for the
# model's import page); icons are Font Awesome's, as simpleui ships them.
MENU = (
    (_("My account"), "fas fa-user", (("orders.MyOrder", "fas fa-receipt"), ("customers.MyLedgerEntry", "fas fa-wallet"))),
    (
        _("Orders"),
        "fas fa-shopping-cart",
        (
            ("orders.Order", "fas fa-file-invoice"),
            ("orders.Order", "fas fa-cart-plus", "import"),
            ("orders.Product", "fas fa-box"),
        ),
    ),
    (
        _("Customers"),
        "fas fa-users",
        (
            ("customers.Customer", "fas fa-user-friends"),
            ("customers.Customer", "fas fa-user-plus", "import"),
            ("customers.Tier", "fas fa-layer-group"),
        ),
    ),
    (
        _("Finance"),
        "fas fa-yen-sign",
        (
            ("customers.Recharge", "fas fa-plus-circle"),
            ("customers.Recharge", "fas fa-file-import", "import"),
            ("customers.Debit", "fas fa-minus-circle"),
            ("customers.LedgerEntry", "fas fa-book"),
        ),
    ),
    (_("Operations"), "fas fa-server", (("agent.Agent", "fas fa-robot"),)),
    (_("Exports"), "fas fa-file-export", (("core.ExportJob", "fas fa-file-download"),)),
    (
        _("Roles and accounts"),
        "fas fa-user-shield",
        (
            ("auth.User", "fas fa-user"),
            ("auth.Group", "fas fa-users-cog"),
            ("rbac.Team", "fas fa-sitemap"),
            ("rbac.SignedInSession", "fas fa-user-clock"),
            ("axes.AccessAttempt", "fas fa-user-lock"),
            ("rbac.LoginLog", "fas fa-sign-in-alt"),
            ("rbac.OperationLog", "fas fa-history"),
        ),
    ),
)
OTHER_ICON = "far fa-circle"


def _import_entry(request, model, model_admin, icon: str) -> dict | None:
    """The model's import page (core.imports.BatchImportMixin), for who may import."""
    if not getattr(model_admin, "has_import_permission", lambda request: False)(request):
        return None
    url = reverse("admin:%s_%s_import" % (model._meta.app_label, model._meta.model_name))
    return {"name": str(model_admin.import_title), "icon": icon, "url": url}


def _entry(request, model, model_admin, icon: str = OTHER_ICON, kind: str = "") -> dict | None:
    if not model_admin.has_module_permission(request):
        return None
    if kind == "import":
        return _import_entry(request, model, model_admin, icon)
    info = model._meta.app_label, model._meta.model_name
    try:
        if model_admin.has_view_or_change_permission(request):
            url = reverse("admin:%s_%s_changelist" % info)
        elif model_admin.has_add_permission(request):
            url = reverse("admin:%s_%s_add" % info)
        else:
            return None
    except NoReverseMatch:
        return None
    return {"name": str(model._meta.verbose_name_plural).capitalize(), "icon": icon, "url": url}


def menu_build(request, site=admin.site) -> list[dict]:
    """simpleui's SIMPLEUI_CONFIG["menus"] for this user; models outside MENU go under their app."""
    registry = dict(site._registry)
    listed = set()
    menus = []
    for title, icon, entries in MENU:
        items = []
        for label, *entry_icon_kind in entries:
            try:
                model = apps.get_model(label)
            except LookupError:
                continue
            model_admin = site._registry.get(model)
            listed.add(model)
            entry = model_admin and _entry(request, model, model_admin, *entry_icon_kind)
            if entry:
                items.append(entry)
        if items:
            menus.append({"name": str(title), "icon": icon, "models": items})
    others: dict[str, list[dict]] = {}
    for model, model_admin in registry.items():
        if model in listed:
            continue
        entry = _entry(request, model, model_admin)
        if entry:
            others.setdefault(str(model._meta.app_config.verbose_name), []).append(entry)
    menus += [{"name": name, "icon": "fas fa-folder", "models": items} for name, items in others.items()]
    return menus


def menu_cache_key(user) -> str:
    """Per user and per permission set, so a role change shows at once (and the language, for the titles)."""
    perms = ",".join(sorted(user.get_all_permissions()))
    customer = getattr(user, "customer", None)
    raw = f"{user.pk}|{user.is_superuser}|{user.is_staff}|{customer and customer.pk}|{get_language()}|{perms}"
    return f"rbac:menu:{user.pk}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


def menu_for(request) -> list[dict]:
    key = menu_cache_key(request.user)
    menus = cache.get(key)
    if menus is None:
        menus = menu_build(request)
        cache.set(key, menus, MENU_CACHE_SECONDS)
    return menus
