"""Run due jobs (timers) in this process: the demo's runner when there is no Celery worker."""

import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from processes.jobs import PERIODIC, run_due_jobs

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Fire due timers in-process, once or every --interval seconds (the demo runs this instead of Celery)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, loop: bool, interval: float, **options):
        # What beat does in production, registered by the apps (heartbeat, SLA alerts...).
        last_run = [0.0] * len(PERIODIC)
        while True:
            if not loop:
                self._round(last_run)
                return
            try:
                self._round(last_run)
            except Exception:  # noqa: BLE001 - a failed round (a locked SQLite file) must not end the runner
                logger.exception("A round of due jobs failed; the next round retries (leased jobs come back)")
                close_old_connections()
            time.sleep(interval)

    def _round(self, last_run: list[float]) -> None:
        for index, (every, action) in enumerate(PERIODIC):
            if time.monotonic() - last_run[index] >= every:
                action()
                last_run[index] = time.monotonic()
        count = run_due_jobs()
        if count:
            self.stdout.write(f"ran {count} job(s)")
