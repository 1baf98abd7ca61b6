"""The admin site (backoffice.apps.BackOfficeAdminConfig makes it django.contrib.admin's). In a module
of its own: one that registers models would make the site while the site is being made, and lose them."""

from django.contrib import admin
from django.utils.functional import SimpleLazyObject


class BackOfficeAdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        # Built when a page reads it: every page's context carries the whole list (`available_apps`, for
        # Django's navigation sidebar, which simpleui does not show), checking each model's permissions.
        return SimpleLazyObject(lambda: super(BackOfficeAdminSite, self).get_app_list(request, app_label))
