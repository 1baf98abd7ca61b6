"""Order money at the column's maximum: a cancel whose refund would pass it is refused; a failure whose
refund would is still a failure (flagged, reported by reconcile, completed later); a price past it is refused."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from customers.errors import BalanceLimitExceeded
from customers.models import LedgerEntry
from customers.money import MONEY_MAX
from customers.services import balance_debit, balance_recharge
from orders.errors import InvalidQuantity, InvalidTransition
from orders.models import Order, OrderEvent
from orders.reconcile import ledger_breaches_find
from orders.services import (
    order_cancel,
    order_claim,
    order_fail,
    order_place,
    order_quote,
    order_refund_complete,
    order_requeue_expired,
)
from rbac.models import OperationLog
from rbac.roles import CUSTOMER_SERVICE, OPERATIONS
from tests.factories import CustomerFactory, ProductFactory, TierFactory
from tests.money import balance_fill
from tests.roles import role_user

pytestmark = pytest.mark.django_db

Status = Order.Status
AGENT = "limit-agent"


def placed_at_the_limit(customer, product, *, room: str = "5.00") -> Order:
    """An order of 10.00 whose refund would take the balance past the maximum (only `room` is left)."""
    balance_recharge(customer_id=customer.pk, amount="10", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    balance_fill(customer, room=room)
    return order


def refunds(order) -> int:
    return LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).count()


def test_a_cancel_whose_refund_would_pass_the_maximum_is_refused_and_writes_nothing(customer, product, reconciled):
    order = placed_at_the_limit(customer, product)
    with pytest.raises(BalanceLimitExceeded):
        order_cancel(order_id=order.pk, actor=None)
    order.refresh_from_db()
    customer.refresh_from_db()
    assert (order.status, refunds(order), customer.balance) == (Status.PENDING, 0, MONEY_MAX - Decimal("5.00"))
    assert not OrderEvent.objects.filter(order=order, to_status=Status.CANCELLED).exists()
    reconciled()


def test_the_admin_cancel_action_says_so_and_cancels_the_others(client, customer, product, reconciled):
    blocked = placed_at_the_limit(customer, product)
    other = CustomerFactory()
    balance_recharge(customer_id=other.pk, amount="10", actor=None)
    fine = order_place(customer_id=other.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    client.force_login(role_user(CUSTOMER_SERVICE))
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel_selected", "_selected_action": [blocked.pk, fine.pk]},
        follow=True,
    )
    assert response.status_code == 200
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("more than the largest balance" in text for text in texts), texts
    assert any(fine.order_no in text and "cancelled" in text for text in texts), texts
    assert Order.objects.get(pk=blocked.pk).status == Status.PENDING and refunds(blocked) == 0
    assert Order.objects.get(pk=fine.pk).status == Status.CANCELLED and refunds(fine) == 1
    reconciled()


def test_a_failure_whose_refund_would_pass_the_maximum_still_fails_flagged(customer, product):
    order = placed_at_the_limit(customer, product)
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    with translation.override("en"):
        failed = order_fail(order_id=order.pk, agent=AGENT, error="endpoint said no", transient=False)
    assert (failed.status, failed.lease_owner) == (Status.FAILED, "")
    failed.refresh_from_db()
    assert failed.last_error.startswith("endpoint said no (the refund of 10.00 was not posted: ")
    assert refunds(failed) == 0
    with translation.override("en"):
        assert OrderEvent.objects.get(order=order, to_status=Status.FAILED).note_text == failed.last_error
    customer.refresh_from_db()
    assert customer.balance == MONEY_MAX - Decimal("5.00")
    # reconcile reports exactly this: the refund the customer is owed
    assert ledger_breaches_find() == [f"order {order.order_no}: failed but not refunded"]
    with pytest.raises(CommandError):
        call_command("reconcile")


def test_the_missing_refund_is_posted_once_there_is_room(customer, product, staff, reconciled):
    order = placed_at_the_limit(customer, product)
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    order_fail(order_id=order.pk, agent=AGENT, error="no", transient=False)
    with pytest.raises(BalanceLimitExceeded):
        order_refund_complete(order_id=order.pk, actor=staff)
    assert refunds(order) == 0

    balance_debit(customer_id=customer.pk, amount="100", actor=staff, memo="paid out")
    completed = order_refund_complete(order_id=order.pk, actor=staff)
    assert completed.status == Status.FAILED and refunds(order) == 1
    refund = LedgerEntry.objects.get(order=order, kind=LedgerEntry.Kind.REFUND)
    assert (refund.amount, refund.created_by) == (Decimal("10.00"), staff)
    reconciled()
    with pytest.raises(InvalidTransition):
        order_refund_complete(order_id=order.pk, actor=staff)
    assert refunds(order) == 1


def test_only_a_failed_order_without_its_refund_can_be_completed(customer, product, staff):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    pending = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    with pytest.raises(InvalidTransition):
        order_refund_complete(order_id=pending.pk, actor=staff)
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    order_fail(order_id=pending.pk, agent=AGENT, error="no", transient=False)  # refunded at once
    with pytest.raises(InvalidTransition):
        order_refund_complete(order_id=pending.pk, actor=staff)
    assert refunds(pending) == 1


def test_an_expired_last_attempt_at_the_limit_fails_and_the_next_expired_order_still_moves(customer, settings):
    settings.ORDER_RETRY_BASE_SECONDS = 0
    product = ProductFactory(max_attempts=1)
    blocked = placed_at_the_limit(customer, product)
    other = CustomerFactory()
    balance_recharge(customer_id=other.pk, amount="10", actor=None)
    later = order_place(customer_id=other.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    assert len(order_claim(agent=AGENT, limit=2, lease_seconds=-1)) == 2
    assert order_requeue_expired() == 2
    blocked.refresh_from_db()
    later.refresh_from_db()
    assert (blocked.status, refunds(blocked)) == (Status.FAILED, 0) and "10.00" in blocked.last_error
    assert (later.status, refunds(later)) == (Status.FAILED, 1)


def test_a_price_past_the_maximum_is_a_quantity_error_not_a_500(customer):
    free = TierFactory(discount_percent=Decimal("100"))  # the amount would be 0.00, the list amount too large
    customer.tier = free
    customer.save()
    product = ProductFactory(unit_price=MONEY_MAX, max_quantity=10)
    with pytest.raises(InvalidQuantity):
        order_quote(customer_id=customer.pk, product_id=product.pk, quantity=2)
    with pytest.raises(InvalidQuantity):
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=2, target="t", actor=None)
    assert not Order.objects.exists()
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)
    assert (order.list_amount, order.amount) == (MONEY_MAX, Decimal("0.00"))


def test_operations_post_the_owed_refund_from_the_order_list(client, customer, product):
    order = placed_at_the_limit(customer, product)
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    order_fail(order_id=order.pk, agent=AGENT, error="no", transient=False)
    client.force_login(role_user(OPERATIONS))
    url = reverse("admin:orders_order_changelist")
    action = {"action": "refund_owed_selected", "_selected_action": [order.pk]}
    client.post(url, action)
    assert refunds(order) == 0  # still no room: a warning, nothing written

    balance_debit(customer_id=customer.pk, amount="100", actor=None)
    for _ in range(2):  # the second time it is not owed any more
        client.post(url, action)
    assert refunds(order) == 1
    assert OperationLog.objects.filter(action="refund", object_id=str(order.pk)).count() == 1


def test_customer_service_cannot_post_refunds(client, customer, product):
    order = placed_at_the_limit(customer, product)
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    order_fail(order_id=order.pk, agent=AGENT, error="no", transient=False)
    balance_debit(customer_id=customer.pk, amount="100", actor=None)
    client.force_login(role_user(CUSTOMER_SERVICE))
    client.post(reverse("admin:orders_order_changelist"), {"action": "refund_owed_selected", "_selected_action": [order.pk]})
    assert refunds(order) == 0
