"""The customers app's domain errors (the base and the shared ones live in core.errors)."""

from core.errors import DomainError, InvalidText  # noqa: F401 - the app's errors, imported from here


class InvalidAmount(DomainError):
    pass


class InsufficientBalance(DomainError):
    pass


class BalanceLimitExceeded(DomainError):
    """The balance would pass the largest value its column holds (customers.money.MONEY_MAX)."""


class InactiveCustomer(DomainError):
    pass


class IdempotencyConflict(DomainError):
    """A token was replayed with different parameters."""


class CustomerOutOfScope(DomainError):
    """The customer is not in the acting user's data scope (customers.selectors)."""
