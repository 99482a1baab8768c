"""Models of signals: rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes,
firings, dry runs (docs/signals-rules.md).

A rule fires once per *episode*: an episode of a rule and a subject (a deal, a lead, a KPI's scope) opens when the
subject starts matching and closes when it stops; the actions run when it opens. One open episode per rule and
subject is guarded by a partial unique constraint, so two evaluations at once cannot both fire.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = ["Rule", "RuleEpisode", "RuleFiring", "RuleSubject", "RuleTrigger"]


class RuleTrigger(models.TextChoices):
    DEAL_CHANGE = "deal_change", "A deal changes"
    SCHEDULE = "schedule", "On a schedule"
    KPI = "kpi", "A KPI crosses a threshold"
    LEAD_SLA = "lead_sla", "A lead's response SLA is breached"


class RuleSubject(models.TextChoices):
    DEAL = "deal", "Deal"
    LEAD = "lead", "Lead"
    KPI = "kpi", "KPI scope"


class Rule(models.Model):
    """What sales ops wrote. `conditions` is the deal list's query string (pipeline.filtersets.DealFilterSet);
    `actions` a list of {"kind": ..., ...} (signals.engine.rules.ACTION_KINDS); `settings` the trigger's own
    values (a schedule's minutes or hour, a KPI's name, scope, direction and threshold)."""

    name = models.CharField(max_length=160)
    description = models.TextField(blank=True, default="")
    trigger = models.CharField(max_length=12, choices=RuleTrigger.choices, default=RuleTrigger.DEAL_CHANGE)
    conditions = models.CharField(max_length=1000, blank=True, default="")
    # Schedule: every `every_minutes`, or daily at `daily_hour` (company time) when that is set.
    every_minutes = models.PositiveIntegerField(null=True, blank=True)
    daily_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    # KPI: which, over which scope, above or below what.
    kpi = models.CharField(max_length=24, blank=True, default="")
    kpi_scope = models.CharField(max_length=8, blank=True, default="")  # company | team | region
    kpi_scope_id = models.BigIntegerField(null=True, blank=True)
    kpi_direction = models.CharField(max_length=5, blank=True, default="")  # above | below
    kpi_threshold = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    actions = models.JSONField(default=list, blank=True)
    is_live = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # An evaluation that raised (a bug, a query the database refused): what and when, shown on the rules pages and
    # in the API. `failures` counts the evaluations that failed in a row (0: the last one went through); the error
    # and its time stay after a success, as the rule's last error.
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_hour__isnull=True) | (Q(daily_hour__gte=0) & Q(daily_hour__lte=23)),
                name="signals_rule_daily_hour_0_23",
            ),
            models.CheckConstraint(
                condition=Q(every_minutes__isnull=True) | Q(every_minutes__gte=5),
                name="signals_rule_every_5_minutes_or_more",
            ),
        ]
        indexes = [models.Index(fields=["trigger"], condition=Q(is_live=True), name="signals_rule_live_by_trigger")]

    def __str__(self) -> str:
        return self.name


class RuleEpisode(models.Model):
    """A subject matching a rule, from when it started matching (the rule fired) to when it stopped."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="episodes")
    subject_kind = models.CharField(max_length=4, choices=RuleSubject.choices, default=RuleSubject.DEAL)
    subject_id = models.BigIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One open episode per rule and subject: an evaluation racing another cannot fire twice.
            models.UniqueConstraint(
                fields=["rule", "subject_kind", "subject_id"],
                condition=Q(ended_at__isnull=True),
                name="signals_rule_one_open_episode",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="signals_rule_episode_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["subject_kind", "subject_id"], name="signals_rule_episode_subject")]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.subject_kind} {self.subject_id}"


class RuleFiring(models.Model):
    """The log: a rule fired for a subject (an episode opened) and what each action did."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    episode = models.ForeignKey(RuleEpisode, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject_kind = models.CharField(max_length=4, choices=RuleSubject.choices, default=RuleSubject.DEAL)
    subject_id = models.BigIntegerField()
    subject_label = models.CharField(max_length=200, blank=True, default="")
    fired_at = models.DateTimeField(default=timezone.now)
    # [{"kind": "notify_owner", "ok": true, "detail": "1 notification"}, ...]
    results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        indexes = [models.Index(fields=["rule", "fired_at"], name="signals_rule_firing_rule_time")]

    def __str__(self) -> str:
        return f"{self.rule_id} fired for {self.subject_kind} {self.subject_id}"

    @property
    def ok(self) -> bool:
        return all(r.get("ok") for r in self.results)
