"""The hardened simpleui templates, over HTTP."""

import json

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.urls import reverse
from django.utils.html import escapejs, format_html

from backoffice.templatetags.backoffice_hardened import message_text
from orders.services import order_claim, order_fail, order_place
from rbac.roles import OPERATIONS
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.roles import role_user

SCRIPT_BREAKOUT = "</script><script>window.__xss=1</script>"


# --- the hardened simpleui templates --------------------------------------------------------------


@pytest.mark.django_db
def test_the_search_term_reaches_the_script_through_escapejs(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    term = "';window.__xss=1;'" + SCRIPT_BREAKOUT
    html = client.get("/admin/customers/customer/", {"q": term}).content.decode()
    assert f"searchInput: '{escapejs(term)}'" in html
    assert "window.__xss=1;'" not in html and SCRIPT_BREAKOUT not in html


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
    assert "dangerouslyUseHTMLString: true" not in html


def test_a_message_built_as_html_reads_as_its_sentence_and_plain_text_stays_as_typed():
    built = format_html("The customer “<a href=\"{}\">{}</a>” was added.", "/admin/x/", "<b>A&B</b>")
    assert message_text(Message(constants.SUCCESS, built)) == "The customer “<b>A&B</b>” was added."
    assert message_text(Message(constants.INFO, "<b>A&amp;B</b>")) == "<b>A&amp;B</b>"
