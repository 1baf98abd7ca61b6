"""The notes and memos the platform writes are stored as codes and parameters and put into words when
shown, in the reader's language; what staff or an agent typed stays plain text."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import LedgerEntry
from customers.services import balance_recharge
from orders.models import NOTE_TEXTS, Order, OrderNote
from orders.services import order_cancel, order_claim, order_fail, order_place, order_requeue_expired, order_retry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
AGENT = "agent-1"


@pytest.fixture
def order(customer, product):
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    return order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)


def shown(obj, attribute: str) -> dict[str, str]:
    texts = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            texts[language] = getattr(obj, attribute)
    return texts


def test_a_lease_expiry_is_stored_as_codes_and_shown_in_each_readers_language(order, settings):
    settings.ORDER_RETRY_BASE_SECONDS = 0
    with translation.override("zh-hans"):  # the agent's language does not end up in the record
        order_claim(agent=AGENT, limit=1, lease_seconds=60)
        Order.objects.filter(pk=order.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        order_requeue_expired()
    claimed, retried = order.events.all()[1:]
    assert (claimed.note, claimed.note_code, claimed.note_params) == ("", OrderNote.ATTEMPT, {"n": 1})
    assert (retried.note, retried.note_code) == ("", OrderNote.RETRY)
    assert retried.note_params == {"error": {"code": OrderNote.LEASE_EXPIRED, "params": {"agent": AGENT}}}
    assert shown(claimed, "note_text") == {"en": "attempt 1", "zh-hans": "第 1 次尝试"}
    assert shown(retried, "note_text") == {
        "en": "retry after: Lease of agent-1 expired.",
        "zh-hans": "将重试，原因：agent-1 的租约已过期。",
    }


def test_a_failure_refund_memo_is_a_code_and_the_agents_error_stays_as_typed(order):
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    order_fail(order_id=order.pk, agent=AGENT, error="provider said no", transient=False)
    refund = LedgerEntry.objects.get(order=order, kind=LedgerEntry.Kind.REFUND)
    assert (refund.memo, refund.memo_code) == ("", LedgerEntry.Memo.ORDER_FAILED)
    assert shown(refund, "memo_text") == {"en": "refund: the order failed", "zh-hans": "退款：订单执行失败"}
    failed = order.events.last()
    assert (failed.note, failed.note_code) == ("provider said no", "")
    assert shown(failed, "note_text") == {"en": "provider said no", "zh-hans": "provider said no"}


def test_what_staff_typed_stays_plain_text(order):
    order_cancel(order_id=order.pk, actor=None, note="customer asked")
    event = order.events.last()
    refund = LedgerEntry.objects.get(order=order, kind=LedgerEntry.Kind.REFUND)
    assert (event.note, event.note_code, event.note_text) == ("customer asked", "", "customer asked")
    assert (refund.memo, refund.memo_code, refund.memo_text) == ("customer asked", "", "customer asked")


def test_a_retry_points_at_the_order_it_retries_and_writes_no_memo(order):
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    failed = order_fail(order_id=order.pk, agent=AGENT, error="no", transient=False)
    retry = order_retry(order_id=failed.pk, actor=None)
    assert (retry.retry_of_id, retry.memo) == (failed.pk, "")
    assert Order.objects.get(pk=failed.pk).retried_as == retry
    assert Order.objects.get(pk=retry.pk).amount == Decimal("10.00")


def test_every_code_has_its_words_in_both_languages():
    assert set(NOTE_TEXTS) == set(OrderNote.values)
    assert set(LedgerEntry.MEMO_TEXTS) == set(LedgerEntry.Memo.values)
    for template in [*NOTE_TEXTS.values(), *LedgerEntry.MEMO_TEXTS.values()]:
        with translation.override("en"):
            english = str(template)
        with translation.override("zh-hans"):
            assert str(template) != english, english


def test_the_admin_shows_the_notes_and_memos_in_words(client, order):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    order_claim(agent=AGENT, limit=1, lease_seconds=60)
    order_fail(order_id=order.pk, agent=AGENT, error="provider said no", transient=False)
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "第 1 次尝试" in order_page and "provider said no" in order_page
    ledger_page = client.get(reverse("admin:customers_ledgerentry_changelist")).content.decode()
    assert "退款：订单执行失败" in ledger_page
    retry = order_retry(order_id=order.pk, actor=None)
    retry_page = client.get(reverse("admin:orders_order_change", args=[retry.pk])).content.decode()
    assert order.order_no in retry_page
