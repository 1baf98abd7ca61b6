import logging

import pytest
import redis
from django.conf import settings
from django.db import transaction

from customers.services import balance_recharge
from orders.models import Order
from orders.queue import ready_queue_client, ready_queue_push
from orders.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(customer):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    return customer


def place(customer, product):
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)


def pushed_so_far(settings) -> list[int]:
    """Take the order ids this process has pushed off the queue, up to a sentinel pushed last."""
    sentinel = 0  # no order's id
    ready_queue_push(sentinel)
    pushed = []
    while (popped := ready_queue_client().blpop([settings.READY_QUEUE_KEY], timeout=5)) is not None:
        if int(popped[1]) == sentinel:
            return pushed
        pushed.append(int(popped[1]))
    raise AssertionError("the sentinel push never arrived")


def test_order_id_is_pushed_only_once_the_transaction_commits(funded, product, settings):
    if not settings.REDIS_URL:
        # The embedded default has no Redis: the push is a no-op and agents poll the database.
        assert ready_queue_client() is None
        assert place(funded, product).status == Order.Status.PENDING
        return
    with transaction.atomic():
        order = place(funded, product)
        assert pushed_so_far(settings) == []
    assert pushed_so_far(settings) == [order.pk]


def test_a_rolled_back_placement_pushes_nothing(funded, product, settings):
    with pytest.raises(RuntimeError), transaction.atomic():
        place(funded, product)
        raise RuntimeError("rolled back")
    assert not Order.objects.exists()
    if settings.REDIS_URL:
        assert pushed_so_far(settings) == []


@pytest.mark.skipif(not settings.REDIS_URL, reason="the embedded default has no ready-queue")
def test_a_push_after_redis_closed_the_connection_still_arrives(funded, product, settings):
    first = place(funded, product)
    assert pushed_so_far(settings) == [first.pk]
    # What Redis's idle timeout or a restart does to the pushing connection.
    pushing = ready_queue_client().client_id()  # the pool's one idle connection, which the pushes use
    redis.Redis.from_url(settings.REDIS_URL).client_kill_filter(_id=pushing)
    order = place(funded, product)
    assert pushed_so_far(settings) == [order.pk]


@pytest.mark.skipif(not settings.REDIS_URL, reason="the embedded default has no ready-queue")
def test_a_push_redis_refuses_is_logged_and_the_order_still_placed(funded, product, settings, caplog):
    ready_queue_client().set(settings.READY_QUEUE_KEY, "not a list")  # RPUSH answers WRONGTYPE
    with caplog.at_level(logging.WARNING, logger="orders.queue"):
        order = place(funded, product)
    assert "WRONGTYPE" in caplog.text and Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).exists()
    ready_queue_client().delete(settings.READY_QUEUE_KEY)
    following = place(funded, product)  # a refusal does not silence the next push
    assert pushed_so_far(settings) == [following.pk]


def test_redis_down_is_logged_and_the_order_still_placed(funded, product, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="orders.queue"):
        order = place(funded, product)
        second = place(funded, product)  # within a second: no second attempt to connect
    assert Order.objects.filter(pk__in=[order.pk, second.pk], status=Order.Status.PENDING).count() == 2
    assert caplog.text.count("agents will find it by polling") == 1
