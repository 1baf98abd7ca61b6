import json
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse

from customers.models import Debit, MyLedgerEntry, Recharge
from customers.services import balance_recharge
from orders.models import MyOrder, Order
from orders.services import order_claim, order_fail, order_place
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, CUSTOMERS, FINANCE, OPERATIONS
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("proxy", [Recharge, Debit, MyLedgerEntry, MyOrder])
def test_proxy_permissions_exist_with_the_proxys_own_content_type(proxy):
    content_type = ContentType.objects.get_for_model(proxy, for_concrete_model=False)
    assert content_type.model == proxy._meta.model_name
    codenames = set(Permission.objects.filter(content_type=content_type).values_list("codename", flat=True))
    name = proxy._meta.model_name
    assert {f"add_{name}", f"change_{name}", f"delete_{name}", f"view_{name}"} <= codenames


def test_setup_roles_is_idempotent():
    call_command("setup_roles")
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    call_command("setup_roles")
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after
    assert set(after) == {ADMINISTRATORS, FINANCE, CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, OPERATIONS, CUSTOMERS}


def test_setup_roles_keeps_and_reports_a_permission_an_administrator_added(capsys):
    call_command("setup_roles")
    finance = Group.objects.get(name=FINANCE)
    finance.permissions.add(Permission.objects.get(codename="add_order"))
    call_command("setup_roles")
    assert finance.permissions.filter(codename="add_order").exists()
    assert "beyond the defaults, kept (--reset removes them): orders.add_order" in capsys.readouterr().out


def test_setup_roles_gives_back_what_a_role_lacks_and_says_so(capsys):
    call_command("setup_roles")
    finance = Group.objects.get(name=FINANCE)
    finance.permissions.remove(Permission.objects.get(codename="add_recharge"))
    capsys.readouterr()
    call_command("setup_roles")
    assert finance.permissions.filter(codename="add_recharge").exists()
    assert "added: customers.add_recharge" in capsys.readouterr().out


def test_setup_roles_reset_makes_a_role_exactly_its_defaults(capsys):
    call_command("setup_roles")
    finance = Group.objects.get(name=FINANCE)
    finance.permissions.add(Permission.objects.get(codename="add_order"))
    call_command("setup_roles", reset=True)
    assert not finance.permissions.filter(codename="add_order").exists()
    assert "removed: orders.add_order" in capsys.readouterr().out


def test_the_split_between_finance_and_customer_service():
    finance, service = role_user(FINANCE), role_user(CUSTOMER_SERVICE)
    assert finance.has_perms(["customers.add_recharge", "customers.add_debit", "customers.view_ledgerentry"])
    assert not finance.has_perm("orders.add_order") and not finance.has_perm("customers.change_customer")
    assert service.has_perms(["customers.change_customer", "orders.add_order", "orders.change_order"])
    assert not service.has_perm("customers.add_recharge") and not service.has_perm("customers.add_debit")


def test_demo_creates_one_login_per_role(rf):
    call_command("demo", password="demo-pass-1", customers=2, orders=0)
    from django.contrib.auth import authenticate

    request = rf.post("/admin/login/")  # the lockout needs the request (its address) to count on
    for username, group in [("finance", FINANCE), ("service", CUSTOMER_SERVICE), ("ops", OPERATIONS), ("alice", CUSTOMERS)]:
        user = authenticate(request, username=username, password="demo-pass-1")
        assert user is not None and user.is_staff and list(user.groups.values_list("name", flat=True)) == [group]
    assert authenticate(request, username="alice", password="demo-pass-1").customer is not None


# --- every admin URL, every role ------------------------------------------------------------------

URLS = {
    "customer-list": ("admin:customers_customer_changelist", None),
    "customer-add": ("admin:customers_customer_add", None),
    "customer-change": ("admin:customers_customer_change", "customer"),
    "customer-delete": ("admin:customers_customer_delete", "customer"),
    "tier-list": ("admin:customers_tier_changelist", None),
    "tier-add": ("admin:customers_tier_add", None),
    "ledger-list": ("admin:customers_ledgerentry_changelist", None),
    "ledger-change": ("admin:customers_ledgerentry_change", "entry"),
    "ledger-add": ("admin:customers_ledgerentry_add", None),
    "ledger-delete": ("admin:customers_ledgerentry_delete", "entry"),
    "ledger-export": ("admin:customers_ledgerentry_export", None),
    "recharge-list": ("admin:customers_recharge_changelist", None),
    "recharge-add": ("admin:customers_recharge_add", None),
    "debit-list": ("admin:customers_debit_changelist", None),
    "debit-add": ("admin:customers_debit_add", None),
    "myledger-list": ("admin:customers_myledgerentry_changelist", None),
    "product-list": ("admin:orders_product_changelist", None),
    "product-add": ("admin:orders_product_add", None),
    "order-list": ("admin:orders_order_changelist", None),
    "order-add": ("admin:orders_order_add", None),
    "order-change": ("admin:orders_order_change", "order"),
    "order-delete": ("admin:orders_order_delete", "order"),
    "order-quote": ("admin:orders_order_quote", None),
    "order-export": ("admin:orders_order_export", None),
    "myorder-list": ("admin:orders_myorder_changelist", None),
    "myorder-add": ("admin:orders_myorder_add", None),
    "myorder-change": ("admin:orders_myorder_change", "own_order"),
    "myorder-quote": ("admin:orders_myorder_quote", None),
    "lockout-list": ("admin:axes_accessattempt_changelist", None),
}
ALLOWED = {
    "superuser": set(URLS) - {"ledger-add", "ledger-delete", "order-delete", "myorder-list", "myorder-add",
                              "myorder-change", "myorder-quote", "myledger-list"},
    ADMINISTRATORS: set(URLS) - {"ledger-add", "ledger-delete", "order-delete", "myorder-list", "myorder-add",
                                 "myorder-change", "myorder-quote", "myledger-list"},
    FINANCE: {"customer-list", "customer-change", "ledger-list", "ledger-change", "ledger-export", "recharge-list",
              "recharge-add", "debit-list", "debit-add"},
    CUSTOMER_SERVICE: {"customer-list", "customer-add", "customer-change", "customer-delete", "tier-list",
                       "ledger-list", "ledger-change", "ledger-export", "product-list", "order-list", "order-add",
                       "order-change", "order-quote", "order-export"},
    OPERATIONS: {"ledger-list", "ledger-change", "ledger-export", "product-list", "order-list", "order-change",
                 "order-export"},
    CUSTOMERS: {"myorder-list", "myorder-add", "myorder-change", "myorder-quote", "myledger-list"},
}


@pytest.fixture
def world():
    product = ProductFactory()
    other = CustomerFactory()
    alice = CustomerFactory()
    for customer in (other, alice):
        balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    order = order_place(customer_id=other.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    own_order = order_place(customer_id=alice.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    return {"customer": other, "alice": alice, "order": order, "own_order": own_order,
            "entry": other.ledger_entries.first()}


def login(client, role, world):
    if role == "superuser":
        user = UserFactory(username="root", is_staff=True, is_superuser=True)
    else:
        user = role_user(role, customer=world["alice"] if role == CUSTOMERS else None)
    client.force_login(user)


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("url_key", list(URLS))
def test_permission_matrix(client, world, role, url_key):
    login(client, role, world)
    name, obj = URLS[url_key]
    url = reverse(name, args=[world[obj].pk] if obj else [])
    response = client.get(url)
    expected = 200 if url_key in ALLOWED[role] else 403
    assert response.status_code == expected, (role, url_key, response.status_code)


@pytest.mark.parametrize("role", list(ALLOWED))
def test_cancel_action_only_for_roles_that_may_change_orders(client, world, role):
    login(client, role, world)
    for name, key in (("admin:orders_order_changelist", "order"), ("admin:orders_myorder_changelist", "own_order")):
        client.post(reverse(name), {"action": "cancel_selected", "_selected_action": [world[key].pk]})
    statuses = dict(Order.objects.values_list("pk", "status"))
    cancelled = {key for key in ("order", "own_order") if statuses[world[key].pk] == "cancelled"}
    expected = {"superuser": {"order"}, ADMINISTRATORS: {"order"}, CUSTOMER_SERVICE: {"order"}, CUSTOMERS: {"own_order"}}
    assert cancelled == expected.get(role, set())


@pytest.mark.parametrize("role", list(ALLOWED))
def test_retry_action_only_for_roles_that_may_retry(client, world, role):
    failed = {}
    for key in ("order", "own_order"):
        order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[world[key].pk])
        failed[key] = order_fail(order_id=world[key].pk, agent="a", error="x", transient=False)
    login(client, role, world)
    for name, key in (("admin:orders_order_changelist", "order"), ("admin:orders_myorder_changelist", "own_order")):
        client.post(reverse(name), {"action": "retry_selected", "_selected_action": [failed[key].pk]})
    retried = {key for key in failed if Order.objects.filter(token=f"retry-{failed[key].order_no}").exists()}
    may_retry = role in {"superuser", ADMINISTRATORS, OPERATIONS}
    assert retried == ({"order"} if may_retry else set())
    offered = "retry_selected" in client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert offered == may_retry


@pytest.mark.parametrize("role", list(ALLOWED))
def test_delete_and_add_posts_are_refused_without_permission(client, world, role):
    login(client, role, world)
    client.post(reverse("admin:customers_customer_delete", args=[world["customer"].pk]), {"post": "yes"})
    client.post(reverse("admin:customers_ledgerentry_delete", args=[world["entry"].pk]), {"post": "yes"})
    client.post(reverse("admin:customers_recharge_add"),
                {"customer": world["customer"].mobile, "amount": "5", "idempotency_token": f"t-{role}"})
    assert world["entry"].__class__.objects.filter(pk=world["entry"].pk).exists()
    recharged = world["customer"].ledger_entries.filter(token=f"t-{role}").exists()
    assert recharged == (role in {"superuser", ADMINISTRATORS, FINANCE})


# --- menus ----------------------------------------------------------------------------------------


def menu_of(client) -> list[dict]:
    html = client.get(reverse("admin:index")).content.decode()
    return json.loads(re.search(r"var menus=(\[.*?\])</script>", html, re.S).group(1))


def menu_urls(menus) -> set[str]:
    return {item["url"] for menu in menus for item in menu.get("models", [])}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_menu_shows_exactly_the_lists_the_role_may_open(client, world, role):
    login(client, role, world)
    urls = menu_urls(menu_of(client))
    lists = {reverse(name) for key, (name, obj) in URLS.items() if key.endswith("-list") and key in ALLOWED[role]}
    assert lists <= urls
    forbidden = {reverse(name) for key, (name, obj) in URLS.items() if key.endswith("-list") and key not in ALLOWED[role]}
    assert not urls & forbidden


def test_every_menu_entry_has_an_icon_of_its_own(client, world):
    login(client, "superuser", world)
    icons = [item["icon"] for menu in menu_of(client) for item in menu["models"]]
    assert len(icons) >= 13 and len(set(icons)) == len(icons)
    assert "far fa-circle" not in icons


def test_showing_the_menu_does_not_write_the_session(client, world):
    login(client, "superuser", world)
    response = client.get(reverse("admin:index"))
    assert menu_urls(menu_of(client))
    assert not response.wsgi_request.session.modified
    assert "_menus" not in client.session


def test_customer_menu_is_my_orders_and_my_ledger(client, world):
    login(client, CUSTOMERS, world)
    assert menu_urls(menu_of(client)) == {
        reverse("admin:orders_myorder_changelist"),
        reverse("admin:customers_myledgerentry_changelist"),
        reverse("admin:core_exportjob_changelist"),  # her own big exports of her orders
    }


def test_menu_follows_a_permission_change(client, world):
    user = role_user(OPERATIONS)
    client.force_login(user)
    assert reverse("admin:orders_order_add") not in str(menu_of(client))
    assert reverse("admin:customers_recharge_changelist") not in menu_urls(menu_of(client))
    user.groups.add(Group.objects.get(name=FINANCE))
    assert reverse("admin:customers_recharge_changelist") in menu_urls(menu_of(client))


@pytest.mark.django_db
def test_refusals_and_missing_pages_answer_in_chinese(client):
    client.force_login(role_user(CUSTOMER_SERVICE))
    forbidden = client.get(reverse("admin:customers_recharge_add"))
    assert forbidden.status_code == 403 and "无权访问" in forbidden.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "未找到" in missing.content.decode()


@pytest.mark.django_db
def test_no_menu_text_can_end_the_menu_script(client, monkeypatch):
    payload = "</script><script>window.__xss=1</script><!--"
    monkeypatch.setattr(
        "rbac.templatetags.rbac_menus.menu_for", lambda request: [{"name": payload, "icon": "", "models": []}]
    )
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:index")).content.decode()
    assert payload not in html
    assert json.loads(re.search(r"var menus=(\[.*?\])</script>", html, re.S).group(1))[0]["name"] == payload
