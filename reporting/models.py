"""Reporting's own tables: facts derived from the pipeline, one monthly rollup, and their freshness.

Nothing here is entered by people. Every row is rebuilt from the pipeline's tables by `reporting.refresh`
(per changed deal, after each change and every few minutes; or all at once), so the KPI queries read narrow,
covering-indexed rows instead of the wide deal and history tables (docs/reporting.md says why and how fresh).

Ids are plain integers, not foreign keys: the facts are a derived copy, deleted and rewritten per deal, and
a deal deleted in the pipeline simply loses its facts at the next refresh.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

# An open stage spell has not ended yet; it is stored as ending on this day so one range condition
# (`left_on >= start`) finds both the spells that ended after `start` and those still running.
OPEN_SPELL_END = "9999-12-31"


class DealFact(models.Model):
    """One row per deal: what the KPIs need of it, with the deal's first product (as commissions use it)."""

    deal_id = models.BigIntegerField(primary_key=True)
    owner_id = models.IntegerField()
    pipeline_id = models.IntegerField()
    stage_id = models.IntegerField()
    product_id = models.IntegerField(default=0, help_text="The first product line's product; 0: none.")
    account_id = models.BigIntegerField(null=True, help_text="The deal's account: its territory is the account's.")
    status = models.CharField(max_length=4)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    probability = models.DecimalField(max_digits=5, decimal_places=2, help_text="The deal's, else its stage's.")
    close_date = models.DateField(null=True)
    created_date = models.DateField(null=True)
    cycle_days = models.IntegerField(null=True, help_text="Won deals: close date − created date.")
    stage_entered_on = models.DateField()
    last_activity_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            # Company-wide reads of a date range (index-only: every column a KPI needs is included, the account
            # for the executive dashboard's territories).
            models.Index(
                fields=["close_date"],
                include=["owner_id", "status", "amount", "cycle_days", "pipeline_id", "product_id", "account_id"],
                condition=Q(status__in=["won", "lost"]),
                name="rep_dealfact_closed",
            ),
            models.Index(
                fields=["close_date"],
                include=["owner_id", "amount", "probability", "stage_id", "pipeline_id", "product_id", "account_id"],
                condition=Q(status="open"),
                name="rep_dealfact_open",
            ),
            # Cycle medians read only won deals' cycle days.
            models.Index(
                fields=["close_date"],
                include=["owner_id", "cycle_days", "pipeline_id", "product_id"],
                condition=Q(status="won", cycle_days__isnull=False),
                name="rep_dealfact_won_cycle",
            ),
            # Reads for a set of people (a manager's subtree, a region, a rep).
            models.Index(
                fields=["owner_id", "close_date"],
                include=["status", "amount", "cycle_days", "pipeline_id", "product_id", "probability", "stage_id"],
                name="rep_dealfact_owner",
            ),
            models.Index(
                fields=["product_id", "close_date"],
                include=["owner_id", "status", "amount", "cycle_days", "pipeline_id"],
                name="rep_dealfact_product",
            ),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} ({self.status})"


class CreditFact(models.Model):
    """The bookings credit of a won deal per person: revenue splits (amount × percent ÷ 100), or the owner
    100 % when the deal has none. Overlay splits are not bookings (they credit a specialist on top)."""

    deal_id = models.BigIntegerField()
    person_id = models.IntegerField()
    # amount (2 decimals) × percent (2 decimals) ÷ 100 is exact with 6 decimals, so a deal's credits add up
    # to its amount to the cent and every total equals Σ amount; rounding happens once, when shown.
    credit = models.DecimalField(max_digits=20, decimal_places=6)
    close_date = models.DateField()
    pipeline_id = models.IntegerField()
    product_id = models.IntegerField(default=0, help_text="The first product line's product; 0: none.")
    account_id = models.BigIntegerField(null=True, help_text="The deal's account: its territory is the account's.")

    class Meta:
        indexes = [
            models.Index(
                fields=["close_date"],
                include=["person_id", "credit", "pipeline_id", "product_id", "account_id"],
                name="rep_credit_close",
            ),
            models.Index(
                fields=["person_id", "close_date"],
                include=["credit", "pipeline_id", "product_id"],
                name="rep_credit_person",
            ),
            models.Index(
                fields=["product_id", "close_date"],
                include=["person_id", "credit", "pipeline_id"],
                name="rep_credit_product",
            ),
            models.Index(fields=["deal_id"], name="rep_credit_deal"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.person_id} {self.credit}"


class StageSpell(models.Model):
    """One stay of a deal in a stage, from the stage history: entered on, left on (OPEN_SPELL_END while it
    lasts), whole days spent, whether the deal later went further (a later open stage, or won), and when the
    deal last entered and last left the same stage before (so a deal entering, or leaving, a stage twice in a
    range counts once)."""

    deal_id = models.BigIntegerField()
    stage_id = models.IntegerField()
    owner_id = models.IntegerField()
    pipeline_id = models.IntegerField()
    product_id = models.IntegerField(default=0, help_text="The first product line's product; 0: none.")
    account_id = models.BigIntegerField(null=True, help_text="The deal's account: its territory is the account's.")
    entered_on = models.DateField()
    left_on = models.DateField()
    days = models.IntegerField(null=True, help_text="Null while the deal is still in the stage.")
    advanced = models.BooleanField()
    prev_entered_on = models.DateField(
        null=True, help_text="When the deal last entered this stage before this stay (null: its first)."
    )
    prev_left_on = models.DateField(
        null=True, help_text="When the deal last left this stage before this stay (null: its first)."
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["entered_on"],
                include=["stage_id", "owner_id", "pipeline_id", "product_id", "advanced", "prev_entered_on"],
                name="rep_spell_entered",
            ),
            models.Index(
                fields=["left_on"],
                include=["stage_id", "owner_id", "pipeline_id", "product_id", "days", "prev_left_on"],
                name="rep_spell_left",
            ),
            models.Index(
                fields=["owner_id", "entered_on"],
                include=["stage_id", "pipeline_id", "product_id", "advanced", "prev_entered_on"],
                name="rep_spell_owner_entered",
            ),
            models.Index(
                fields=["owner_id", "left_on"],
                include=["stage_id", "pipeline_id", "product_id", "days", "prev_left_on"],
                name="rep_spell_owner_left",
            ),
            models.Index(fields=["deal_id"], name="rep_spell_deal"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} in stage {self.stage_id} from {self.entered_on}"


class CloseDatePush(models.Model):
    """A change that moved a deal's close date later (a slip), on the day it was made. The deal's current
    status and amount ride along (a deal's pushes are rebuilt whenever the deal changes), so "open deals that
    slipped" reads this table alone."""

    deal_id = models.BigIntegerField()
    owner_id = models.IntegerField()
    pipeline_id = models.IntegerField()
    product_id = models.IntegerField(default=0, help_text="The first product line's product; 0: none.")
    account_id = models.BigIntegerField(null=True, help_text="The deal's account: its territory is the account's.")
    pushed_on = models.DateField()
    old_close_date = models.DateField()
    new_close_date = models.DateField()
    is_open = models.BooleanField(default=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["pushed_on"],
                include=["deal_id", "owner_id", "pipeline_id", "product_id", "amount", "old_close_date"],
                condition=Q(is_open=True),
                name="rep_push_open_on",
            ),
            models.Index(
                fields=["owner_id", "pushed_on"],
                include=["deal_id", "pipeline_id", "product_id", "amount", "old_close_date"],
                condition=Q(is_open=True),
                name="rep_push_open_owner",
            ),
            models.Index(fields=["deal_id"], name="rep_push_deal"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.old_close_date} → {self.new_close_date}"


class MonthSums(models.Model):
    """The KPI sums of a month's deals (by close month) that every monthly rollup keeps, whatever its key."""

    won_count = models.IntegerField(default=0)
    lost_count = models.IntegerField(default=0)
    won_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    cycle_days_sum = models.BigIntegerField(default=0)
    cycle_count = models.IntegerField(default=0)
    credited = models.DecimalField(max_digits=22, decimal_places=6, default=0)
    open_count = models.IntegerField(default=0)
    open_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    weighted_amount = models.DecimalField(max_digits=22, decimal_places=6, default=0)

    class Meta:
        abstract = True


class PersonMonth(MonthSums):
    """Monthly sums per person and pipeline, by close month: what the person owned (won, lost, open) and
    what they were credited. Company-wide and long ranges read this instead of the facts."""

    month = models.DateField(help_text="First day of the close month.")
    person_id = models.IntegerField()
    pipeline_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "person_id", "pipeline_id"], name="rep_personmonth_unique")
        ]
        indexes = [
            models.Index(fields=["person_id", "month"], name="rep_personmonth_person"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} person {self.person_id}"


class ProductMonth(MonthSums):
    """The company's monthly sums per product and pipeline (a deal counts under its first product): the
    product breakdown of everyone's numbers. Filters on people use the facts instead."""

    month = models.DateField(help_text="First day of the close month.")
    product_id = models.IntegerField(default=0, help_text="The first product line's product; 0: none.")
    pipeline_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "product_id", "pipeline_id"], name="rep_productmonth_unique")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} product {self.product_id}"


class TerritoryMonth(MonthSums):
    """The company's monthly sums per territory of the active territory model and pipeline (a deal is in its
    account's territory; None: no territory): the executive dashboard's territory breakdown of everyone's
    numbers. Built from TerritoryBasis (the assignments as the rollup knows them): month by month with the facts;
    when the active model's assignments change, the sums of the accounts that moved are moved to their new
    territory; whole for another model (RefreshState.territory_rollup_for says for which). Filters on people or
    products use the facts."""

    month = models.DateField(help_text="First day of the close month.")
    territory_id = models.BigIntegerField(null=True, help_text="None: the deal's account is in no territory.")
    pipeline_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "territory_id", "pipeline_id"], nulls_distinct=False, name="rep_territorymonth_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} territory {self.territory_id}"


class TerritoryBasis(models.Model):
    """The active territory model's assignments as the territory rollup was built from them: one row per account
    in a territory (a copy of planning's published `planning_account_territory`, taken by the reports' refresh).
    When planning's assignments move, the refresh compares them with this copy, moves the sums of the accounts that
    moved to their new territory, and brings the copy up to date, so the rollup never mixes two assignments."""

    account_id = models.BigIntegerField(primary_key=True)
    territory_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"account {self.account_id} in territory {self.territory_id}"


class StageMedian(models.Model):
    """Median whole days a deal stays in each stage (finished stays of the last year): what "stuck far
    beyond the stage's median" compares with. Recomputed at most daily; it moves slowly."""

    stage_id = models.IntegerField(primary_key=True)
    median_days = models.FloatField()
    spells = models.IntegerField()
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"stage {self.stage_id}: {self.median_days} days"


class RefreshState(models.Model):
    """The one row saying how fresh the facts are and where the incremental refresh continues from."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField(null=True)
    full_rebuild_at = models.DateTimeField(null=True)
    # Watermarks: deals updated after, history rows and activities with a larger id, are not yet read.
    deals_updated_after = models.DateTimeField(null=True)
    last_change_id = models.BigIntegerField(default=0)
    last_activity_id = models.BigIntegerField(default=0)
    # The ids below those watermarks (their last 5,000) that were missing when the sweep read them: a transaction
    # that commits later gives its rows an earlier id, so the next sweep reads these again, and only these. None:
    # not known (after a full build), the next sweep reads the last 5,000 ids again.
    change_gaps = models.JSONField(null=True, default=None, blank=True)
    activity_gaps = models.JSONField(null=True, default=None, blank=True)
    medians_at = models.DateTimeField(null=True)
    last_run = models.JSONField(default=dict, blank=True)
    # Everyone who owns or is credited with a deal in the facts (it only grows): a view that includes all of
    # them is the whole company, so the company-wide rollups can answer it.
    people_with_facts = models.JSONField(default=list, blank=True)
    # The active territory model the territory rollup was built for ("<id>@<assigned at>", empty: none built):
    # while it is the active model's as published by planning, the rollup follows the facts month by month.
    territory_rollup_for = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="rep_refreshstate_single_row")]

    def __str__(self) -> str:
        return f"reporting facts as of {self.refreshed_at}"


class DigestDelivery(models.Model):
    """One weekly digest sent to one manager: the unique row makes a second run of the same week a no-op."""

    person = models.ForeignKey("org.User", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="Monday of the week the digest reports on.")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "week_start"], name="rep_digest_once_per_week")]

    def __str__(self) -> str:
        return f"digest {self.week_start} to {self.person_id}"


class StageMonth(models.Model):
    """The company's stage flow per month, pipeline, stage and product: stays that began in the month (and how
    many of those went further), and stays that ended in it (with their days). Filters on people use the facts.
    A range's deals are its stays less the re-entries (StageReentryMonth) and repeated exits (StageReexitMonth)."""

    month = models.DateField(help_text="First day of the month.")
    pipeline_id = models.IntegerField()
    stage_id = models.IntegerField()
    product_id = models.IntegerField(default=0)
    entered = models.IntegerField(default=0)
    advanced = models.IntegerField(default=0)
    left = models.IntegerField(default=0)
    days_sum = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "pipeline_id", "stage_id", "product_id"], name="rep_stagemonth_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} stage {self.stage_id}"


class StageReentryMonth(models.Model):
    """Re-entries per month: stays that began in `month` in a stage their deal had entered before, in
    `prev_month` (its previous entry), per pipeline, stage and product. The company's stage conversion counts
    deals, not stays: a range's stays come from StageMonth, less the re-entries whose previous entry was in the
    range too (that deal is counted from its first entry)."""

    month = models.DateField(help_text="First day of the month the stay began.")
    prev_month = models.DateField(help_text="First day of the month of the deal's previous entry into the stage.")
    pipeline_id = models.IntegerField()
    stage_id = models.IntegerField()
    product_id = models.IntegerField(default=0)
    entered = models.IntegerField(default=0)
    advanced = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "prev_month", "pipeline_id", "stage_id", "product_id"],
                name="rep_stagereentry_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} stage {self.stage_id} (before: {self.prev_month:%Y-%m})"


class StageReexitMonth(models.Model):
    """Repeated exits per month: stays that ended in `month` in a stage their deal had left before, in
    `prev_month` (its previous exit), per pipeline, stage and product. The company's funnel counts the deals
    that left a stage, not the stays: a range's exits come from StageMonth, less the repeated exits whose
    previous exit was in the range too (that deal is counted from its first exit)."""

    month = models.DateField(help_text="First day of the month the stay ended.")
    prev_month = models.DateField(help_text="First day of the month the deal's previous stay in the stage ended.")
    pipeline_id = models.IntegerField()
    stage_id = models.IntegerField()
    product_id = models.IntegerField(default=0)
    left = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "prev_month", "pipeline_id", "stage_id", "product_id"],
                name="rep_stagereexit_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} stage {self.stage_id} (left before: {self.prev_month:%Y-%m})"


class StageDaysMonth(models.Model):
    """How many stays of each length (whole days) ended in a month, per pipeline and stage: the company's
    time-in-stage medians read this histogram instead of every stay."""

    month = models.DateField(help_text="First day of the month the stays ended in.")
    pipeline_id = models.IntegerField()
    stage_id = models.IntegerField()
    days = models.IntegerField()
    spells = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "pipeline_id", "stage_id", "days"], name="rep_stagedays_unique")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} stage {self.stage_id}: {self.spells} × {self.days} d"
