"""Shapes of the reporting API: documentation for the OpenAPI schema (the views build plain dicts)."""

from __future__ import annotations

from rest_framework import serializers


class KpiRowSerializer(serializers.Serializer[dict]):
    group = serializers.CharField()
    bookings = serializers.CharField(help_text="Money, 2 decimals.")
    won_count = serializers.IntegerField()
    lost_count = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    avg_deal_size = serializers.CharField(allow_null=True)
    cycle_days_mean = serializers.FloatField(allow_null=True)
    cycle_days_median = serializers.FloatField(allow_null=True)


class StatSerializer(serializers.Serializer[dict]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF takes declared fields off the class
    value = serializers.JSONField(allow_null=True)
    text = serializers.CharField()
    drill = serializers.CharField(allow_null=True)


class PanelSerializer(serializers.Serializer[dict]):
    key = serializers.CharField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    state = serializers.ChoiceField(choices=["ok", "empty", "error"])
    message = serializers.CharField(help_text="The empty or error state's words.")
    stats = StatSerializer(many=True)
    header = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField(allow_null=True)))


class DashboardSerializer(serializers.Serializer[dict]):
    dashboard = serializers.CharField()
    period = serializers.DictField()
    filters = serializers.DictField()
    as_of = serializers.DateTimeField(allow_null=True, help_text="When the reporting facts were last refreshed.")
    panels = PanelSerializer(many=True)


class DealRowSerializer(serializers.Serializer[dict]):
    deal_id = serializers.IntegerField()
    external_id = serializers.CharField()
    deal = serializers.CharField()
    account = serializers.CharField(allow_null=True)
    owner = serializers.CharField()
    pipeline = serializers.CharField()
    stage = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.CharField(allow_null=True)
    credited_person = serializers.CharField(allow_null=True)
    credit = serializers.CharField(allow_null=True)
    close_date = serializers.DateField(allow_null=True)
    created_date = serializers.DateField(allow_null=True)
    product = serializers.CharField(allow_null=True)


class DrillSerializer(serializers.Serializer[dict]):
    measure = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.CharField()
    results = DealRowSerializer(many=True)
