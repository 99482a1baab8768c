"""Incentives in the API: money as strings with 2 decimals, attainment with 4 (incentives.md, Rounding).

Output serializers read what the selectors annotate; input serializers only check shapes. The rules
(locked periods, valid plans, who is paid on a statement) are the services'.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from incentives import selectors
from incentives.models import (
    Adjustment,
    CommissionRun,
    CompPlan,
    CompPlanVersion,
    Dispute,
    Payout,
    Period,
    PlanAssignment,
    Quota,
    QuotaMeasure,
    QuotaUploadJob,
    RampSchedule,
    StatementLine,
)
from salesops import limits
from salesops.api import UploadField
from salesops.org.models import User


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def money_sum(**kwargs: Any) -> serializers.DecimalField:
    """A sum of amounts: a column holds 14 digits, a sum over people more (a team of billion-sized quotas)."""
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def attainment(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, **kwargs)  # the column's 16 + 4 digits


# ------------------------------------------------------------------------------------------------ periods
class PeriodSerializer(serializers.ModelSerializer[Period]):
    class Meta:
        model = Period
        fields = ["id", "label", "kind", "fiscal_year", "start", "end", "is_locked", "locked_at", "locked_by"]
        read_only_fields = fields


class ReopenSerializer(serializers.Serializer[Any]):
    # Blank is let through on purpose: the service answers with the message a person can act on.
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LockSerializer(ReopenSerializer):
    early = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Required (true) to lock a period that has not ended yet; say why in the reason.",
    )
    expected_payouts = serializers.IntegerField(required=False, allow_null=True, default=None)
    expected_lines = serializers.IntegerField(required=False, allow_null=True, default=None)
    expected_total = money(required=False, allow_null=True, default=None,
                           help_text="With expected_payouts and expected_lines (from lock-preview): the lock is "
                                     "refused when the period's figures differ, e.g. after a recompute.")  # fmt: skip


class LastRunSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class NotUpToDateSerializer(serializers.Serializer[Any]):
    changes = serializers.IntegerField(help_text="Changes whose recompute failed three times.")
    people = serializers.IntegerField(help_text="Their people: these payouts do not show the changes.")
    names = serializers.ListField(child=serializers.CharField(), help_text="The first ten, by name.")
    since = serializers.DateTimeField()
    error = serializers.CharField(help_text="The latest error among them.")


class LockPreviewSerializer(serializers.Serializer[Any]):
    """What locking the period would freeze, what blocks it, and the last recompute."""

    period = PeriodSerializer()
    has_ended = serializers.BooleanField(help_text="False: the lock needs early=true.")
    payouts = serializers.IntegerField(source="figures.payouts")
    payout_sum = money(help_text="Σ payouts after the draw, before adjustments.")
    adjustments = money(help_text="Σ adjustments booked in the period.")
    adjustment_count = serializers.IntegerField()
    total = money(source="figures.total", help_text="To pay: payouts plus adjustments.")
    statement_lines = serializers.IntegerField(source="figures.lines")
    open_disputes = serializers.IntegerField(help_text="Each blocks the lock.")
    blocked = serializers.BooleanField()
    last_run = LastRunSerializer(allow_null=True)
    not_up_to_date = NotUpToDateSerializer(
        allow_null=True, help_text="People whose pay misses a change (fix the cause, then recompute); null when none."
    )


class AuditEventSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    entity = serializers.CharField()
    entity_id = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.CharField(source="actor.display_name", default=None, allow_null=True)
    action = serializers.CharField()
    changes = serializers.JSONField()
    reason = serializers.CharField()


# ------------------------------------------------------------------------------------------------ payouts
class AdjustmentSerializer(serializers.ModelSerializer[Adjustment]):
    person_name = serializers.CharField(source="person.display_name", read_only=True)
    period = serializers.CharField(source="period.label", read_only=True)
    amount = money(read_only=True)
    created_by_name = serializers.CharField(
        source="created_by.display_name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Adjustment
        fields = ["id", "person", "person_name", "period", "amount", "reason", "source", "cause", "created_by",
                  "created_by_name", "created_at"]  # fmt: skip
        read_only_fields = fields


class AdjustmentCreateSerializer(serializers.Serializer[Any]):
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    period = serializers.SlugRelatedField(slug_field="label", queryset=Period.objects.all())
    amount = money()
    reason = serializers.CharField(max_length=500, allow_blank=True)


class PayoutSerializer(serializers.ModelSerializer[Payout]):
    """A person's result for a period. `adjustments_total` is Σ adjustments of the person in the period;
    `total` = payout + adjustments_total, what payroll pays; `draw` = payout − earned, what a recoverable draw
    changed (the register's Draw column, `?ordering=draw`)."""

    person_name = serializers.CharField(source="person.display_name", read_only=True)
    period = serializers.CharField(source="period.label", read_only=True)
    period_locked = serializers.BooleanField(source="period.is_locked", read_only=True)
    plan = serializers.CharField(source="plan_version.plan.key", read_only=True, default=None, allow_null=True)
    plan_version = serializers.IntegerField(
        source="plan_version.version", read_only=True, default=None, allow_null=True
    )
    quota = money(read_only=True)
    credited = money(read_only=True)
    attainment = attainment(read_only=True)
    components = serializers.DictField(child=money(), read_only=True)
    earned = money(read_only=True)
    draw_balance = money(read_only=True)
    payout = money(read_only=True)
    draw = serializers.SerializerMethodField()
    adjustments_total = money(source="adjustments", read_only=True)
    total = serializers.SerializerMethodField()

    class Meta:
        model = Payout
        fields = ["id", "person", "person_name", "period", "period_locked", "plan", "plan_version", "quota",
                  "credited", "attainment", "components", "earned", "draw_balance", "payout", "draw",
                  "adjustments_total", "total", "currency", "computed_at"]  # fmt: skip
        read_only_fields = fields

    def get_draw(self, payout: Payout) -> str:
        return f"{payout.payout - payout.earned:.2f}"

    def get_total(self, payout: Payout) -> str:
        # `adjustments` is annotated by selectors.payouts_visible_to (one subquery for the whole list).
        return f"{payout.payout + payout.adjustments:.2f}"  # type: ignore[attr-defined]


class NextBandSerializer(serializers.Serializer[Any]):
    """The next rate band of the statement's tiered commission and the credit still needed to reach it, as the
    statement and My pay say it ("40,000.00 more credit reaches the 15 % band"). For a year-to-date plan the
    credit needed is on the fiscal year's quota and credits to date."""

    component = serializers.CharField(help_text="The tiered commission's key in the plan.")
    attainment = attainment(help_text="Where the band starts, as attainment (1.0000 = 100 % of quota).")
    rate = serializers.DecimalField(max_digits=None, decimal_places=None, help_text="The band's rate, as in the "
                                    "plan (0.15 = 15 %).")  # fmt: skip
    needed = money(help_text="More credit that reaches the band, to the cent.")


class PayoutDetailSerializer(PayoutSerializer):
    adjustments = AdjustmentSerializer(source="adjustment_rows", many=True, read_only=True)
    next_band = NextBandSerializer(
        read_only=True, allow_null=True, default=None,
        help_text="Null without a plan, a positive quota or a tiered commission, and past the last band or the cap "
                  "(credits above the cap earn nothing, so a band from the cap up is never reached).",
    )  # fmt: skip

    class Meta(PayoutSerializer.Meta):
        fields = [*PayoutSerializer.Meta.fields, "adjustments", "next_band"]
        read_only_fields = fields


class PaySummarySerializer(serializers.Serializer[Any]):
    """The caller's own pay as the My pay page heads it."""

    fiscal_year = serializers.IntegerField(help_text="The fiscal year paid_to_date is of.")
    as_of = serializers.DateField(help_text="Today: periods that begin later are not counted yet.")
    paid_to_date = money(help_text="Σ (payout after the draw + adjustments) over the caller's payouts of the fiscal "
                                   "year's periods begun by as_of.")  # fmt: skip
    current = PayoutSerializer(allow_null=True, help_text="The latest statement whose period has begun, whatever "
                                                          "the fiscal year asked; null before the first.")  # fmt: skip
    next_band = NextBandSerializer(allow_null=True, help_text="The current statement's next rate band (see "
                                                              "payouts/{id}/).")  # fmt: skip


class LineDisputeSerializer(serializers.ModelSerializer[Dispute]):
    """A dispute on a statement line with finance's answer: the note, the amount paid and where."""

    adjustment_amount = money(source="adjustment.amount", read_only=True, default=None, allow_null=True)
    adjustment_period = serializers.CharField(
        source="adjustment.period.label", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Dispute
        fields = ["id", "status", "resolution", "resolved_at", "adjustment_amount", "adjustment_period"]


class StatementLineSerializer(serializers.ModelSerializer[StatementLine]):
    """One credit's contribution to one component; `trace` holds the bands and rates applied."""

    deal_name = serializers.SerializerMethodField()
    split_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True, allow_null=True)
    credit = money(read_only=True)
    amount = money(read_only=True)
    disputes = LineDisputeSerializer(many=True, read_only=True)

    class Meta:
        model = StatementLine
        fields = ["id", "component", "deal_id", "deal_key", "deal_name", "credited_person_id", "split_percent",
                  "is_overlay", "credit_date", "credit", "amount", "trace", "disputes"]  # fmt: skip
        read_only_fields = fields

    def get_deal_name(self, line: StatementLine) -> str:
        return str(self.context.get("deal_names", {}).get(line.deal_id, ""))


class RegisterTotalsSerializer(serializers.Serializer[Any]):
    earned = money_sum()
    adjustments = money_sum()
    payout = money_sum()
    total = money_sum()
    people = serializers.IntegerField()


class PayoutRowsTotalsSerializer(RegisterTotalsSerializer):
    """The sums of the rows shown, as team pay's Total row: people, quota, credited, attainment, earned, draw,
    adjustments, payout and total (payout + adjustments)."""

    quota = money_sum()
    credited = money_sum()
    attainment = attainment(allow_null=True, help_text="Σ credited ÷ Σ quota (not an average of percentages); "
                                                       "null without a quota.")  # fmt: skip
    draw = money_sum(help_text="Σ (payout − earned): what recoverable draws changed.")


class PayoutTotalsSerializer(serializers.Serializer[Any]):
    """The Total row of the payouts shown (team pay, the register's table): the period and the sums of exactly
    the rows the filters keep."""

    period = PeriodSerializer()
    totals = PayoutRowsTotalsSerializer()


class RegisterSerializer(serializers.Serializer[Any]):
    period = PeriodSerializer()
    totals = RegisterTotalsSerializer()
    open_disputes = serializers.IntegerField()
    payouts = PayoutSerializer(many=True)


# ----------------------------------------------------------------------------------------------- disputes
class DisputeSerializer(serializers.ModelSerializer[Dispute]):
    person = serializers.IntegerField(source="payout.person_id", read_only=True)
    person_name = serializers.CharField(source="payout.person.display_name", read_only=True)
    period = serializers.CharField(source="payout.period.label", read_only=True)
    line_component = serializers.CharField(source="line.component", read_only=True, default=None, allow_null=True)
    line_amount = money(source="line.amount", read_only=True, default=None, allow_null=True)
    raised_by_name = serializers.CharField(source="raised_by.display_name", read_only=True)
    resolved_by_name = serializers.CharField(
        source="resolved_by.display_name", read_only=True, default=None, allow_null=True
    )
    adjustment_amount = money(source="adjustment.amount", read_only=True, default=None, allow_null=True)
    adjustment_period = serializers.CharField(
        source="adjustment.period.label", read_only=True, default=None, allow_null=True,
        help_text="The period the adjustment is paid in.",
    )  # fmt: skip

    class Meta:
        model = Dispute
        fields = ["id", "payout", "person", "person_name", "period", "line", "line_component", "line_amount",
                  "deal_key", "raised_by", "raised_by_name", "raised_at", "text", "status", "resolution",
                  "resolved_by", "resolved_by_name", "resolved_at", "adjustment", "adjustment_amount",
                  "adjustment_period"]  # fmt: skip
        read_only_fields = fields


class DisputeRaiseSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="The statement line disputed (GET payouts/{id}/lines/).")
    text = serializers.CharField(max_length=2000, allow_blank=True)


class DisputeResolveSerializer(serializers.Serializer[Any]):
    accept = serializers.BooleanField()
    amount = money(required=False, allow_null=True, default=None,
                   help_text="Signed amount to pay when accepting; it becomes an adjustment.")  # fmt: skip
    resolution = serializers.CharField(max_length=500, allow_blank=True)
    period = serializers.CharField(max_length=10, required=False, allow_blank=True, default="",
                                   help_text="Label of the open period the adjustment is paid in (of the disputed "
                                             "period's kind); by default the disputed period while open, else the "
                                             "next open one.")  # fmt: skip


# -------------------------------------------------------------------------------------------------- plans
class PlanVersionSerializer(serializers.ModelSerializer[CompPlanVersion]):
    plan = serializers.CharField(source="plan.key", read_only=True)
    created_by_name = serializers.CharField(source="created_by.display_name", read_only=True)

    class Meta:
        model = CompPlanVersion
        fields = ["id", "plan", "version", "effective_from", "note", "definition", "created_by", "created_by_name",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class PlanVersionSummarySerializer(PlanVersionSerializer):
    class Meta(PlanVersionSerializer.Meta):
        fields = ["version", "effective_from", "note", "created_at"]
        read_only_fields = fields


class PlanAssignmentSerializer(serializers.ModelSerializer[PlanAssignment]):
    person_name = serializers.CharField(source="person.display_name", read_only=True)
    plan = serializers.CharField(source="plan.key", read_only=True)

    class Meta:
        model = PlanAssignment
        fields = ["id", "person", "person_name", "plan", "start", "end"]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer[CompPlan]):
    versions = PlanVersionSummarySerializer(many=True, read_only=True)
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = CompPlan
        fields = ["key", "name", "created_at", "current_version", "versions"]
        read_only_fields = fields

    def get_current_version(self, plan: CompPlan) -> int | None:
        # `versions` is prefetched: the newest version in Python, not a query per plan.
        numbers = [v.version for v in plan.versions.all()]
        return max(numbers) if numbers else None


class PlanDetailSerializer(PlanSerializer):
    definition = serializers.SerializerMethodField(help_text="The current version's plan JSON.")
    assignments = PlanAssignmentSerializer(source="visible_assignments", many=True, read_only=True)

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "definition", "assignments"]
        read_only_fields = fields

    def get_definition(self, plan: CompPlan) -> dict[str, Any] | None:
        versions = sorted(plan.versions.all(), key=lambda v: v.version)
        return versions[-1].definition if versions else None


class PlanVersionWriteSerializer(serializers.Serializer[Any]):
    """A new version of a plan: the plan JSON of incentives.md as `definition`, effective from a date.

    An exported plan (`GET plans/{key}/export/`) posts back as it is: its `key` and `name` are taken when
    the body does not give them."""

    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    effective_from = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    definition = serializers.JSONField()

    def validate_definition(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("The plan is a JSON object.")
        return value


class PlanCreateSerializer(PlanVersionWriteSerializer):
    key = serializers.SlugField(max_length=40, required=False, allow_blank=True, default="",
                                help_text="Taken from definition.key when not given.")  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An imported file names its plan inside the definition; its key gets the same check as a typed one.
        definition = attrs["definition"]
        if not attrs["key"]:
            try:
                attrs["key"] = self.fields["key"].run_validation(str(definition.get("key") or ""))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"key": exc.detail}) from exc
        if not attrs["key"]:
            raise serializers.ValidationError({"key": "Give the plan a key (or a definition with one)."})
        attrs["name"] = attrs["name"] or str(definition.get("name") or "")
        return attrs


class RampSerializer(serializers.ModelSerializer[RampSchedule]):
    shares = serializers.ListField(child=serializers.CharField(), help_text='By month of tenure: ["0.25", "0.5"].')

    class Meta:
        model = RampSchedule
        fields = ["id", "name", "shares"]


class AssignmentEndSerializer(serializers.Serializer[Any]):
    end = serializers.DateField(help_text="The assignment's last day.")


class PlanAssignSerializer(serializers.Serializer[Any]):
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True, default=None)


# ------------------------------------------------------------------------------------------------- quotas
class QuotaSerializer(serializers.ModelSerializer[Quota]):
    person_name = serializers.CharField(source="person.display_name", read_only=True)
    period = serializers.CharField(source="period.label", read_only=True)
    full_amount = money(read_only=True)
    amount = money(read_only=True)
    ramp_name = serializers.CharField(source="ramp.name", read_only=True, default=None, allow_null=True)
    achieved = money(
        read_only=True, default=None, allow_null=True, help_text="Credited so far in its measure (see measured_quotas)."
    )
    attainment = attainment(
        read_only=True, default=None, allow_null=True, help_text="achieved ÷ amount; null for a zero quota."
    )

    class Meta:
        model = Quota
        fields = ["id", "person", "person_name", "period", "measure", "full_amount", "amount", "ramp", "ramp_name",
                  "is_team_sum", "achieved", "attainment"]  # fmt: skip
        read_only_fields = fields


class QuotaSetSerializer(serializers.Serializer[Any]):
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    period = serializers.CharField(max_length=10, help_text="A label like 2026-Q1 or 2026-03 (created if new).")
    # No digit count: 1e20 is told the rule (at most 10^12), not "no more than 14 digits".
    amount = serializers.DecimalField(max_digits=None, decimal_places=2, max_value=limits.MAX_QUOTA,
                                      error_messages={"max_value": f"{limits.QUOTA_RULE}."}, required=False,
                                      allow_null=True, default=None,
                                      help_text="The full amount before any ramp; ignored for a team sum.")  # fmt: skip
    measure = serializers.ChoiceField(choices=QuotaMeasure.choices, default=QuotaMeasure.BOOKINGS)
    ramp = serializers.PrimaryKeyRelatedField(queryset=RampSchedule.objects.all(), required=False, allow_null=True,
                                              default=None)  # fmt: skip
    is_team_sum = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("amount") is None and not attrs.get("is_team_sum"):
            raise serializers.ValidationError({"amount": "A quota needs an amount (or is_team_sum)."})
        return attrs


class DryRunField(serializers.BooleanField):
    """A boolean whose absence means true, also in multipart bodies (where DRF otherwise reads a missing
    checkbox as false): an upload writes only when the caller says dry_run=false."""

    default_empty_html = empty


class QuotaUploadSerializer(serializers.Serializer[Any]):
    file = UploadField(help_text="CSV or XLSX with columns person (username, e-mail or employee id), "
                                 "period (2026-Q1 or 2026-03), amount, and optionally measure.")  # fmt: skip
    dry_run = DryRunField(default=True, help_text="Check every row and report; write nothing (the default).")
    measure = serializers.ChoiceField(choices=QuotaMeasure.choices, default=QuotaMeasure.BOOKINGS,
                                      help_text="Used where the file has no measure column.")  # fmt: skip


class QuotaUploadCountsSerializer(serializers.Serializer[Any]):
    rows = serializers.IntegerField(help_text="Rows in the file.")
    created = serializers.IntegerField(help_text="Quotas created (or, on a dry run, that saving would create).")
    updated = serializers.IntegerField(help_text="Quotas changed (or that saving would change).")
    unchanged = serializers.IntegerField()


class QuotaUploadErrorSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField(allow_null=True, help_text="The row as a spreadsheet numbers it (header: 1).")
    column = serializers.CharField(help_text="The column at fault (person, period, measure, amount, ramp).")
    message = serializers.CharField(help_text="The whole sentence, naming the row, the person and the column.")


class QuotaUploadProgressSerializer(serializers.Serializer[Any]):
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    percent = serializers.IntegerField()
    phase = serializers.ChoiceField(choices=["waiting", "checking", "saving", "done"])


class QuotaUploadJobSerializer(serializers.ModelSerializer[QuotaUploadJob]):
    """A quota upload and its run in Celery: queued, running, then done (counts) or failed (every refused
    row; nothing was saved)."""

    url = serializers.HyperlinkedIdentityField(view_name="incentives-quota-upload-detail")
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    progress = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    # A field named like Serializer.errors: the metaclass moves declared fields off the class, so the
    # property stays intact; only the stubs see a clash.
    errors = QuotaUploadErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]

    class Meta:
        model = QuotaUploadJob
        fields = ["id", "url", "file_name", "measure", "dry_run", "status", "progress", "result", "errors",
                  "created_by", "created_at", "started_at", "finished_at"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(QuotaUploadProgressSerializer)
    def get_progress(self, job: QuotaUploadJob) -> dict[str, Any]:
        progress = selectors.quota_upload_progress(job)
        return {"rows_done": progress.rows_done, "rows_total": progress.rows_total, "percent": progress.percent,
                "phase": progress.phase}  # fmt: skip

    @extend_schema_field(QuotaUploadCountsSerializer(allow_null=True))
    def get_result(self, job: QuotaUploadJob) -> dict[str, Any] | None:
        return job.result or None


# ---------------------------------------------------------------------------------------------- estimator
class EstimateRequestSerializer(serializers.Serializer[Any]):
    deals = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=500,
        help_text="Ids of your own open deals to count as won on their close dates.",
    )


class CandidateDealSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    amount = money()
    close_date = serializers.DateField()
    forecast_category = serializers.CharField()


class PeriodEstimateSerializer(serializers.Serializer[Any]):
    period = serializers.CharField()
    current = money()
    estimated = money()
    difference = money()
    credited_now = money()
    credited_then = money()
    attainment_now = attainment()
    attainment_then = attainment()
    locked = serializers.BooleanField(
        help_text="The period is locked: it pays what is stored for it (current = estimated = its stored payout)."
    )
    paid_in = serializers.CharField(
        help_text="A locked period: the open period its difference is paid in, as an adjustment (else empty)."
    )
    adjustment = money(
        help_text="What the recompute books in this open period for locked periods once the deals are won: their "
        "recomputed payout less what is stored and already booked for them (in estimated)."
    )


class EstimateSerializer(serializers.Serializer[Any]):
    deals = serializers.ListField(child=serializers.IntegerField())
    periods = PeriodEstimateSerializer(many=True)
    total_difference = money()
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # as above


class EstimatorSerializer(EstimateSerializer):
    candidates = CandidateDealSerializer(many=True)


# ------------------------------------------------------------------------------------------------- runs
class CommissionRunSerializer(serializers.ModelSerializer[CommissionRun]):
    class Meta:
        model = CommissionRun
        fields = ["id", "started_at", "finished_at", "status", "scope", "stats", "errors", "triggered_by"]
        read_only_fields = fields
