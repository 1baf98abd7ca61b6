"""The one place where money is parsed and rounded."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from customers.errors import InvalidAmount

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")


def quantize_money(value: Decimal) -> Decimal:
    """Round to cents, half up (0.005 -> 0.01), the rule for every derived amount."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def db_decimal(value) -> Decimal:
    """A number read by raw SQL outside a model field: SQLite returns it as an int or a float."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def money_amount_parse(value) -> Decimal:
    """Validate an amount someone typed: positive, at most two decimals, at most 99,999,999.99.

    Unlike derived amounts, a typed amount is never rounded: 10.005 is refused, not changed.
    """
    if isinstance(value, float):
        raise InvalidAmount(_("Amounts must be given as decimals, not floating point numbers."))
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidAmount(_("“%(value)s” is not an amount.") % {"value": value}) from None
    if not amount.is_finite():
        raise InvalidAmount(_("“%(value)s” is not an amount.") % {"value": value})
    if amount <= 0:
        raise InvalidAmount(_("The amount must be greater than zero."))
    # The ceiling first: quantizing a huge value such as 1e99 overflows the decimal context.
    if amount > MAX_AMOUNT:
        raise InvalidAmount(_("The amount can be at most %(max)s.") % {"max": MAX_AMOUNT})
    if amount != amount.quantize(CENT):
        raise InvalidAmount(_("The amount can have at most two decimal places."))
    return amount.quantize(CENT)
