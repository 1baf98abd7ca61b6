from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from agent.models import Agent
from tests.agent.conftest import orders_place
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _agent(name, *, seen_ago, holding=()):
    now = timezone.now()
    return Agent.objects.create(
        name=name, host="h1", pid=1, started_at=now - timedelta(hours=1), last_seen_at=now - timedelta(seconds=seen_ago),
        holding=list(holding), orders_done=7,
    )


@pytest.fixture
def operator():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_agent"))
    return user


def test_operations_see_agents_alive_or_not_and_the_queue(client, operator, rich_customer, product):
    _agent("alive-one", seen_ago=2, holding=["20260101000000000123456"])
    _agent("dead-one", seen_ago=600)
    orders_place(customer=rich_customer, product=product, count=3)
    client.force_login(operator)

    response = client.get("/admin/agent/agent/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "agent-queue-summary" in html
    assert "alive-one" in html and "dead-one" in html and "20260101000000000123456" in html
    assert html.count('alt="True"') == 1 and html.count('alt="False"') == 1
    queue = response.context["queue"]
    assert (queue.pending, queue.running, queue.agents_alive) == (3, 0, 1)
    assert queue.oldest_pending_age is not None
    assert client.get(f"/admin/agent/agent/{Agent.objects.get(name='dead-one').pk}/change/").status_code == 200


def test_agents_are_read_only_and_hidden_without_the_permission(client, operator):
    agent = _agent("a", seen_ago=1)
    client.force_login(operator)
    assert client.get("/admin/agent/agent/add/").status_code == 403
    assert client.post(f"/admin/agent/agent/{agent.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/agent/agent/{agent.pk}/change/", {"name": "renamed"}).status_code == 403
    assert Agent.objects.get(pk=agent.pk).name == "a"

    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/agent/agent/").status_code == 403


def _product_form(product, **changes) -> dict:
    return {
        "code": product.code, "name": product.name, "unit_price": "10.00", "min_quantity": "1",
        "max_quantity": "1000", "executor": "sandbox", "timeout_seconds": "10", "sandbox_delay_ms": "0",
        "is_active": "on", "price_policies-TOTAL_FORMS": "0", "price_policies-INITIAL_FORMS": "0",
        "price_policies-MIN_NUM_FORMS": "0", "price_policies-MAX_NUM_FORMS": "1000", **changes,
    }


def test_a_products_maximum_run_time_is_set_in_the_admin_and_defaults_to_the_setting(admin_client, product, settings):
    settings.ORDER_MAX_RUN_SECONDS = 77
    url = f"/admin/orders/product/{product.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="max_run_seconds"' in page and "最长执行时间（秒）" in page and "留空则使用平台默认值" in page
    assert product.run_seconds_allowed == 77

    refused = admin_client.post(url, _product_form(product, max_run_seconds="0"))
    assert refused.status_code == 200 and "max_run_seconds" in refused.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.max_run_seconds is None

    assert admin_client.post(url, _product_form(product, max_run_seconds="30")).status_code == 302
    product.refresh_from_db()
    assert (product.max_run_seconds, product.run_seconds_allowed) == (30, 30)
    assert admin_client.post(url, _product_form(product, max_run_seconds="")).status_code == 302
    product.refresh_from_db()
    assert (product.max_run_seconds, product.run_seconds_allowed) == (None, 77)
