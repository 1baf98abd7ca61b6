"""The one place where money is parsed and rounded."""

import re
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from customers.errors import InvalidAmount

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")  # the most one typed amount may be
# The largest value a money column holds (DecimalField max_digits=14, decimal_places=2): a balance,
# an order's amount or a ledger row past it cannot be stored, so the services refuse it first.
MONEY_MAX = Decimal("999999999999.99")

# Plain decimal notation: digits, then optionally one point and one or two digits. Nothing that
# Python's Decimal also takes (1e3, 1_0, +5, Infinity, NaN), no thousands separators (1,000),
# no other scripts' digits.
AMOUNT_RE = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
MORE_DECIMALS_RE = re.compile(r"[0-9]+\.[0-9]{3,}")
# Full-width digits and point, as a Chinese input method types them, read as their ASCII forms.
FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


def quantize_money(value: Decimal) -> Decimal:
    """Round to cents, half up (0.005 -> 0.01), the rule for every derived amount."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def db_decimal(value) -> Decimal:
    """A number read by raw SQL outside a model field: SQLite returns it as an int or a float."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def money_amount_parse(value) -> Decimal:
    """Validate an amount someone typed: positive, at most two decimals, at most 99,999,999.99.

    Text must be plain decimal notation (see AMOUNT_RE), with surrounding spaces and full-width
    digits allowed; code may also pass a Decimal or an int. A typed amount is never rounded:
    10.005 is refused, not changed.
    """
    if isinstance(value, float):
        raise InvalidAmount(_("Amounts must be given as decimals, not floating point numbers."))
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidAmount(_("“%(value)s” is not an amount.") % {"value": value})
    if isinstance(value, str):
        text = value.strip().translate(FULL_WIDTH)
        if MORE_DECIMALS_RE.fullmatch(text):
            raise InvalidAmount(_("The amount can have at most two decimal places."))
        if not AMOUNT_RE.fullmatch(text):
            raise InvalidAmount(
                _("“%(value)s” is not an amount: enter digits with at most one decimal point, such as 100 or 99.50.")
                % {"value": value}
            )
        amount = Decimal(text)
    else:
        amount = Decimal(value)
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
