"""Headers that Django 5.2 does not send by itself here: X-Frame-Options (django-simpleui's
AppConfig.ready() removes Django's XFrameOptionsMiddleware) and a Content-Security-Policy (Django 5.2
has none). Referrer-Policy and X-Content-Type-Options come from Django's SecurityMiddleware."""

from django.conf import settings


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.headers = {
            "X-Frame-Options": settings.X_FRAME_OPTIONS,
            "Content-Security-Policy": settings.CONTENT_SECURITY_POLICY,
        }

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in self.headers.items():
            # A view that sets its own (stricter) value keeps it.
            response.headers.setdefault(name, value)
        return response
