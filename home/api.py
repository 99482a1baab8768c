"""GET /api/v1/home/: the numbers of the home page, as JSON (docs/home.md).

The same panels as the page (`home.panels.home_for`, the same selectors and scope): a section per role the caller
holds (`rep`, `manager`, `finance`, `ops`), null for the others, and the organisation counts for finance and
sales ops. Lists are the page's first few (a panel's "all N" link is the matching list endpoint).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from home.panels import home_for
from salesops.org.auth import request_user
from salesops.org.selectors import person_with_place


def _money(**kwargs: Any) -> serializers.DecimalField:
    # Room for sums: the company's open pipeline adds up every open deal (a deal holds 14 digits).
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def _share(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, **kwargs)


class _Person(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="display_name")


class _Measured(serializers.Serializer[Any]):
    """A bookings quota of the quarter and what is credited against it."""

    quota = _money(source="quota.amount")
    achieved = _money()
    attainment = _share(allow_null=True, help_text="achieved ÷ quota (1 = 100 %); null for a zero quota")


class _Category(serializers.Serializer[Any]):
    category = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    count = serializers.IntegerField()
    amount = _money()


class _Health(serializers.Serializer[Any]):
    """Open deals of the scope and how many need attention under each data-quality rule."""

    count = serializers.IntegerField()
    amount = _money()
    past_close_date = serializers.IntegerField()
    no_next_step = serializers.IntegerField()
    missing_fields = serializers.IntegerField()
    no_recent_activity = serializers.IntegerField()
    stale = serializers.IntegerField()
    categories = _Category(many=True)


class _Deal(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    amount = _money(allow_null=True)
    close_date = serializers.DateField(allow_null=True)
    next_step = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id")


class _Task(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    subject = serializers.CharField()
    due_date = serializers.DateField()
    deal = serializers.IntegerField(source="deal_id", allow_null=True)
    lead = serializers.IntegerField(source="lead_id", allow_null=True)


class _Tasks(serializers.Serializer[Any]):
    overdue = serializers.IntegerField(help_text="Open tasks due before today.")
    due_soon = serializers.IntegerField(help_text="Open tasks due today or in the next six days.")
    tasks = _Task(many=True, help_text="The earliest of those.")


class _Forecast(serializers.Serializer[Any]):
    closed = _money()
    commit = _money()
    best_case = _money()
    pipeline = _money()


class _Call(serializers.Serializer[Any]):
    commit = _money()
    best_case = _money()
    created_at = serializers.DateTimeField()


class _Statement(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    period = serializers.CharField(source="period.label")
    earned = _money()
    payout = _money(help_text="After the draw, before adjustments.")


class _Answer(serializers.Serializer[Any]):
    """A dispute of the rep's that finance answered in the last 30 days."""

    dispute_id = serializers.IntegerField()
    status = serializers.CharField()
    disputed_period = serializers.CharField()
    statement_id = serializers.IntegerField()
    deal_key = serializers.CharField()
    resolution = serializers.CharField()
    resolved_at = serializers.DateTimeField()
    resolved_by = serializers.CharField()
    amount = _money(allow_null=True, help_text="The adjustment paid; null when nothing is paid.")
    landed_period = serializers.CharField(allow_null=True)


class _Step(serializers.Serializer[Any]):
    title = serializers.CharField()
    kind = serializers.CharField()
    due_on = serializers.DateField()
    done = serializers.BooleanField()
    overdue = serializers.BooleanField()


class _Checklist(serializers.Serializer[Any]):
    """An open onboarding enrolment of the new hire, its steps in due order."""

    enrolment = serializers.IntegerField(source="enrolment_id")
    programme = serializers.CharField()
    start_date = serializers.DateField()
    steps = _Step(many=True)


class _Rep(serializers.Serializer[Any]):
    attainment = _Measured(allow_null=True)
    statement = _Statement(allow_null=True, help_text="This quarter's payout, when computed.")
    paid_to_date = _money(help_text="Paid in the fiscal year so far (periods that have begun).")
    forecast = _Forecast(help_text="The rep's credit of deals closing this quarter, by forecast category.")
    open_deals = _Health()
    needing_step = _Deal(many=True, help_text="Open deals with a past close date or no next step (the first few).")
    tasks = _Tasks()
    call = _Call(allow_null=True, help_text="The rep's latest forecast call for the quarter.")
    dispute_answers = _Answer(many=True, help_text="Disputes finance answered in the last 30 days.")
    onboarding = _Checklist(many=True, help_text="A new hire's open onboarding checklists (else empty).")


class _ReportRow(serializers.Serializer[Any]):
    person = _Person()
    attainment = _Measured(allow_null=True)
    call_in = serializers.BooleanField(help_text="Their forecast call for the quarter is in.")
    reports = serializers.IntegerField(help_text="How many people report to them.")


class _Stale(serializers.Serializer[Any]):
    person = _Person()
    stale = serializers.IntegerField()


class _AtRisk(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    amount = _money()
    deals = _Deal(many=True, help_text="The largest.")


class _Manager(serializers.Serializer[Any]):
    team = _Measured(allow_null=True, help_text="The manager's own bookings quota: their team's credit.")
    rows = _ReportRow(many=True, help_text="One per direct report.")
    subtree_size = serializers.IntegerField(help_text="Everyone below the manager.")
    missing_calls = _Person(many=True, help_text="Active direct reports without a call for the quarter.")
    at_risk = _AtRisk(help_text="Open deals of the subtree closing this quarter that are at risk.")
    stale = _Stale(many=True)
    stale_total = serializers.IntegerField()
    onboarding_overdue = serializers.IntegerField(help_text="Overdue steps of the subtree's open onboarding.")


class _PeriodToClose(serializers.Serializer[Any]):
    period = serializers.CharField(source="period.label")
    end = serializers.DateField(source="period.end")
    ended = serializers.BooleanField()
    people = serializers.IntegerField()
    payout_total = _money(help_text="What the period pays: payouts after the draw plus adjustments.")
    open_disputes = serializers.IntegerField()
    recompute_running = serializers.BooleanField()
    recompute_failed = serializers.BooleanField()
    ready = serializers.BooleanField(help_text="Ended, and nothing blocks locking it.")


class _Run(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class _Recompute(serializers.Serializer[Any]):
    running = _Run(allow_null=True)
    failed = _Run(allow_null=True, help_text="The latest finished run, when it failed.")


class _Adjustment(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    person = _Person()
    period = serializers.CharField(source="period.label")
    amount = _money()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class _Finance(serializers.Serializer[Any]):
    periods = _PeriodToClose(many=True)
    recompute = _Recompute()
    adjustments = _Adjustment(many=True, help_text="The latest adjustments.")


class _Import(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    file_name = serializers.CharField()
    status = serializers.CharField()
    dry_run = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class _Ops(serializers.Serializer[Any]):
    health = _Health(help_text="Every open deal of the company.")
    imports = _Import(many=True, help_text="The latest pipeline imports.")
    without_plan = _Person(many=True, help_text="Active reps and managers without a comp plan today.")
    without_quota = _Person(many=True, help_text="…without a bookings quota this quarter.")


class _OrgCounts(serializers.Serializer[Any]):
    people = serializers.IntegerField()
    active = serializers.IntegerField()
    reps = serializers.IntegerField()
    managers = serializers.IntegerField()
    teams = serializers.IntegerField()


class _Region(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    active_people = serializers.IntegerField()


class HomeSerializer(serializers.Serializer[Any]):
    person = _Person()
    day = serializers.DateField(source="today.day", help_text="Today in the company's time zone.")
    quarter = serializers.CharField(source="today.quarter.label", help_text="The fiscal quarter today falls in.")
    fiscal_year = serializers.IntegerField(source="today.fiscal_year")
    rep = _Rep(allow_null=True)
    manager = _Manager(allow_null=True)
    finance = _Finance(allow_null=True)
    ops = _Ops(allow_null=True)
    org_counts = _OrgCounts(allow_null=True, help_text="Finance and sales ops: the organisation's headcounts.")
    regions = _Region(many=True, help_text="Finance and sales ops: active people per region (else empty).")


class HomeView(APIView):
    """My home: the panels each of my roles opens, with the page's numbers and scope."""

    @extend_schema(responses=HomeSerializer)
    def get(self, request: Request) -> Response:
        user = person_with_place(request_user(request).pk)
        page = home_for(user, now=timezone.now(), day=timezone.localdate())
        return Response(HomeSerializer(page).data)
