from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from forecasting.models import SUM_DIGITS, ForecastAdjustment, ForecastSubmission
from forecasting.services import CALL_RULE, MAX_CALL, NOTE_MAX_LENGTH, NOTE_RULE


class CallSerializer(serializers.ModelSerializer[ForecastSubmission]):
    person_name = serializers.CharField(source="person.display_name", read_only=True)

    class Meta:
        model = ForecastSubmission
        fields = ["id", "person", "person_name", "period", "commit", "best_case", "note", "created_at"]
        read_only_fields = ["id", "person", "person_name", "created_at"]


# "Adjustment" in the schema is the commission adjustment (incentives); this one is a manager's forecast call.
@extend_schema_serializer(component_name="ForecastAdjustment")
class AdjustmentSerializer(serializers.ModelSerializer[ForecastAdjustment]):
    manager_name = serializers.CharField(source="manager.display_name", read_only=True)

    class Meta:
        model = ForecastAdjustment
        fields = ["id", "person", "manager", "manager_name", "period", "commit", "best_case", "note", "created_at"]
        read_only_fields = ["id", "manager", "manager_name", "created_at"]


def _call_number() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, max_value=MAX_CALL,
                                    error_messages={"max_value": CALL_RULE})  # fmt: skip


class CallWriteSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(max_length=10)
    commit = _call_number()
    best_case = _call_number()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH,
                                 error_messages={"max_length": NOTE_RULE})  # fmt: skip


class AdjustmentWriteSerializer(CallWriteSerializer):
    """An adjustment's note is required: the service says so (the page's words), after the checks of who may
    adjust whom, so a role that may not adjust hears 403 here as on the page, not a complaint about the note."""

    person = serializers.IntegerField()


# ------------------------------------------------------------------------------ read-only answers (schema)
def _money(**kwargs: Any) -> serializers.DecimalField:
    # As wide as a rollup's sums (forecasting.models.SUM_DIGITS) and a forecast adding three of them.
    return serializers.DecimalField(max_digits=SUM_DIGITS + 1, decimal_places=2, read_only=True, **kwargs)


class TrendPointSerializer(serializers.Serializer[Any]):
    """A person's rollup for the period as it stood on one snapshot date."""

    date = serializers.DateField(read_only=True)
    closed = _money()
    commit_forecast = _money()
    best_case_forecast = _money()
    open_pipeline = _money()
    weighted = _money()
    pipeline_model = _money()
    call_commit = _money()
    call_best_case = _money()
    ts_point = _money(allow_null=True, help_text="Time-series forecast; null when none was computed.")
    ts_low = _money(allow_null=True, help_text="The time series' 80 % interval, low end; null with ts_point.")
    ts_high = _money(allow_null=True, help_text="The time series' 80 % interval, high end; null with ts_point.")
    quota = _money(allow_null=True, help_text="Null when the person has no quota for the period.")
    computed_at = serializers.DateTimeField(read_only=True)


class AccuracyCellSerializer(serializers.Serializer[Any]):
    forecast = _money(allow_null=True, help_text="Null when the source had no number at that point.")
    accuracy = serializers.FloatField(read_only=True, allow_null=True, help_text="1 − |forecast − actual| ÷ actual.")


class AccuracyPeriodSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(read_only=True)
    actual = _money()
    sources = serializers.DictField(
        child=serializers.DictField(child=AccuracyCellSerializer()),
        read_only=True,
        help_text="Source (rep_call, manager_call, weighted, pipeline_model, time_series) → as-of point "
        "(start, middle, week_before_end) → the forecast then and its accuracy.",
    )


class AccuracyRowSerializer(serializers.Serializer[Any]):
    person = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    mape = serializers.DictField(
        child=serializers.DictField(child=serializers.FloatField(allow_null=True)),
        read_only=True,
        help_text="Source → as-of point → mean absolute percentage error over the periods (null without data).",
    )
    periods = AccuracyPeriodSerializer(many=True, read_only=True)
