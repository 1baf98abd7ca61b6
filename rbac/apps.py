from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RbacConfig(AppConfig):
    name = "rbac"
    verbose_name = _("Roles and permissions")

    def ready(self):
        from rbac import sessions, signals  # noqa: F401 - the login log's and signed-in sessions' receivers
