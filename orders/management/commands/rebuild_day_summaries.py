from django.core.management.base import BaseCommand
from multidb.pinning import use_primary_db

from customers.days import ledger_days_rebuild
from orders.days import order_days_rebuild


class Command(BaseCommand):
    help = (
        "Compute the dashboard's day summaries (orders and ledger per customer and local day) again from the "
        "orders and the ledger. Run it once after upgrading onto existing data, or when reconcile reports them "
        "wrong, while no order is placed and no money moves."
    )

    @use_primary_db  # the books as they are, never as a read replica has them so far
    def handle(self, *args, **options):
        orders = order_days_rebuild()
        ledger = ledger_days_rebuild()
        self.stdout.write(self.style.SUCCESS(f"Day summaries rebuilt: {orders} order days, {ledger} ledger days."))
