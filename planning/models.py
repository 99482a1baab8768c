"""Planning: territory models and their territories, quota scenarios and their allocations, stress tests.

Private to planning (other apps use planning.selectors, planning.services and the published view
`planning_account_territory`). docs/planning.md describes every rule."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TerritoryModel(models.Model):
    """A whole set of territories, drafted, activated and archived as one: at most one is active."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=120)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateField(null=True, blank=True, help_text="Set when it is activated.")
    effective_to = models.DateField(null=True, blank=True, help_text="Set when it is archived.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True, help_text="When accounts were last assigned.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_territory_model"),
            models.UniqueConstraint(fields=["name"], name="territory_model_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class Territory(models.Model):
    """A node of a territory model's tree, owned by a person; its rules put accounts in it."""

    model = models.ForeignKey(TerritoryModel, on_delete=models.CASCADE, related_name="territories")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="territories"
    )

    class Meta:
        ordering = ["model_id", "name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="territory_unique_name_per_model")]

    def __str__(self) -> str:
        return self.name


class TerritoryRule(models.Model):
    """One assignment rule of a territory: accounts whose field matches one of the values (docs/planning.md)."""

    class Kind(models.TextChoices):
        REGION = "region", "Region (countries)"
        INDUSTRY = "industry", "Industry"
        SIZE_BAND = "size_band", "Size band (employees)"
        NAMED_ACCOUNT = "named_account", "Named accounts"

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    values = models.JSONField(default=list, help_text="Countries, industries, size bands or account ids.")

    class Meta:
        ordering = ["territory_id", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.territory}: {self.kind} {self.values}"


class TerritoryAssignment(models.Model):
    """Where an account is in a territory model (exactly one territory per account and model)."""

    model = models.ForeignKey(TerritoryModel, on_delete=models.CASCADE, related_name="assignments")
    account_id = models.BigIntegerField()
    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="assignments")
    rule = models.CharField(max_length=40, blank=True, default="", help_text="Which rule placed it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "account_id"], name="one_territory_per_account")]
        indexes = [models.Index(fields=["territory"], name="assignment_territory")]

    def __str__(self) -> str:
        return f"account {self.account_id} → {self.territory_id}"


class QuotaScenario(models.Model):
    """A way to set a fiscal year's quotas: top-down from a company target or bottom-up from capacity; drafted,
    allocated by managers within their number, approved and published into the incentives app's quotas."""

    class Method(models.TextChoices):
        TOP_DOWN = "top_down", "Top-down"
        BOTTOM_UP = "bottom_up", "Bottom-up"

    class Basis(models.TextChoices):
        TRAILING_BOOKINGS = "trailing_bookings", "Trailing bookings share"
        EQUAL = "equal", "Equal"
        TERRITORY_POTENTIAL = "territory_potential", "Territory potential"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"

    name = models.CharField(max_length=120)
    fiscal_year = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.TOP_DOWN)
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.TRAILING_BOOKINGS)
    target = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Capacity inputs and the uplift per level (docs/planning.md, "Scenario JSON"): productivity override,
    # expected attainment, attrition, planned hires, uplift.
    inputs = models.JSONField(default=dict, blank=True)
    # What the last computation found (docs/planning-quotas.md): productivity, capacity per period, gap, hires
    # needed; kept with the quotas it produced so pages show the numbers the quotas came from.
    result = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fiscal_year", "name"]
        constraints = [models.UniqueConstraint(fields=["fiscal_year", "name"], name="scenario_unique_name_per_year")]

    def __str__(self) -> str:
        return f"{self.name} (FY{self.fiscal_year}, {self.get_status_display()})"


class ScenarioQuota(models.Model):
    """One person's quota in one period of a scenario (full amount, before any ramp)."""

    scenario = models.ForeignKey(QuotaScenario, on_delete=models.CASCADE, related_name="quotas")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=16, help_text="A fiscal period label, e.g. 2027-Q1.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The manager who set it by hand (none: computed).",
    )  # fmt: skip
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scenario_id", "person_id", "period"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "person", "period"], name="scenario_quota_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="scenario_quota_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period}: {self.amount}"


class StressTest(models.Model):
    """A draft plan and a scenario's quotas run through the commission engine over simulated outcomes of the
    open pipeline; `result` holds the distributions (docs/planning.md, "Stress test")."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=120)
    scenario = models.ForeignKey(QuotaScenario, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    plan_definition = models.JSONField(help_text="The draft plan, in the plan JSON of the incentives app.")
    period = models.CharField(max_length=16, help_text="The period whose open pipeline is simulated.")
    outcomes = models.PositiveIntegerField(default=1000)
    seed = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)  # when a worker claimed it (salesops.job_runner)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"stress test {self.name} ({self.get_status_display()})"
