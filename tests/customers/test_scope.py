"""Data scope: each staff member sees the customers their roles' widest scope covers (all, their team
tree, their team, their own), on every read path, and the services refuse the rest."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from customers import selectors
from customers.admin import LedgerEntryResource
from customers.errors import CustomerOutOfScope
from customers.models import Customer, LedgerEntry
from customers.selectors import customers_visible_to, visible_to
from customers.services import balance_debit, balance_recharge
from orders.admin import OrderResource
from orders.models import Order, Product
from orders.services import order_cancel, order_claim, order_fail, order_place, order_retry
from rbac.models import RoleScope, StaffProfile, Team
from rbac.roles import CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, FINANCE
from rbac.scope import user_scope
from rbac.services import roles_setup
from tests.factories import CustomerFactory
from tests.imports import row_errors, upload, xlsx_file
from tests.orders.test_exports import LEDGER_EXPORT, ORDER_EXPORT, export
from tests.roles import role_user

pytestmark = pytest.mark.django_db

AUTOCOMPLETE = reverse("admin:autocomplete")


@pytest.fixture
def world(product):
    """Team 一组 with 二组 below it, and 三组 beside them; a lead of 一组, an account manager in each
    team, a finance user; a customer of each staff member, and one nobody owns."""
    first = Team.objects.create(name="一组")
    second = Team.objects.create(name="二组", parent=first)
    third = Team.objects.create(name="三组")
    users = {
        "lead": role_user(CUSTOMER_SERVICE_LEAD, username="lead", scoped=True),
        "am1": role_user(CUSTOMER_SERVICE, username="am1", scoped=True),
        "am2": role_user(CUSTOMER_SERVICE, username="am2", scoped=True),
        "am3": role_user(CUSTOMER_SERVICE, username="am3", scoped=True),
        "finance": role_user(FINANCE, username="fin", scoped=True),
    }
    for name, team in (("lead", first), ("am1", first), ("am2", second), ("am3", third)):
        StaffProfile.objects.create(user=users[name], team=team)
    # am1 also holds a role of scope "team": the widest of own and team is team.
    team_role = Group.objects.create(name="team scope")
    RoleScope.objects.create(group=team_role, scope=RoleScope.Scope.TEAM)
    users["am1"].groups.add(team_role)
    customers = {}
    for index, owner in enumerate(("lead", "am1", "am2", "am3", None)):
        customer = CustomerFactory(name=f"客户{owner or 'none'}", mobile=f"1360000000{index}")
        customer.owner = users.get(owner)
        customer.save()
        balance_recharge(customer_id=customer.pk, amount="100", actor=None)
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
        customers[owner or "none"] = customer
    return users, customers


# whose customers each user sees: am1 has "team" (一组: lead and am1), the lead "team_tree" (一组 and 二组)
EXPECTED = {
    "lead": {"lead", "am1", "am2"},
    "am1": {"lead", "am1"},
    "am2": {"am2"},
    "am3": {"am3"},
    "finance": {"lead", "am1", "am2", "am3", "none"},
}


def names(customers, ids) -> set[str]:
    by_id = {customer.pk: key for key, customer in customers.items()}
    return {by_id[pk] for pk in ids}


def listed(client, url_name, **params) -> set[int]:
    response = client.get(reverse(url_name), params)
    if response.status_code == 400 and set(params) - {"q"}:  # Django refuses a lookup its filters do not offer
        return set()
    assert response.status_code == 200
    rows = response.context_data["cl"].result_list
    return {row.pk if isinstance(row, Customer) else row.customer_id for row in rows}


def opened(client, customers, url_name, rows) -> set[int]:
    """The customers whose row's page opens; every other answers 404."""
    seen = set()
    for customer_id, row_id in rows:
        status = client.get(reverse(url_name, args=[row_id])).status_code
        assert status in (200, 404), (url_name, status)
        if status == 200:
            seen.add(customer_id)
    return seen


def exported(client, customers, url, resource) -> set[int]:
    """The customers whose mobile is in the CSV export of the whole list."""
    text = export(client, url, resource, "csv").decode("utf-8")
    return {customer.pk for customer in customers.values() if customer.mobile in text}


def customer_rows(customers):
    return [(customer.pk, customer.pk) for customer in customers.values()]


def order_rows(customers):
    return [(order.customer_id, order.pk) for order in Order.objects.filter(customer__in=customers.values())]


def ledger_rows(customers):
    return [(entry.customer_id, entry.pk) for entry in LedgerEntry.objects.filter(customer__in=customers.values())]


READ_PATHS = {
    "customer list": lambda client, customers: listed(client, "admin:customers_customer_changelist"),
    "customer search": lambda client, customers: listed(client, "admin:customers_customer_changelist", q="客户"),
    "customer list, crafted owner filter": lambda client, customers: listed(
        client, "admin:customers_customer_changelist", owner__id__exact=customers["am3"].owner_id
    ),
    "order list": lambda client, customers: listed(client, "admin:orders_order_changelist"),
    "order list, crafted customer filter": lambda client, customers: listed(
        client, "admin:orders_order_changelist", customer__id__in=",".join(str(c.pk) for c in customers.values())
    ),
    "order search by mobile": lambda client, customers: {
        customer.pk for customer in customers.values()
        if listed(client, "admin:orders_order_changelist", q=customer.mobile)
    },
    "ledger list": lambda client, customers: listed(client, "admin:customers_ledgerentry_changelist"),
    "ledger list, crafted owner filter": lambda client, customers: listed(
        client, "admin:customers_ledgerentry_changelist", customer__owner__id=customers["am3"].owner_id
    ),
    "autocomplete": lambda client, customers: {
        int(result["id"])
        for result in client.get(
            AUTOCOMPLETE, {"term": "客户", "app_label": "orders", "model_name": "order", "field_name": "customer"}
        ).json()["results"]
    },
    "customer page": lambda client, customers: opened(
        client, customers, "admin:customers_customer_change", customer_rows(customers)
    ),
    "customer history": lambda client, customers: opened(
        client, customers, "admin:customers_customer_history", customer_rows(customers)
    ),
    "customer delete page": lambda client, customers: opened(
        client, customers, "admin:customers_customer_delete", customer_rows(customers)
    ),
    "order page": lambda client, customers: opened(client, customers, "admin:orders_order_change", order_rows(customers)),
    "ledger entry page": lambda client, customers: opened(
        client, customers, "admin:customers_ledgerentry_change", ledger_rows(customers)
    ),
    "order export": lambda client, customers: exported(client, customers, ORDER_EXPORT, OrderResource),
    "ledger export": lambda client, customers: exported(client, customers, LEDGER_EXPORT, LedgerEntryResource),
    "price preview": lambda client, customers: {
        customer.pk for customer in customers.values()
        if client.get(
            reverse("admin:orders_order_quote"),
            {"customer": customer.mobile, "product": Product.objects.get().pk, "quantity": 1},
        ).json()["ok"]
    },
}


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("who", EXPECTED)
def test_each_read_path_shows_exactly_the_scope(client, world, who, path):
    users, customers = world
    if who == "finance" and ("order" in path or path in ("customer delete page", "autocomplete", "price preview")):
        pytest.skip("finance has no such page")  # not a scope question: finance lacks the permission
    client.force_login(users[who])
    seen = names(customers, READ_PATHS[path](client, customers))
    if "crafted" in path:  # a crafted filter may narrow the list, never widen it
        assert seen <= EXPECTED[who]
    else:
        assert seen == EXPECTED[who]


@pytest.mark.parametrize("who", EXPECTED)
def test_the_selector_is_the_scope(world, who):
    users, customers = world
    assert names(customers, customers_visible_to(user=users[who]).values_list("pk", flat=True)) == EXPECTED[who]


@pytest.mark.parametrize("who", ["lead", "am1", "am2"])
def test_a_wide_scope_skips_the_hidden_customers_and_sees_the_same_rows(client, world, who, monkeypatch):
    """From WIDE_SCOPE_CUSTOMERS customers on, rows of a scope are those of no hidden customer (a faster plan
    for big scopes): the same rows as through the scope's own customers."""
    users, customers = world

    def rows(user):
        querysets = [visible_to(model.objects.all(), user=user) for model in (Order, LedgerEntry)]
        return [str(queryset.query) for queryset in querysets], [set(q.values_list("pk", flat=True)) for q in querysets]

    narrow_sql, narrow = rows(users[who])
    monkeypatch.setattr(selectors, "WIDE_SCOPE_CUSTOMERS", 1)
    user = type(users[who]).objects.get(pk=users[who].pk)  # the width is worked out once per user object
    wide_sql, wide = rows(user)
    assert all("NOT" not in sql for sql in narrow_sql) and all("NOT" in sql for sql in wide_sql)
    assert wide == narrow
    assert names(customers, {order.customer_id for order in Order.objects.filter(pk__in=wide[0])}) == EXPECTED[who]
    client.force_login(user)
    assert names(customers, listed(client, "admin:orders_order_changelist")) == EXPECTED[who]


def test_scopes_resolve_to_the_widest_role(world):
    users, _customers = world
    assert user_scope(users["am2"]) == "own"
    assert user_scope(users["am1"]) == "team"
    assert user_scope(users["lead"]) == "team_tree"
    assert user_scope(users["finance"]) == "all"
    users["am2"].is_superuser = True
    assert user_scope(users["am2"]) == "all"


def test_services_refuse_a_customer_outside_the_scope(world, product):
    users, customers = world
    am2, theirs = users["am2"], customers["am1"]
    order = Order.objects.get(customer=theirs)
    for call in (
        lambda: balance_recharge(customer_id=theirs.pk, amount="1", actor=am2),
        lambda: balance_debit(customer_id=theirs.pk, amount="1", actor=am2),
        lambda: order_place(customer_id=theirs.pk, product_id=product.pk, quantity=1, target="t", actor=am2),
        lambda: order_cancel(order_id=order.pk, actor=am2),
    ):
        with pytest.raises(CustomerOutOfScope):
            call()
    order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[order.pk])
    order_fail(order_id=order.pk, agent="a", error="x", transient=False)
    with pytest.raises(CustomerOutOfScope):
        order_retry(order_id=order.pk, actor=am2)
    with pytest.raises(CustomerOutOfScope):  # not even told that another's pending order is not failed
        order_retry(order_id=Order.objects.get(customer=customers["am3"]).pk, actor=am2)
    theirs.refresh_from_db()
    assert theirs.balance == 100 and not Order.objects.filter(retry_of=order).exists()
    # within the scope the same calls go through
    balance_recharge(customer_id=customers["am2"].pk, amount="1", actor=am2)
    order_retry(order_id=order.pk, actor=users["lead"])


def test_an_order_form_for_a_customer_outside_the_scope_writes_nothing(client, world, product):
    users, customers = world
    client.force_login(users["am2"])
    url = reverse("admin:orders_order_add")
    token = client.get(url).context["adminform"].form["idempotency_token"].value()
    before = Order.objects.count()
    response = client.post(url, {
        "customer": customers["am1"].mobile, "product": product.pk, "quantity": 1, "target": "t",
        "idempotency_token": token,
    })
    assert response.status_code == 200 and Order.objects.count() == before
    with translation.override("zh-hans"):
        assert gettext("This customer is not in your data scope.") in response.content.decode()


def test_moving_a_customer_moves_it_between_views_at_once(client, world):
    users, customers = world
    client.force_login(users["am3"])
    assert names(customers, listed(client, "admin:customers_customer_changelist")) == {"am3"}
    Customer.objects.filter(pk=customers["none"].pk).update(owner=users["am3"])
    assert names(customers, listed(client, "admin:customers_customer_changelist")) == {"am3", "none"}


def test_a_new_customer_is_its_creators_and_only_a_lead_chooses_owners(client, world, tier):
    users, customers = world
    client.force_login(users["am2"])
    add = reverse("admin:customers_customer_add")
    assert "owner" not in client.get(add).context["adminform"].form.fields
    client.post(add, {"name": "新客户", "mobile": "13700000001", "tier": tier.pk, "is_active": "on",
                      "ledger_entries-TOTAL_FORMS": "0", "ledger_entries-INITIAL_FORMS": "0"})
    assert Customer.objects.get(mobile="13700000001").owner == users["am2"]

    client.force_login(users["lead"])
    choices = client.get(add).context["adminform"].form.fields["owner"].queryset
    assert set(choices.values_list("username", flat=True)) == {"lead", "am1", "am2"}  # not am3 of 三组
    response = client.post(add, {"name": "越权", "mobile": "13700000002", "tier": tier.pk, "owner": users["am3"].pk,
                                 "ledger_entries-TOTAL_FORMS": "0", "ledger_entries-INITIAL_FORMS": "0"})
    assert response.status_code == 200 and not Customer.objects.filter(mobile="13700000002").exists()


def test_setup_roles_sets_the_default_scopes_and_keeps_an_administrators_choice(db):
    roles = roles_setup()
    assert roles[CUSTOMER_SERVICE].scope == "own" and roles[CUSTOMER_SERVICE_LEAD].scope == "team_tree"
    assert roles[FINANCE].scope == "all"
    RoleScope.objects.filter(group__name=CUSTOMER_SERVICE).update(scope="team")
    assert roles_setup()[CUSTOMER_SERVICE].scope == "team"
    assert roles_setup(reset=True)[CUSTOMER_SERVICE].scope == "own"


def test_imports_find_only_the_importers_customers(client, world, product, tier):
    users, customers = world
    client.force_login(users["am2"])
    mine, theirs = customers["am2"], customers["am1"]
    preview = upload(client, "orders_order", xlsx_file([
        ["mobile", "product", "quantity", "target"],
        [mine.mobile, product.code, 1, "t"],
        [theirs.mobile, product.code, 1, "t"],
    ]))
    assert list(row_errors(preview)) == [3]  # theirs is not found, as if it did not exist
    preview = upload(client, "customers_customer", xlsx_file([
        ["mobile", "name", "tier"], [theirs.mobile, "改名", tier.name], ["13700000009", "新客户", tier.name],
    ]))
    assert list(row_errors(preview)) == [2]
    theirs.refresh_from_db()
    assert theirs.name != "改名"


@pytest.mark.parametrize("who", ["lead", "am1", "am2", "am3"])
def test_the_dashboard_counts_the_scopes_orders(client, world, who):
    users, _customers = world
    client.force_login(users[who])
    today = client.get(reverse("dashboard_data"), {"days": 1}).json()
    assert today["days"][-1]["orders"] == today["today"]["orders"] == len(EXPECTED[who])
    assert sum(hour["orders"] for hour in today["hours"]) == len(EXPECTED[who])
