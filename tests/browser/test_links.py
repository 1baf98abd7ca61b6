"""What a role sees in Chromium links only to pages it may open."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import LedgerEntry

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1"


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=2, orders=3, stdout=open("/dev/null", "w"))


def refused_links(page) -> list[str]:
    """The page's admin links (as the browser rendered them) that answer 403 to the signed-in user."""
    hrefs = page.eval_on_selector_all(
        "a[href^='/admin/']", "links => [...new Set(links.map(a => a.getAttribute('href')))]"
    )
    return [href for href in hrefs if "logout" not in href and page.request.get(href).status == 403]


def test_finance_is_offered_no_link_it_cannot_open(demo, page, login, screenshot):
    charge = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).first()
    login("finance", PASSWORD)
    for name, url in [
        ("ledger", reverse("admin:customers_ledgerentry_changelist")),
        ("charge", reverse("admin:customers_ledgerentry_change", args=[charge.pk])),
        ("customer", reverse("admin:customers_customer_change", args=[charge.customer_id])),
    ]:
        page.goto(url)
        assert refused_links(page) == [], name
        screenshot(name)
    # The charge's order reads as text on the customer page's recent entries.
    assert page.locator(".field-order", has_text=charge.order.order_no).first.is_visible()
    assert page.locator(".field-order a").count() == 0
