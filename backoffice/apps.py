from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Order platform")

    def ready(self):
        from django.contrib import admin

        admin.site.site_header = admin.site.site_title = _("Order platform")
