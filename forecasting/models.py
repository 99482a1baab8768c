"""Forecasting: calls (submissions and managers' adjustments), the current rollups, the append-only
snapshots of open deals and of rollups, the learned stage win rates and the time-series forecasts.

Money is `Decimal` with two places, as in the pipeline. Snapshot tables hold plain ids (no foreign keys):
they are history, written with one INSERT … SELECT, and must outlive the rows they describe.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


def _money(**options: Any) -> models.DecimalField:  # type: ignore[type-arg]
    """Money to the cent, wide enough for a company's yearly totals."""
    return models.DecimalField(max_digits=16, decimal_places=2, **options)


# A rollup's number is a sum of rows: deal credits (an amount below 10^12 at a share of at most 100 %), calls and
# adjustments (below 10^12, services.MAX_CALL) and quotas (below 10^12, limits.MAX_QUOTA), one part per row. Rows
# have bigint ids, so there are fewer than 2^63 < 10^19 of each kind, and a number adds at most two kinds (the
# call chain: the subtree's deals and one call per person): every sum is below 2 × 10^31 < 10^32. Sixteen digits
# (below 10^14) overflowed at 101 near-trillion calls of one manager's team; 32 digits before the cents hold any
# sum the parts allow (forecasting.math adds them in a context as wide, SUM_CONTEXT).
SUM_DIGITS = 34


def _sum(**options: Any) -> models.DecimalField:  # type: ignore[type-arg]
    """A sum of money over rows, to the cent (see SUM_DIGITS)."""
    return models.DecimalField(max_digits=SUM_DIGITS, decimal_places=2, **options)


class ForecastSubmission(models.Model):
    """A person's own call for a period: commit and best case, with a note. Every call is kept; the
    latest (by `created_at`, then id) counts."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forecast_calls")
    period = models.CharField(max_length=10, help_text="A month (2026-03) or fiscal quarter (2026-Q1) label.")
    commit = _money()
    best_case = _money()
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(commit__gte=0) & Q(best_case__gte=0), name="call_not_negative"),
            models.CheckConstraint(condition=Q(best_case__gte=F("commit")), name="call_best_case_covers_commit"),
        ]
        indexes = [models.Index(fields=["period", "person", "created_at"], name="call_period_person")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period}: {self.commit} / {self.best_case}"


class ForecastAdjustment(models.Model):
    """A manager's number for one direct report's period; the report's own call stays beside it."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forecast_adjustments")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=10)
    commit = _money()
    best_case = _money()
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(commit__gte=0) & Q(best_case__gte=0), name="adjust_not_negative"),
            models.CheckConstraint(condition=Q(best_case__gte=F("commit")), name="adjust_best_case_covers_commit"),
            models.CheckConstraint(condition=~Q(person=F("manager")), name="adjust_not_own"),
        ]
        indexes = [models.Index(fields=["period", "person", "created_at"], name="adjust_period_person")]

    def __str__(self) -> str:
        return f"{self.manager_id} → {self.person_id} {self.period}: {self.commit} / {self.best_case}"


class RollupNumbers(models.Model):
    """The numbers of one person's subtree for one period (forecasting.md), shared by the current rollup
    and its snapshots. `own_*` are the person's own deals only: the call chain needs them."""

    period = models.CharField(max_length=10)
    closed = _sum(default=0)
    commit = _sum(default=0, help_text="Open amount in commit (not cumulative).")
    best_case = _sum(default=0, help_text="Open amount in best case (not cumulative).")
    pipeline = _sum(default=0, help_text="Open amount in pipeline (not cumulative).")
    weighted = _sum(default=0)
    pipeline_model = _sum(default=0, help_text="Pipeline-based statistical forecast.")
    quota = _sum(null=True, blank=True)
    own_closed = _sum(default=0)
    own_commit = _sum(default=0)
    own_best_case = _sum(default=0)
    call_commit = _sum(default=0, help_text="Commit forecast with calls and adjustments.")
    call_best_case = _sum(default=0)
    ts_point = _sum(null=True, blank=True, help_text="Time-series forecast.")
    ts_low = _sum(null=True, blank=True)
    ts_high = _sum(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class Rollup(RollupNumbers):
    """The current rollup of a person for a period; replaced whole by each refresh (one transaction)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "person"], name="rollup_unique_person_period")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period}"


class RollupSnapshot(RollupNumbers):
    """A rollup as it stood on a date. Append-only: one row per (date, person, period)."""

    snapshot_date = models.DateField()
    person_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person_id", "period", "snapshot_date"], name="rollupsnap_unique")
        ]
        indexes = [models.Index(fields=["snapshot_date", "period"], name="rollupsnap_date_period")]

    def __str__(self) -> str:
        return f"{self.snapshot_date} {self.person_id} {self.period}"


class DealSnapshot(models.Model):
    """An open deal as it stood on a date. Append-only: one row per (date, deal)."""

    snapshot_date = models.DateField()
    deal_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    category = models.CharField(max_length=12)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    probability = models.DecimalField(max_digits=5, decimal_places=2)
    close_date = models.DateField(null=True)
    status = models.CharField(max_length=4, default="open")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot_date", "deal_id"], name="dealsnap_unique")]
        indexes = [models.Index(fields=["snapshot_date", "close_date"], name="dealsnap_date_close")]

    def __str__(self) -> str:
        return f"{self.snapshot_date} deal {self.deal_id}"


class StageWinRate(models.Model):
    """p̂: of the closed deals that were ever in `stage_id` for at least `band_days`, the share that won.
    Learned from the stage history by the nightly job; replaced whole each time."""

    stage_id = models.BigIntegerField()
    band_days = models.PositiveIntegerField(help_text="Lower bound of the time-in-stage band, in days.")
    deals = models.PositiveIntegerField()
    won = models.PositiveIntegerField()
    rate = models.DecimalField(max_digits=7, decimal_places=6)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stage_id", "band_days"], name="winrate_unique")]

    def __str__(self) -> str:
        return f"stage {self.stage_id} ≥{self.band_days}d: {self.rate}"


class TimeSeriesForecast(models.Model):
    """The company's expected bookings for a period, from the monthly bookings up to `as_of` (exclusive of
    its own month), with an 80 % prediction interval. Append-only per (as_of, period)."""

    as_of = models.DateField()
    period = models.CharField(max_length=10)
    model_name = models.CharField(max_length=40)
    point = _money()
    low = _money()
    high = _money()
    history_months = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-as_of"]
        constraints = [models.UniqueConstraint(fields=["period", "as_of"], name="tsforecast_unique")]

    def __str__(self) -> str:
        return f"{self.period} as of {self.as_of}: {self.point}"


# The numeric columns a rollup snapshot copies from the current rollup (INSERT … SELECT).
NUMBERS_FIELDS = ("closed", "commit", "best_case", "pipeline", "weighted", "pipeline_model", "quota",
                  "own_closed", "own_commit", "own_best_case", "call_commit", "call_best_case", "ts_point", "ts_low",
                  "ts_high")  # fmt: skip
