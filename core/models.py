from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _


def export_storage():
    """Where built exports are kept (EXPORT_ROOT): the agent writes there and the web serves from there,
    so with agents on other machines it must be a folder they share."""
    return FileSystemStorage(location=settings.EXPORT_ROOT)


class ExportJob(models.Model):
    """An export too big to build while the browser waits: the agent builds it from the list's address
    (filters and search) as the person who asked would see it, and keeps the file until it expires."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being built")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    model = models.CharField(_("list"), max_length=100, help_text=_("app_label.model_name of the exported list."))
    query = models.TextField(_("filters"), blank=True, help_text=_("The list's filters and search, as in its address."))
    fields = models.JSONField(_("columns"), default=list, blank=True)
    resource_index = models.PositiveSmallIntegerField(default=0)
    file_format = models.CharField(_("format"), max_length=10)
    language = models.CharField(_("language"), max_length=20)
    file_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    agent = models.CharField(_("agent"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    file = models.FileField(_("file"), storage=export_storage, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-requested_at", "-id"]
        permissions = [("view_all_exportjob", _("Can view everybody's exports"))]

    def __str__(self) -> str:
        return self.file_name
