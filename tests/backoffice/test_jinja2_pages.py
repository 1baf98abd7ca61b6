"""The big change lists are rendered whole with Jinja2 (templates/jinja2/admin/big_change_list.html on a Jinja2 copy
of the admin's frame, templates/jinja2/admin/base.html): each page equals the one the template language writes
from simpleui's change_list.html, import-export's templates and templates/admin/base.html, so a change to one of
those (a hardening of the frame, say) fails here until the Jinja2 page has it too."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template import RequestContext, Template, engines
from django.urls import reverse

from customers.services import balance_recharge
from orders.models import Order
from orders.services import order_place
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMERS, FINANCE
from tests.factories import CustomerFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db

# What templates/admin/big_change_list.html was in the template language: simpleui's change list with the big
# lists' drill-down and table.
BIG_LIST = """{% extends "admin/change_list.html" %}{% load admin_list backoffice_admin %}
{% block date_hierarchy %}{% cheap_date_hierarchy cl %}{% endblock %}
{% block result_list %}{% admin_actions %}{% big_result_list cl %}{% endblock %}"""
# import-export's change list templates by (import, export) mixin, each extending the page above.
IMPORT_EXPORT = {
    (True, True): "admin/import_export/change_list_import_export.html",
    (True, False): "admin/import_export/change_list_import.html",
    (False, True): "admin/import_export/change_list_export.html",
}
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def normalized(html: str) -> str:
    """`html` without the whitespace between tags, other runs of it one space, and the masked CSRF token (masked
    anew each time it is asked for); an apostrophe escaped as Django escapes it."""
    html = CSRF_RE.sub("CSRF", html).replace("&#39;", "&#x27;")
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def template_language_page(response) -> str:
    context = response.context_data
    big_list = Template(BIG_LIST, name="big_change_list.html", engine=engines["django"].engine)  # simpleui reads its name
    mixins = ("has_import_permission" in context, "has_export_permission" in context)
    template = engines["django"].get_template(IMPORT_EXPORT[mixins]).template if any(mixins) else big_list
    return template.render(RequestContext(response.wsgi_request, {**context, "ie_base_change_list_template": big_list}))


@pytest.fixture
def customer(product, staff):
    customer = CustomerFactory(name='王 "<b>&\'')
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    for target in ("t-1", "<script>x</script>", "t-3"):
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=2, target=target, actor=staff)
    return customer


LISTS = [
    (ADMINISTRATORS, "admin:orders_order_changelist", {}),  # import and export
    (CUSTOMER_SERVICE, "admin:orders_order_changelist", {"status": "pending", "q": "'\"<b>", "o": "-4.7"}),
    (CUSTOMER_SERVICE, "admin:orders_order_changelist", {"_popup": "1"}),
    (FINANCE, "admin:customers_recharge_changelist", {}),  # import only
    (FINANCE, "admin:customers_debit_changelist", {}),  # neither
    (ADMINISTRATORS, "admin:customers_ledgerentry_changelist", {"created_at__year": "2026"}),  # export only
    (ADMINISTRATORS, "admin:rbac_operationlog_changelist", {}),
    (ADMINISTRATORS, "admin:axes_accessattempt_changelist", {}),
    (CUSTOMERS, "admin:orders_myorder_changelist", {}),
    (CUSTOMERS, "admin:customers_myledgerentry_changelist", {}),
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(("role", "url_name", "params"), LISTS)
def test_the_jinja2_page_is_the_template_language_page(client, customer, role, url_name, params, language):
    client.force_login(role_user(role, customer=customer if role == CUSTOMERS else None))
    client.cookies["django_language"] = language
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    assert "admin/base.html" not in [template.name for template in response.templates]  # not the template language's
    assert normalized(response.content.decode()) == normalized(template_language_page(response))


def test_the_page_carries_its_messages_as_plain_text(client, customer):
    client.force_login(role_user(CUSTOMER_SERVICE))
    url = reverse("admin:orders_order_changelist")
    pending = Order.objects.filter(customer=customer).values_list("pk", flat=True)[:1]
    done = client.post(url, {"action": "cancel_selected", ACTION_CHECKBOX_NAME: list(pending)})
    assert done.status_code == 302
    # Read without being consumed: the same request renders both pages.
    response = client.get(url)
    page = response.content.decode()
    assert '<script id="out_message" type="application/json">' in page and '"tag": "success"' in page
    assert normalized(page) == normalized(template_language_page(response))
