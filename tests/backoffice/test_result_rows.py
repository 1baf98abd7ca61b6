"""The big lists' rows (backoffice_admin.result_rows) are the rows Django's own change list renders."""

import re

import pytest
from django.contrib.admin.templatetags.admin_list import results as django_results
from django.urls import reverse

from backoffice.templatetags import backoffice_admin
from customers.services import balance_recharge
from orders.services import order_place
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMERS
from tests.factories import CustomerFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db

TBODY_RE = re.compile(r"<tbody>(.*?)</tbody>", re.S)


def rows_of(page: bytes) -> str:
    """The list's rows, whitespace between tags dropped (Django's template puts each cell on its own line)."""
    return re.sub(r">\s+<", "><", TBODY_RE.search(page.decode()).group(1).strip())


@pytest.fixture
def orders(product, staff):
    # Named so that a search for its name also carries the address placeholder result_rows fills in.
    customer = CustomerFactory(name='object-key <b>王 "&amp;\'</b>')
    balance_recharge(customer_id=customer.pk, amount="1000", actor=staff)
    for target in ("t-1", "<script>x</script>"):
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=2, target=target, actor=staff)
    return customer


@pytest.mark.parametrize(
    ("role", "url_name", "params"),
    [
        (CUSTOMER_SERVICE, "admin:orders_order_changelist", {}),
        (CUSTOMER_SERVICE, "admin:orders_order_changelist", {"status": "pending", "q": "object-key"}),
        (CUSTOMERS, "admin:orders_myorder_changelist", {}),
        (ADMINISTRATORS, "admin:customers_ledgerentry_changelist", {"o": "-1"}),
        (CUSTOMERS, "admin:customers_myledgerentry_changelist", {}),
        (ADMINISTRATORS, "admin:rbac_operationlog_changelist", {}),
    ],
)
def test_rows_are_the_ones_django_renders(client, orders, monkeypatch, role, url_name, params):
    client.force_login(role_user(role, customer=orders if role == CUSTOMERS else None))
    url = reverse(url_name)
    with monkeypatch.context() as patched:  # every column takes the one-pass way: no fall-back to Django's rows
        patched.setattr(backoffice_admin, "django_results", lambda cl: pytest.fail("fell back to Django's rows"))
        ours = client.get(url, params)
    assert ours.status_code == 200 and ours.context["cl"].result_list
    monkeypatch.setattr(backoffice_admin, "result_rows", lambda cl: list(django_results(cl)))
    theirs = rows_of(client.get(url, params).content)
    assert rows_of(ours.content) == theirs


def test_a_display_function_html_is_kept_and_user_text_escaped(client, orders):
    client.force_login(role_user(CUSTOMER_SERVICE))
    rows = rows_of(client.get(reverse("admin:orders_order_changelist")).content)
    assert '<span class="order-status order-status-pending"' in rows  # status_badge's format_html
    assert "object-key &lt;b&gt;王 &quot;&amp;amp;&#x27;&lt;/b&gt;" in rows and "<b>王" not in rows
