"""The tables inside a page (an order's status changes, a customer's recent ledger, a product's price
policies) sit inside their card: each row's text within the card, the table no wider than it."""

import pytest
from django.core.management import call_command

from customers.models import Customer
from orders.models import Order, PricePolicy
from tests.browser.test_admin_flows import PASSWORD

pytestmark = pytest.mark.browser

# Every text of every row, as the boxes of its lines (a Range over the text, not its cell), beside the boxes
# of the inline's card (simpleui's white fieldset) and of its table. Text moved off the screen on purpose
# (Django's delete link, read by its icon, indents its word by -9999px) is no row text.
BOXES = """group => {
    const box = r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
    const texts = [];
    for (const row of group.querySelectorAll('tbody tr:not(.empty-form)')) {
        const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            if (!node.textContent.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const rect of range.getClientRects()) {
                if (rect.width && rect.height && rect.right > 0) texts.push({text: node.textContent.trim(), ...box(rect)});
            }
        }
        for (const input of row.querySelectorAll('input:not([type=hidden])')) {
            const rect = input.getBoundingClientRect();
            if (rect.width) texts.push({text: input.name, ...box(rect)});
        }
    }
    return {
        card: box(group.querySelector('fieldset.module').getBoundingClientRect()),
        table: box(group.querySelector('table').getBoundingClientRect()),
        texts,
    };
}"""


@pytest.fixture
def demo(live_server):
    call_command("demo", password=PASSWORD, customers=3, orders=6, stdout=open("/dev/null", "w"))


def assert_inside_its_card(page, inline_id: str) -> list[str]:
    group = page.locator(f"#{inline_id}")
    group.scroll_into_view_if_needed()
    boxes = group.evaluate(BOXES)
    card, table = boxes["card"], boxes["table"]
    assert 0 <= card["left"] and card["right"] <= page.viewport_size["width"], card
    assert card["left"] <= table["left"] and table["right"] <= card["right"], boxes
    assert boxes["texts"], "the table has rows"
    for text in boxes["texts"]:
        inside = card["left"] <= text["left"] and text["right"] <= card["right"]
        assert inside and card["top"] <= text["top"] and text["bottom"] <= card["bottom"], (text, card)
    return [text["text"] for text in boxes["texts"]]


@pytest.mark.parametrize("width", [1440, 1024])
def test_an_orders_status_changes_sit_inside_their_card(demo, page, login, screenshot, width):
    order = Order.objects.filter(events__isnull=False).order_by("id").first()
    page.set_viewport_size({"width": width, "height": 900})
    login("service", PASSWORD)
    page.goto(f"/admin/orders/order/{order.pk}/change/")
    texts = assert_inside_its_card(page, "events-group")
    assert any(event.to_status and str(event.get_to_status_display()) in texts for event in order.events.all())
    screenshot(element=page.locator("#events-group"))


@pytest.mark.parametrize("width", [1440, 1024])
def test_a_customers_recent_ledger_sits_inside_its_card(demo, page, login, screenshot, width):
    customer = Customer.objects.filter(ledger_entries__isnull=False).order_by("id").first()
    page.set_viewport_size({"width": width, "height": 900})
    login("service", PASSWORD)
    page.goto(f"/admin/customers/customer/{customer.pk}/change/")
    texts = assert_inside_its_card(page, "ledger_entries-group")
    assert any("¥" in text for text in texts)
    screenshot(element=page.locator("#ledger_entries-group"))


@pytest.mark.parametrize("width", [1440, 1024])
def test_a_products_price_policies_sit_inside_their_card(demo, page, login, screenshot, width):
    policy = PricePolicy.objects.order_by("id").first()
    page.set_viewport_size({"width": width, "height": 900})
    login("admin", PASSWORD)
    page.goto(f"/admin/orders/product/{policy.product_id}/change/")
    texts = assert_inside_its_card(page, "price_policies-group")
    assert "price_policies-0-unit_price" in texts
    screenshot(element=page.locator("#price_policies-group"))
