"""Where reads go when read replicas are configured (REPLICA_DATABASES; backoffice/settings.py installs this
router only then).

A read goes to a replica, the replicas taken in turn, unless it must see the latest committed rows:
- the thread is pinned to the primary: by multidb's middleware, for a request that writes and for
  MULTIDB_PINNING_SECONDS after it (a cookie), so a user sees their own writes; or by
  `multidb.pinning.use_primary_db`, which the agent's threads and the commands that check or rebuild the
  books run under;
- it runs inside a transaction on the primary (every service, the admin's add and change pages): what it
  reads decides what the transaction writes, and a replica's rows may be behind, so they would be stale;
- its table decides who may sign in and what they may see: sessions, accounts, roles and permissions,
  lockouts, teams and data scopes. A signed-out visit, a deactivated account, a changed password or a
  role taken away takes effect at once, not after the replication delay.
Writes, and reads for a write (`select_for_update`), always go to the primary.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from multidb import PinningReplicaRouter

PRIMARY_APPS = {"auth", "sessions", "axes"}
PRIMARY_MODELS = {"rbac.team", "rbac.staffprofile", "rbac.rolescope"}


class ReplicaRouter(PinningReplicaRouter):
    def db_for_read(self, model, **hints):
        if (
            connections[DEFAULT_DB_ALIAS].in_atomic_block
            or model._meta.app_label in PRIMARY_APPS
            or model._meta.label_lower in PRIMARY_MODELS
        ):
            return DEFAULT_DB_ALIAS
        return super().db_for_read(model, **hints)
