"""Who did what: every sign-in and every write, recorded in the same transaction as the write."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import user_reference


class LoginLog(models.Model):
    class Method(models.TextChoices):
        PASSWORD = "password", _("password")
        SMS = "sms", _("SMS code")

    user = user_reference(_("user"))
    username = models.CharField(_("login name"), max_length=150, help_text=_("What was typed: a username or a mobile."))
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    succeeded = models.BooleanField(_("successful"))
    locked_out = models.BooleanField(
        _("locked out"), default=False, help_text=_("Refused by the lockout, or the failure that reached its limit.")
    )
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("login log entry")
        verbose_name_plural = _("login log")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.username} {self.get_method_display()}"


class OperationLog(models.Model):
    class Action(models.TextChoices):
        ADD = "add", _("add")
        CHANGE = "change", _("change")
        DELETE = "delete", _("delete")
        RECHARGE = "recharge", _("recharge")
        DEBIT = "debit", _("debit")
        PLACE = "place", _("place an order")
        CANCEL = "cancel", _("cancel an order")
        RETRY = "retry", _("retry an order")
        REFUND = "refund", _("refund")
        UNLOCK = "unlock", _("unlock")

    actor = user_reference(_("operator"))
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100, help_text=_("app_label.model"))
    object_id = models.CharField(_("object ID"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("operation log entry")
        verbose_name_plural = _("operation log")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="oplog_object")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"
