"""The CRM adoption and hygiene scorecard's arithmetic: parts and score from plain counts, weeks, and a roll-out's
adoption curve. Pure Python (no Django); docs/enablement-adoption.md states every rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# The parts of the score, in the order the scorecard shows them, with the words a user reads.
PARTS: dict[str, str] = {
    "active": "Signed in this week",
    "activities_per_deal": "Activities per open deal",
    "criteria_complete": "Exit criteria filled",
    "next_step_fresh": "Fresh next steps",
    "close_date_current": "Close dates current",
    "recent_activity": "Recent activity",
}
# What a roll-out may measure: a part, or the score (threshold as a share of 100).
METRICS: dict[str, str] = {**PARTS, "score": "Score"}
# Activities in the last 7 days per open deal that count as full marks.
ACTIVITIES_PER_DEAL_TARGET = Fraction(1)
SHARE_PLACES = Decimal("0.0001")
SCORE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class RepScore:
    """A person's scorecard for a week: each part a share 0–1 (None: not applicable), the counts behind them
    (`figures`) and the score (mean of the non-null parts × 100, None when every part is None)."""

    person_id: int
    score: Decimal | None
    parts: dict[str, Decimal | None]
    figures: dict[str, int | Decimal] = field(default_factory=dict)


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week `day` is in (weeks run Monday to Sunday)."""
    return day - dt.timedelta(days=day.weekday())


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Mondays of the weeks from `first`'s to `last`'s, both included."""
    start, end = week_start(first), week_start(last)
    out = []
    while start <= end:
        out.append(start)
        start += dt.timedelta(days=7)
    return out


def _share(value: Fraction, places: Decimal = SHARE_PLACES) -> Decimal:
    """An exact fraction rounded once, half up, to `places`."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places, rounding=ROUND_HALF_UP)


def rep_score(
    person_id: int,
    *,
    active: bool,
    open_deals: int,
    criteria_complete: int,
    next_step_fresh: int,
    close_date_current: int,
    recent_activity: int,
    activities: int,
) -> RepScore:
    """The scorecard of one person from their counts. Deal parts are None without open deals. The score is the mean
    of the exact (unrounded) non-null parts × 100, rounded half up to 2 decimals; parts are shown to 4 decimals."""
    exact: dict[str, Fraction | None] = {"active": Fraction(1 if active else 0)}
    if open_deals:
        per_deal = Fraction(activities, open_deals)
        exact["activities_per_deal"] = min(Fraction(1), per_deal / ACTIVITIES_PER_DEAL_TARGET)
        exact["criteria_complete"] = Fraction(criteria_complete, open_deals)
        exact["next_step_fresh"] = Fraction(next_step_fresh, open_deals)
        exact["close_date_current"] = Fraction(close_date_current, open_deals)
        exact["recent_activity"] = Fraction(recent_activity, open_deals)
    else:
        per_deal = Fraction(0)
        for key in list(PARTS)[1:]:
            exact[key] = None
    figures: dict[str, int | Decimal] = {
        "active": int(active),
        "open_deals": open_deals,
        "activities": activities,
        "activities_per_deal": _share(per_deal, SCORE_PLACES),
        "criteria_complete": criteria_complete,
        "next_step_fresh": next_step_fresh,
        "close_date_current": close_date_current,
        "recent_activity": recent_activity,
    }
    parts = {key: None if value is None else _share(value) for key, value in exact.items()}
    return RepScore(person_id, score_of(exact.values()), parts, figures)


def score_of(parts: Iterable[Fraction | Decimal | None]) -> Decimal | None:
    """Mean of the non-null parts × 100, 2 decimals (half up); None when no part applies."""
    present = [Fraction(p) for p in parts if p is not None]
    if not present:
        return None
    return _share(sum(present, Fraction(0)) * 100 / len(present), SCORE_PLACES)


def mean(values: Iterable[Decimal | None], places: Decimal = SHARE_PLACES) -> Decimal | None:
    """Mean of the non-null values (a team's part or score), None when none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return (sum(present, Decimal(0)) / len(present)).quantize(places, rounding=ROUND_HALF_UP)


def metric_value(metric: str, parts: Mapping[str, object], score: Decimal | None) -> Decimal | None:
    """A person's value of a roll-out metric as a share 0–1: the part, or the score ÷ 100."""
    if metric == "score":
        return None if score is None else Decimal(score) / 100
    value = parts.get(metric)
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class CurvePoint:
    """One week of a roll-out's adoption curve: of `people` in the group, `adopted` reached the threshold."""

    week: dt.date
    people: int
    adopted: int
    share: Decimal | None  # adopted ÷ people, None with nobody in the group
    reached: bool  # share >= the roll-out's target share


def adoption_curve(
    weeks: Iterable[dt.date],
    group: Iterable[int],
    values: Mapping[tuple[int, dt.date], Decimal | None],
    *,
    threshold: Decimal,
    target_share: Decimal,
) -> list[CurvePoint]:
    """Per week: the share of the group's people whose metric value that week (from their snapshot; none = not
    adopted) is >= threshold, and whether it reaches target_share."""
    people = sorted(set(group))
    points = []
    for week in weeks:
        adopted = 0
        for person in people:
            value = values.get((person, week))
            if value is not None and value >= threshold:
                adopted += 1
        share = (Decimal(adopted) / len(people)).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP) if people else None
        # Reached on the exact share, not the rounded one: 2 of 3 (0.6666…) does not reach a target of 0.6667.
        reached = bool(people) and Fraction(adopted, len(people)) >= Fraction(target_share)
        points.append(CurvePoint(week, len(people), adopted, share, reached))
    return points


def adopted_from(points: Iterable[CurvePoint]) -> dt.date | None:
    """The first week the share reached the target (the roll-out counts as adopted from then), or None."""
    return next((p.week for p in points if p.reached), None)
