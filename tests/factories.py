from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from customers.models import Customer, Tier
from orders.models import PricePolicy, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-word-123")


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"tier {n}")
    discount_percent = Decimal("0")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"customer {n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    tier = factory.SubFactory(TierFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"product {n}")
    unit_price = Decimal("10.00")
    min_quantity = 1
    max_quantity = 1000
    sandbox_delay_ms = 0


class PricePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PricePolicy

    product = factory.SubFactory(ProductFactory)
    min_quantity = 10
    unit_price = Decimal("9.00")
