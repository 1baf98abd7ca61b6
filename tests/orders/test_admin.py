import threading
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.errors import DomainError
from customers.models import LedgerEntry
from customers.services import balance_recharge
from orders.admin import OrderAdmin
from orders.models import Order
from orders.services import order_cancel, order_place, order_refund_complete, order_retry
from rbac.roles import CUSTOMER_SERVICE, CUSTOMERS, OPERATIONS
from tests.factories import CustomerFactory, ProductFactory, TierFactory
from tests.roles import role_user

ADD_URL = reverse("admin:orders_order_add")
LIST_URL = reverse("admin:orders_order_changelist")


def funded(customer, amount="100.00"):
    balance_recharge(customer_id=customer.pk, amount=amount, actor=None)
    customer.refresh_from_db()
    return customer


@pytest.fixture
def service_client(client, db):
    client.force_login(role_user(CUSTOMER_SERVICE))
    return client


def order_post(customer, product, /, **overrides):
    data = {
        "customer": str(customer),
        "product": product.pk,
        "quantity": "2",
        "target": "13800000000",
        "memo": "",
        "idempotency_token": "tok-1",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_add_form_places_one_order_and_charges_it(service_client, customer, product):
    funded(customer)
    response = service_client.post(ADD_URL, order_post(customer, product))
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert (order.customer, order.quantity, order.amount, order.status) == (customer, 2, Decimal("20.00"), "pending")
    assert LedgerEntry.objects.filter(order=order, kind="charge").count() == 1


def test_add_form_accepts_a_bare_mobile(service_client, customer, product):
    funded(customer)
    response = service_client.post(ADD_URL, order_post(customer, product, customer=customer.mobile))
    assert response.status_code == 302
    assert Order.objects.get().customer == customer


def test_add_form_renders_a_fresh_token_and_the_datalist_widget(service_client):
    first = service_client.get(ADD_URL).content.decode()
    second = service_client.get(ADD_URL).content.decode()
    token = 'name="idempotency_token"'
    assert token in first
    assert 'list="id_customer_datalist"' in first and '<datalist id="id_customer_datalist">' in first
    assert first.split(token)[1][:60] != second.split(token)[1][:60]


def test_add_form_offers_active_products_with_no_links_to_edit_them(admin_client, product):
    retired = ProductFactory(is_active=False)
    page = admin_client.get(ADD_URL).content.decode()
    select = page.split('<select name="product"')[1].split("</select>")[0]
    assert f'value="{product.pk}"' in select and f'value="{retired.pk}"' not in select
    # Not even for who may edit products (the admin's add, change and view links cost a permission check each).
    assert "related-widget-wrapper" not in page and "_id_product" not in page


def test_add_form_labels_read_as_labels_in_either_language(service_client):
    english = service_client.get(ADD_URL, headers={"accept-language": "en"}).content.decode()
    assert all(f'">{label}:</label>' in english for label in ("Customer", "Product", "Quantity"))
    chinese = service_client.get(ADD_URL, headers={"accept-language": "zh-hans"}).content.decode()
    assert all(f'">{label}:</label>' in chinese for label in ("客户", "产品", "数量"))


def test_double_submit_places_one_order_and_one_charge(service_client, customer, product):
    funded(customer)
    data = order_post(customer, product)
    assert service_client.post(ADD_URL, data).status_code == 302
    assert service_client.post(ADD_URL, data).status_code == 302
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    customer.refresh_from_db()
    assert customer.balance == Decimal("80.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_places_one_order(product):
    customer = funded(CustomerFactory(tier=TierFactory()))
    user = role_user(CUSTOMER_SERVICE)
    data = order_post(customer, product)
    statuses = []

    def submit():
        client = Client()
        client.force_login(user)
        statuses.append(client.post(ADD_URL, data).status_code)
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302]
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="charge").count() == 1


def test_balance_spent_before_save_is_a_form_error_and_writes_nothing(service_client, customer, product):
    funded(customer, "25.00")
    order_place(customer_id=customer.pk, product_id=product.pk, quantity=2, target="x", actor=None)  # 20 spent
    entries = LedgerEntry.objects.count()
    response = service_client.post(ADD_URL, order_post(customer, product))
    assert response.status_code == 200
    assert "Insufficient balance" in response.content.decode() or "余额不足" in response.content.decode()
    assert response.context["adminform"].form.errors
    assert Order.objects.count() == 1 and LedgerEntry.objects.count() == entries
    customer.refresh_from_db()
    assert customer.balance == Decimal("5.00")


def test_product_deactivated_before_save_is_a_form_error_and_writes_nothing(service_client, customer, product):
    funded(customer)
    product.is_active = False
    product.save()
    response = service_client.post(ADD_URL, order_post(customer, product))
    assert response.status_code == 200
    assert "product" in response.context["adminform"].form.errors
    assert not Order.objects.exists()
    assert LedgerEntry.objects.count() == 1
    assert not [m for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    "field, value",
    [
        ("quantity", "abc"),
        ("quantity", "-1"),
        ("quantity", "0"),
        ("quantity", "1.5"),
        ("quantity", "1e99"),
        ("quantity", "99999999999999999999"),
        ("customer", "nobody at all"),
        ("customer", "19999999999"),
        ("product", "abc"),
        ("product", "999999"),
        ("target", ""),
        ("idempotency_token", "x" * 200),
    ],
)
def test_bad_input_is_a_form_error_never_a_500(service_client, customer, product, field, value):
    funded(customer)
    response = service_client.post(ADD_URL, order_post(customer, product, **{field: value}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Order.objects.exists()


def test_quantity_outside_the_product_range_is_a_quantity_error(service_client, customer):
    funded(customer)
    product = ProductFactory(max_quantity=5)
    response = service_client.post(ADD_URL, order_post(customer, product, quantity="6"))
    assert "quantity" in response.context["adminform"].form.errors


def test_ambiguous_customer_name_is_a_field_error(service_client, product):
    CustomerFactory(name="王伟")
    CustomerFactory(name="王伟")
    response = service_client.post(ADD_URL, order_post(CustomerFactory(), product, customer="王伟"))
    assert "customer" in response.context["adminform"].form.errors


def test_quote_view_previews_the_price(service_client, customer, product):
    customer.tier.discount_percent = Decimal("10")
    customer.tier.save()
    funded(customer)
    url = reverse("admin:orders_order_quote")
    data = service_client.get(url, {"customer": customer.mobile, "product": product.pk, "quantity": "3"}).json()
    assert data == {
        "ok": True,
        "unit_price": "¥10.00",
        "list_amount": "¥30.00",
        "discount_percent": "10.00",
        "amount": "¥27.00",
        "balance": "¥100.00",
    }
    bad = service_client.get(url, {"customer": customer.mobile, "product": product.pk, "quantity": "abc"}).json()
    assert bad["ok"] is False and bad["error"]
    assert service_client.get(url, {"customer": "x", "product": "y"}).json()["ok"] is False


def test_change_form_edits_only_the_memo(service_client, customer, product):
    funded(customer)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    url = reverse("admin:orders_order_change", args=[order.pk])
    events = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"}  # the read-only status history inline
    response = service_client.post(url, {"memo": "call back", "quantity": "99", "_save": "Save", **events})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.memo, order.quantity) == ("call back", 1)


def test_cancel_selected_reports_each_order(service_client, customer, product):
    funded(customer)
    pending = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    done = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    from orders.services import order_cancel

    order_cancel(order_id=done.pk, actor=None)
    response = service_client.post(
        LIST_URL, {"action": "cancel_selected", "_selected_action": [pending.pk, done.pk]}, follow=True
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(texts) == 2
    assert any(pending.order_no in t for t in texts) and any(done.order_no in t for t in texts)
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    customer.refresh_from_db()
    assert customer.balance == Decimal("100.00")


def test_retry_selected_reports_each_order(client, customer, product):
    from orders.services import order_claim, order_fail

    client.force_login(role_user(OPERATIONS))
    funded(customer)
    failed = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[failed.pk])
    order_fail(order_id=failed.pk, agent="a", error="x", transient=False)
    pending = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)

    response = client.post(LIST_URL, {"action": "retry_selected", "_selected_action": [failed.pk, pending.pk]}, follow=True)
    levels = {m.level_tag: str(m) for m in get_messages(response.wsgi_request)}
    retry = Order.objects.get(token=f"retry-{failed.order_no}")
    assert failed.order_no in levels["success"] and retry.order_no in levels["success"]
    assert pending.order_no in levels["warning"]
    assert Order.objects.count() == 3


def test_an_action_on_more_orders_than_it_handles_does_nothing(service_client, customer, product, monkeypatch):
    import orders.admin

    monkeypatch.setattr(orders.admin, "ACTION_AT_MOST", 1)
    funded(customer)
    orders = [order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None) for _ in range(2)]
    response = service_client.post(
        LIST_URL, {"action": "cancel_selected", "_selected_action": [o.pk for o in orders]}, follow=True
    )
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    assert set(Order.objects.values_list("status", flat=True)) == {"pending"}


def test_names_are_escaped_in_the_list_and_the_widget(service_client, product):
    evil = funded(CustomerFactory(name="<script>alert(1)</script>"))
    order = order_place(customer_id=evil.pk, product_id=product.pk, quantity=1, target="<b>t</b>", actor=None)
    html = service_client.get(LIST_URL).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    html = service_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "<script>alert(1)" not in html and "<b>t</b>" not in html
    response = service_client.post(ADD_URL, order_post(evil, product, quantity="abc"))
    html = response.content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; (" in html


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "20250101000000000000000"},
        {"q": "13900000001"},
        {"q": "王"},
        {"status__exact": "pending"},
        {"customer__tier__id__exact": "1"},
        {"created_at__year": "2025"},
        {"created_at__year": "abc"},
        {"p": "999"},
        {"o": "zz"},
    ],
)
def test_order_list_pages_render_with_constant_queries(service_client, product, query):
    customer = funded(CustomerFactory(tier=TierFactory()), "1000.00")
    for _ in range(3):
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    service_client.get(LIST_URL, query)  # the first request also caches the user's permissions
    with CaptureQueriesContext(connection) as few:
        response = service_client.get(LIST_URL, query)
    assert response.status_code in (200, 302)
    for _ in range(OrderAdmin.list_per_page - 5):  # more rows, still one page: "p=999" is then the same answer
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    with CaptureQueriesContext(connection) as many:
        service_client.get(LIST_URL, query)
    assert len(many) == len(few)
    assert not any("COUNT(*)" in q["sql"] and "LIMIT" not in q["sql"] for q in many.captured_queries if "orders_order" in q["sql"])


def test_search_maps_terms_to_indexed_lookups(service_client, product):
    wang = funded(CustomerFactory(name="王伟", mobile="13912345678"))
    li = funded(CustomerFactory(name="李王", mobile="13987654321"))
    a = order_place(customer_id=wang.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    b = order_place(customer_id=li.pk, product_id=product.pk, quantity=1, target="t", actor=None)

    def found(term):
        return set(service_client.get(LIST_URL, {"q": term}).context_data["cl"].result_list)

    assert found(a.order_no) == {a}
    assert found("13987654321") == {b}
    assert found("王") == {a}  # prefix, not contains
    assert found("1398765") == set()  # a partial mobile is a name prefix, matching nobody


def test_search_also_finds_orders_by_their_target_exactly(service_client, product):
    wang = funded(CustomerFactory(name="王伟", mobile="13912345678"))
    li = funded(CustomerFactory(name="李王", mobile="13987654321"))
    for_li = order_place(customer_id=wang.pk, product_id=product.pk, quantity=1, target="13987654321", actor=None)
    lis = order_place(customer_id=li.pk, product_id=product.pk, quantity=1, target="game-42", actor=None)

    def found(term):
        return set(service_client.get(LIST_URL, {"q": term}).context_data["cl"].result_list)

    assert found("13987654321") == {for_li, lis}  # Li's own order, and the one topping up her phone
    assert found("game-42") == {lis}
    assert found("game-4") == set()  # exactly, not a prefix
    assert found("王") == {for_li}  # the name prefix still


def test_a_customer_searches_her_orders_by_number_or_target(client, product):
    alice = funded(CustomerFactory(name="Alice", mobile="13911112222"))
    tv = order_place(customer_id=alice.pk, product_id=product.pk, quantity=1, target="alice-tv", actor=None)
    phone = order_place(customer_id=alice.pk, product_id=product.pk, quantity=1, target="13911112222", actor=None)
    other = funded(CustomerFactory())
    order_place(customer_id=other.pk, product_id=product.pk, quantity=1, target="alice-tv", actor=None)
    client.force_login(role_user(CUSTOMERS, customer=alice))

    def found(term):
        return set(client.get(reverse("admin:orders_myorder_changelist"), {"q": term}).context_data["cl"].result_list)

    assert found("alice-tv") == {tv}
    assert found(phone.order_no) == {phone}
    assert found("13911112222") == {phone}  # the target, not every order of her own mobile
    assert found("Alice") == set()


def test_customer_sees_only_own_orders_and_404_for_others(client, product):
    alice = funded(CustomerFactory())
    bob = funded(CustomerFactory())
    mine = order_place(customer_id=alice.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    theirs = order_place(customer_id=bob.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    client.force_login(role_user(CUSTOMERS, customer=alice))
    listing = client.get(reverse("admin:orders_myorder_changelist"))
    assert list(listing.context_data["cl"].result_list) == [mine]
    assert client.get(reverse("admin:orders_myorder_change", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:orders_myorder_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:orders_myorder_history", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:orders_order_change", args=[theirs.pk])).status_code == 403
    # The cancel action only reaches their own orders.
    client.post(
        reverse("admin:orders_myorder_changelist"),
        {"action": "cancel_selected", "_selected_action": [mine.pk, theirs.pk]},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("cancelled", "pending")


def test_customer_places_own_order_without_a_customer_field(client, product):
    alice = funded(CustomerFactory())
    client.force_login(role_user(CUSTOMERS, customer=alice))
    url = reverse("admin:orders_myorder_add")
    assert 'name="customer"' not in client.get(url).content.decode()
    data = {"product": product.pk, "quantity": "1", "target": "t", "idempotency_token": "my-1", "customer": "999"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert list(Order.objects.values_list("customer_id", flat=True)) == [alice.pk]


def test_a_refused_order_leaves_its_token_for_the_corrected_save(service_client, customer):
    funded(customer)
    product = ProductFactory(max_quantity=5)
    refused = service_client.post(ADD_URL, order_post(customer, product, quantity="6"))
    assert refused.status_code == 200 and "quantity" in refused.context["adminform"].form.errors
    assert 'value="tok-1"' in refused.content.decode()  # the page shown again keeps the submission's token
    assert not Order.objects.exists() and LedgerEntry.objects.count() == 1
    assert service_client.post(ADD_URL, order_post(customer, product, quantity="5")).status_code == 302
    assert service_client.post(ADD_URL, order_post(customer, product, quantity="5")).status_code == 302
    order = Order.objects.get()
    assert (order.quantity, LedgerEntry.objects.filter(kind="charge").count()) == (5, 1)


def test_a_customers_refused_order_is_a_field_error_and_writes_nothing(client, db):
    alice = funded(CustomerFactory())
    client.force_login(role_user(CUSTOMERS, customer=alice))
    product = ProductFactory(max_quantity=5)
    data = {"product": product.pk, "quantity": "6", "target": "t", "idempotency_token": "my-1"}
    response = client.post(reverse("admin:orders_myorder_add"), data)
    assert response.status_code == 200 and "quantity" in response.context["adminform"].form.errors
    assert not Order.objects.exists() and LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    "action, role", [("cancel_selected", CUSTOMER_SERVICE), ("retry_selected", OPERATIONS), ("refund_owed_selected", OPERATIONS)]
)
def test_an_action_makes_no_query_per_selected_order_beyond_its_service_call(client, customer, product, action, role):
    """What the action adds per selected order is its one service call: loading the selection is constant.
    (Retry and refund refuse these pending orders: a refusal is a service call too.)"""
    user = role_user(role)
    client.force_login(user)
    funded(customer, "1000.00")
    orders = [order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None) for _ in range(23)]
    service = {"cancel_selected": order_cancel, "retry_selected": order_retry, "refund_owed_selected": order_refund_complete}[action]
    per_call = []
    for order in orders[:3]:  # the service's own queries, called directly (the second and third alike)
        with CaptureQueriesContext(connection) as one:
            try:
                service(order_id=order.pk, actor=user, address="127.0.0.1")
            except DomainError:
                pass
        per_call.append(len(one))
    assert per_call[1] == per_call[2]

    def action_queries(selected):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(LIST_URL, {"action": action, "_selected_action": [o.pk for o in selected]})
        assert response.status_code == 302
        return len(queries)

    client.get(LIST_URL)  # the first request also caches the user's permissions
    two, eighteen = action_queries(orders[3:5]), action_queries(orders[5:23])
    assert eighteen - two == (18 - 2) * per_call[2]


def test_the_order_number_pattern_matches_what_the_service_makes():
    from orders.admin import ORDER_NO_RE
    from orders.services import order_no_new

    assert ORDER_NO_RE.fullmatch(order_no_new())


def failed_and_retried(customer, product):
    """A failed order (refunded) and its retry."""
    from orders.services import order_claim, order_fail

    failed = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="fail-1", actor=None)
    order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[failed.pk])
    order_fail(order_id=failed.pk, agent="a", error="x", transient=False)
    return failed, order_retry(order_id=failed.pk, actor=None)


def test_a_retried_order_and_its_retry_link_to_each_other_on_staff_pages(client, customer, product):
    client.force_login(role_user(OPERATIONS))
    funded(customer)
    failed, retry = failed_and_retried(customer, product)

    def page(order):
        return client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    link = '<a href="{}">{}</a>'
    failed_page, retry_page = page(failed), page(retry)
    assert "field-retried_as_order" in failed_page and "field-retry_of" not in failed_page
    assert link.format(reverse("admin:orders_order_change", args=[retry.pk]), retry.order_no) in failed_page
    assert "field-retry_of" in retry_page and "field-retried_as_order" not in retry_page
    assert link.format(reverse("admin:orders_order_change", args=[failed.pk]), failed.order_no) in retry_page


def test_an_order_never_retried_shows_no_retry_rows(service_client, customer, product):
    funded(customer)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    html = service_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "field-retry_of" not in html and "field-retried_as_order" not in html


def test_a_customer_follows_her_retry_on_her_own_order_pages(client, customer, product):
    funded(customer)
    failed, retry = failed_and_retried(customer, product)
    client.force_login(role_user(CUSTOMERS, customer=customer))

    failed_page = client.get(reverse("admin:orders_myorder_change", args=[failed.pk])).content.decode()
    retry_page = client.get(reverse("admin:orders_myorder_change", args=[retry.pk])).content.decode()
    assert f'<a href="{reverse("admin:orders_myorder_change", args=[retry.pk])}">{retry.order_no}</a>' in failed_page
    assert f'<a href="{reverse("admin:orders_myorder_change", args=[failed.pk])}">{failed.order_no}</a>' in retry_page
    assert "/admin/orders/order/" not in failed_page + retry_page  # staff's pages answer her 403


def test_a_customer_reads_her_placed_order_but_cannot_change_its_memo(client, customer, product):
    funded(customer)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None, memo="mine")
    client.force_login(role_user(CUSTOMERS, customer=customer))
    url = reverse("admin:orders_myorder_change", args=[order.pk])

    html = client.get(url).content.decode()
    assert 'name="memo"' not in html and "mine" in html
    assert client.post(url, {"memo": "changed", "_save": "Save"}).status_code == 403
    order.refresh_from_db()
    assert order.memo == "mine"
    # Cancelling from her list still works.
    client.post(reverse("admin:orders_myorder_changelist"), {"action": "cancel_selected", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == "cancelled"
