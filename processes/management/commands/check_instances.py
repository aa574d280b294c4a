"""Report (and with --repair fix where possible) open instances that break the invariant."""

from django.core.management.base import BaseCommand

from processes import services


class Command(BaseCommand):
    help = (
        "Check that every running instance waits at a human task, an event, a job or an incident, "
        "and that its waiting steps match the engine; --repair fixes what can be fixed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="repair what can be repaired")
        parser.add_argument("instance_ids", nargs="*", type=int, help="only these instances")

    def handle(self, *args, repair: bool = False, instance_ids=None, **options):
        found = services.instances_check(repair=repair, instance_ids=instance_ids or None)
        for check in found:
            label = f"instance {check.instance_id} ({check.process_key}{' ' + check.business_key if check.business_key else ''})"
            for problem in check.problems:
                self.stdout.write(f"{label}: {problem}")
            for done in check.repaired:
                self.stdout.write(f"{label}: {done}")
        if not found:
            self.stdout.write(self.style.SUCCESS("All open instances wait where the engine says."))
        elif not repair:
            self.stdout.write(f"{len(found)} instance(s) need attention; run with --repair to fix what can be fixed.")
