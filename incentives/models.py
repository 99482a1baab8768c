"""Incentives: periods, quotas, versioned comp plans and their assignments, the results of commission runs
(payouts and statement lines), adjustments, disputes and period locks. The fiscal calendar's settings live
in salesops.org (FiscalCalendar), below every app."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property

from incentives.engine import Plan
from incentives.plans import parse_plan


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Period(models.Model):
    """A commission period: `2025-03` (a calendar month) or `2025-Q1` (a fiscal quarter). Locking freezes
    every payout, statement line and adjustment in it (a database trigger refuses changes)."""

    label = models.CharField(max_length=10, unique=True)
    kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    fiscal_year = models.PositiveSmallIntegerField()
    start = models.DateField()
    end = models.DateField()
    is_locked = models.BooleanField(default=False)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["start", "kind"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="period_end_after_start"),
            models.CheckConstraint(
                condition=Q(is_locked=False) | Q(locked_at__isnull=False), name="period_locked_has_time"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class QuotaMeasure(models.TextChoices):
    BOOKINGS = "bookings", "Bookings amount"
    DEAL_COUNT = "deal_count", "Won deal count"
    NEW_BUSINESS = "new_business", "New business amount"
    EXPANSION = "expansion", "Expansion amount"


class RampSchedule(models.Model):
    """A share of full quota by month of tenure for new hires, e.g. [0.25, 0.5, 0.75] then 100 %."""

    name = models.CharField(max_length=80, unique=True)
    shares = models.JSONField(help_text='Shares by month of tenure, as strings: ["0.25", "0.5", "0.75"].')

    def __str__(self) -> str:
        return self.name


class Quota(models.Model):
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quotas")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="quotas")
    measure = models.CharField(max_length=12, choices=QuotaMeasure.choices, default=QuotaMeasure.BOOKINGS)
    full_amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Before any ramp.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="What counts: after the ramp.")
    ramp = models.ForeignKey(RampSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # A manager's quota may be their own number or the sum of their team's.
    is_team_sum = models.BooleanField(default=False)

    class Meta:
        ordering = ["period__start", "person_id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "period", "measure"], name="quota_unique_per_measure"),
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(full_amount__gte=0), name="quota_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period_id} {self.measure} {self.amount}"


class CompPlan(models.Model):
    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompPlanVersion(models.Model):
    """One version of a plan: the plan JSON of incentives.md, effective from a date until the next version."""

    plan = models.ForeignKey(CompPlan, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    definition = models.JSONField()
    note = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "version"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "version"], name="plan_version_unique"),
            models.UniqueConstraint(fields=["plan", "effective_from"], name="plan_version_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.key} v{self.version}"

    @cached_property
    def parsed(self) -> Plan:
        """The definition as the engine's Plan, parsed once per loaded row by the one plan parser
        (incentives.plans). Saved versions were checked by it (`services.plan_validate`); PlanError if not."""
        return parse_plan(self.definition)


class PlanAssignment(models.Model):
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_assignments")
    plan = models.ForeignKey(CompPlan, on_delete=models.PROTECT, related_name="assignments")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["person_id", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gte=F("start")), name="assignment_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} on {self.plan_id} from {self.start}"


class CommissionRun(models.Model):
    """One recompute: which scope, when, how long, what it wrote. The newest finished run per scope is what
    people see; results of a run are swapped in inside one transaction."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    scope = models.JSONField(default=dict, blank=True, help_text="People and periods, or everything open.")
    stats = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    triggered_by = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


PENDING_ATTEMPTS = 3  # failed recomputes of a pending row before it is set aside (incentives.pending)


class RecomputePending(models.Model):
    """People a change's transaction touched, waiting for a commission recompute (incentives.pending): one row per
    transaction, written with the change, taken by the next change recompute to run, whoever's change queued it,
    and deleted once that recompute committed. A burst of changes is recomputed by the first of its tasks in one
    go; a task dropped by its expiry loses nobody (the next task, or the minute's sweep, takes its people)."""

    person_ids = ArrayField(models.BigIntegerField())
    # The earliest date the change touched, when before the open fiscal year (the recompute reaches back to it).
    since = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=120, blank=True, default="")
    queued_at = models.DateTimeField(default=timezone.now)
    # The recompute that took the row (a token of its own) and when: a claim older than PENDING_CLAIM_STALE is
    # taken again (its worker died).
    claim = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Recomputes of the row that failed (or whose worker died), and the last one's error: a failed row is retried
    # alone by the minute's sweep, and set aside after PENDING_ATTEMPTS (the sweep then fails, naming it, until a
    # later recompute of its people, or the nightly run, covers it).
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return f"{len(self.person_ids)} people pending since {self.queued_at}"


class NextLinesKey(models.Func):
    """The next statement-lines key (migration 0009): the database default of `Payout.lines_key`."""

    template = "nextval('incentives_lines_key_seq')"
    output_field = models.BigIntegerField()


class Payout(models.Model):
    """A person's result for a period: what the engine computed, plus adjustments; frozen once locked.

    Its statement lines are those filed under its `lines_key`. A recompute writes a statement's new lines
    under a new key (while the payout still shows the old ones) and then points the payout at them in one
    short update: the lines of a sharded run are written by its shards side by side, and the swap only moves
    keys (incentives.recompute, docs/scaling.md)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="payouts")
    run = models.ForeignKey(CommissionRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    plan_version = models.ForeignKey(CompPlanVersion, on_delete=models.PROTECT, null=True, related_name="+")
    quota = models.DecimalField(max_digits=14, decimal_places=2)
    credited = models.DecimalField(max_digits=14, decimal_places=2)
    attainment = models.DecimalField(max_digits=20, decimal_places=4)
    components = models.JSONField(default=dict)
    earned = models.DecimalField(max_digits=14, decimal_places=2)
    draw_balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    payout = models.DecimalField(max_digits=14, decimal_places=2, help_text="After the draw, before adjustments.")
    currency = models.CharField(max_length=3, default="USD")
    computed_at = models.DateTimeField(default=timezone.now)
    # A digest of the statement lines as last written: a recompute that computes the same lines leaves them be.
    lines_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    lines_key = models.BigIntegerField(unique=True, editable=False, db_default=NextLinesKey())

    class Meta:
        ordering = ["period__start", "person_id"]
        constraints = [models.UniqueConstraint(fields=["person", "period"], name="payout_unique_person_period")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period_id}: {self.payout}"


class StatementLine(models.Model):
    """One credit's contribution to one component of a payout, with its trace."""

    # The payout reference is its lines key (Payout.lines_key), checked once per statement by a trigger
    # (migrations 0004 and 0009), not per row: a fiscal year's recompute writes half a million lines.
    payout = models.ForeignKey(
        Payout, to_field="lines_key", on_delete=models.CASCADE, related_name="lines", db_constraint=False
    )
    component = models.CharField(max_length=40)
    deal_id = models.BigIntegerField(null=True, blank=True)
    deal_key = models.CharField(max_length=80, blank=True, default="")
    credited_person_id = models.BigIntegerField(null=True, blank=True)
    split_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    is_overlay = models.BooleanField(default=False)
    credit_date = models.DateField(null=True, blank=True)
    credit = models.DecimalField(max_digits=14, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    trace = models.JSONField(default=dict, help_text="Bands and rates applied, clawback, spiff, rounding.")

    class Meta:
        ordering = ["payout_id", "component", "credit_date", "id"]

    def __str__(self) -> str:
        return f"{self.component} {self.deal_key}: {self.amount}"


class Adjustment(models.Model):
    """A signed amount added to a person's payout for a period: manual, from a dispute, or a change that
    reached a locked period and was moved to the next open one (with a trace back to its cause)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        DISPUTE = "dispute", "Dispute"
        LOCKED_CHANGE = "locked_change", "Change to a locked period"

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjustments")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="adjustments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=500)
    source = models.CharField(max_length=14, choices=Source.choices, default=Source.MANUAL)
    cause = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period__start", "created_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="adjustment_needs_reason")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period_id}: {self.amount}"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="disputes")
    # Checked by triggers (migration 0004): a deleted line sets this to NULL, once per statement.
    line = models.ForeignKey(
        StatementLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes", db_constraint=False
    )
    deal_key = models.CharField(max_length=80, blank=True, default="")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    text = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    adjustment = models.OneToOneField(
        Adjustment, on_delete=models.PROTECT, null=True, blank=True, related_name="dispute"
    )

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | Q(resolved_at__isnull=False), name="dispute_resolved_has_time"
            ),
            # One open dispute per line, also when two are raised at the same moment.
            models.UniqueConstraint(fields=["line"], condition=Q(status="open"), name="dispute_one_open_per_line"),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} ({self.status})"


class QuotaUploadStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class QuotaUploadJob(models.Model):
    """One quota spreadsheet and its run in Celery: a check of every row (dry run) or the save, all rows or
    none. `result` holds the counts (rows, created, updated, unchanged); `errors` one entry per refused row,
    {"row", "column", "message"}. Progress is reported through the cache while the run's transaction is open."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="quota-uploads/%Y/%m/")
    measure = models.CharField(max_length=12, choices=QuotaMeasure.choices, default=QuotaMeasure.BOOKINGS)
    dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=QuotaUploadStatus.choices, default=QuotaUploadStatus.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"quota upload {self.file_name} ({self.get_status_display()})"


class LineSet(models.Model):
    """A statements-lines key a recompute wrote lines under (migration 0009), and whether it is retired.

    A run files each statement it rewrites under a new key (staged: no payout points at it yet); the run's
    write points the payout at the new key and retires the old one in the same transaction. A failed run
    retires the keys it staged. Retired keys' lines are deleted after the transaction (`purge_retired_lines`,
    also from the stale-run sweep), so nobody ever sees a statement half-replaced."""

    id = models.BigIntegerField(primary_key=True)
    run_id = models.BigIntegerField(null=True, blank=True)
    shard = models.SmallIntegerField(null=True, blank=True)
    retired = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["run_id", "shard"], name="lineset_run_shard"),
            models.Index(fields=["id"], condition=Q(retired=True), name="lineset_retired"),
        ]

    def __str__(self) -> str:
        return f"lines {self.pk}{' (retired)' if self.retired else ''}"


class RecomputeStage(models.Model):
    """One shard's results of a sharded commission run, staged until the run swaps them in (incentives.recompute):
    the statements it computed, pickled and compressed, and what it saw stored when it read. Written by the
    shard's task in its own transaction (a retried shard replaces its row); the swap reads every shard's row
    and deletes them in the transaction that writes the payouts and marks the run done. A failed run's rows
    are deleted with its failure (and go with the run)."""

    run = models.ForeignKey(CommissionRun, on_delete=models.CASCADE, related_name="stages")
    shard = models.PositiveSmallIntegerField()
    payload = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "shard"], name="recompute_stage_one_per_shard")]

    def __str__(self) -> str:
        return f"run {self.run_id} shard {self.shard}"
