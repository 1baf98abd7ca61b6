"""Signed-in visits (rbac.models.SignedInSession): recorded at sign-in, kept fresh by a middleware,
ended by signing out, by an administrator (rbac.services.sessions_sign_out), or when the account is deactivated or its password changes
(Django itself then refuses the session on its next request; the middleware drops its row)."""

from datetime import timedelta

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from rbac.addresses import client_address
from rbac.models import SignedInSession

SEEN_EVERY = timedelta(minutes=1)
SEEN_KEY = "rbac_seen_at"


@receiver(user_logged_in, dispatch_uid="rbac.sessions.signed_in")
def session_recorded(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session") or request.session.session_key is None:
        return
    now = timezone.now()
    SignedInSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
            "last_seen_at": now,
        },
    )
    request.session[SEEN_KEY] = now.timestamp()


@receiver(user_logged_out, dispatch_uid="rbac.sessions.signed_out")
def session_forgotten(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and request.session.session_key:
        SignedInSession.objects.filter(session_key=request.session.session_key).delete()


class SessionSeenMiddleware:
    """After AuthenticationMiddleware: a signed-in visit's "last seen" moves at most once a minute; the
    row of a session Django no longer signs in (account deactivated, password changed) is dropped."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Read before request.user: Django flushes the session of a changed password when it loads the user.
        key, seen = request.session.session_key, request.session.get(SEEN_KEY)
        if seen is not None:
            if not request.user.is_authenticated:
                SignedInSession.objects.filter(session_key=key).delete()
                request.session.pop(SEEN_KEY, None)
            elif timezone.now().timestamp() - seen >= SEEN_EVERY.total_seconds():
                now = timezone.now()
                request.session[SEEN_KEY] = now.timestamp()
                SignedInSession.objects.filter(session_key=key).update(last_seen_at=now)
        return self.get_response(request)
