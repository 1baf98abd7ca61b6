from decimal import Decimal

from django import template

from core.money import money_display

register = template.Library()


@register.filter
def money_shown(value: str) -> str:
    """A JSON amount ("1234.50") as every amount in the admin reads (¥1,234.50)."""
    return money_display(Decimal(value))
