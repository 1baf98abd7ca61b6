"""The admin's fieldsets rendered in Python (core_admin.fieldset_html) are the ones the template it
replaced rendered (tests/fixtures/simpleui_fieldset.html: simpleui's, with our read-only links)."""

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import AdminForm
from django.forms import modelform_factory
from django.template import RequestContext, engines
from django.urls import reverse

from core.templatetags.core_admin import fieldset_html
from customers.models import Customer
from customers.services import balance_recharge
from orders.services import order_place
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMERS, FINANCE
from tests.factories import CustomerFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db

REFERENCE = engines["django"].from_string(
    (Path(__file__).parent.parent / "fixtures" / "simpleui_fieldset.html").read_text()
)


def html_of(text: str) -> str:
    """The HTML with whitespace around tags dropped and runs of it made one space."""
    return re.sub(r"\s+", " ", re.sub(r"\s*(<|>)\s*", r"\1", str(text))).strip()


@pytest.fixture
def order(product, staff):
    customer = CustomerFactory(name="<b>王 \"&amp;'</b>")
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    return order_place(
        customer_id=customer.pk, product_id=product.pk, quantity=2, target="<script>x</script>", actor=staff
    )


PAGES = [
    (CUSTOMER_SERVICE, "get", "admin:orders_order_add", None),
    (CUSTOMER_SERVICE, "post", "admin:orders_order_add", None),  # every field in error
    (CUSTOMER_SERVICE, "get", "admin:orders_order_change", "order"),
    (CUSTOMERS, "get", "admin:orders_myorder_add", None),
    (CUSTOMER_SERVICE, "get", "admin:customers_customer_change", "customer"),
    (CUSTOMER_SERVICE, "post", "admin:customers_customer_add", None),
    (FINANCE, "get", "admin:customers_recharge_add", None),
    (FINANCE, "post", "admin:customers_debit_add", None),
    (ADMINISTRATORS, "get", "admin:auth_user_change", "user"),  # check boxes, several fieldsets
    (ADMINISTRATORS, "get", "admin:orders_product_change", "product"),
    (ADMINISTRATORS, "get", "admin:customers_tier_add", None),
]


@pytest.mark.parametrize(("role", "method", "url_name", "obj"), PAGES)
def test_fieldsets_are_the_ones_the_template_rendered(client, order, role, method, url_name, obj):
    user = role_user(role, customer=order.customer if role == CUSTOMERS else None)
    client.force_login(user)
    target = {"order": order, "customer": order.customer, "user": user, "product": order.product}.get(obj)
    url = reverse(url_name, args=[target.pk] if target else [])
    response = client.post(url, {}) if method == "post" else client.get(url)
    assert response.status_code == 200
    adminform = response.context["adminform"]
    request = response.wsgi_request
    fieldsets = list(adminform)
    assert fieldsets
    for fieldset in fieldsets:
        ours = fieldset_html(RequestContext(request), fieldset)
        assert html_of(ours) == html_of(REFERENCE.render({"fieldset": fieldset}, request))
    if method == "post":
        assert 'class="errorlist' in html_of(fieldset_html(RequestContext(request), fieldsets[0]))


def test_user_text_in_a_read_only_field_is_escaped(client, order):
    client.force_login(role_user(CUSTOMER_SERVICE))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page


@pytest.mark.parametrize("data", [None, {"name": "", "mobile": "123", "email": "not-an-address"}])
def test_lines_of_several_fields_and_check_boxes_are_the_template_ones(rf, order, data):
    """No page of ours puts several fields on a line: a customer form made to, one bound with errors."""
    model_admin = admin.site._registry[Customer]
    form = modelform_factory(Customer, fields=["name", "mobile", "email", "is_active"])(data, instance=order.customer)
    lines = [("name", "mobile"), ("email", "balance"), "is_active", ("is_active", "created_at")]
    adminform = AdminForm(
        form, [(None, {"fields": lines, "description": "<i>what</i>"})], {}, ("balance", "created_at"), model_admin
    )
    request = rf.get("/")
    request.user = role_user(ADMINISTRATORS)
    for fieldset in adminform:
        ours = html_of(fieldset_html(RequestContext(request), fieldset))
        assert ours == html_of(REFERENCE.render({"fieldset": fieldset}, request))
        assert ours.count("fieldBox") == 6 and "checkbox-row" in ours
        assert ("errors" in ours) is bool(data)


@pytest.mark.parametrize(("data", "errors"), [({}, 4), ({"quantity": "1", "target": "t", "product": "0"}, 2)])
def test_the_form_alert_is_in_chinese_however_many_errors(client, order, data, errors):
    client.force_login(role_user(CUSTOMER_SERVICE))
    response = client.post(reverse("admin:orders_order_add"), data)
    assert len(response.context["errors"]) >= errors
    page = response.content.decode()
    assert "请更正以下错误。" in page and "Please correct" not in page


def test_typed_text_shown_again_in_a_refused_form_is_escaped(client, order):
    """The widgets are Jinja2 templates now: what a user typed comes back escaped in the input's value."""
    client.force_login(role_user(CUSTOMER_SERVICE))
    typed = '"><script>x</script>'
    page = client.post(reverse("admin:orders_order_add"), {"quantity": "0", "target": typed, "memo": typed}).content.decode()
    assert typed not in page
    target_input = re.search(r"<input[^>]*name=\"target\"[^>]*>", page).group(0)
    assert "value=\"&#34;&gt;&lt;script&gt;x&lt;/script&gt;\"" in target_input
