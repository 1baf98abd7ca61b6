"""The roles: one group each, with the permissions that make the role.

Permissions are named "app_label.codename" so this module imports no models of the apps above it.
Proxy models (customers.Recharge, customers.Debit, customers.MyLedgerEntry, orders.MyOrder) carry the
split between roles that read the same tables.
"""

from rbac.models import DataScope

ADMINISTRATORS = "Administrators"
FINANCE = "Finance"
CUSTOMER_SERVICE = "Customer service"
CUSTOMER_SERVICE_LEAD = "Customer service lead"
OPERATIONS = "Operations"
CUSTOMERS = "Customers"

# Every permission of these apps goes to the administrators ("axes": the lockouts, which they unlock;
# "core": everybody's exports).
ADMINISTRATOR_APPS = ("customers", "orders", "agent", "auth", "rbac", "axes", "core")

CUSTOMER_SERVICE_PERMISSIONS = (
    "customers.add_customer",
    "customers.change_customer",
    "customers.delete_customer",
    "customers.view_customer",
    "customers.import_customer",  # customers created or updated from a spreadsheet
    "customers.view_tier",
    "customers.view_ledgerentry",
    "orders.add_order",
    "orders.change_order",  # the memo and the "cancel selected" action
    "orders.view_order",
    "orders.import_order",  # mass orders from a spreadsheet
    "orders.view_product",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    FINANCE: (
        "customers.add_recharge",
        "customers.view_recharge",
        "customers.add_debit",
        "customers.view_debit",
        "customers.import_recharge",  # batch recharge from a spreadsheet
        "customers.view_ledgerentry",
        # to find the customer to recharge (the customer field's autocomplete needs it)
        "customers.view_customer",
    ),
    CUSTOMER_SERVICE: CUSTOMER_SERVICE_PERMISSIONS,
    # A team lead: customer service over their teams' customers, and chooses who owns a customer.
    CUSTOMER_SERVICE_LEAD: (*CUSTOMER_SERVICE_PERMISSIONS, "customers.assign_owner"),
    OPERATIONS: (
        "orders.view_order",
        "orders.retry_order",  # the "retry selected failed orders" action
        "orders.view_product",
        "customers.view_ledgerentry",
        "agent.view_agent",
    ),
    CUSTOMERS: (
        "orders.view_myorder",
        "orders.add_myorder",
        "orders.change_myorder",  # cancelling their own pending orders
        "customers.view_myledgerentry",
    ),
}

# Whose customers each role's members see (rbac.models.RoleScope); the Customers role sees its own
# customer through the login account instead. setup_roles sets these where a role has none.
ROLE_SCOPES: dict[str, str] = {
    ADMINISTRATORS: DataScope.ALL,
    FINANCE: DataScope.ALL,
    OPERATIONS: DataScope.ALL,
    CUSTOMER_SERVICE_LEAD: DataScope.TEAM_TREE,
    CUSTOMER_SERVICE: DataScope.OWN,
}
