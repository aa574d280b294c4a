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
    ("owner", "owner", ["Process Owner"], False),
    ("approver", "approver", ["Approver", "Task User"], False),
    ("user", "user", ["Task User"], False),
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
            user.groups.add(*Group.objects.filter(name__in=roles))
            if not superuser:
                # every demo user may start the demo processes
                from django.contrib.auth.models import Permission

                user.user_permissions.add(Permission.objects.get(codename="start_instance"))
        call_command("deploy_definitions", str(DEMO_DIR))
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in as (username / password):"))
        for username, password, roles, superuser in DEMO_USERS:
            self.stdout.write(f"  {username} / {password}   {'administrator' if superuser else ', '.join(roles)}")
