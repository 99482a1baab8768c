from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from forecasting.models import ForecastAdjustment, ForecastSubmission


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


class CallWriteSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(max_length=10)
    commit = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    best_case = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AdjustmentWriteSerializer(CallWriteSerializer):
    person = serializers.IntegerField()
    note = serializers.CharField()
