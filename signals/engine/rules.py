"""Pure engine of signals (rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes,
firings, dry runs): plain Python over plain data, no ORM (docs/signals-rules.md).

- `validate_actions`: the actions a rule may carry and what each needs;
- `episode_changes`: which subjects start an episode (the rule fires) and which end one;
- `schedule_due`, `kpi_crossed`: when a scheduled or KPI rule runs and matches;
- `replay`: the dry run: each day of a window, which deals matched at the end of the day (from their history),
  the episode starts (a deal matching at the end of a day that did not at the end of the day before), per week.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

# ------------------------------------------------------------------------------------------------ actions
# kind -> (what a person reads, the keys it needs besides "kind")
ACTION_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "notify_owner": ("Notify the deal's owner", ()),
    "notify_manager": ("Notify the owner's manager", ()),
    "notify_role": ("Notify everyone with a role", ("role",)),
    "channel": ("Send to a channel (e-mail, Slack, Teams, webhook)", ("channel_id",)),
    "create_task": ("Create a task for the owner", ("subject",)),
    "set_field": ("Set a field of the deal", ("field", "value")),
}
ROLES = {"finance": "Finance", "sales_ops": "Sales ops", "manager": "Managers"}
# The fields a rule may set (pipeline's deal_update, or the category override), and the values they take.
SETTABLE_FIELDS: dict[str, str] = {
    "next_step": "Next step",
    "category_override": "Forecast category override",
}
CATEGORY_VALUES = ("", "pipeline", "best_case", "commit")
# What acts on deals only (a lead or a KPI has no deal to set a field on or hang a task from).
DEAL_ONLY = {"create_task", "set_field"}


def validate_actions(actions: Any, *, subject: str = "deal") -> list[dict[str, Any]]:
    """The actions cleaned (known kinds, needed keys, string values trimmed), or ValueError naming the problem."""
    if not isinstance(actions, list) or not actions:
        raise ValueError("A rule needs at least one action.")
    cleaned: list[dict[str, Any]] = []
    for number, action in enumerate(actions, start=1):
        if not isinstance(action, dict) or action.get("kind") not in ACTION_KINDS:
            raise ValueError(f"Action {number}: choose what it does ({', '.join(ACTION_KINDS)}).")
        kind = action["kind"]
        if kind in DEAL_ONLY and subject != "deal":
            raise ValueError(
                f"Action {number}: “{ACTION_KINDS[kind][0]}” acts on a deal; this rule's subject is a {subject}."
            )
        out: dict[str, Any] = {"kind": kind}
        for key in ACTION_KINDS[kind][1]:
            value = action.get(key)
            value = value.strip() if isinstance(value, str) else value
            if value in (None, "") and not (kind == "set_field" and key == "value"):
                raise ValueError(f"Action {number} ({ACTION_KINDS[kind][0].lower()}) needs a {key.replace('_', ' ')}.")
            out[key] = "" if value is None else value
        if kind == "notify_role" and out["role"] not in ROLES:
            raise ValueError(f"Action {number}: the role is one of {', '.join(ROLES)}.")
        if kind == "channel":
            try:
                out["channel_id"] = int(out["channel_id"])
            except (TypeError, ValueError):
                raise ValueError(f"Action {number}: choose a channel.") from None
        if kind == "set_field":
            if out["field"] not in SETTABLE_FIELDS:
                raise ValueError(f"Action {number}: a rule may set only {', '.join(SETTABLE_FIELDS)}.")
            if out["field"] == "category_override" and out["value"] not in CATEGORY_VALUES:
                raise ValueError(f"Action {number}: a category override is pipeline, best_case, commit or blank.")
            out["value"] = str(out["value"])[:200]
        if kind == "create_task":
            out["subject"] = str(out["subject"])[:200]
            out["due_days"] = max(0, min(int(action.get("due_days") or 0), 365))
        if "note" in action and isinstance(action["note"], str):
            out["note"] = action["note"].strip()[:500]
        cleaned.append(out)
    return cleaned


def describe_action(action: dict[str, Any], *, channel_names: dict[int, str] | None = None) -> str:
    """One line a person reads: "Notify everyone with a role: Finance", "Set next step to “Call back”"."""
    kind = action.get("kind", "")
    label = ACTION_KINDS.get(kind, (kind, ()))[0]
    if kind == "notify_role":
        return f"{label}: {ROLES.get(action.get('role', ''), action.get('role', ''))}"
    if kind == "channel":
        name = (channel_names or {}).get(int(action.get("channel_id") or 0), f"channel {action.get('channel_id')}")
        return f"Send to {name}"
    if kind == "create_task":
        due = action.get("due_days") or 0
        return f"Create a task “{action.get('subject', '')}”" + (f", due in {due} days" if due else ", due today")
    if kind == "set_field":
        name = SETTABLE_FIELDS.get(action.get("field", ""), action.get("field", ""))
        value = action.get("value") or "blank"
        return f"Set {name.lower()} to “{value}”"
    return label


# ------------------------------------------------------------------------------------------------ episodes
@dataclass(frozen=True)
class EpisodeChanges:
    start: list[int]  # subjects that match now and had no open episode: the rule fires for them
    end: list[int]  # subjects with an open episode that no longer match: the episode closes


def episode_changes(
    *, matching: Iterable[int], open_subjects: Iterable[int], evaluated: Iterable[int] | None = None
) -> EpisodeChanges:
    """Compare what matches now with the open episodes. `evaluated` limits the comparison to the subjects looked
    at (a deal change evaluates only the changed deals: an open episode of another deal is left alone)."""
    now = set(matching)
    opened = set(open_subjects)
    if evaluated is not None:
        scope = set(evaluated)
        opened &= scope
        now &= scope
    return EpisodeChanges(start=sorted(now - opened), end=sorted(opened - now))


# ------------------------------------------------------------------------------------------------ schedule
def schedule_due(
    *, last_run_at: dt.datetime | None, now: dt.datetime, every_minutes: int | None, daily_hour: int | None
) -> bool:
    """A scheduled rule runs every `every_minutes` (from its last run), or once a day from `daily_hour` (`now` in
    company time: the first sweep at or after the hour runs it, once that day)."""
    if daily_hour is not None:
        if now.hour < daily_hour:
            return False
        if last_run_at is None:
            return True
        today_at = now.replace(hour=daily_hour, minute=0, second=0, microsecond=0)
        return last_run_at.astimezone(now.tzinfo) < today_at
    minutes = every_minutes or 60
    # A sweep a few seconds early still runs it: the beat's minute and the rule's period drift apart otherwise.
    return last_run_at is None or now - last_run_at >= dt.timedelta(minutes=minutes) - dt.timedelta(seconds=30)


# ------------------------------------------------------------------------------------------------ KPI
KPIS: dict[str, tuple[str, str]] = {
    # key -> (label, unit: "money" or "count")
    "open_pipeline": ("Open pipeline (amount of open deals)", "money"),
    "won_this_quarter": ("Won this fiscal quarter (amount)", "money"),
    "at_risk_count": ("Open deals at risk (count)", "count"),
}


def kpi_crossed(value: Decimal, *, direction: str, threshold: Decimal) -> bool:
    """The KPI is past its threshold: above (strictly) or below (strictly)."""
    return value > threshold if direction == "above" else value < threshold


# ------------------------------------------------------------------------------------------------ dry run
class DealFacts(Protocol):
    """What the dry run knows of one deal (pipeline.selectors.rules.DealReplayFacts answers it): its values now,
    and the changes of its tracked fields, oldest first, each (when, old, new)."""

    @property
    def deal_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def stage_id(self) -> int: ...
    @property
    def owner_id(self) -> int: ...
    @property
    def amount(self) -> Decimal | None: ...
    @property
    def close_date(self) -> dt.date | None: ...
    @property
    def stage_entered_at(self) -> dt.datetime: ...
    @property
    def stage_entered_before(self) -> dt.datetime | None: ...
    @property
    def stage_moves(self) -> Sequence[tuple[dt.datetime, int | None, int | None]]: ...
    @property
    def owner_moves(self) -> Sequence[tuple[dt.datetime, int | None, int | None]]: ...
    @property
    def amount_moves(self) -> Sequence[tuple[dt.datetime, Decimal | None, Decimal | None]]: ...
    @property
    def close_moves(self) -> Sequence[tuple[dt.datetime, dt.date | None, dt.date | None]]: ...
    @property
    def activity_times(self) -> Sequence[dt.datetime]: ...


@dataclass(frozen=True)
class StageFacts:
    pipeline_id: int
    status: str  # open | won | lost
    forecast_category: str


@dataclass(frozen=True)
class DealAsOf:
    """A deal as it was at a moment, the values the replayed conditions read."""

    deal_id: int
    stage_id: int
    owner_id: int
    amount: Decimal | None
    close_date: dt.date | None
    stage_entered_at: dt.datetime
    last_activity_at: dt.datetime | None
    created_at: dt.datetime


def _value_at(moves: Sequence[tuple[dt.datetime, Any, Any]], now_value: Any, at: dt.datetime) -> Any:
    """The value at `at`: the old value of the first change after it, else the value now."""
    for when, old, _new in moves:
        if when > at:
            return old
    return now_value


def as_of(deal: DealFacts, at: dt.datetime) -> DealAsOf | None:
    """The deal at `at` from its history (None: it did not exist yet)."""
    if deal.created_at > at:
        return None
    stage_id = _value_at(deal.stage_moves, deal.stage_id, at)
    entered = deal.stage_entered_at
    moved_before = [when for when, _o, _n in deal.stage_moves if when <= at]
    if moved_before:
        entered = moved_before[-1]
    elif any(when > at for when, _o, _n in deal.stage_moves) or entered > at:
        # In the stage it was in when the replayed history starts: since its latest stage change before that, or
        # since it was created (its first stage).
        entered = deal.stage_entered_before or deal.created_at
    times = deal.activity_times
    index = bisect.bisect_right(times, at)
    return DealAsOf(
        deal_id=deal.deal_id,
        stage_id=stage_id if stage_id is not None else deal.stage_id,
        owner_id=_value_at(deal.owner_moves, deal.owner_id, at) or deal.owner_id,
        amount=_value_at(deal.amount_moves, deal.amount, at),
        close_date=_value_at(deal.close_moves, deal.close_date, at),
        stage_entered_at=entered,
        last_activity_at=times[index - 1] if index else None,
        created_at=deal.created_at,
    )


@dataclass(frozen=True)
class ReplayConditions:
    """The deal list's filters the dry run replays from the history (the others are applied to the deals as they
    are now before the replay: search, account, type, next step). None: not filtered."""

    status: str | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    region_id: int | None = None
    category: str | None = None
    close_after: dt.date | None = None
    close_before: dt.date | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    stale: bool | None = None
    min_days_in_stage: int | None = None
    min_days_idle: int | None = None


STALE_DAYS = 30  # pipeline.selectors.STALE_DAYS (the deal list's "stale" filter)


def _idle(deal: DealAsOf, days: int, at: dt.datetime) -> bool:
    cutoff = at - dt.timedelta(days=days)
    return deal.created_at < cutoff and (deal.last_activity_at is None or deal.last_activity_at < cutoff)


def matches(
    deal: DealAsOf,
    cond: ReplayConditions,
    *,
    at: dt.datetime,
    stages: dict[int, StageFacts],
    teams: dict[int, tuple[int | None, int | None]],
) -> bool:
    """The deal (as it was at `at`) passes the replayed conditions, read as the deal list reads them at `at`."""
    stage = stages.get(deal.stage_id)
    if stage is None:
        return False
    checks: list[Callable[[], bool]] = []
    if cond.status is not None:
        checks.append(lambda: stage.status == cond.status)
    if cond.pipeline_id is not None:
        checks.append(lambda: stage.pipeline_id == cond.pipeline_id)
    if cond.stage_id is not None:
        checks.append(lambda: deal.stage_id == cond.stage_id)
    if cond.owner_id is not None:
        checks.append(lambda: deal.owner_id == cond.owner_id)
    if cond.team_id is not None:
        checks.append(lambda: teams.get(deal.owner_id, (None, None))[0] == cond.team_id)
    if cond.region_id is not None:
        checks.append(lambda: teams.get(deal.owner_id, (None, None))[1] == cond.region_id)
    if cond.category is not None:
        checks.append(lambda: stage.forecast_category == cond.category)
    if cond.close_after is not None:
        checks.append(lambda: deal.close_date is not None and deal.close_date >= cond.close_after)  # type: ignore[operator]
    if cond.close_before is not None:
        checks.append(lambda: deal.close_date is not None and deal.close_date <= cond.close_before)  # type: ignore[operator]
    if cond.min_amount is not None:
        checks.append(lambda: deal.amount is not None and deal.amount >= cond.min_amount)  # type: ignore[operator]
    if cond.max_amount is not None:
        checks.append(lambda: deal.amount is not None and deal.amount <= cond.max_amount)  # type: ignore[operator]
    if cond.stale is not None:
        cutoff = at - dt.timedelta(days=STALE_DAYS)

        def stale() -> bool:
            is_stale = stage.status == "open" and _idle(deal, STALE_DAYS, at) and deal.stage_entered_at < cutoff
            return is_stale == cond.stale

        checks.append(stale)
    if cond.min_days_in_stage is not None:
        days = cond.min_days_in_stage
        checks.append(lambda: deal.stage_entered_at <= at - dt.timedelta(days=days))
    if cond.min_days_idle is not None:
        idle_days = cond.min_days_idle
        checks.append(lambda: _idle(deal, idle_days, at))
    return all(check() for check in checks)


def _unchanged_since(deal: DealFacts, at: dt.datetime) -> bool:
    moves = (deal.stage_moves, deal.owner_moves, deal.amount_moves, deal.close_moves)
    return all(not m or m[-1][0] <= at for m in moves)


@dataclass
class DryRun:
    """What the dry run found: per day the deals matching at its end, the episode starts, per week, a sample."""

    first_day: dt.date
    last_day: dt.date
    starts: int = 0
    deals: int = 0  # distinct deals with at least one start
    per_week: list[tuple[dt.date, int]] = field(default_factory=list)  # (Monday, starts that week)
    per_day_matching: list[tuple[dt.date, int]] = field(default_factory=list)
    sample: list[tuple[int, str, dt.date]] = field(default_factory=list)  # (deal id, name, day of its first start)


def replay(
    deals: Iterable[DealFacts],
    cond: ReplayConditions,
    *,
    day_ends: Sequence[tuple[dt.date, dt.datetime]],
    stages: dict[int, StageFacts],
    teams: dict[int, tuple[int | None, int | None]],
    sample_size: int = 10,
) -> DryRun:
    """Replay the days: `day_ends` is (day, the moment the day ends), oldest first, starting with the day BEFORE the
    window (its matches are the baseline: a deal already matching then was in an episode already, not a start)."""
    baseline_day, *window = day_ends
    result = DryRun(first_day=window[0][0] if window else baseline_day[0], last_day=day_ends[-1][0])
    weeks: dict[dt.date, int] = {}
    for day, _end in window:
        weeks.setdefault(day - dt.timedelta(days=day.weekday()), 0)
    matching_per_day = [0] * len(window)
    first_start: dict[int, tuple[dt.date, str]] = {}
    timeless = cond.stale is None and cond.min_days_in_stage is None and cond.min_days_idle is None
    for deal in deals:
        before = False
        base = as_of(deal, baseline_day[1])
        if base is not None:
            before = matches(base, cond, at=baseline_day[1], stages=stages, teams=teams)
        if base is not None and timeless and _unchanged_since(deal, baseline_day[1]):
            # Nothing replayed changed in the window and no condition depends on the day: the deal is as it was on
            # the baseline day every day (no start); counted once instead of evaluated 90 times.
            if before:
                matching_per_day = [n + 1 for n in matching_per_day]
            continue
        for index, (day, end) in enumerate(window):
            state = as_of(deal, end)
            now = state is not None and matches(state, cond, at=end, stages=stages, teams=teams)
            if now:
                matching_per_day[index] += 1
                if not before:
                    result.starts += 1
                    weeks[day - dt.timedelta(days=day.weekday())] += 1
                    first_start.setdefault(deal.deal_id, (day, deal.name))
            before = now
    result.deals = len(first_start)
    result.per_week = sorted(weeks.items())
    result.per_day_matching = [(day, matching_per_day[i]) for i, (day, _e) in enumerate(window)]
    ordered = sorted(first_start.items(), key=lambda item: (item[1][0], item[0]))
    result.sample = [(deal_id, name, day) for deal_id, (day, name) in ordered[:sample_size]]
    return result
