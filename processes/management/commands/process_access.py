"""Grant or revoke a user's or group's right on a process from the command line (as the
process page's Access section does): see it, start it, own it."""

from django.core.management.base import BaseCommand, CommandError

from processes.exceptions import InvalidGrant
from processes.models import ProcessDefinition
from processes.selectors import GRANTABLE
from processes.services import grants

RIGHTS = {"view": "view_processdefinition", "start": "start_instance", "own": "own_process"}


class Command(BaseCommand):
    help = "Grant or revoke a right on a process key: " + "; ".join(
        f"{short} = {GRANTABLE[perm]}" for short, perm in RIGHTS.items()
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["grant", "revoke"])
        parser.add_argument("key", help="The process key (its id in the diagram)")
        parser.add_argument("right", choices=sorted(RIGHTS))
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="A username (an API client's service user, for example)")
        who.add_argument("--group", help="A group name")

    def handle(self, *args, action, key, right, user, group, **options):
        definition = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
        if definition is None:
            raise CommandError(f"No process with key {key!r} is deployed")
        change = grants.definition_grant if action == "grant" else grants.definition_revoke
        kind, name = ("user", user) if user else ("group", group)
        try:
            change(definition=definition, perm=RIGHTS[right], kind=kind, name=name)
        except InvalidGrant as error:
            raise CommandError(str(error)) from None
        done = "may now" if action == "grant" else "may no longer"
        self.stdout.write(f"{kind} {name} {done} {GRANTABLE[RIGHTS[right]]} of {key}\n")
