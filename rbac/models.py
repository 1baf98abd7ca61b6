"""Who did what (every sign-in and every write, recorded in the same transaction as the write), and
whose customers each person sees (teams and the roles' data scopes)."""

from django.conf import settings
from django.contrib.auth.models import Group
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
        SIGN_OUT = "sign_out", _("sign out")

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


class Team(models.Model):
    """A team of staff; a team lead's scope (team_tree) covers the teams below theirs."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent team")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("user")
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("team")
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)


class DataScope(models.TextChoices):
    ALL = "all", _("all customers")
    TEAM_TREE = "team_tree", _("their team's and the teams below")
    TEAM = "team", _("their team's customers")
    OWN = "own", _("only their own customers")


class RoleScope(models.Model):
    """Whose customers a role's members see (RuoYi's 数据权限): a user gets the widest of their roles'
    scopes; a role without one sees only its members' own customers."""

    Scope = DataScope

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="scope", verbose_name=_("role"))
    scope = models.CharField(_("data scope"), max_length=10, choices=Scope.choices, default=DataScope.OWN)

    class Meta:
        verbose_name = _("data scope")
        verbose_name_plural = _("data scopes")
        constraints = [models.CheckConstraint(condition=models.Q(scope__in=DataScope.values), name="role_scope_known")]

    def __str__(self) -> str:
        return str(self.get_scope_display())


class SignedInSession(models.Model):
    """A signed-in visit (RuoYi's 在线用户): made at sign-in, seen again at most once a minute, gone at
    sign-out; an administrator can end it."""

    session_key = models.CharField(_("session"), max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions", verbose_name=_("user")
    )
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    signed_in_at = models.DateTimeField(_("signed in at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"), db_index=True)

    class Meta:
        verbose_name = _("signed-in user")
        verbose_name_plural = _("signed-in users")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return str(self.user)
