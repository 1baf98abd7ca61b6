from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.db.models.signals import pre_save
from django.urls import reverse

from customers.models import Customer, LedgerEntry
from customers.services import balance_recharge
from orders.services import order_place
from rbac.roles import CUSTOMER_SERVICE, CUSTOMERS, FINANCE
from tests.factories import CustomerFactory, UserFactory
from tests.roles import role_user

RECHARGE_URL = reverse("admin:customers_recharge_add")
DEBIT_URL = reverse("admin:customers_debit_add")


@pytest.fixture
def finance_client(client, db):
    client.force_login(role_user(FINANCE))
    return client


def move(customer, /, amount="50.00", token="tok-1", **extra):
    return {"customer": str(customer), "amount": amount, "memo": "", "idempotency_token": token, **extra}


def test_recharge_form_calls_the_service(finance_client, customer):
    response = finance_client.post(RECHARGE_URL, move(customer, customer=customer.mobile))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.balance == Decimal("50.00")
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.created_by.groups.get().name) == ("recharge", Decimal("50.00"), FINANCE)


def test_double_submitted_recharge_moves_money_once(finance_client, customer):
    assert finance_client.post(RECHARGE_URL, move(customer)).status_code == 302
    assert finance_client.post(RECHARGE_URL, move(customer)).status_code == 302
    customer.refresh_from_db()
    assert customer.balance == Decimal("50.00") and LedgerEntry.objects.count() == 1


def test_debit_beyond_the_balance_is_a_form_error_and_writes_nothing(finance_client, customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    response = finance_client.post(DEBIT_URL, move(customer, amount="10.01"))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert not list(get_messages(response.wsgi_request))
    customer.refresh_from_db()
    assert customer.balance == Decimal("10.00") and LedgerEntry.objects.count() == 1


def test_debit_takes_money(finance_client, customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    assert finance_client.post(DEBIT_URL, move(customer, amount="4.50")).status_code == 302
    customer.refresh_from_db()
    assert customer.balance == Decimal("5.50")
    assert list(finance_client.get(reverse("admin:customers_debit_changelist")).context_data["cl"].result_list) == [
        LedgerEntry.objects.get(kind="debit")
    ]


@pytest.mark.parametrize("amount", ["abc", "0", "-1", "0.001", "1e99", "NaN", "Infinity", "", "100000000"])
@pytest.mark.parametrize("url", [RECHARGE_URL, DEBIT_URL])
def test_bad_amounts_are_form_errors_never_a_500(finance_client, customer, url, amount):
    response = finance_client.post(url, move(customer, amount=amount))
    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    assert not LedgerEntry.objects.exists()


def test_unknown_customer_is_a_field_error(finance_client, customer):
    response = finance_client.post(RECHARGE_URL, move(customer, customer="13000000000"))
    assert "customer" in response.context["adminform"].form.errors


def test_recharge_of_an_inactive_customer_is_a_form_error(finance_client, customer):
    customer.is_active = False
    customer.save()
    response = finance_client.post(RECHARGE_URL, move(customer))
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not LedgerEntry.objects.exists()


def test_ledger_is_read_only_even_for_superusers(client, customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    entry = LedgerEntry.objects.get()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:customers_ledgerentry_add")).status_code == 403
    assert client.get(reverse("admin:customers_ledgerentry_delete", args=[entry.pk])).status_code == 403
    change = reverse("admin:customers_ledgerentry_change", args=[entry.pk])
    assert client.get(change).status_code == 200
    client.post(change, {"amount": "999", "kind": "recharge"})
    entry.refresh_from_db()
    assert entry.amount == Decimal("10.00")


def test_ledger_search_and_filters(client, customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    client.force_login(role_user(FINANCE))
    url = reverse("admin:customers_ledgerentry_changelist")
    for query, kinds in [
        ({"q": order.order_no}, {"charge"}),
        ({"q": customer.mobile}, {"recharge", "charge"}),
        ({"q": customer.name[:4]}, {"recharge", "charge"}),
        ({"kind__exact": "recharge"}, {"recharge"}),
        ({"created_at__year": "2020"}, set()),
    ]:
        response = client.get(url, query)
        assert response.status_code == 200
        assert {e.kind for e in response.context_data["cl"].result_list} == kinds


@pytest.fixture
def service_client(client, db):
    client.force_login(role_user(CUSTOMER_SERVICE))
    return client


def test_customer_form_shows_balance_read_only_and_recent_ledger(service_client, customer):
    for i in range(12):
        balance_recharge(customer_id=customer.pk, amount=str(i + 1), actor=None)
    response = service_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    html = response.content.decode()
    assert 'name="balance"' not in html
    formset = response.context["inline_admin_formsets"][0].formset
    assert [f.instance.amount for f in formset.forms] == [Decimal(n) for n in range(12, 2, -1)]


def test_editing_a_customer_never_writes_back_a_stale_balance(service_client, customer):
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = service_client.get(url).context["adminform"].form
    balance_recharge(customer_id=customer.pk, amount="30", actor=None)  # meanwhile
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update({"name": "renamed", "ledger_entries-TOTAL_FORMS": "0", "ledger_entries-INITIAL_FORMS": "0"})
    response = service_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert (customer.name, customer.balance) == ("renamed", Decimal("30.00"))


def test_deleting_a_customer_with_history_is_refused_clearly(service_client, customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    url = reverse("admin:customers_customer_delete", args=[customer.pk])
    assert service_client.get(url).status_code == 200
    response = service_client.post(url, {"post": "yes"})
    assert response.status_code in (200, 403)
    assert Customer.objects.filter(pk=customer.pk).exists()
    bulk = service_client.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "delete_selected", "_selected_action": [customer.pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_deleting_a_customer_without_history_works(service_client):
    customer = CustomerFactory()
    response = service_client.post(reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Customer.objects.filter(pk=customer.pk).exists()


def test_customer_sees_only_own_ledger(client, product):
    alice, bob = CustomerFactory(), CustomerFactory()
    for c in (alice, bob):
        balance_recharge(customer_id=c.pk, amount="10", actor=None)
    client.force_login(role_user(CUSTOMERS, customer=alice))
    rows = client.get(reverse("admin:customers_myledgerentry_changelist")).context_data["cl"].result_list
    assert {e.customer_id for e in rows} == {alice.pk}
    bobs = bob.ledger_entries.get()
    assert client.get(reverse("admin:customers_myledgerentry_change", args=[bobs.pk])).status_code == 404
    assert client.get(reverse("admin:customers_ledgerentry_changelist")).status_code == 403


def test_a_customers_own_entry_shows_what_it_means_to_her_not_staff_fields(client, db):
    alice = CustomerFactory()
    entry = balance_recharge(customer_id=alice.pk, amount="10", actor=None, token="tok-alice-1")
    client.force_login(role_user(CUSTOMERS, customer=alice))
    page = client.get(reverse("admin:customers_myledgerentry_change", args=[entry.pk])).content.decode()
    assert "¥10.00" in page
    assert "tok-alice-1" not in page and "幂等令牌" not in page and "创建人" not in page


def test_a_customer_sees_her_balance_on_her_home_page_and_staff_do_not(client, db):
    alice = CustomerFactory()
    balance_recharge(customer_id=alice.pk, amount="1234.5", actor=None)
    client.force_login(role_user(CUSTOMERS, customer=alice))
    page = client.get(reverse("dashboard")).content.decode()  # the home tab's page
    assert "我的余额" in page and "¥1,234.50" in page
    client.force_login(role_user(FINANCE))
    assert "我的余额" not in client.get(reverse("dashboard")).content.decode()


def test_customer_names_are_escaped(service_client):
    evil = CustomerFactory(name="<script>alert(1)</script>")
    for url in (reverse("admin:customers_customer_changelist"), reverse("admin:customers_customer_change", args=[evil.pk])):
        html = service_client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_a_login_account_taken_meanwhile_is_a_form_error_and_writes_nothing(service_client, customer):
    """The form checked the account; another customer-service save ties it to someone else just before
    this save reaches the login service (played here by a save signal): refused on the field, not a 500."""
    free = role_user(CUSTOMERS, username="free")
    other = CustomerFactory()

    def taken_meanwhile(sender, instance, **kwargs):
        Customer.objects.filter(pk=other.pk).update(user=free)

    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = service_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update({"name": "renamed", "login_account": free.pk, "ledger_entries-TOTAL_FORMS": "0", "ledger_entries-INITIAL_FORMS": "0"})
    pre_save.connect(taken_meanwhile, sender=Customer)
    try:
        response = service_client.post(url, data)
    finally:
        pre_save.disconnect(taken_meanwhile, sender=Customer)
    assert response.status_code == 200
    assert "login_account" in response.context["adminform"].form.errors
    assert not list(get_messages(response.wsgi_request))
    customer.refresh_from_db()
    other.refresh_from_db()
    assert (customer.name, customer.user, other.user) == (form.initial["name"], None, None)  # all rolled back


def test_a_username_taken_meanwhile_refuses_the_new_customer_whole(service_client, tier):
    def taken_meanwhile(sender, instance, **kwargs):
        UserFactory(username="zhang")

    data = {
        "name": "Zhang", "mobile": "13712345678", "email": "", "tier": tier.pk, "is_active": "on",
        "login_create": "on", "login_username": "zhang", "login_password": "a-long-pass-123",
        "ledger_entries-TOTAL_FORMS": "0", "ledger_entries-INITIAL_FORMS": "0",
    }
    pre_save.connect(taken_meanwhile, sender=Customer)
    try:
        response = service_client.post(reverse("admin:customers_customer_add"), data)
    finally:
        pre_save.disconnect(taken_meanwhile, sender=Customer)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() and form.instance.pk is None
    assert not Customer.objects.filter(mobile="13712345678").exists()
    assert not User.objects.filter(username="zhang").exists()


def test_a_refused_debit_shows_inside_the_form_s_error_card(finance_client, customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    page = finance_client.post(DEBIT_URL, move(customer, amount="10.01")).content.decode()
    card, refusal, fields = (page.index(mark) for mark in ('class="module form-errors"', "errorlist nonfield", "<fieldset"))
    assert card < refusal < fields
    assert "余额不足" in page[card:fields]


@pytest.mark.parametrize(
    ("url", "amount", "said"),
    [(RECHARGE_URL, "2.50", "已为 {customer} 充值 ¥2.50，当前余额 ¥12.50。"), (DEBIT_URL, "4.50", "已从 {customer} 扣款 ¥4.50，当前余额 ¥5.50。")],
)
def test_the_confirmation_says_the_new_balance(finance_client, customer, url, amount, said):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    response = finance_client.post(url, move(customer, amount=amount), follow=True)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [said.format(customer=customer)]


def test_save_and_add_another_comes_back_to_an_empty_form_with_the_confirmation(finance_client, customer):
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    response = finance_client.post(DEBIT_URL, move(customer, amount="1.00", _addanother="1"))
    assert response.status_code == 302 and response.url == DEBIT_URL
    page = finance_client.get(DEBIT_URL)
    assert "_continue" not in page.content.decode()  # a saved debit cannot be edited again
    assert len(list(get_messages(page.wsgi_request))) == 1


def test_toasts_read_left_to_right_instead_of_justified(finance_client):
    assert "core/admin.css" in finance_client.get(RECHARGE_URL).content.decode()
    css = open(finders.find("core/admin.css")).read()
    assert ".el-notification__content {\n    text-align: left;" in css
