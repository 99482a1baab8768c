from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.generate import SCALES, generate
from pipeline.models import Deal
from salesops.org.models import User


class Command(BaseCommand):
    help = (
        "Build a deterministic company for benchmarks with COPY (bench/generate.py): tiny, small (60 people, "
        "10,000 deals), medium (400, 100,000) or enterprise (2,000 people, 1,000,000 deals). It truncates the "
        "people and pipeline tables it fills, so it runs on an empty database, or with --reset on a benchmark one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--today", type=dt.date.fromisoformat, default=None, help="The company's today (default: today)."
        )
        parser.add_argument("--reset", action="store_true", help="Replace the people and deals already there.")
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="COPY into indexed tables instead of rebuilding indexes and foreign keys after (slower; to compare).",
        )

    def handle(self, *args: Any, scale: str, seed: int, today: dt.date | None, reset: bool, keep_indexes: bool,
               **options: Any) -> None:  # fmt: skip
        # Checked before anything touches the database: this command truncates people and deals.
        if not settings.BENCH_DATA_ALLOWED or not settings.DEMO_LOGINS_ALLOWED:
            raise CommandError(
                f"bench_data refuses to run under {settings.SETTINGS_MODULE}: it truncates the people and pipeline "
                "tables. Run it against a benchmark database with DJANGO_SETTINGS_MODULE=salesops.settings.bench."
            )
        if not reset and (User.objects.exists() or Deal.objects.exists()):
            raise CommandError(
                f"The database {connection.settings_dict['NAME']} has people or deals already; bench_data "
                "truncates them, so it needs --reset to go ahead."
            )
        verbose = options.get("verbosity", 1) >= 2

        def log(message: str) -> None:
            if verbose or not message.startswith("  "):
                self.stdout.write(message)

        result = generate(scale=scale, seed=seed, today=today, drop_indexes=not keep_indexes, log=log)
        facts = result.facts
        self.stdout.write(
            self.style.SUCCESS(
                f"Bench company '{scale}' (seed {seed}, today {facts['today']}) built in {result.seconds:.1f}s: "
                f"{facts['people']} people ({facts['managers']} managers, {facts['reps']} reps), "
                f"{facts['accounts']} accounts, {facts['deals']} deals ({facts['won']} won, {facts['lost']} lost, "
                f"{facts['open']} open), {facts['splits']} splits, {facts['changes']} history rows, "
                f"{facts['activities']} activities. Everyone's password is '{facts['password']}'."
            )
        )
