from django.core.management.base import BaseCommand

from orders.models import Product


class Command(BaseCommand):
    help = (
        "Renew every product's revision, so that every process prices its next order from the database. "
        "Run it after changing products or price policies by SQL."
    )

    def handle(self, *args, **options):
        count = Product.objects.update()  # the update alone renews the revision
        self.stdout.write(self.style.SUCCESS(f"{count} product(s) revised."))
