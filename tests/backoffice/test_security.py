"""Headers, production mode, silk's access and the hardened simpleui templates, over HTTP."""

import importlib
import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.staticfiles import finders
from django.urls import clear_url_caches, reverse
from django.utils.html import escapejs, format_html

from backoffice.templatetags.backoffice_hardened import message_text
from orders.services import order_claim, order_fail, order_place
from rbac.roles import CUSTOMERS, FINANCE, OPERATIONS
from tests.backoffice.conftest import django_run, production_env
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.roles import role_user

MANAGE_PY = str(django_settings.BASE_DIR / "manage.py")
SCRIPT_BREAKOUT = "</script><script>window.__xss=1</script>"


# --- headers --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, signed_in",
    [("/admin/login/", False), ("/admin/", True), ("/admin/customers/customer/", True), ("/admin/no-such-page/", True)],
)
def test_every_admin_response_carries_the_security_headers(client, path, signed_in):
    if signed_in:
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["form-action"] == "'self'"
    # Scripts, styles and frames from this origin only: no host, scheme or wildcard anywhere.
    assert not [value for value in policy.values() if any(mark in value for mark in ("http", "*", "//"))]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- production mode ------------------------------------------------------------------------------


def test_check_deploy_finds_nothing_in_production_mode():
    done = django_run(
        "from django.core.management import call_command\ncall_command('check', deploy=True, fail_level='WARNING')",
        **production_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_production_mode_refuses_to_start_without_a_secret_key(tmp_path):
    done = django_run("print('started')", DEBUG="0", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert done.returncode != 0
    assert "started" not in done.stdout
    assert "ImproperlyConfigured: SECRET_KEY is not set" in done.stderr


def test_the_embedded_demo_starts_without_a_secret_key_and_keeps_one_per_checkout():
    code = "from django.conf import settings\nprint(settings.SECRET_KEY, settings.SESSION_COOKIE_SECURE)"
    first, second = (django_run(code, **env) for env in ({"EMBEDDED_DEMO": "1"}, {}))  # {}: nothing configured
    assert first.returncode == 0, first.stderr
    key, secure = first.stdout.split()
    assert len(key) >= 50 and secure == "False"
    assert second.stdout == first.stdout
    assert (django_settings.BASE_DIR / ".secret_key").read_text().strip() == key


REQUESTS = """
    from django.test import Client

    for headers in ({}, {"X-Forwarded-Proto": "https"}):
        response = Client().get("/admin/login/", headers=headers)
        cookie = response.cookies.get("csrftoken")
        print(response.status_code, response.get("Location", "-"), response.get("Strict-Transport-Security", "-"),
              "-" if cookie is None else "secure" if cookie["secure"] else "plain")
"""


def test_production_mode_serves_https_only_and_trusts_a_proxy_only_when_told(collected_static):
    # Plain HTTP is redirected; an X-Forwarded-Proto header is a client's claim, not believed.
    direct = django_run(REQUESTS, **production_env(STATIC_ROOT=str(collected_static)))
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.splitlines() == ["301 https://testserver/admin/login/ - -"] * 2

    behind = django_run(
        REQUESTS, **production_env(BEHIND_TLS_PROXY="1", SECURE_HSTS_SECONDS="600", STATIC_ROOT=str(collected_static))
    )
    assert behind.returncode == 0, behind.stderr
    plain, forwarded = behind.stdout.splitlines()
    assert plain == "301 https://testserver/admin/login/ - -"
    assert forwarded == "200 - max-age=600; includeSubDomains; preload secure"


# --- silk -----------------------------------------------------------------------------------------


@pytest.fixture
def silk_on(settings):
    """The URLs as SILK_ENABLED=1 makes them (they are read when backoffice.urls is imported)."""
    import backoffice.urls

    settings.SILK_ENABLED = True
    importlib.reload(backoffice.urls)
    clear_url_caches()
    yield
    settings.SILK_ENABLED = False
    importlib.reload(backoffice.urls)
    clear_url_caches()


@pytest.mark.django_db
def test_silk_is_for_superusers_only(client, silk_on):
    url = reverse("silk:summary")
    assert client.get(url).status_code == 302  # to the login page

    customer_login = role_user(CUSTOMERS, customer=CustomerFactory(), username="cust")
    assert customer_login.is_staff
    for user in (customer_login, role_user(FINANCE, username="fin")):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.get(reverse("silk:requests")).status_code == 403

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_silk_is_not_mounted_unless_enabled(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/silk/").status_code == 404


# --- the hardened simpleui templates --------------------------------------------------------------


@pytest.mark.django_db
def test_the_search_term_reaches_the_script_through_escapejs(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    term = "';window.__xss=1;'" + SCRIPT_BREAKOUT
    html = client.get("/admin/customers/customer/", {"q": term}).content.decode()
    assert f"searchInput: '{escapejs(term)}'" in html
    assert "window.__xss=1;'" not in html and SCRIPT_BREAKOUT not in html


@pytest.mark.django_db
def test_the_address_parameters_come_back_escaped_in_the_search_form(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    typed = '"><script>window.__xss=1</script>'
    html = client.get("/admin/orders/order/", {"o": typed, "q": "x"}).content.decode()
    assert '<input type="hidden" name="o" value="&#34;&gt;&lt;script&gt;window.__xss=1&lt;/script&gt;"/>' in html
    assert "<script>window.__xss=1" not in html


@pytest.mark.django_db
def test_messages_reach_the_page_as_json_and_plain_text(client):
    customer = CustomerFactory(name=SCRIPT_BREAKOUT)
    product = ProductFactory()
    from customers.services import balance_recharge

    balance_recharge(customer_id=customer.pk, amount="10.00", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[order.pk])
    order_fail(order_id=order.pk, agent="a", error="refused", transient=False)
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    client.force_login(role_user(OPERATIONS))

    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "retry_selected", "_selected_action": [order.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert SCRIPT_BREAKOUT not in html
    start = html.index('<script id="out_message" type="application/json">')
    data = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    [message] = json.loads(data)
    assert SCRIPT_BREAKOUT in message["msg"] and message["tag"] == "warning"
    assert "core/frame.js" in html  # the script that shows them, as plain text
    frame = Path(finders.find("core/frame.js")).read_text()
    assert "dangerouslyUseHTMLString: false" in frame and "dangerouslyUseHTMLString: true" not in html + frame


def test_a_message_built_as_html_reads_as_its_sentence_and_plain_text_stays_as_typed():
    built = format_html("The customer “<a href=\"{}\">{}</a>” was added.", "/admin/x/", "<b>A&B</b>")
    assert message_text(Message(constants.SUCCESS, built)) == "The customer “<b>A&B</b>” was added."
    assert message_text(Message(constants.INFO, "<b>A&amp;B</b>")) == "<b>A&amp;B</b>"
