from django import template

from core.money import money_display
from customers.selectors import customer_of

register = template.Library()


@register.simple_tag(takes_context=True)
def my_balance(context) -> str | None:
    """The signed-in customer's balance as people read it; None for staff."""
    customer = customer_of(context.request.user)
    if customer is None:
        return None
    customer.refresh_from_db(fields=["balance"])  # the login's cached customer may predate an order
    return money_display(customer.balance)
