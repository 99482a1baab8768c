from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reporting import services


class Command(BaseCommand):
    help = (
        "Bring the reporting facts up to date: the deals changed since the last refresh (the default, what the "
        "scheduled job runs), or everything from scratch with --full (first load; readers wait until it commits)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Rebuild every fact and rollup from scratch.")

    def handle(self, *args: Any, full: bool, **options: Any) -> None:
        result = services.facts_rebuild() if full else services.facts_refresh_changed()
        self.stdout.write(self.style.SUCCESS(f"Reporting facts refreshed: {result}"))
