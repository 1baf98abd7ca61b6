from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from dashboard.views import dashboard_data_view, dashboard_view
from rbac.views import sms_login


def favicon(request):
    """Browsers ask for /favicon.ico on every page; simpleui's icon answers instead of a logged 404."""
    return redirect(static("admin/simpleui-x/img/favicon.png"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/login/sms/", sms_login, name="sms_login"),
    # Before the admin's own URLs, which would answer them with a 404; admin_view signs the user in first.
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="dashboard"),
    path("admin/dashboard/data/", admin.site.admin_view(dashboard_data_view), name="dashboard_data"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
if settings.SILK_ENABLED:
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
