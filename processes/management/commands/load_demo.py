"""Create the demo users and deploy the demo processes (idempotent)."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"

DEMO_USERS = [
    # username, password, roles, superuser
    ("admin", "admin", [], True),
    ("designer", "designer", ["Process Designer", "Process Owner"], False),
    ("owner", "owner", ["Process Owner", "Approver", "Department Head"], False),
    ("approver", "approver", ["Approver", "Task User", "Team Lead"], False),
    ("cfo", "cfo", ["Approver", "CFO"], False),
    ("user", "user", ["Task User"], False),
]


DEMO_OWNERS = ["owner", "designer"]  # users with the Process Owner role above

DEMO_INSTANCES = [
    # process key, business key, variables, started by
    ("leave_request", "LEAVE-1", {"employee": "Ada Lovelace", "days": 5, "start_date": "2026-12-21"}, "user"),
    ("leave_request", "LEAVE-2", {"employee": "Alan Turing", "days": 2, "start_date": "2027-01-07"}, "user"),
    ("purchase_request", "PO-1001", {"item": "a laptop", "amount": 900}, "user"),
    ("purchase_request", "PO-1002", {"item": "a 3D printer", "amount": 4500}, "user"),
    ("purchase_request", "PO-1003", {"item": "a delivery van", "amount": 42000}, "designer"),
]


class Command(BaseCommand):
    help = "Create demo users (one per role) and deploy the demo processes; prints the logins."

    def handle(self, **options):
        User = get_user_model()
        for username, password, roles, superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            if created:
                user.set_password(password)
                user.is_superuser = user.is_staff = superuser
                user.save()
            user.groups.add(*[Group.objects.get_or_create(name=role)[0] for role in roles])
            if not superuser:
                # every demo user may start the demo processes
                from django.contrib.auth.models import Permission

                user.user_permissions.add(Permission.objects.get(codename="start_instance"))
        call_command("deploy_definitions", str(DEMO_DIR))
        self._give_owners_their_processes()
        self._start_demo_instances()
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in as (username / password):"))
        for username, password, roles, superuser in DEMO_USERS:
            self.stdout.write(f"  {username} / {password}   {'administrator' if superuser else ', '.join(roles)}")

    def _give_owners_their_processes(self) -> None:
        """The demo's process owners own every demo process: their dashboards have figures."""
        from processes.models import ProcessDefinition
        from processes.services import definition_grant

        for definition in ProcessDefinition.objects.filter(is_active=True):
            for username in DEMO_OWNERS:
                definition_grant(definition=definition, perm="own_process", kind="user", name=username)

    def _start_demo_instances(self) -> None:
        """Start a few requests so approvers find work in their inbox at once (only on an empty database)."""
        from processes import services
        from processes.models import ProcessInstance

        if ProcessInstance.objects.exists():
            return
        User = get_user_model()
        for key, business_key, variables, username in DEMO_INSTANCES:
            services.instance_start(
                key=key, business_key=business_key, variables=variables, user=User.objects.get(username=username)
            )
        self.stdout.write(f"Started {len(DEMO_INSTANCES)} demo requests; their tasks wait in the inboxes.")
