"""No admin page offers a link that answers 403 to whoever reads it: a related object is linked only
for a viewer who may open its page (core.admin.admin_link), plain text otherwise."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer, LedgerEntry
from customers.services import balance_debit
from orders.models import Order

ADMIN_HREF_RE = re.compile(r'href="(/admin/[^"#]*)"')

# Each role's main lists, as its menu offers them.
ROLE_LISTS = [
    ("finance", "customers_ledgerentry"),
    ("finance", "customers_customer"),
    ("finance", "customers_recharge"),
    ("finance", "customers_debit"),
    ("service", "orders_order"),
    ("service", "customers_customer"),
    ("service", "customers_ledgerentry"),
    ("ops", "orders_order"),
    ("ops", "customers_ledgerentry"),
    ("alice", "orders_myorder"),
    ("alice", "customers_myledgerentry"),
]


@pytest.fixture
def demo(db):
    call_command("demo", password="demo-pass-1", customers=2, orders=4, stdout=open("/dev/null", "w"))
    balance_debit(customer_id=Customer.objects.first().pk, amount="1.00", actor=User.objects.get(username="finance"))


def admin_hrefs(response) -> set[str]:
    return {href.replace("&amp;", "&") for href in ADMIN_HREF_RE.findall(response.content.decode())} - {
        reverse("admin:logout")
    }


@pytest.mark.parametrize(("username", "changelist"), ROLE_LISTS)
def test_no_link_on_a_role_s_lists_and_their_pages_answers_403(client, demo, username, changelist):
    client.force_login(User.objects.get(username=username))
    list_url = reverse(f"admin:{changelist}_changelist")
    listed = client.get(list_url)
    assert listed.status_code == 200
    row_pages = {href for href in admin_hrefs(listed) if href.startswith(list_url) and href.endswith("/change/")}
    assert row_pages, "the demo data gives every list a row"
    pages = {list_url: listed} | {url: client.get(url) for url in row_pages}
    refused = {
        (page, href)
        for page, response in pages.items()
        for href in admin_hrefs(response)
        if client.get(href).status_code == 403
    }
    assert not refused


def test_a_related_object_is_a_link_for_who_may_open_it_and_text_for_others(client, demo):
    """Finance reads a charge's order as text; customer service, who may open orders, gets the link."""
    # a charge of one of service's own customers: customer service sees only those (the data scope)
    entry = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, customer__owner__username="service").first()
    entry_url = reverse("admin:customers_ledgerentry_change", args=[entry.pk])
    order_url = reverse("admin:orders_order_change", args=[entry.order_id])
    customer_url = reverse("admin:customers_customer_change", args=[entry.customer_id])

    client.force_login(User.objects.get(username="finance"))
    page = client.get(entry_url).content.decode()
    assert order_url not in page and entry.order.order_no in page
    assert customer_url in page  # finance may view customers

    client.force_login(User.objects.get(username="service"))
    assert order_url in client.get(entry_url).content.decode()


def test_the_customer_page_links_orders_only_for_who_may_open_them(client, demo):
    customer = Customer.objects.filter(orders__isnull=False, owner__username="service").first()  # service's own
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    order_url = reverse("admin:orders_order_change", args=[Order.objects.filter(customer=customer).first().pk])
    client.force_login(User.objects.get(username="finance"))
    assert order_url not in client.get(url).content.decode()
    client.force_login(User.objects.get(username="service"))
    assert order_url in client.get(url).content.decode()
