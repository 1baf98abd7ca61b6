"""Domain errors: each carries a clear, translated message the admin shows as a form error."""


class DomainError(Exception):
    """A business rule refused the request; nothing was written."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidText(DomainError):
    """Typed text (a name, target or memo) holds a control character; `field` says which."""

    def __init__(self, message, *, field: str = ""):
        super().__init__(message)
        self.field = field
