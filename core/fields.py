from django.conf import settings
from django.db import models


def user_reference(verbose_name, *, editable: bool = True) -> models.ForeignKey:
    """Who did it: the acting user of a record, kept (as NULL) when the account is deleted later."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=editable,
        related_name="+",
        verbose_name=verbose_name,
    )
