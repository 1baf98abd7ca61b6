"""Errors of signing in: each carries a clear, translated message the login page shows."""


class LoginRefused(Exception):
    """Signing in was refused; nothing was sent or changed."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__
