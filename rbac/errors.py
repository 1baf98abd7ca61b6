"""Errors of signing in: each carries a clear, translated message the login page shows."""

from core.errors import DomainError


class LoginRefused(DomainError):
    """Signing in was refused; nothing was sent or changed."""


class CodeNotSent(LoginRefused):
    """The SMS provider did not take the login code; the mobile may ask again at once."""
