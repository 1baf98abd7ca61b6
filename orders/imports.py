"""Mass orders (core.imports): one order a row, priced with the customer's tier discount and placed
through order_place, all or none."""

from decimal import Decimal

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.imports import BatchResource, Column
from core.money import money_display
from core.validators import text_plain_check
from customers.imports import MOBILE, customers_by_mobile, row_customer
from orders.models import Order, Product
from orders.pricing import price_list_load
from orders.services import order_place, order_price, quantity_parse


class OrderBatch(BatchResource):
    """Mass orders"""

    columns = (
        MOBILE,
        Column("product", _("product"), ("产品", "产品编码", "商品", "商品编码", "product code", "code", "编码")),
        Column("quantity", _("quantity"), ("数量",)),
        Column("target", _("target"), ("目标", "充值账号", "账号")),
    )
    preview_headers = (
        _("row"), _("customer"), _("product"), _("quantity"), _("target"),
        _("unit price"), _("list amount"), _("discount (% off)"), _("amount"),
    )
    summary_headers = (_("customer"), _("orders"), _("total amount"), _("balance"), _("balance after"))

    def imported(self, *, token):
        return Order.objects.filter(token=token).exists()

    def rows_check(self, rows):
        customers = customers_by_mobile((row.values["mobile"] for row in rows), user=self.user)
        codes = {row.values["product"] for row in rows}
        products = {product.code: product for product in Product.objects.filter(code__in=codes)}
        prices = {code: price_list_load(product_id=product.pk) for code, product in products.items()}
        totals: dict[int, list] = {}  # customer id -> [customer, orders, total]
        for row in rows:
            customer = row_customer(row, customers)
            price_list = prices.get(row.values["product"])
            if price_list is None:
                row.errors.append(gettext("No product has the code “%(code)s”.") % {"code": row.values["product"]})
            target = row.values["target"]
            try:
                text_plain_check(target, field="target")
                if not target:
                    raise DomainError(gettext("The target is required."))
                quantity = quantity_parse(row.values["quantity"])
            except DomainError as error:
                row.errors.append(error.message)
                quantity = None
            quote = None
            if customer is not None and price_list is not None and quantity is not None:
                try:
                    quote = order_price(customer=customer, prices=price_list, quantity=quantity, target=target)
                except DomainError as error:
                    row.errors.append(error.message)
            if quote is not None:
                entry = totals.setdefault(customer.pk, [customer, 0, Decimal("0.00")])
                entry[1] += 1
                entry[2] += quote.amount
                if entry[2] > customer.balance:
                    row.errors.append(
                        gettext("Insufficient balance: this customer's orders up to this row come to %(total)s, the balance is %(balance)s.")
                        % {"total": money_display(entry[2]), "balance": money_display(customer.balance)}
                    )
                row.data = {"customer_id": customer.pk, "product_id": price_list.product.pk, "quantity": quantity, "target": target}
            row.shown = [
                customer or row.values["mobile"],
                price_list.product if price_list else row.values["product"],
                row.values["quantity"],
                target,
                *(
                    (money_display(quote.unit_price), money_display(quote.list_amount), quote.discount_percent, money_display(quote.amount))
                    if quote
                    else ("", "", "", "")
                ),
            ]
        self.duplicates_mark(rows, lambda row: tuple(row.values.values()))
        return [
            (customer, orders, money_display(total), money_display(customer.balance), money_display(customer.balance - total))
            for customer, orders, total in totals.values()
        ]

    def row_apply(self, row, *, actor, address, token):
        order_place(**row.data, actor=actor, address=address, token=token)
