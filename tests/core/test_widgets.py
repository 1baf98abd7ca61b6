import pytest
from django.urls import reverse

from customers.forms import RechargeForm
from orders.forms import OrderPlaceForm
from rbac.roles import CUSTOMER_SERVICE, CUSTOMERS, FINANCE, OPERATIONS
from tests.factories import CustomerFactory
from tests.roles import role_user

pytestmark = pytest.mark.django_db
AUTOCOMPLETE = reverse("admin:autocomplete")


def suggest(client, term, model_name="order", app_label="orders"):
    return client.get(AUTOCOMPLETE, {"term": term, "app_label": app_label, "model_name": model_name, "field_name": "customer"})


def test_suggestions_by_name_prefix_or_mobile_at_most_20(client):
    for i in range(25):
        CustomerFactory(name=f"张{i:02d}", mobile=f"1370000{i:04d}")
    CustomerFactory(name="李四", mobile="13911112222")
    client.force_login(role_user(CUSTOMER_SERVICE))
    by_name = suggest(client, "张").json()
    assert len(by_name["results"]) == 20 and by_name["pagination"]["more"] is True
    assert all(r["text"].startswith("张") for r in by_name["results"])
    assert [r["text"] for r in suggest(client, "1391111").json()["results"]] == ["李四 (13911112222)"]
    assert [r["text"] for r in suggest(client, "222").json()["results"]] == ["李四 (13911112222)"]


@pytest.mark.parametrize(
    "role, source, allowed",
    [
        (CUSTOMER_SERVICE, ("orders", "order"), True),
        (FINANCE, ("customers", "recharge"), True),
        (FINANCE, ("customers", "debit"), True),
        (OPERATIONS, ("orders", "order"), False),
        (CUSTOMERS, ("orders", "order"), False),
    ],
)
def test_suggestions_are_permission_checked(client, role, source, allowed):
    CustomerFactory(name="王五")
    client.force_login(role_user(role, customer=CustomerFactory() if role == CUSTOMERS else None))
    response = suggest(client, "王", app_label=source[0], model_name=source[1])
    assert response.status_code == (200 if allowed else 403)


def test_suggestions_need_a_signed_in_staff_user(client):
    CustomerFactory(name="王五")
    assert suggest(client, "王").status_code == 302  # to the login page


def bound_customer(form_class, value):
    form = form_class(data={"customer": value})
    form.is_valid()  # the other fields' errors do not matter here
    return form.cleaned_data.get("customer"), form.errors.get("customer")


@pytest.mark.parametrize("form_class", [OrderPlaceForm, RechargeForm])
def test_accepts_a_label_or_a_bare_mobile(form_class):
    wang = CustomerFactory(name="王五", mobile="13911112222")
    CustomerFactory(name="王五", mobile="13911113333")
    assert bound_customer(form_class, "王五 (13911112222)") == (wang, None)
    assert bound_customer(form_class, " 13911112222 ") == (wang, None)


@pytest.mark.parametrize(
    "value",
    ["王五", "nobody", "13000000000", "王五 (13000000000)", "老王 (13911112222)", str(10**6), "<script>"],
)
def test_unknown_or_ambiguous_values_are_field_errors(value):
    CustomerFactory(name="王五", mobile="13911112222")
    CustomerFactory(name="王五", mobile="13911113333")
    customer, errors = bound_customer(OrderPlaceForm, value)
    assert customer is None and errors


def test_a_unique_exact_name_is_accepted():
    only = CustomerFactory(name="赵六")
    assert bound_customer(OrderPlaceForm, "赵六") == (only, None)


def test_renders_the_label_not_the_primary_key_and_escapes_it():
    evil = CustomerFactory(name="<script>alert(1)</script>", mobile="13911112222")
    html = str(RechargeForm(initial={"customer": evil.pk})["customer"])
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt; (13911112222)"' in html
    assert "<script>" not in html and f'value="{evil.pk}"' not in html
    assert 'id="id_customer"' in html and 'list="id_customer_datalist"' in html
    assert 'data-model-name="recharge"' in html and 'data-field-name="customer"' in html


def test_add_page_loads_the_widget_script(client):
    client.force_login(role_user(FINANCE))
    html = client.get(reverse("admin:customers_recharge_add")).content.decode()
    assert "core/datalist.js" in html and '<datalist id="id_customer_datalist">' in html
    assert 'data-model-name="recharge"' in html
