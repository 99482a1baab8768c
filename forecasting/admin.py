"""Read-only views of forecasting data for sales ops: calls and adjustments are history, rollups and
snapshots are computed. Changes go through the pages, the API or the services."""

from __future__ import annotations

from django.contrib import admin

from forecasting.models import ForecastAdjustment, ForecastSubmission, Rollup, StageWinRate, TimeSeriesForecast
from salesops.org.admin import ReadOnlyAdmin as ReadOnly


@admin.register(ForecastSubmission)
class SubmissionAdmin(ReadOnly):
    list_display = ["person", "period", "commit", "best_case", "created_at"]
    list_filter = ["period"]
    search_fields = ["person__username", "person__last_name", "note"]


@admin.register(ForecastAdjustment)
class AdjustmentAdmin(ReadOnly):
    list_display = ["person", "manager", "period", "commit", "best_case", "created_at"]
    list_filter = ["period"]


@admin.register(Rollup)
class RollupAdmin(ReadOnly):
    list_display = ["person", "period", "closed", "commit", "best_case", "pipeline", "weighted", "computed_at"]
    list_filter = ["period"]


@admin.register(StageWinRate)
class WinRateAdmin(ReadOnly):
    list_display = ["stage_id", "band_days", "deals", "won", "rate", "computed_at"]


@admin.register(TimeSeriesForecast)
class TimeSeriesAdmin(ReadOnly):
    list_display = ["period", "as_of", "model_name", "point", "low", "high", "history_months"]
