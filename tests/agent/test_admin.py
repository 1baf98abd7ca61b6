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
