from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import authenticate, login
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from rbac.addresses import client_address
from rbac.errors import CodeNotSent, LoginRefused
from rbac.lockout import lockout_message, login_locked
from rbac.login_codes import RESEND_SECONDS, login_code_send


class SmsLoginForm(forms.Form):
    mobile = forms.CharField(label=gettext_lazy("mobile"), max_length=20)
    code = forms.CharField(label=gettext_lazy("code from the SMS"), max_length=20, required=False)


# Never inside a request-wide transaction: a code is texted after everything is committed, and whether
# the provider took it is known before the page answers.
@transaction.non_atomic_requests
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def sms_login(request):
    """A customer's login with a code texted to their mobile: ask for a code, then enter it."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    form = SmsLoginForm(request.POST or None)
    resend_wait_seconds = 0
    if request.method == "POST" and form.is_valid():
        mobile, code = form.cleaned_data["mobile"], form.cleaned_data["code"]
        if "send" in request.POST:
            if _code_send(request, form, mobile):
                resend_wait_seconds = RESEND_SECONDS
        elif not code:
            form.add_error("code", _("Enter the code from the SMS."))
        else:
            user = authenticate(request, mobile=mobile, code=code)
            if user is None and login_locked(request):
                form.add_error(None, lockout_message())
            elif user is None:
                form.add_error("code", _("The code is wrong, used or expired; ask for a new one."))
            else:
                login(request, user)
                return redirect(next_url or reverse("admin:index"))
    return _page(request, form, next_url, resend_wait_seconds)


def _code_send(request, form, mobile: str) -> bool:
    """Ask for a code; False (with the reason on the form) when refused."""
    if not AxesProxyHandler.is_allowed(request, {"mobile": mobile}):
        form.add_error(None, lockout_message())  # no code for a locked user or address
        return False
    try:
        login_code_send(mobile=mobile, address=client_address(request) or "")
    except CodeNotSent as error:
        form.add_error(None, error.message)  # the send button stays free: the minute was not spent
        return False
    except LoginRefused as error:
        form.add_error("mobile", error.message)
        return False
    # The same answer whether or not the mobile has an account.
    messages.info(request, _("If this mobile belongs to a customer account, a code is on its way."))
    return True


def _page(request, form, next_url, resend_wait_seconds):
    context = {
        **admin.site.each_context(request),
        "title": _("Log in with an SMS code"),
        "form": form,
        "next": next_url,
        "resend_wait_seconds": resend_wait_seconds,
    }
    return render(request, "admin/sms_login.html", context)
