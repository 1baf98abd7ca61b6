"""Load demo data idempotently: running it twice changes nothing the second time."""

import random
import secrets
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from customers.models import Customer, Tier
from customers.services import balance_recharge
from orders.models import Order, PricePolicy, Product
from orders.services import order_cancel, order_claim, order_fail, order_place, order_succeed
from rbac.models import StaffProfile, Team
from rbac.roles import ADMINISTRATORS, CUSTOMER_SERVICE, CUSTOMER_SERVICE_LEAD, CUSTOMERS, FINANCE, OPERATIONS
from rbac.services import roles_setup

TIERS = [("普通", "0"), ("白银", "5"), ("黄金", "10"), ("钻石", "15")]
MOBILE_PATTERN = r"1[3-9]\d{9}"
PRODUCTS = [
    # code, name, unit price, min, max, target pattern, price policies
    ("MOBILE-100", "话费充值 100 元", "98.00", 1, 100, MOBILE_PATTERN, [(10, "97.00"), (50, "95.50")]),
    ("DATA-10G", "流量包 10GB", "30.00", 1, 50, MOBILE_PATTERN, [(5, "28.50")]),
    ("VIP-MONTH", "视频会员月卡", "19.90", 1, 12, r"\S+", []),
    ("GAME-CARD", "游戏点卡", "9.99", 1, 500, r"[A-Za-z0-9_]{4,20}", [(100, "9.50"), (300, "9.00")]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "秀英", "桂英", "建华"]
# Final status of demo order i is STATUS_CYCLE[i % 20]: half succeeded, the rest spread over the others.
# None is left running: it would be held by an agent that does not exist until its lease ran out.
STATUS_CYCLE = ["succeeded"] * 11 + ["pending"] * 4 + ["cancelled"] * 3 + ["failed"] * 2
DEMO_AGENT = "demo-loader"
DEMO_LOGINS = [
    ("admin", ADMINISTRATORS),
    ("finance", FINANCE),
    ("service", CUSTOMER_SERVICE),
    ("ops", OPERATIONS),
    ("alice", CUSTOMERS),
    ("lead1", CUSTOMER_SERVICE_LEAD),
    ("service2", CUSTOMER_SERVICE),
    ("lead2", CUSTOMER_SERVICE_LEAD),
    ("service3", CUSTOMER_SERVICE),
    ("service4", CUSTOMER_SERVICE),
]
# Two teams of customer service, each a lead and two account managers; the customers are spread over
# the account managers in turn (the first, alice's, is service's).
DEMO_TEAMS = {"客服一组": ("lead1", "service", "service2"), "客服二组": ("lead2", "service3", "service4")}
ACCOUNT_MANAGERS = ["service", "service2", "service3", "service4"]


class Command(BaseCommand):
    help = "Load demo tiers, products, customers and orders, and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password for the demo logins (generated and printed if omitted).")
        parser.add_argument("--customers", type=int, default=50)
        parser.add_argument("--orders", type=int, default=300)

    def handle(self, *args, **options):
        password = options["password"] or secrets.token_urlsafe(9)
        admin = self._superuser_ensure(password)
        tiers = [Tier.objects.get_or_create(name=name, defaults={"discount_percent": Decimal(d)})[0] for name, d in TIERS]
        products = self._products_ensure()
        customers = self._customers_ensure(admin, tiers, options["customers"])
        placed = self._orders_ensure(admin, customers, products, options["orders"])
        self._role_users_ensure(password, customers[0] if customers else None)
        self.stdout.write(f"Demo data ready: {len(customers)} customers, {len(products)} products, {placed} new orders.")
        for username, role in DEMO_LOGINS:
            self.stdout.write(f"Demo login ({role}): {username} / {password}")
        if customers:
            self.stdout.write(
                f"alice may also log in with an SMS code to {customers[0].mobile} (/admin/login/sms/); "
                "the code is written to the server's log."
            )

    def _superuser_ensure(self, password: str):
        User = get_user_model()
        admin, created = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        return admin

    def _role_users_ensure(self, password: str, alice_customer: Customer | None) -> None:
        """One login per role; alice is the customer login of the first demo customer."""
        groups = {name: role.group for name, role in roles_setup().items()}
        User = get_user_model()
        for username, role in DEMO_LOGINS:
            user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            user.is_staff = True
            user.set_password(password)
            user.save()
            user.groups.set([groups[role]])
        if alice_customer is not None:
            alice_customer.user = User.objects.get(username="alice")
            alice_customer.save(update_fields=["user"])
        for team_name, usernames in DEMO_TEAMS.items():
            team, _ = Team.objects.get_or_create(name=team_name)
            for username in usernames:
                StaffProfile.objects.update_or_create(user=User.objects.get(username=username), defaults={"team": team})
        managers = [User.objects.get(username=username) for username in ACCOUNT_MANAGERS]
        for i, customer in enumerate(Customer.objects.filter(mobile__startswith="138").order_by("mobile")):
            if customer.owner_id is None:
                customer.owner = managers[i % len(managers)]
                customer.save(update_fields=["owner"])

    def _products_ensure(self) -> list[Product]:
        products = []
        for code, name, price, low, high, pattern, policies in PRODUCTS:
            product, _ = Product.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "unit_price": Decimal(price),
                    "min_quantity": low,
                    "max_quantity": high,
                    "target_pattern": pattern,
                    "sandbox_delay_ms": 1500,
                },
            )
            for min_quantity, unit_price in policies:
                PricePolicy.objects.get_or_create(
                    product=product, min_quantity=min_quantity, defaults={"unit_price": Decimal(unit_price)}
                )
            products.append(product)
        return products

    def _customers_ensure(self, admin, tiers, count: int) -> list[Customer]:
        customers = []
        for i in range(count):
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
            customer, _ = Customer.objects.get_or_create(
                mobile=f"138{i:08d}",
                defaults={"name": name, "tier": tiers[i % len(tiers)], "created_by": admin, "email": f"c{i}@example.com"},
            )
            balance_recharge(
                customer_id=customer.pk,
                amount=Decimal(20000 + 500 * i),
                actor=admin,
                memo="开户充值",
                token=f"demo-recharge-{customer.mobile}",
            )
            customers.append(customer)
        return customers

    def _orders_ensure(self, admin, customers, products, count: int) -> int:
        rng = random.Random(20261121)
        placed = 0
        for i in range(count):
            token = f"demo-order-{i}"
            customer = customers[i % len(customers)]
            product = products[i % len(products)]
            quantity = rng.randint(product.min_quantity, min(product.max_quantity, 20))
            target = customer.mobile if product.target_pattern == MOBILE_PATTERN else f"player{i:04d}"
            if Order.objects.filter(token=token).exists():
                continue
            with transaction.atomic():
                order = order_place(
                    customer_id=customer.pk, product_id=product.pk, quantity=quantity, target=target, actor=admin, token=token
                )
                self._status_reach(order, STATUS_CYCLE[i % len(STATUS_CYCLE)], admin)
            placed += 1
        return placed

    def _status_reach(self, order: Order, status: str, admin) -> None:
        if status == "pending":
            return
        if status == "cancelled":
            order_cancel(order_id=order.pk, actor=admin, note="客户要求撤单")
            return
        order_claim(agent=DEMO_AGENT, limit=1, lease_seconds=3600, order_ids=[order.pk])
        if status == "succeeded":
            order_succeed(order_id=order.pk, agent=DEMO_AGENT, result='{"status": "ok"}')
        elif status == "failed":
            order_fail(order_id=order.pk, agent=DEMO_AGENT, error="上游返回：号码不存在", transient=False)
