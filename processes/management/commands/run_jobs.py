"""Run due jobs (timers) in this process: the demo's runner when there is no Celery worker."""

import time

from django.core.management.base import BaseCommand

from processes.jobs import PERIODIC, run_due_jobs


class Command(BaseCommand):
    help = "Fire due timers in-process, once or every --interval seconds (the demo runs this instead of Celery)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, loop: bool, interval: float, **options):
        # What beat does in production, registered by the apps (heartbeat, SLA alerts...).
        last_run = [0.0] * len(PERIODIC)
        while True:
            for index, (every, action) in enumerate(PERIODIC):
                if time.monotonic() - last_run[index] >= every:
                    action()
                    last_run[index] = time.monotonic()
            count = run_due_jobs()
            if count:
                self.stdout.write(f"ran {count} job(s)")
            if not loop:
                return
            time.sleep(interval)
