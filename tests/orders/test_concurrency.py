"""Real threads on real transactions: the locks, not luck, keep the money right."""

import random
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from customers.errors import DomainError
from customers.models import Customer, LedgerEntry
from customers.services import balance_debit, balance_recharge
from orders.models import Order
from orders.services import order_cancel, order_claim, order_fail, order_place, order_succeed
from tests.factories import CustomerFactory, ProductFactory, TierFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(count: int, target) -> list[BaseException]:
    """Run target(index) in `count` threads started together; return what they raised unexpectedly."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(index):
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_random_operations_from_8_threads_keep_every_invariant(reconciled):
    customers = [CustomerFactory(tier=TierFactory(discount_percent=Decimal(d))) for d in ("0", "15", "7.5")]
    products = [ProductFactory(unit_price=Decimal(p), max_attempts=2) for p in ("3.33", "10.00")]
    for customer in customers:
        balance_recharge(customer_id=customer.pk, amount="200", actor=None)
    outcomes = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def worker(index):
        rng = random.Random(index)
        agent = f"agent-{index}"
        held: list[int] = []
        for _ in range(200):
            customer = rng.choice(customers)
            action = rng.choice(["recharge", "debit", "place", "place", "cancel", "claim", "fail", "succeed"])
            try:
                if action == "recharge":
                    balance_recharge(customer_id=customer.pk, amount=Decimal(rng.randint(1, 5000)) / 100, actor=None)
                elif action == "debit":
                    balance_debit(customer_id=customer.pk, amount=Decimal(rng.randint(1, 5000)) / 100, actor=None)
                elif action == "place":
                    order_place(
                        customer_id=customer.pk,
                        product_id=rng.choice(products).pk,
                        quantity=rng.randint(1, 5),
                        target="t",
                        actor=None,
                    )
                elif action == "cancel":
                    pending = list(Order.objects.filter(status="pending").values_list("pk", flat=True)[:20])
                    order_cancel(order_id=rng.choice(pending or [0]), actor=None)
                elif action == "claim":
                    held += [o.pk for o in order_claim(agent=agent, limit=2, lease_seconds=60)]
                elif action in ("fail", "succeed") and held:
                    order_id = held.pop()
                    if action == "fail":
                        order_fail(order_id=order_id, agent=agent, error="boom", transient=rng.random() < 0.5)
                    else:
                        order_succeed(order_id=order_id, agent=agent)
                outcome = "ok"
            except (DomainError, Order.DoesNotExist):
                outcome = "refused"
            with lock:
                outcomes[outcome] += 1

    assert run_threads(8, worker) == []
    assert outcomes["ok"] + outcomes["refused"] == 8 * 200
    assert outcomes["ok"] > 800, outcomes
    assert not LedgerEntry.objects.filter(balance_after__lt=0).exists()
    assert not Customer.objects.filter(balance__lt=0).exists()
    assert Order.objects.filter(status="cancelled").exists()
    reconciled()


def test_a_cancel_racing_a_claim_has_exactly_one_winner(staff, reconciled):
    customer = CustomerFactory()
    product = ProductFactory()
    balance_recharge(customer_id=customer.pk, amount="10000", actor=staff)
    winners = {"cancel": 0, "claim": 0}
    for _ in range(15):
        order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=staff)
        results = {}

        def race(index, order_id=order.pk, results=results):
            if index == 0:
                try:
                    order_cancel(order_id=order_id, actor=None)
                    results["cancel"] = True
                except DomainError:
                    results["cancel"] = False
            else:
                results["claim"] = bool(order_claim(agent="racer", limit=1, lease_seconds=60, order_ids=[order_id]))

        assert run_threads(2, race) == []
        assert results["cancel"] != results["claim"], results
        order.refresh_from_db()
        assert order.status == ("cancelled" if results["cancel"] else "running")
        winners["cancel" if results["cancel"] else "claim"] += 1
    assert LedgerEntry.objects.filter(kind="refund").count() == winners["cancel"]
    reconciled()


def test_1000_concurrent_placements_get_1000_distinct_order_numbers(reconciled):
    customers = [CustomerFactory() for _ in range(8)]
    product = ProductFactory(unit_price=Decimal("1.00"))
    for customer in customers:
        balance_recharge(customer_id=customer.pk, amount="1000", actor=None)

    def worker(index):
        for _ in range(125):
            order_place(customer_id=customers[index].pk, product_id=product.pk, quantity=1, target="t", actor=None)

    assert run_threads(8, worker) == []
    numbers = list(Order.objects.values_list("order_no", flat=True))
    assert len(numbers) == 1000
    assert len(set(numbers)) == 1000
    reconciled()


def test_the_same_token_submitted_from_8_threads_at_once_places_one_order(reconciled):
    customer = CustomerFactory()
    product = ProductFactory()
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    placed = []

    def submit(index):
        placed.append(
            order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None, token="dbl")
        )

    assert run_threads(8, submit) == []
    assert {order.pk for order in placed} == {Order.objects.get().pk}
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    reconciled()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite's transactions lock the whole database")
def test_customers_of_one_tier_buying_one_product_do_not_wait_for_each_other():
    tier, product = TierFactory(), ProductFactory()
    first, second = CustomerFactory(tier=tier), CustomerFactory(tier=tier)
    for customer in (first, second):
        balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    first_placed, release = threading.Event(), threading.Event()

    def place(customer):
        return order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t", actor=None)

    def place_first_and_hold_its_locks():
        try:
            with transaction.atomic():
                place(first)
                first_placed.set()
                release.wait(60)
        finally:
            connection.close()

    def place_second():
        try:
            place(second)
        finally:
            connection.close()

    holder = threading.Thread(target=place_first_and_hold_its_locks)
    placer = threading.Thread(target=place_second)
    holder.start()
    try:
        assert first_placed.wait(10)
        placer.start()
        placer.join(10)  # a lock on the shared tier or product row would hold it for innodb_lock_wait_timeout
        assert not placer.is_alive(), "the second customer's order waited for the first customer's transaction"
    finally:
        release.set()
        holder.join()
        if placer.ident is not None:
            placer.join()
    assert Order.objects.count() == 2
