from django.core.management.base import BaseCommand

from rbac.services import roles_setup


class Command(BaseCommand):
    help = "Create or reset the role groups (Administrators, Finance, Customer service, Operations, Customers)."

    def handle(self, *args, **options):
        for name, group in roles_setup().items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
