from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from agent.models import Agent
from agent.selectors import agent_is_alive, queue_summary


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    """Read-only: agents write their own rows by heartbeating."""

    list_display = (
        "name", "alive", "host", "pid", "started_at", "last_seen_at", "orders_done", "orders_failed", "holding_display"
    )
    list_filter = ("host",)
    search_fields = ("name", "host")
    readonly_fields = (
        "name", "host", "pid", "started_at", "last_seen_at", "stopped_at", "orders_done", "orders_failed", "holding"
    )

    @admin.display(boolean=True, description=_("alive"))
    def alive(self, agent: Agent) -> bool:
        return agent_is_alive(agent)

    @admin.display(description=_("holding"))
    def holding_display(self, agent: Agent) -> str:
        shown = ", ".join(agent.holding[:5])
        return f"{shown} … (+{len(agent.holding) - 5})" if len(agent.holding) > 5 else shown or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context={**(extra_context or {}), "queue": queue_summary()})
