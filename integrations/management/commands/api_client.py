"""Register, list and revoke API clients (OAuth2 client credentials) from the command line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations import services
from integrations.models import ApiClient
from integrations.scopes import SCOPES


class Command(BaseCommand):
    help = "Manage API clients: create (prints the secret once), scopes, revoke, list."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Register a client acting as a service user")
        create.add_argument("name")
        create.add_argument("--user", required=True, help="Service user the client acts as (created when missing)")
        create.add_argument("--scopes", required=True, help=f"Space-separated, of: {' '.join(SCOPES)}")
        create.add_argument("--groups", default="", help="Comma-separated groups for the service user")
        scopes = sub.add_parser("scopes", help="Change a client's scopes")
        scopes.add_argument("name")
        scopes.add_argument("--scopes", required=True)
        revoke = sub.add_parser("revoke", help="Lock a client out at once")
        revoke.add_argument("name")
        sub.add_parser("list", help="List clients")

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                new = services.client_create(
                    name=options["name"],
                    service_username=options["user"],
                    scopes=options["scopes"].split(),
                    groups=[g.strip() for g in options["groups"].split(",") if g.strip()],
                )
                self.stdout.write(f"client_id={new.client_id}\nclient_secret={new.client_secret}\n")
                self.stdout.write("Keep the secret now: it is stored hashed and cannot be shown again.\n")
            elif action == "scopes":
                services.client_set_scopes(name=options["name"], scopes=options["scopes"].split())
            elif action == "revoke":
                tokens = services.client_revoke(name=options["name"])
                self.stdout.write(f"Revoked {options['name']} ({tokens} tokens invalidated)\n")
            else:
                for client in ApiClient.objects.select_related("application", "application__user"):
                    state = "active" if client.active else "revoked"
                    self.stdout.write(
                        f"{client.application.name}\t{client.application.client_id}\t"
                        f"{client.application.user}\t{client.scopes}\t{state}\n"
                    )
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from None
        except ApiClient.DoesNotExist:
            raise CommandError(f"No client named {options.get('name')!r}") from None
