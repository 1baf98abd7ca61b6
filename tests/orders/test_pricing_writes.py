"""Every way of writing a product or its price policies renews the product's revision, so a price list
a process loaded before the write (orders.pricing) is never used after it."""

import json
import threading
from decimal import Decimal

import pytest
from django.core import serializers
from django.core.management import call_command
from django.db import connection, transaction

from customers.services import balance_recharge
from orders.errors import InactiveProduct, InvalidQuantity
from orders.models import PricePolicy, Product
from orders.pricing import price_list
from orders.services import order_place
from tests.factories import CustomerFactory, PricePolicyFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stepped_product():
    product = ProductFactory(unit_price=Decimal("10.00"))
    PricePolicyFactory(product=product, min_quantity=10, unit_price=Decimal("9.00"))
    return product


@pytest.fixture
def place():
    """Place an order through order_place and return its unit price: the path that uses the copy."""
    customer = CustomerFactory()
    balance_recharge(customer_id=customer.pk, amount="100000", actor=None)

    def place(product, quantity):
        order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=quantity, target="x", actor=None)
        return order.unit_price

    return place


def priced(product_id, quantity):
    """The unit price from this process's copy, checked against the revision now stored, as
    order_place checks it (for products that must have no orders, so they can be deleted)."""
    revision = Product.objects.filter(pk=product_id).values_list("revision", flat=True).first()
    return price_list(product_id=product_id, revision=revision).unit_price(quantity)


def upsert_target(*fields):
    """unique_fields for an upsert: required by SQLite, refused by MariaDB (any unique key counts)."""
    return {"unique_fields": list(fields)} if connection.features.supports_update_conflicts_with_target else {}


def loaddata(tmp_path, rows):
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps(rows))
    call_command("loaddata", str(fixture), verbosity=0)


# The product's own writes.


def test_product_update_prices_the_next_order(stepped_product, place):
    assert place(stepped_product, 1) == Decimal("10.00")
    Product.objects.filter(pk=stepped_product.pk).update(unit_price=Decimal("12.00"))
    assert place(stepped_product, 1) == Decimal("12.00")


def test_product_update_of_the_active_flag_and_limits_is_honoured(stepped_product, place):
    place(stepped_product, 10)
    Product.objects.filter(pk=stepped_product.pk).update(max_quantity=5)
    with pytest.raises(InvalidQuantity):
        place(stepped_product, 10)
    Product.objects.filter(pk=stepped_product.pk).update(is_active=False)
    with pytest.raises(InactiveProduct):
        place(stepped_product, 1)


def test_product_bulk_update_prices_the_next_order_even_writing_back_an_old_revision(stepped_product, place):
    read_earlier = Product.objects.get(pk=stepped_product.pk)  # the revision the copy below is of
    assert place(stepped_product, 1) == Decimal("10.00")
    read_earlier.unit_price = Decimal("12.00")
    Product.objects.bulk_update([read_earlier], ["unit_price", "revision"])
    assert place(stepped_product, 1) == Decimal("12.00")


def test_product_bulk_create_under_a_deleted_id_with_its_old_revision_is_priced_anew():
    product = ProductFactory(unit_price=Decimal("10.00"))
    assert priced(product.pk, 1) == Decimal("10.00")
    Product.objects.filter(pk=product.pk).delete()
    with pytest.raises(Product.DoesNotExist):
        priced(product.pk, 1)  # the copy of a deleted product is not used either
    product.unit_price = Decimal("20.00")
    Product.objects.bulk_create([product])  # same id, same code, same revision as the copy
    assert priced(product.pk, 1) == Decimal("20.00")


def test_product_upsert_prices_the_next_order(stepped_product, place):
    place(stepped_product, 1)
    changed = Product(code=stepped_product.code, name="renamed", unit_price=Decimal("12.00"))
    Product.objects.bulk_create(
        [changed], update_conflicts=True, update_fields=["unit_price"], **upsert_target("code")
    )
    assert place(stepped_product, 1) == Decimal("12.00")


def test_product_loaddata_carrying_the_copys_revision_prices_the_next_order(stepped_product, place, tmp_path):
    place(stepped_product, 1)
    stepped_product.refresh_from_db()
    rows = json.loads(serializers.serialize("json", [stepped_product]))
    assert rows[0]["fields"]["revision"] == stepped_product.revision
    rows[0]["fields"]["unit_price"] = "13.00"
    loaddata(tmp_path, rows)
    assert place(stepped_product, 1) == Decimal("13.00")


# The price policies' writes, each seen through the product's revision.


def test_policy_update_through_the_product_prices_the_next_order(stepped_product, place):
    assert place(stepped_product, 10) == Decimal("9.00")
    stepped_product.price_policies.update(unit_price=Decimal("7.00"))
    assert place(stepped_product, 10) == Decimal("7.00")


def test_policy_update_moving_it_reprices_both_products(stepped_product, place):
    other = ProductFactory(unit_price=Decimal("10.00"))
    assert (place(stepped_product, 10), place(other, 10)) == (Decimal("9.00"), Decimal("10.00"))
    PricePolicy.objects.filter(product=stepped_product).update(product=other)
    assert (place(stepped_product, 10), place(other, 10)) == (Decimal("10.00"), Decimal("9.00"))


def test_policy_bulk_update_prices_the_next_order(stepped_product, place):
    place(stepped_product, 10)
    policy = stepped_product.price_policies.get()
    policy.unit_price = Decimal("7.00")
    PricePolicy.objects.bulk_update([policy], ["unit_price"])
    assert place(stepped_product, 10) == Decimal("7.00")


def test_policy_bulk_update_moving_it_reprices_both_products(stepped_product, place):
    other = ProductFactory(unit_price=Decimal("10.00"))
    place(stepped_product, 10), place(other, 10)
    policy = stepped_product.price_policies.get()
    policy.product = other
    PricePolicy.objects.bulk_update([policy], ["product"])
    assert (place(stepped_product, 10), place(other, 10)) == (Decimal("10.00"), Decimal("9.00"))


def test_policy_bulk_create_prices_the_next_order(stepped_product, place):
    assert place(stepped_product, 5) == Decimal("10.00")
    PricePolicy.objects.bulk_create([PricePolicy(product=stepped_product, min_quantity=5, unit_price=Decimal("9.50"))])
    assert place(stepped_product, 5) == Decimal("9.50")


def test_policy_upsert_onto_an_existing_id_reprices_the_product_it_leaves(stepped_product, place):
    other = ProductFactory(unit_price=Decimal("10.00"))
    place(stepped_product, 10), place(other, 10)
    policy = stepped_product.price_policies.get()
    moved = PricePolicy(pk=policy.pk, product=other, min_quantity=10, unit_price=Decimal("9.00"))
    PricePolicy.objects.bulk_create([moved], update_conflicts=True, update_fields=["product"], **upsert_target("id"))
    assert PricePolicy.objects.get(pk=policy.pk).product == other
    assert (place(stepped_product, 10), place(other, 10)) == (Decimal("10.00"), Decimal("9.00"))


def test_policy_delete_through_a_queryset_prices_the_next_order(stepped_product, place):
    place(stepped_product, 10)
    PricePolicy.objects.filter(product=stepped_product, min_quantity=10).delete()
    assert place(stepped_product, 10) == Decimal("10.00")


def test_policy_delete_is_not_offered_on_the_manager():
    assert not hasattr(PricePolicy.objects, "delete")


def test_policy_loaddata_moving_it_reprices_both_products(stepped_product, place, tmp_path):
    other = ProductFactory(unit_price=Decimal("10.00"))
    place(stepped_product, 10), place(other, 10)
    rows = json.loads(serializers.serialize("json", stepped_product.price_policies.all()))
    rows[0]["fields"]["product"] = other.pk  # the fixture lists the policy only, not the product it leaves
    loaddata(tmp_path, rows)
    assert (place(stepped_product, 10), place(other, 10)) == (Decimal("10.00"), Decimal("9.00"))


def test_revise_products_after_sql_prices_the_next_order(stepped_product, place):
    place(stepped_product, 10)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {PricePolicy._meta.db_table} SET unit_price = 7 WHERE product_id = %s", [stepped_product.pk])
    call_command("revise_products", verbosity=0)
    assert place(stepped_product, 10) == Decimal("7.00")


WRITES_IN_ANOTHER_TRANSACTION = {  # write: (quantity, price before, price after)
    "update": (10, "9.00", "7.00"),
    "delete": (10, "9.00", "10.00"),
    "bulk_create": (5, "10.00", "7.00"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite has one writer at a time: nothing to interleave")
@pytest.mark.parametrize("write", WRITES_IN_ANOTHER_TRANSACTION)
def test_a_write_in_another_transaction_prices_orders_from_its_commit_on(stepped_product, place, write):
    """While the write is uncommitted, prices stay the old ones, read afresh or not; from its commit
    on, the new ones. A revision renewed outside the write's transaction would let this process pair
    the new revision with the old policies, and keep charging them."""
    quantity, before, after = WRITES_IN_ANOTHER_TRANSACTION[write]
    assert place(stepped_product, quantity) == Decimal(before)
    written, release = threading.Event(), threading.Event()
    errors = []

    def writer():
        try:
            with transaction.atomic():
                policies = PricePolicy.objects.filter(product=stepped_product)
                if write == "update":
                    policies.update(unit_price=Decimal("7.00"))
                elif write == "delete":
                    policies.delete()
                else:
                    PricePolicy.objects.bulk_create(
                        [PricePolicy(product=stepped_product, min_quantity=5, unit_price=Decimal("7.00"))]
                    )
                written.set()
                release.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            written.set()
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(timeout=30)
        # Priced as order_place prices, without its order insert: that waits on the product row the
        # writer holds.
        assert priced(stepped_product.pk, quantity) == Decimal(before)
    finally:
        release.set()
        thread.join()
    assert not errors
    assert place(stepped_product, quantity) == Decimal(after)


def test_moving_policies_with_the_related_managers_add_renews_both_products(stepped_product, place):
    other = ProductFactory(unit_price=Decimal("20.00"))
    policy = stepped_product.price_policies.get()
    assert place(stepped_product, 10) == Decimal("9.00") and place(other, 10) == Decimal("20.00")
    other.price_policies.add(policy)  # bulk: one UPDATE through the base manager
    assert place(stepped_product, 10) == Decimal("10.00")
    assert place(other, 10) == Decimal("9.00")


def test_setting_a_products_policies_renews_it(stepped_product, place):
    assert place(stepped_product, 10) == Decimal("9.00")
    moved = PricePolicyFactory(product=ProductFactory(), min_quantity=5, unit_price=Decimal("7.00"))
    stepped_product.price_policies.set([moved])  # the old policy cannot be unset (not nullable): only add
    assert place(stepped_product, 5) == Decimal("7.00")
