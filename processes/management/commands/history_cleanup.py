"""Remove ended instances past their history time to live now, whatever the window."""

from django.core.management.base import BaseCommand

from processes.services import retention


class Command(BaseCommand):
    help = "Remove ended instances (and approval records) past their time to live, now."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=None, help="instances per transaction")

    def handle(self, *args, batch: int | None = None, **options):
        result = retention.history_cleanup(batch_size=batch)
        self.stdout.write(
            f"Removed {result.instances} instances ({result.total_rows} rows) and {result.approvals} approval records"
        )
