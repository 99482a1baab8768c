"""Reads of the pipeline for signals' rules (docs/signals-rules.md): the deals a rule's conditions filter (the deal
list's FilterSet over every deal, no viewer scope: a rule is the company's), what its actions need of each deal, the
history the dry run replays, and the small set of KPIs a rule may watch."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Aggregate, Count, Q, QuerySet, Sum

from pipeline.filtersets import DealFilterSet, ModelChoiceFilter
from pipeline.models import Activity, Deal, DealChange, DealStatus, Stage
from pipeline.selectors import at_risk_q

# The deal list's filters whose value names a row by id (pipeline, stage, owner, region, team): checking one reads it.
ROW_FILTERS = tuple(name for name, f in DealFilterSet.base_filters.items() if isinstance(f, ModelChoiceFilter))


def rows_existing(named: Mapping[str, Iterable[int]]) -> dict[str, set[int]]:
    """Of the ids named per row filter (ROW_FILTERS), those the filter accepts now (its own choices: an owner is a
    rep), {filter: ids}: one query per filter naming any, for all the rules' conditions at once (the rules lists)."""
    existing: dict[str, set[int]] = {}
    for name, ids in named.items():
        wanted = set(ids)
        choices = DealFilterSet.base_filters[name].queryset  # type: ignore[attr-defined]
        existing[name] = set(choices.filter(pk__in=wanted).order_by().values_list("pk", flat=True)) if wanted else set()
    return existing


def deals_for_rules() -> QuerySet[Deal]:
    """Every deal, the base a rule's conditions filter (the FilterSet adds its own joins)."""
    return Deal.objects.all()


def deal_ids(deals: QuerySet[Deal]) -> set[int]:
    """The ids of a filtered queryset: one query, ids only (no ordering: the deal list's default order costs a sort)."""
    return set(deals.order_by().values_list("pk", flat=True))


def deal_count(deals: QuerySet[Deal]) -> int:
    return deals.order_by().count()


@dataclass(frozen=True)
class RuleDeal:
    """What a rule's actions need of a deal: its name, owner, the owner's manager, the deal itself for services."""

    deal_id: int
    name: str
    owner_id: int
    owner_name: str
    manager_id: int | None
    amount: Decimal | None
    stage_name: str


def rule_deals(ids: Iterable[int]) -> dict[int, RuleDeal]:
    """{deal id: RuleDeal} in one query."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = (
        Deal.objects.filter(pk__in=wanted)
        .order_by()
        .values_list(
            "pk",
            "name",
            "owner_id",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
            "owner__manager_id",
            "amount",
            "stage__name",
        )
    )
    found = {}
    for pk, name, owner_id, first, last, username, manager_id, amount, stage in rows:
        owner_name = f"{first} {last}".strip() or username
        found[pk] = RuleDeal(pk, name, owner_id, owner_name, manager_id, amount, stage)
    return found


def deal_for_service(deal_id: int) -> Deal | None:
    """The deal an action hands to a pipeline service (deal_update, activity_create)."""
    return Deal.objects.select_related("owner", "account", "stage").filter(pk=deal_id).first()


def deal_names(ids: Iterable[int]) -> dict[int, str]:
    return dict(Deal.objects.filter(pk__in=set(ids)).order_by().values_list("pk", "name"))


# ---------------------------------------------------------------------------------------------------- dry run
@dataclass
class DealReplayFacts:
    """A deal now and the changes of what the dry run replays, oldest first: (when, old, new)."""

    deal_id: int
    name: str
    created_at: dt.datetime
    stage_id: int
    owner_id: int
    amount: Decimal | None
    close_date: dt.date | None
    stage_entered_at: dt.datetime
    # When the deal entered the stage it was in at `since`, if that stage changed after it (the latest stage change
    # at or before `since`; None: it had been in it since it was created).
    stage_entered_before: dt.datetime | None = None
    stage_moves: list[tuple[dt.datetime, int | None, int | None]] = field(default_factory=list)
    owner_moves: list[tuple[dt.datetime, int | None, int | None]] = field(default_factory=list)
    amount_moves: list[tuple[dt.datetime, Decimal | None, Decimal | None]] = field(default_factory=list)
    close_moves: list[tuple[dt.datetime, dt.date | None, dt.date | None]] = field(default_factory=list)
    activity_times: list[dt.datetime] = field(default_factory=list)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except ArithmeticError:
        return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def deal_replay_facts(
    deals: QuerySet[Deal], *, since: dt.datetime, activity_since: dt.datetime, open_since: bool = False
) -> list[DealReplayFacts]:
    """Each deal of `deals` now, with the changes after `since` of its stage, owner, amount and close date (the
    history rows pipeline.history writes) and its done activities since `activity_since`. `open_since`: only deals
    that were open at some point since `since` (open now, or left open after it). Four queries."""
    deals = deals.order_by()
    if open_since:
        deals = deals.filter(Q(status=DealStatus.OPEN) | Q(stage_entered_at__gte=since))
    facts: dict[int, DealReplayFacts] = {}
    for pk, name, created_at, stage_id, owner_id, amount, close_date, entered in deals.values_list(
        "pk", "name", "created_at", "stage_id", "owner_id", "amount", "close_date", "stage_entered_at"
    ):
        facts[pk] = DealReplayFacts(pk, name, created_at, stage_id, owner_id, amount, close_date, entered)
    if not facts:
        return []
    changes = (
        DealChange.objects.filter(
            deal_id__in=list(facts), changed_at__gt=since, field__in=["stage", "owner", "amount", "close_date"]
        )
        .order_by("changed_at", "id")
        .values_list("deal_id", "field", "old_value", "new_value", "old_ref", "new_ref", "changed_at")
    )
    for deal_id, name, old, new, old_ref, new_ref, at in changes.iterator(chunk_size=5000):
        deal = facts[deal_id]
        if name == "stage":
            deal.stage_moves.append((at, old_ref, new_ref))
        elif name == "owner":
            deal.owner_moves.append((at, old_ref, new_ref))
        elif name == "amount":
            deal.amount_moves.append((at, _decimal(old), _decimal(new)))
        else:
            deal.close_moves.append((at, _date(old), _date(new)))
    # A deal that changed stage after `since` entered the stage it was in then at its latest stage change before.
    moved = [pk for pk, deal in facts.items() if deal.stage_moves]
    entered_before = (
        DealChange.objects.filter(deal_id__in=moved, field="stage", changed_at__lte=since)
        .order_by("deal_id", "-changed_at", "-id")
        .distinct("deal_id")
        .values_list("deal_id", "changed_at")
    )
    for deal_id, at in entered_before.iterator(chunk_size=5000) if moved else ():
        facts[deal_id].stage_entered_before = at
    activities = (
        Activity.objects.filter(deal_id__in=list(facts), done=True, occurred_at__gte=activity_since)
        .order_by("occurred_at")
        .values_list("deal_id", "occurred_at")
    )
    for deal_id, at in activities.iterator(chunk_size=5000):
        facts[deal_id].activity_times.append(at)
    return list(facts.values())


def stage_facts() -> dict[int, tuple[int, str, str]]:
    """{stage id: (pipeline id, status open/won/lost, forecast category)}."""
    out = {}
    for pk, pipeline_id, won, lost, category in Stage.objects.values_list(
        "pk", "pipeline_id", "is_won", "is_lost", "forecast_category"
    ):
        out[pk] = (pipeline_id, "won" if won else "lost" if lost else "open", category)
    return out


# -------------------------------------------------------------------------------------------------------- KPIs
def _kpi_deals(
    kpi: str, deals: QuerySet[Deal], *, today: dt.date, now: dt.datetime, quarter: tuple[dt.date, dt.date]
) -> tuple[QuerySet[Deal], Aggregate]:
    """The deals a KPI is made of (of a rule's conditions), and how they add up."""
    deals = deals.order_by()
    if kpi == "open_pipeline":
        return deals.filter(status=DealStatus.OPEN), Sum("amount")
    if kpi == "won_this_quarter":
        won = deals.filter(status=DealStatus.WON, close_date__gte=quarter[0], close_date__lte=quarter[1])
        return won, Sum("amount")
    if kpi == "at_risk_count":
        return deals.filter(Q(status=DealStatus.OPEN) & at_risk_q(today, now)), Count("pk")
    raise ValueError(f"Unknown KPI {kpi!r}")


SCOPE_KEYS = {"team": "owner__team_id", "region": "owner__region_id"}


def kpi_values(
    kpi: str, deals: QuerySet[Deal], *, scope: str, today: dt.date, now: dt.datetime, quarter: tuple[dt.date, dt.date]
) -> dict[int, Decimal]:
    """The KPI over `deals` (a rule's conditions), per scope: {0: value} for the company, {team id: value} for
    every team, {region id: value} for every region. One grouped query."""
    deals, measure = _kpi_deals(kpi, deals, today=today, now=now, quarter=quarter)
    key = SCOPE_KEYS.get(scope)
    if key is None:
        value = deals.aggregate(v=measure)["v"]
        return {0: Decimal(value or 0)}
    out: dict[int, Decimal] = defaultdict(Decimal)
    for group, value in deals.values_list(key).annotate(v=measure).values_list(key, "v"):
        if group is not None:
            out[group] = Decimal(value or 0)
    return dict(out)


def kpi_owner_ids(
    kpi: str,
    deals: QuerySet[Deal],
    *,
    scope: str,
    scope_id: int | None,
    today: dt.date,
    now: dt.datetime,
    quarter: tuple[dt.date, dt.date],
) -> set[int]:
    """The owners of the deals a KPI of one scope is made of (whose figures it adds up)."""
    deals, _ = _kpi_deals(kpi, deals, today=today, now=now, quarter=quarter)
    key = SCOPE_KEYS.get(scope)
    if key is not None:
        deals = deals.filter(**{key: scope_id})
    return set(deals.values_list("owner_id", flat=True).distinct())
