from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from forecasting.demo import seed_forecasting
from incentives.demo import current_quarter, seed_incentives
from pipeline.demo import seed_pipeline
from salesops.org.demo import seed_org
from salesops.org.models import User


class Command(BaseCommand):
    help = (
        "Load the demo company: people, then accounts, two years of deals with their histories, activities "
        "and leads, then comp plans, quotas and payouts (a locked last quarter, an open dispute). "
        "Deterministic for a --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database already has people.")

    def handle(self, *args: Any, seed: int, if_empty: bool, **options: Any) -> None:
        if not settings.DEMO_LOGINS_ALLOWED:
            raise CommandError("Demo data is disabled by these settings (production): seed_demo will not run.")
        if User.objects.exists():
            if if_empty:
                self.stdout.write("The database has people already: demo company not loaded.")
                return
            raise CommandError("The database has people already; seed_demo loads into an empty database only.")
        today = timezone.localdate()
        with transaction.atomic():
            quarter = current_quarter(today)
            org = seed_org(seed=seed, today=today, quarter_start=quarter.start)
            pipeline = seed_pipeline(org=org, seed=seed, today=today, quarter_start=quarter.start)
            incentives = seed_incentives(org=org, seed=seed, today=today)
            forecasts = seed_forecasting(org=org, seed=seed, today=today)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company loaded (seed {seed}): {len(org.regions)} regions, 1 director, "
                f"{len(org.managers)} managers, {len(org.reps)} reps, finance and sales ops; "
                f"{pipeline.accounts} accounts, {pipeline.deals} deals over two years ({pipeline.won} won, "
                f"{pipeline.lost} lost, {pipeline.open} open) in {len(pipeline.pipelines)} pipelines, "
                f"{pipeline.leads} leads; {incentives.plans} comp plans, {incentives.quotas} quotas, "
                f"{incentives.payouts} payouts with {incentives.lines} statement lines ({incentives.locked} locked, "
                f"{incentives.current} open{', 1 open dispute' if incentives.dispute_id else ''}). "
                f"{forecasts.snapshot_dates} forecast snapshot dates. "
                "Logins rep, manager, finance, ops with password 'demo'."
            )
        )
