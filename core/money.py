"""Money as people read it: one display rule for every amount the admin shows (lists, read-only fields,
messages, previews). Inputs and exports keep plain numbers."""

from decimal import Decimal

from django.db import models

# The shape of every money column (customers.models.MONEY); core knows no app's models.
MONEY_DIGITS, MONEY_PLACES = 14, 2


def money_display(value: Decimal) -> str:
    """¥1,234.50, and -¥12.50 for money that left a balance."""
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"


def is_money_field(field) -> bool:
    return (
        isinstance(field, models.DecimalField)
        and (field.max_digits, field.decimal_places) == (MONEY_DIGITS, MONEY_PLACES)
    )
