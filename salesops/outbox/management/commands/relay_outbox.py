from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from salesops.outbox.services import relay


class Command(BaseCommand):
    help = (
        "Send the queued tasks the broker has not taken yet (a worker and beat do this every 30 s); "
        "prints how many were sent and how many still wait."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = {"sent": 0, "failed": 0}
        while True:
            done = relay()
            total["sent"] += done["sent"]
            total["failed"] += done["failed"]
            if done["failed"] or not done["sent"]:
                break
        self.stdout.write(f"{total['sent']} sent, {done['waiting']} waiting")
        if done["failed"]:
            self.stderr.write(f"The broker refused a message; {done['waiting']} wait. See the log.")
