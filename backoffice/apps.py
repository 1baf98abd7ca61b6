from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Order platform")

    def ready(self):
        from django.contrib import admin

        admin.site.site_header = admin.site.site_title = _("Order platform")


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    default = False  # the "backoffice" entry keeps BackofficeConfig
    default_site = "core.sites.BackOfficeAdminSite"
