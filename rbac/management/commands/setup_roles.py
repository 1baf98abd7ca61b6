from django.core.management.base import BaseCommand

from rbac.services import roles_setup


class Command(BaseCommand):
    help = (
        "Create the role groups (Administrators, Finance, Customer service, Operations, Customers) and give "
        "each the permissions it lacks; permissions added to a role in the admin are kept unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Make each role exactly its default permissions.")

    def handle(self, *args, reset=False, **options):
        for name, role in roles_setup(reset=reset).items():
            scope = f", data scope {role.scope}" if role.scope else ""
            self.stdout.write(f"{name}: {role.group.permissions.count()} permissions{scope}")
            if role.added:
                self.stdout.write(f"  added: {', '.join(role.added)}")
            if role.extra and reset:
                self.stdout.write(f"  removed: {', '.join(role.extra)}")
            elif role.extra:
                self.stdout.write(self.style.WARNING(
                    f"  beyond the defaults, kept (--reset removes them): {', '.join(role.extra)}"
                ))
