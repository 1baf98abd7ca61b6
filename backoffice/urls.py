from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from rbac.views import sms_login


def favicon(request):
    """Browsers ask for /favicon.ico on every page; simpleui's icon answers instead of a logged 404."""
    return redirect(static("admin/simpleui-x/img/favicon.png"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/login/sms/", sms_login, name="sms_login"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
if settings.SILK_ENABLED:
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
