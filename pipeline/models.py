"""The CRM heart: accounts, contacts, leads, products, pipelines and stages, deals with their line items,
splits, activities and the history of every change that matters to forecasts and pay."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone


class ForecastCategory(models.TextChoices):
    """docs/forecasting.md: every stage maps to one; won stages are closed, lost ones omitted."""

    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    CLOSED = "closed", "Closed"
    OMITTED = "omitted", "Omitted"


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealType(models.TextChoices):
    NEW = "new", "New business"
    EXPANSION = "expansion", "Expansion"
    RENEWAL = "renewal", "Renewal"


# Fields a stage may require before a deal enters it (its exit criteria), with the words a user reads.
EXIT_CRITERIA_FIELDS: dict[str, str] = {
    "amount": "an amount",
    "close_date": "a close date",
    "account": "an account",
    "contact": "a primary contact",
    "line_items": "at least one product line",
    "next_step": "a next step",
    "deal_type": "a deal type",
    "source": "a source",
}


class TimeStamped(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def _unique_external_id(model: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["external_id"], condition=~Q(external_id=""), name=f"{model}_unique_external_id"
    )


class Account(TimeStamped):
    name = models.CharField(max_length=200)
    # Lower-cased name without punctuation or legal suffixes: what duplicate detection compares.
    name_key = models.CharField(max_length=200, db_index=True, editable=False, default="")
    external_id = models.CharField(max_length=80, blank=True, default="")
    domain = models.CharField(max_length=200, blank=True, default="")
    sector = models.CharField(max_length=80, blank=True, default="")
    country = models.CharField(max_length=80, blank=True, default="")
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(null=True, blank=True, max_digits=14, decimal_places=2)
    year_established = models.PositiveSmallIntegerField(null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="subsidiaries")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            _unique_external_id("account"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="account_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStamped):
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts")
    first_name = models.CharField(max_length=80, blank=True, default="")
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True, default="", db_index=True)
    phone = models.CharField(max_length=40, blank=True, default="")
    title = models.CharField(max_length=120, blank=True, default="")
    external_id = models.CharField(max_length=80, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="contacts"
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [_unique_external_id("contact")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Product(TimeStamped):
    name = models.CharField(max_length=120, unique=True)
    series = models.CharField(max_length=80, blank=True, default="")
    list_price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    external_id = models.CharField(max_length=80, blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            _unique_external_id("product"),
            models.CheckConstraint(condition=Q(list_price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Pipeline(models.Model):
    name = models.CharField(max_length=120, unique=True)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField()
    probability = models.DecimalField(max_digits=5, decimal_places=2, help_text="Default win probability, 0–100 %.")
    forecast_category = models.CharField(max_length=12, choices=ForecastCategory.choices)
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    exit_criteria = ArrayField(
        models.CharField(max_length=30),
        default=list,
        blank=True,
        help_text="Fields a deal must have before it may enter this stage.",
    )

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "position"], name="stage_unique_position"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=100), name="stage_probability_0_100"
            ),
            # The spec's mapping: won stages are `closed`, lost stages `omitted`, open stages neither.
            models.CheckConstraint(
                condition=(Q(is_won=True) & Q(forecast_category="closed"))
                | (Q(is_lost=True) & Q(forecast_category="omitted"))
                | (Q(is_won=False, is_lost=False) & ~Q(forecast_category__in=["closed", "omitted"])),
                name="stage_category_matches_outcome",
                violation_error_message="A won stage is 'closed', a lost stage 'omitted', and an open stage "
                "pipeline, best case or commit.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        return DealStatus.WON if self.is_won else DealStatus.LOST if self.is_lost else DealStatus.OPEN


class Deal(TimeStamped):
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=80, blank=True, default="")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="deals")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="deals")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deals")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    # Kept equal to the stage's outcome by the services: lists and rollups filter on it without a join.
    status = models.CharField(max_length=4, choices=DealStatus.choices, default=DealStatus.OPEN)
    amount = models.DecimalField(null=True, blank=True, max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    close_date = models.DateField(null=True, blank=True)
    created_date = models.DateField(null=True, blank=True, help_text="When the deal entered the pipeline.")
    probability = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Overrides the stage's probability."
    )
    deal_type = models.CharField(max_length=10, choices=DealType.choices, default=DealType.NEW)
    source = models.CharField(max_length=80, blank=True, default="")
    next_step = models.CharField(max_length=200, blank=True, default="")
    # The reason is the name of a LostReason as it read when the deal was lost (text, so renaming or retiring a
    # reason later leaves the deals lost for it as they were recorded).
    lost_reason = models.CharField(max_length=200, blank=True, default="")
    # Database defaults too: the set-based import writer names the columns it inserts.
    lost_note = models.CharField(max_length=1000, blank=True, default="", db_default="")
    lost_competitor = models.CharField(
        max_length=200, blank=True, default="", db_default="", help_text="Who won it, if anyone."
    )
    # What the product lacked, as the product team reads it (win/loss, docs/signals-winloss.md): a short tag
    # such as "SSO", kept on won and lost deals alike.
    product_gap = models.CharField(max_length=120, blank=True, default="", db_default="")
    category_override = models.CharField(max_length=12, choices=ForecastCategory.choices, blank=True, default="")
    stage_entered_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    cancelled_on = models.DateField(null=True, blank=True, help_text="A won deal later cancelled (clawback).")
    cancel_reason = models.CharField(max_length=400, blank=True, default="", db_default="")

    class Meta:
        ordering = ["close_date", "id"]
        constraints = [
            _unique_external_id("deal"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="deal_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(probability__isnull=True) | (Q(probability__gte=0) & Q(probability__lte=100)),
                name="deal_probability_0_100",
            ),
            models.CheckConstraint(
                condition=Q(category_override="")
                | (Q(status="open") & Q(category_override__in=["pipeline", "best_case", "commit"])),
                name="deal_override_only_open_categories",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_on__isnull=True) | Q(status="won"), name="deal_only_won_deals_cancel"
            ),
            # A clawback cannot come before the sale it claws back (incentives.md: such input is refused).
            models.CheckConstraint(
                condition=Q(cancelled_on__isnull=True)
                | Q(close_date__isnull=True)
                | Q(cancelled_on__gte=models.F("close_date")),
                name="deal_cancelled_on_or_after_close",
                violation_error_message="A deal cannot be cancelled before its close date.",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "close_date"], name="deal_owner_status_close"),
            models.Index(fields=["status", "close_date"], name="deal_status_close"),
            models.Index(fields=["stage", "close_date"], name="deal_stage_close"),
            models.Index(fields=["account"], name="deal_account"),
            # An import matches a Salesforce id's 18-character form in any case (pipeline/imports/writer.py).
            models.Index(Upper("external_id"), name="deal_external_id_upper"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def forecast_category(self) -> str:
        return self.category_override or self.stage.forecast_category

    @property
    def effective_probability(self) -> Decimal:
        return self.probability if self.probability is not None else self.stage.probability


class DealLineItem(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="line_items")
    quantity = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(1))
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} @ {self.unit_price}"

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


class DealSplit(models.Model):
    """A share of a deal's credit. Revenue splits of one deal sum to exactly 100 % (a deferred constraint
    trigger checks it at commit); overlay splits credit a specialist on top."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="splits")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deal_splits")
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    is_overlay = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "person", "is_overlay"], name="split_unique_person"),
            models.CheckConstraint(condition=Q(percent__gt=0) & Q(percent__lte=100), name="split_percent_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.percent} %{' overlay' if self.is_overlay else ''}"


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"
    MEETING = "meeting", "Meeting"
    TASK = "task", "Task"


class Activity(models.Model):
    kind = models.CharField(max_length=8, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities")
    # An activity with a lead answers it: the first one sets the lead's first_response_at (lead hand-off SLA).
    lead = models.ForeignKey("Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="activities")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities")
    occurred_at = models.DateTimeField(default=timezone.now)
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["deal", "occurred_at"], name="activity_deal_time"),
            # Activities a person logged in a window (the adoption scorecard's last 7 days, onboarding milestones
            # since a start date): an index-only count per owner instead of reading every activity they own.
            models.Index(fields=["owner", "occurred_at"], name="activity_owner_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class DealChange(models.Model):
    """The history of a deal: one row per change of a tracked field (who, when, old, new).

    `old_value`/`new_value` are what a person reads (a stage name, an amount as a string); `old_ref`/`new_ref`
    keep the ids of stages and owners so stage-history queries (time in stage, conversion) join on ids.
    """

    class Field(models.TextChoices):
        CREATED = "created", "Created"
        STAGE = "stage", "Stage"
        AMOUNT = "amount", "Amount"
        CLOSE_DATE = "close_date", "Close date"
        OWNER = "owner", "Owner"
        CATEGORY = "category", "Forecast category"
        SPLITS = "splits", "Splits"
        CANCELLED = "cancelled", "Cancelled"
        LOST_REASON = "lost_reason", "Lost reason"
        LOST_NOTE = "lost_note", "Lost note"
        COMPETITOR = "competitor", "Competitor"
        PRODUCT_GAP = "product_gap", "Product gap"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=12, choices=Field.choices)
    old_value = models.CharField(max_length=400, blank=True, default="")
    new_value = models.CharField(max_length=400, blank=True, default="")
    old_ref = models.BigIntegerField(null=True, blank=True)
    new_ref = models.BigIntegerField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Why, when the change needs one: a won deal taken out of won, a cancellation.
    reason = models.CharField(max_length=400, blank=True, default="", db_default="")

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="dealchange_deal_time"),
            models.Index(fields=["field", "changed_at"], name="dealchange_field_time"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"


class LostReason(models.Model):
    """A reason a deal is lost, from the list sales ops keep (only active ones are offered)."""

    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="lost_reason_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="lost_reason_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    WORKING = "working", "Working"
    QUALIFIED = "qualified", "Qualified"
    DISQUALIFIED = "disqualified", "Disqualified"
    CONVERTED = "converted", "Converted"


class Lead(TimeStamped):
    first_name = models.CharField(max_length=80, blank=True, default="")
    last_name = models.CharField(max_length=80)
    company = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    title = models.CharField(max_length=120, blank=True, default="")
    source = models.CharField(max_length=80, blank=True, default="")
    status = models.CharField(max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leads")
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    converted_contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    converted_deal = models.ForeignKey(Deal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Lead hand-off (docs/signals-leads.md): when the lead reached its current owner and when anyone first
    # answered it (an activity logged against it, or "answered" marked by hand). The response time is the gap.
    routed_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_at__isnull=False), name="lead_converted_has_date"
            )
        ]
        # The SLA sweep reads the routed leads nobody has answered yet (a handful among many).
        indexes = [
            models.Index(
                fields=["routed_at"], condition=Q(first_response_at__isnull=True), name="lead_awaiting_response"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.company})".strip()


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One upload and its runs: a dry run (validate every row, write nothing) and the real run
    (all-or-nothing, upserts by external id). Progress is updated as rows are processed."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    preset = models.CharField(max_length=40, blank=True, default="")
    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/%Y/%m/")
    mapping = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    # When the run under way (its dry run, then its real run) was claimed by a worker: a run "running" longer than
    # the task's hard time limit lost its worker, and the task's next copy takes it over (import_job_execute).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.file_name} ({self.get_status_display()})"

    @property
    def percent_done(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0
