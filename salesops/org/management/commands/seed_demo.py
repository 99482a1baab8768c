from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from enablement.demo import seed_enablement
from forecasting.demo import seed_forecasting
from incentives.demo import current_quarter, seed_incentives
from pipeline.demo import seed_pipeline
from pipeline.imports.demo import seed_import
from planning.demo import seed_planning
from salesops.org.demo import seed_org
from salesops.org.models import User
from signals.demo import seed_signals


class Command(BaseCommand):
    help = (
        "Load the demo company: people, then accounts, two years of deals with their histories, activities "
        "and leads, then comp plans, quotas and payouts (a locked last quarter, an open dispute). "
        "Deterministic for a --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database already has people.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete everything in the database first, then load the demo company dated from today "
            "(`make demo`). Every change made since is lost.",
        )

    def handle(self, *args: Any, seed: int, if_empty: bool, reset: bool, **options: Any) -> None:
        if not settings.DEMO_LOGINS_ALLOWED:
            raise CommandError("Demo data is disabled by these settings (production): seed_demo will not run.")
        if reset:
            call_command("flush", interactive=False, verbosity=0)
            self.stdout.write("Database emptied for a fresh demo company.")
        if User.objects.exists():
            if if_empty:
                self.stdout.write("The database has people already: demo company not loaded.")
                self._say_how_old()
                return
            raise CommandError("The database has people already; seed_demo loads into an empty database only.")
        today = timezone.localdate()
        with transaction.atomic():
            quarter = current_quarter(today)
            org = seed_org(seed=seed, today=today, quarter_start=quarter.start)
            pipeline = seed_pipeline(org=org, seed=seed, today=today, quarter_start=quarter.start)
            incentives = seed_incentives(org=org, seed=seed, today=today)
            forecasts = seed_forecasting(org=org, seed=seed, today=today)
            planning = seed_planning(org=org, seed=seed, today=today)
            enablement = seed_enablement(org=org, seed=seed, today=today)
            signals = seed_signals(org=org, seed=seed, today=today)
            imported = seed_import(org=org, seed=seed, today=today)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company loaded (seed {seed}): {len(org.regions)} regions, 1 director, "
                f"{len(org.managers)} managers, {len(org.reps)} reps, finance and sales ops; "
                f"{pipeline.accounts} accounts, {pipeline.deals} deals over two years ({pipeline.won} won, "
                f"{pipeline.lost} lost, {pipeline.open} open) in {len(pipeline.pipelines)} pipelines, "
                f"{pipeline.leads} leads; {incentives.plans} comp plans, {incentives.quotas} quotas, "
                f"{incentives.payouts} payouts with {incentives.lines} statement lines ({incentives.locked} locked, "
                f"{incentives.current} open{', 1 open dispute' if incentives.dispute_id else ''}, "
                f"{incentives.adjustments} adjustments). "
                f"{forecasts.snapshot_dates} forecast snapshot dates. "
                f"{planning.territory_models} territory models ({planning.territories} territories, "
                f"{planning.accounts_assigned} accounts placed), {len(planning.scenarios)} quota scenarios, "
                f"{planning.stress_tests} stress test(s). "
                f"{enablement.programmes} onboarding programmes ({enablement.enrolments} enrolments), "
                f"{enablement.courses} courses, {enablement.one_on_ones} 1:1s. "
                + "".join(f"{count} {what}, " for what, count in signals.items()).rstrip(", ")
                + (". " if signals else "")
                + ("1 CRM import dry-run, waiting to be started. " if imported else "")
                + "Logins rep, manager, finance, ops with password 'demo'."
            )
        )

    def _say_how_old(self) -> None:
        """A demo company loaded on an earlier day has aged (its open deals slip past their dates): say so, and
        how to load one dated from today."""
        loaded = User.objects.filter(is_demo=True).order_by("date_joined").values_list("date_joined", flat=True).first()
        if loaded is None:
            return
        days = (timezone.localdate() - timezone.localtime(loaded).date()).days
        if days >= 7:
            self.stdout.write(
                f"The demo company was loaded {days} days ago ({timezone.localtime(loaded):%d %b %Y}); "
                "`make demo` reloads it dated from today (everything changed since is lost)."
            )
