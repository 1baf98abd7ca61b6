"""A customer's login may only be a customer account: customer service can neither offer nor tie a staff
account (finding 3: `admin` tied to a customer, then an SMS code, was a superuser's session)."""

import re
import threading

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.urls import reverse

from customers.errors import DomainError
from customers.models import Customer
from customers.services import customer_login_create, customer_login_set
from rbac.models import OperationLog
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMERS, FINANCE, OPERATIONS
from rbac.services import roles_setup
from tests.factories import CustomerFactory, TierFactory
from tests.roles import every_customer_role

pytestmark = pytest.mark.django_db
ADD = reverse("admin:customers_customer_add")
STAFF = ("superuser", "administrator", "finance", "service", "ops", "customer-and-finance", "customer-with-a-permission",
         "plain-staff")


def account(username: str, *roles: str, **flags):
    """An account in these role groups (no password: hashing one costs more than the whole test)."""
    user = User.objects.create(username=username, is_staff=True, **flags)
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def accounts():
    """One account of every kind; only "free" (and "taken", for its own customer) may be a login."""
    roles_setup()
    made = {
        "superuser": account("admin", is_superuser=True),
        "administrator": account("boss", ADMINISTRATORS),
        "finance": account("finance", FINANCE),
        "service": account("service", CUSTOMER_SERVICE),
        "ops": account("ops", OPERATIONS),
        "free": account("free", CUSTOMERS),
        "taken": account("taken", CUSTOMERS),
        "customer-and-finance": account("mixed", CUSTOMERS, FINANCE),
        "customer-with-a-permission": account("permitted", CUSTOMERS),
        "plain-staff": account("plain"),
    }
    CustomerFactory(mobile="13700000009", user=made["taken"])
    made["customer-with-a-permission"].user_permissions.add(Permission.objects.get(codename="add_recharge"))
    return made


@pytest.fixture
def service_client(client, accounts):
    accounts["service"].groups.add(every_customer_role())  # sees every customer (the data scope)
    client.force_login(accounts["service"])
    return client


def customer_data(**extra) -> dict:
    data = {
        "name": "Zhang",
        "mobile": "13712345678",
        "email": "",
        "tier": TierFactory().pk,
        "is_active": "on",
        "ledger_entries-TOTAL_FORMS": "0",
        "ledger_entries-INITIAL_FORMS": "0",
    }
    return {**data, **extra}


def offered(html: str) -> set[str]:
    select = re.search(r'<select name="login_account".*?</select>', html, re.S).group(0)
    return {label.strip() for value, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select)}


def test_the_form_offers_only_customer_accounts_nobody_else_has(service_client, accounts):
    assert offered(service_client.get(ADD).content.decode()) == {"free"}
    own = accounts["taken"].customer
    change = service_client.get(reverse("admin:customers_customer_change", args=[own.pk])).content.decode()
    assert offered(change) == {"free", "taken"}


@pytest.mark.parametrize("kind", [*STAFF, "taken"])
def test_a_forged_add_with_a_staff_or_taken_account_is_a_form_error_and_writes_nothing(service_client, accounts, kind):
    response = service_client.post(ADD, customer_data(login_account=accounts[kind].pk))
    assert response.status_code == 200
    assert "login_account" in response.context["adminform"].form.errors
    assert not Customer.objects.filter(mobile="13712345678").exists()


@pytest.mark.parametrize("kind", STAFF)
def test_a_forged_change_with_a_staff_account_is_a_form_error_and_writes_nothing(service_client, accounts, kind):
    customer = CustomerFactory(mobile="13712345678", name="Zhang")
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    response = service_client.post(url, customer_data(tier=customer.tier_id, name="renamed", login_account=accounts[kind].pk))
    assert response.status_code == 200
    assert "login_account" in response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert (customer.name, customer.user) == ("Zhang", None)


def test_fields_the_form_does_not_have_are_ignored(service_client, accounts):
    """The model's own `user` field, or the tied account's groups and flags, cannot be posted."""
    response = service_client.post(
        ADD,
        customer_data(user=accounts["superuser"].pk, login_account=accounts["free"].pk, groups=[1], is_superuser="on"),
    )
    assert response.status_code == 302
    customer = Customer.objects.get(mobile="13712345678")
    assert customer.user == accounts["free"]
    free = accounts["free"]
    free.refresh_from_db()
    assert not free.is_superuser and list(free.groups.values_list("name", flat=True)) == [CUSTOMERS]


def test_picking_a_free_account_ties_it_and_an_empty_choice_unties_it(service_client, accounts):
    assert service_client.post(ADD, customer_data(login_account=accounts["free"].pk)).status_code == 302
    customer = Customer.objects.get(mobile="13712345678")
    assert customer.user == accounts["free"]
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    assert service_client.post(url, customer_data(tier=customer.tier_id, login_account="")).status_code == 302
    customer.refresh_from_db()
    assert customer.user is None


def test_customer_service_creates_a_customer_account_from_the_form(service_client, client, accounts):
    data = customer_data(login_create="on", login_username="zhang", login_password="a-long-pass-123")
    response = service_client.post(ADD, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer = Customer.objects.get(mobile="13712345678")
    user = customer.user
    assert user.username == "zhang" and user.is_staff and not user.is_superuser and user.is_active
    assert list(user.groups.values_list("name", flat=True)) == [CUSTOMERS] and not user.user_permissions.exists()
    assert user.check_password("a-long-pass-123")
    assert OperationLog.objects.filter(object_type="auth.user", object_id=str(user.pk), action="add").exists()
    logged = OperationLog.objects.get(object_type="auth.user", object_id=str(user.pk))
    assert "a-long-pass-123" not in logged.summary and logged.actor == accounts["service"]

    client.logout()
    response = client.post(reverse("admin:login"), {"username": "13712345678", "password": "a-long-pass-123"})
    assert response.status_code == 302 and client.get(reverse("admin:index")).context["user"] == user


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"login_username": "admin", "login_password": "a-long-pass-123"}, "login_username"),  # taken
        ({"login_username": "bad name!", "login_password": "a-long-pass-123"}, "login_username"),
        ({"login_username": "", "login_password": "a-long-pass-123"}, "login_username"),
        ({"login_username": "zhang", "login_password": "123"}, "login_password"),  # too short
        ({"login_username": "zhang", "login_password": "password"}, "login_password"),  # too common
        ({"login_username": "zhang", "login_password": ""}, "login_password"),
    ],
)
def test_a_bad_new_account_is_a_form_error_and_writes_nothing(service_client, accounts, extra, field):
    response = service_client.post(ADD, customer_data(login_create="on", **extra))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Customer.objects.filter(mobile="13712345678").exists()
    assert not User.objects.filter(username="zhang").exists()


def test_picking_and_creating_at_once_is_refused(service_client, accounts):
    data = customer_data(
        login_account=accounts["free"].pk, login_create="on", login_username="zhang", login_password="a-long-pass-123"
    )
    response = service_client.post(ADD, data)
    assert response.status_code == 200 and response.context["adminform"].form.non_field_errors()
    assert not Customer.objects.filter(mobile="13712345678").exists()


# --- the service refuses the same, whoever calls it ----------------------------------------------


@pytest.mark.parametrize("kind", [*STAFF, "taken"])
def test_customer_login_set_refuses_a_staff_or_taken_account(accounts, kind):
    customer = CustomerFactory()
    with pytest.raises(DomainError):
        customer_login_set(customer_id=customer.pk, user_id=accounts[kind].pk, actor=accounts["service"])
    customer.refresh_from_db()
    assert customer.user is None


def test_customer_login_set_ties_a_free_account_once(accounts):
    first, second = CustomerFactory(), CustomerFactory()
    customer_login_set(customer_id=first.pk, user_id=accounts["free"].pk, actor=None)
    with pytest.raises(DomainError):
        customer_login_set(customer_id=second.pk, user_id=accounts["free"].pk, actor=None)
    with pytest.raises(DomainError):
        customer_login_set(customer_id=second.pk, user_id=10**9, actor=None)
    customer_login_set(customer_id=first.pk, user_id=None, actor=None)
    first.refresh_from_db()
    assert first.user is None


def test_customer_login_create_refuses_a_taken_username(accounts):
    customer = CustomerFactory()
    with pytest.raises(DomainError):
        customer_login_create(customer_id=customer.pk, username="admin", password="a-long-pass-123", actor=None)
    customer.refresh_from_db()
    assert customer.user is None


# --- staff accounts are the administrators' --------------------------------------------------------


def test_customer_service_cannot_reach_the_accounts(service_client, accounts):
    tied = accounts["taken"]
    for url in (
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_add"),
        reverse("admin:auth_user_change", args=[tied.pk]),
        reverse("admin:auth_group_changelist"),
    ):
        assert service_client.get(url).status_code == 403, url
    admin_group = Group.objects.get(name=ADMINISTRATORS)
    response = service_client.post(
        reverse("admin:auth_user_change", args=[tied.pk]),
        {"username": tied.username, "groups": [admin_group.pk], "is_superuser": "on", "is_staff": "on"},
    )
    assert response.status_code == 403
    tied.refresh_from_db()
    assert not tied.is_superuser and list(tied.groups.values_list("name", flat=True)) == [CUSTOMERS]


def test_finance_sees_the_login_account_read_only(client, accounts):
    client.force_login(accounts["finance"])
    customer = accounts["taken"].customer
    response = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and ">taken<" in html and 'name="login_account"' not in html


def user_form_post(client, user, **changes):
    """Post the administrator's account form of `user` as shown, with `changes`."""
    url = reverse("admin:auth_user_change", args=[user.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if name != "password"}
    data = {name: value for name, value in data.items() if value not in (None, False)}
    data["date_joined_0"], data["date_joined_1"] = data.pop("date_joined").strftime("%Y-%m-%d %H:%M:%S").split()
    data.pop("last_login", None)
    # the account's team (rbac.StaffProfile), an inline form of its own: left as it is
    data |= {"staff_profile-TOTAL_FORMS": "0", "staff_profile-INITIAL_FORMS": "0"}
    data.update(changes)
    return client.post(url, data)


@pytest.mark.parametrize(
    "changes",
    [{"is_superuser": "on"}, {"groups": "finance"}, {"user_permissions": "add_recharge"}],
)
def test_an_administrator_cannot_make_a_customers_login_staff_while_tied(client, accounts, changes):
    client.force_login(accounts["superuser"])
    taken = accounts["taken"]
    lookup = {"groups": lambda: [Group.objects.get(name=FINANCE).pk, Group.objects.get(name=CUSTOMERS).pk],
              "user_permissions": lambda: [Permission.objects.get(codename="add_recharge").pk]}
    changes = {key: lookup[key]() if key in lookup else value for key, value in changes.items()}
    response = user_form_post(client, taken, **changes)
    assert response.status_code == 200 and response.context["adminform"].form.non_field_errors()
    taken.refresh_from_db()
    assert not taken.is_superuser and list(taken.groups.values_list("name", flat=True)) == [CUSTOMERS]
    assert not taken.user_permissions.exists()

    free = accounts["free"]  # tied to nobody: the administrator's to change
    assert user_form_post(client, free, **changes).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_two_customers_taking_one_free_account_at_once_get_it_once():
    """Real threads: the account row's lock (and the unique column under it) let one customer have it;
    the other gets the service's refusal, not a database error."""
    roles_setup()
    free = account("free", CUSTOMERS)
    customers = [CustomerFactory(), CustomerFactory()]
    outcomes, barrier = [], threading.Barrier(2)

    def take(customer):
        try:
            barrier.wait()
            customer_login_set(customer_id=customer.pk, user_id=free.pk, actor=None)
            outcomes.append("tied")
        except DomainError:
            outcomes.append("refused")
        except BaseException as error:  # noqa: BLE001 - reported below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(customer,)) for customer in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "tied"]
    assert Customer.objects.filter(user=free).count() == 1
