"""Signals selectors: rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes,
firings, dry runs (docs/signals-rules.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import QueryDict

from pipeline.filtersets import DealFilterSet
from salesops import formats
from signals.models import Rule, RuleEpisode, RuleFiring, RuleTrigger


def rules() -> QuerySet[Rule]:
    return Rule.objects.select_related("created_by").order_by("name", "pk")


def rule_by_id(pk: int) -> Rule | None:
    return rules().filter(pk=pk).first()


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    when: str  # the trigger in words
    open_episodes: int
    firings_30d: int
    last_fired: dt.datetime | None


def trigger_words(rule: Rule) -> str:
    if rule.trigger == RuleTrigger.SCHEDULE:
        if rule.daily_hour is not None:
            return f"Daily at {rule.daily_hour:02d}:00"
        return f"Every {rule.every_minutes} minutes"
    if rule.trigger == RuleTrigger.KPI:
        from signals.engine.rules import KPIS

        label = KPIS.get(rule.kpi, (rule.kpi, ""))[0]
        threshold = f"{rule.kpi_threshold:,.2f}" if rule.kpi_threshold is not None else "?"
        return f"{label} {rule.kpi_direction} {threshold}"
    return rule.get_trigger_display()


def _count(rows: QuerySet[Any]) -> Coalesce:
    """How many of `rows` (filtered on OuterRef("pk")) a rule has, as a subquery: 0 when none."""
    counted = rows.order_by().values("rule").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def rules_with_stats(*, now: dt.datetime) -> QuerySet[Rule]:
    """Every rule with `open_episodes` (subjects matching now), `firings_30d` (firings in the 30 days up to `now`) and
    `last_fired` (None: never) annotated, in one query: the rules list and the API read the same numbers. Subqueries
    rather than joins: joining episodes and firings would multiply them per rule (a busy rule has thousands of
    each), and each reads an index (the open-episode constraint; firings by rule and time)."""
    since = now - dt.timedelta(days=30)
    firings = RuleFiring.objects.filter(rule=OuterRef("pk"))
    return rules().annotate(
        open_episodes=_count(RuleEpisode.objects.filter(rule=OuterRef("pk"), ended_at__isnull=True)),
        firings_30d=_count(firings.filter(fired_at__gte=since)),
        last_fired=Subquery(firings.order_by("-fired_at").values("fired_at")[:1]),
    )


def rule_with_stats(pk: int, *, now: dt.datetime) -> Rule | None:
    return rules_with_stats(now=now).filter(pk=pk).first()


def rule_rows(*, now: dt.datetime) -> list[RuleRow]:
    """Every rule with its open episodes and firings in the last 30 days (one query: rules_with_stats)."""
    rows = []
    for rule in rules_with_stats(now=now):
        stats: Any = rule  # the annotations of rules_with_stats
        rows.append(RuleRow(rule=rule, when=trigger_words(rule), open_episodes=stats.open_episodes,
                            firings_30d=stats.firings_30d, last_fired=stats.last_fired))  # fmt: skip
    return rows


def recent_firings(rule: Rule, *, limit: int = 50) -> list[RuleFiring]:
    return list(RuleFiring.objects.filter(rule=rule).order_by("-fired_at", "-id")[:limit])


def open_episode_count(rule: Rule) -> int:
    return rule.episodes.filter(ended_at__isnull=True).count()


def firings_of(rule: Rule) -> QuerySet[RuleFiring]:
    return RuleFiring.objects.filter(rule=rule).order_by("-fired_at", "-id")


def conditions_words(conditions: str) -> list[tuple[str, str]]:
    """The conditions as (filter label, value as a person reads it): a stage's or person's name, not an id."""
    data = QueryDict(conditions or "")
    filterset = DealFilterSet(data=data)
    out = []
    valid = filterset.is_valid()
    cleaned = filterset.form.cleaned_data if valid else {}
    for name, value in data.items():
        flt = DealFilterSet.base_filters.get(name)
        label = str(flt.label) if flt is not None and flt.label else name.replace("_", " ").capitalize()
        shown = cleaned.get(name, value)
        if hasattr(shown, "pk"):
            shown = str(shown)
        elif isinstance(shown, dt.date):
            shown = formats.day(shown)
        elif isinstance(shown, Decimal) and name in {"min_amount", "max_amount"}:
            shown = formats.money0(shown)
        elif isinstance(shown, Decimal):
            shown = formats.count(int(shown)) if shown == int(shown) else str(shown)
        elif isinstance(shown, bool):
            shown = "yes" if shown else "no"
        elif name in {"status", "deal_type", "category"}:
            choices = dict(getattr(flt, "extra", {}).get("choices", []) or [])
            shown = choices.get(value, value)
        out.append((label, str(shown)))
    return out
