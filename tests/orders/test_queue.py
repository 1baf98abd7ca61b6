import logging

import pytest
from django.db import transaction

from customers.services import balance_recharge
from orders.models import Order
from orders.queue import ready_queue_client
from orders.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(customer):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    return customer


def place(customer, product):
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)


def test_order_id_is_pushed_only_once_the_transaction_commits(funded, product, settings):
    if not settings.REDIS_URL:
        # The embedded default has no Redis: the push is a no-op and agents poll the database.
        assert ready_queue_client() is None
        assert place(funded, product).status == Order.Status.PENDING
        return
    client = ready_queue_client()
    with transaction.atomic():
        order = place(funded, product)
        assert client.lrange(settings.READY_QUEUE_KEY, 0, -1) == []
    # The push does not wait for Redis's reply, so wait here as an agent does.
    assert client.blpop([settings.READY_QUEUE_KEY], timeout=5) == (settings.READY_QUEUE_KEY.encode(), str(order.pk).encode())


def test_a_push_after_redis_closed_the_connection_still_arrives(funded, product, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: the embedded default has no ready-queue")
    client = ready_queue_client()
    place(funded, product)
    assert client.blpop([settings.READY_QUEUE_KEY], timeout=5) is not None
    # What Redis's idle timeout or a restart does to the pushing connection.
    pushers = [c for c in client.client_list() if c["name"] == "orders-ready-queue"]
    assert pushers
    for pusher in pushers:
        client.client_kill_filter(_id=pusher["id"])
    order = place(funded, product)
    assert client.blpop([settings.READY_QUEUE_KEY], timeout=5) == (settings.READY_QUEUE_KEY.encode(), str(order.pk).encode())


def test_a_rolled_back_placement_pushes_nothing(funded, product, settings):
    with pytest.raises(RuntimeError), transaction.atomic():
        place(funded, product)
        raise RuntimeError("rolled back")
    assert not Order.objects.exists()
    if settings.REDIS_URL:
        assert ready_queue_client().llen(settings.READY_QUEUE_KEY) == 0


def test_redis_down_is_logged_and_the_order_still_placed(funded, product, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="orders.queue"):
        order = place(funded, product)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING
    assert "agents will find it by polling" in caplog.text
