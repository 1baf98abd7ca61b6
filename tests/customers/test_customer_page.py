"""The customer page's ways on (the customer's orders and ledger, a recharge, a debit) for who may take
them, and the balance the recharge and debit forms show for the picked customer."""

import pytest
from django.urls import reverse

from customers.services import balance_recharge
from rbac.roles import CUSTOMER_SERVICE, FINANCE, OPERATIONS
from tests.roles import role_user

BALANCE_URLS = [reverse("admin:customers_recharge_balance"), reverse("admin:customers_debit_balance")]


@pytest.mark.parametrize(
    ("role", "tools"),
    [
        (FINANCE, ["该客户的交易记录", "充值", "扣款"]),
        (CUSTOMER_SERVICE, ["该客户的订单", "该客户的交易记录"]),
    ],
)
def test_the_customer_page_offers_what_the_role_may_open(client, customer, role, tools):
    client.force_login(role_user(role))
    response = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert [str(label) for label, _url in response.context["customer_tools"]] == tools
    for _label, url in response.context["customer_tools"]:
        assert client.get(url).status_code == 200


def test_the_lists_it_links_are_the_customer_s_own(client, customer):
    other = type(customer).objects.create(name="别人", mobile="13900000009", tier=customer.tier)
    for who in (customer, other):
        balance_recharge(customer_id=who.pk, amount="10", actor=None)
    client.force_login(role_user(FINANCE))
    tools = dict(client.get(reverse("admin:customers_customer_change", args=[customer.pk])).context["customer_tools"])
    ledger = client.get(tools["该客户的交易记录"]).context_data["cl"].result_list
    assert {entry.customer_id for entry in ledger} == {customer.pk}
    recharge_form = client.get(tools["充值"]).context["adminform"].form
    assert recharge_form["customer"].value() == str(customer)


@pytest.mark.parametrize("url", BALANCE_URLS)
def test_the_balance_of_the_picked_customer(client, customer, url):
    balance_recharge(customer_id=customer.pk, amount="1234.50", actor=None)
    client.force_login(role_user(FINANCE))
    assert client.get(url, {"customer": str(customer)}).json() == {"ok": True, "balance": "¥1,234.50"}
    assert client.get(url, {"customer": customer.mobile}).json()["ok"]
    assert client.get(url, {"customer": "nobody"}).json() == {"ok": False, "error": "请从建议中选择客户。"}


@pytest.mark.parametrize("url", BALANCE_URLS)
@pytest.mark.parametrize("role", [CUSTOMER_SERVICE, OPERATIONS])
def test_only_who_may_move_money_reads_balances_there(client, customer, url, role):
    client.force_login(role_user(role))
    assert client.get(url, {"customer": customer.mobile}).status_code == 403
