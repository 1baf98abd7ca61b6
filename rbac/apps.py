from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RbacConfig(AppConfig):
    name = "rbac"
    verbose_name = _("Roles and permissions")

    def ready(self):
        # The login log's, signed-in sessions' and permission cache's receivers
        from rbac import permission_cache, sessions, signals  # noqa: F401
