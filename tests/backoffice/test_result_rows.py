"""The big lists' rows (backoffice_admin.result_rows) are the rows Django's own change list renders, and their
table (backoffice_admin.big_result_list) the one simpleui's template writes."""

import re

import pytest
from django.contrib.admin.templatetags.admin_list import result_list
from django.contrib.admin.templatetags.admin_list import results as django_results
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from backoffice.templatetags import backoffice_admin
from customers.services import balance_recharge
from orders.services import order_place
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMERS
from tests.factories import CustomerFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db

TBODY_RE = re.compile(r"<tbody>(.*?)</tbody>", re.S)


def tags_joined(html: str) -> str:
    """`html` with the whitespace between tags dropped and any other run of it one space (the templates put each
    cell and some attributes on their own line)."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html.strip()))


def rows_of(page: bytes) -> str:
    return tags_joined(TBODY_RE.search(page.decode()).group(1))


@pytest.fixture
def orders(product, staff):
    # Named so that a search for its name also carries the address placeholder result_rows fills in.
    customer = CustomerFactory(name='object-key <b>王 "&amp;\'</b>')
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    for target in ("t-1", "<script>x</script>"):
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=2, target=target, actor=staff)
    return customer


LISTS = [
    (CUSTOMER_SERVICE, "admin:orders_order_changelist", {}),
    (CUSTOMER_SERVICE, "admin:orders_order_changelist", {"status": "pending", "q": "object-key"}),
    (CUSTOMER_SERVICE, "admin:orders_order_changelist", {"o": "-4.7"}),  # two columns sorted: their priorities show
    (CUSTOMERS, "admin:orders_myorder_changelist", {}),
    (ADMINISTRATORS, "admin:customers_ledgerentry_changelist", {"o": "-1"}),
    (CUSTOMERS, "admin:customers_myledgerentry_changelist", {}),
    (ADMINISTRATORS, "admin:rbac_operationlog_changelist", {}),
]


@pytest.mark.parametrize(("role", "url_name", "params"), LISTS)
def test_the_table_is_the_one_simpleui_writes(client, orders, role, url_name, params):
    client.force_login(role_user(role, customer=orders if role == CUSTOMERS else None))
    page = client.get(reverse(url_name), params)
    cl = page.context_data["cl"]
    with translation.override("zh-hans"):
        theirs = render_to_string("admin/change_list_results.html", result_list(cl))
        ours = backoffice_admin.big_result_list(cl)
    assert tags_joined(ours) in tags_joined(page.content.decode())
    assert tags_joined(ours) == tags_joined(theirs)
    assert params.get("o") != "-4.7" or 'class="sortpriority"' in ours


@pytest.mark.parametrize(("role", "url_name", "params"), LISTS)
def test_rows_are_the_ones_django_renders(client, orders, monkeypatch, role, url_name, params):
    client.force_login(role_user(role, customer=orders if role == CUSTOMERS else None))
    url = reverse(url_name)
    with monkeypatch.context() as patched:  # every column takes the one-pass way: no fall-back to Django's rows
        patched.setattr(backoffice_admin, "django_results", lambda cl: pytest.fail("fell back to Django's rows"))
        ours = client.get(url, params)
    assert ours.status_code == 200 and ours.context_data["cl"].result_list
    monkeypatch.setattr(backoffice_admin, "result_rows", lambda cl: list(django_results(cl)))
    theirs = rows_of(client.get(url, params).content)
    assert rows_of(ours.content) == theirs


def test_a_display_function_html_is_kept_and_user_text_escaped(client, orders):
    client.force_login(role_user(CUSTOMER_SERVICE))
    rows = rows_of(client.get(reverse("admin:orders_order_changelist")).content)
    assert '<span class="order-status order-status-pending"' in rows  # status_badge's format_html
    assert "object-key &lt;b&gt;王 &quot;&amp;amp;&#x27;&lt;/b&gt;" in rows and "<b>王" not in rows
