from django.db import models
from django.utils.translation import gettext_lazy as _


class Agent(models.Model):
    """One runagent process, as its last heartbeat described it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    host = models.CharField(_("host"), max_length=100)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    last_seen_at = models.DateTimeField(_("last seen at"), db_index=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    orders_done = models.PositiveIntegerField(_("orders done"), default=0)
    orders_failed = models.PositiveIntegerField(_("orders failed"), default=0)
    holding = models.JSONField(_("holding"), default=list, blank=True, help_text=_("Order numbers in flight."))

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.name


class SandboxExecution(models.Model):
    """One run of the built-in sandbox executor, so tests and the demo can count executions per order."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("succeeded")
        DUPLICATE = "duplicate", _("duplicate (already succeeded)")
        FAILED = "failed", _("failed")
        TRANSIENT = "transient", _("transient failure")

    order_no = models.CharField(_("order number"), max_length=32, db_index=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    agent = models.CharField(_("agent"), max_length=100)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox execution")
        verbose_name_plural = _("sandbox executions")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_no} #{self.attempt}: {self.outcome}"
