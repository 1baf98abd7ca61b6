"""The roles: one group each, with the permissions that make the role.

Permissions are named "app_label.codename" so this module imports no models of the apps above it.
Proxy models (customers.Recharge, customers.Debit, customers.MyLedgerEntry, orders.MyOrder) carry the
split between roles that read the same tables.
"""

ADMINISTRATORS = "Administrators"
FINANCE = "Finance"
CUSTOMER_SERVICE = "Customer service"
OPERATIONS = "Operations"
CUSTOMERS = "Customers"

# Every permission of these apps goes to the administrators ("axes": the lockouts, which they unlock;
# "core": everybody's exports).
ADMINISTRATOR_APPS = ("customers", "orders", "agent", "auth", "rbac", "axes", "core")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    FINANCE: (
        "customers.add_recharge",
        "customers.view_recharge",
        "customers.add_debit",
        "customers.view_debit",
        "customers.view_ledgerentry",
        # to find the customer to recharge (the customer field's autocomplete needs it)
        "customers.view_customer",
    ),
    CUSTOMER_SERVICE: (
        "customers.add_customer",
        "customers.change_customer",
        "customers.delete_customer",
        "customers.view_customer",
        "customers.view_tier",
        "customers.view_ledgerentry",
        "orders.add_order",
        "orders.change_order",  # the memo and the "cancel selected" action
        "orders.view_order",
        "orders.view_product",
    ),
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
