from django.core.management.base import BaseCommand, CommandError

from agent.worker import Worker, agent_name_default


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Execute pending orders until SIGTERM/SIGINT (or, with --once, until nothing is ready)."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=4, help="Orders executing at once in this process (it leases up to as many again, ready for the next free thread).")
        parser.add_argument("--once", action="store_true", help="Drain what is ready now, then exit.")
        parser.add_argument("--name", default="", help=f"Agent name (default host:pid, e.g. {agent_name_default()}).")
        parser.add_argument("--poll-interval", type=_positive_float, default=1.0, help="Seconds between database polls.")
        parser.add_argument("--lease-seconds", type=_positive_float, default=60.0, help="Lease length, renewed while executing.")
        parser.add_argument("--grace-seconds", type=float, default=30.0, help="On stop, how long in-flight orders may finish.")

    def handle(self, *args, **options):
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        worker = Worker(
            name=options["name"],
            concurrency=options["concurrency"],
            poll_interval=options["poll_interval"],
            lease_seconds=options["lease_seconds"],
            grace_seconds=options["grace_seconds"],
            once=options["once"],
        )
        worker.install_signal_handlers()
        worker.run()
