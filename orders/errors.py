from customers.errors import DomainError


class OrderError(DomainError):
    pass


class InvalidQuantity(OrderError):
    pass


class InactiveProduct(OrderError):
    pass


class TargetMismatch(OrderError):
    pass


class InvalidTransition(OrderError):
    """The lifecycle table does not allow this status change (or someone else made it first)."""
