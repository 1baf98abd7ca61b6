"""A Redis outage, with a Redis server of the test's own that it stops: pages, placements and probes keep
answering (the cache misses, sessions come from the database, agents find orders by polling), and the log
says so once an interval instead of a traceback per request."""

import logging
from collections import Counter

import pytest
from django.urls import reverse

from backoffice.logs import OncePerInterval
from backoffice.settings import redis_cache
from customers.services import balance_recharge
from orders.models import Order
from orders.services import order_place
from tests.factories import UserFactory
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = 20


@pytest.fixture
def own_redis(tmp_path, settings):
    server = RedisServer(tmp_path)
    settings.REDIS_URL = server.url(0)
    settings.CACHES = {"default": redis_cache(server.url(0))}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    yield server
    server.stop()


@pytest.fixture
def repeats():
    """The one filter that holds repeated lines back (backoffice.logs), its interval put back after the test."""
    [found] = {f for f in logging.getLogger("django_redis").filters if isinstance(f, OncePerInterval)}
    seconds = found.seconds
    yield found
    found.seconds = seconds


def test_an_outage_is_logged_once_an_interval_and_everything_keeps_answering(
    own_redis, repeats, client, customer, product, caplog
):
    balance_recharge(customer_id=customer.pk, amount="1000", actor=None)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    orders_page = reverse("admin:orders_order_changelist")
    assert client.get(orders_page).status_code == 200 and client.get("/readyz").status_code == 200

    own_redis.stop()
    placed = []
    with caplog.at_level(logging.INFO):
        for _ in range(REQUESTS):
            assert client.get(orders_page).status_code == 200  # signed in still: the session is in the database too
            assert (client.get("/readyz").status_code, client.get("/readyz").content) == (503, b"redis")
            placed.append(
                order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
            )
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert Counter(record.name for record in warnings) == {"django_redis": 1, "orders.queue": 1, "backoffice.health": 1}
    assert "Traceback" not in caplog.text and "ConnectionError" in caplog.text
    # Every order placed is pending in the database, for agents to find by polling.
    assert Order.objects.filter(pk__in=[o.pk for o in placed], status=Order.Status.PENDING).count() == REQUESTS

    repeats.seconds = 0  # the interval is over: the next line says how many it stood for
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert client.get(orders_page).status_code == 200
    [first, *_rest] = [record for record in caplog.records if record.name == "django_redis"]
    assert "more like it in the last" in first.getMessage()
