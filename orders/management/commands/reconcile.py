from django.core.management.base import BaseCommand, CommandError
from multidb.pinning import use_primary_db

from orders.reconcile import ledger_breaches_find


class Command(BaseCommand):
    help = "Check every money invariant for every customer and order; exit non-zero on any breach."

    @use_primary_db  # the books as they are, never as a read replica has them so far
    def handle(self, *args, **options):
        breaches = ledger_breaches_find()
        for breach in breaches:
            self.stderr.write(breach)
        if breaches:
            raise CommandError(f"{len(breaches)} breach(es) found.")
        self.stdout.write(self.style.SUCCESS("Ledger reconciled: no breach."))
