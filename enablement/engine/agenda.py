"""The 1:1 agenda from plain numbers (docs/enablement-coaching.md): one item per topic, each with a priority, the
most pressing first. Pure: no Django, no ORM; selectors/coaching.py loads the numbers.

Priorities: 1 = talk about it first, 2 = worth a look, 3 = on track (shown, last).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HIGH, MEDIUM, LOW = 1, 2, 3
PACE_BEHIND_HIGH = Decimal("0.20")  # attainment this far behind the share of the quarter gone: first
PACE_BEHIND_MEDIUM = Decimal("0.05")
RISK_HIGH = 3  # this many deals at risk or more: first
HYGIENE_HIGH = Decimal(60)  # a hygiene score below 60: first; below 80: worth a look
HYGIENE_MEDIUM = Decimal(80)
ACCURACY_HIGH = Decimal("0.70")  # forecast accuracy below 70 %: first; below 85 %: worth a look
ACCURACY_MEDIUM = Decimal("0.85")
ORDER = ("actions", "pace", "deals_at_risk", "onboarding", "hygiene", "forecast_accuracy")


@dataclass(frozen=True)
class OpenAction:
    """An open action item of the pair (carried over from an earlier 1:1 or agreed in this one)."""

    id: int
    text: str
    owner_id: int
    due_on: dt.date | None
    held_on: dt.date  # the 1:1 it was agreed in


@dataclass(frozen=True)
class AgendaInputs:
    """What the agenda is built from, for one report on one day. None: the source has nothing for them."""

    today: dt.date
    quarter: str
    quarter_start: dt.date
    quarter_end: dt.date
    quota: Decimal | None = None  # this quarter's bookings quota
    booked: Decimal | None = None  # credited bookings against it so far
    attainment: Decimal | None = None  # booked ÷ quota (None without a quota or a zero quota)
    at_risk_count: int = 0
    at_risk_amount: Decimal = Decimal(0)
    at_risk_deals: tuple[tuple[int, str, Decimal | None], ...] = ()  # (id, name, amount) of the largest
    hygiene_score: Decimal | None = None
    hygiene_parts: dict[str, Decimal | None] = field(default_factory=dict)
    accuracy_months: tuple[tuple[str, Decimal | None], ...] = ()  # (month, own call accuracy) closed months
    onboarding: dict[str, Any] | None = None  # steps, done, overdue, next_step, next_due
    actions: tuple[OpenAction, ...] = ()


@dataclass(frozen=True)
class AgendaItem:
    key: str
    title: str
    priority: int
    summary: str  # one sentence in words
    figures: dict[str, Any]


def share_of_period_gone(today: dt.date, start: dt.date, end: dt.date) -> Decimal:
    """Days of [start, end] up to and including today ÷ days of the period (0 before it, 1 after it)."""
    days = (end - start).days + 1
    gone = min(max((today - start).days + 1, 0), days)
    return (Decimal(gone) / Decimal(days)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def mean_accuracy(months: tuple[tuple[str, Decimal | None], ...]) -> Decimal | None:
    """The mean of the months' accuracies that exist (None when none does), to 4 decimals."""
    values = [value for _, value in months if value is not None]
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"


def pace_item(inputs: AgendaInputs) -> AgendaItem:
    gone = share_of_period_gone(inputs.today, inputs.quarter_start, inputs.quarter_end)
    figures: dict[str, Any] = {
        "quarter": inputs.quarter,
        "quota": inputs.quota,
        "booked": inputs.booked,
        "attainment": inputs.attainment,
        "time_gone": gone,
    }
    if inputs.attainment is None:
        return AgendaItem("pace", "Pace to quota", LOW, f"No bookings quota for {inputs.quarter}.", figures)
    behind = gone - inputs.attainment
    figures["behind"] = behind
    priority = HIGH if behind > PACE_BEHIND_HIGH else MEDIUM if behind > PACE_BEHIND_MEDIUM else LOW
    summary = f"{_pct(inputs.attainment)} of quota booked with {_pct(gone)} of {inputs.quarter} gone."
    return AgendaItem("pace", "Pace to quota", priority, summary, figures)


def risk_item(inputs: AgendaInputs) -> AgendaItem:
    n = inputs.at_risk_count
    priority = HIGH if n >= RISK_HIGH else MEDIUM if n else LOW
    summary = f"{n} open deal{'s' * (n != 1)} closing in {inputs.quarter} at risk." if n else "No deal at risk."
    figures = {
        "count": n,
        "amount": inputs.at_risk_amount,
        "deals": [{"id": i, "name": name, "amount": amount} for i, name, amount in inputs.at_risk_deals],
    }
    return AgendaItem("deals_at_risk", "Deals at risk", priority, summary, figures)


def hygiene_item(inputs: AgendaInputs) -> AgendaItem:
    score = inputs.hygiene_score
    figures: dict[str, Any] = {"score": score, "parts": dict(inputs.hygiene_parts)}
    if score is None:
        return AgendaItem("hygiene", "CRM hygiene", LOW, "No hygiene score this week.", figures)
    priority = HIGH if score < HYGIENE_HIGH else MEDIUM if score < HYGIENE_MEDIUM else LOW
    return AgendaItem("hygiene", "CRM hygiene", priority, f"Hygiene score {score} of 100 this week.", figures)


def accuracy_item(inputs: AgendaInputs) -> AgendaItem:
    mean = mean_accuracy(inputs.accuracy_months)
    figures: dict[str, Any] = {"mean": mean, "months": [{"month": m, "accuracy": a} for m, a in inputs.accuracy_months]}
    if mean is None:
        return AgendaItem("forecast_accuracy", "Forecast accuracy", LOW, "No forecast to compare yet.", figures)
    priority = HIGH if mean < ACCURACY_HIGH else MEDIUM if mean < ACCURACY_MEDIUM else LOW
    n = sum(1 for _, a in inputs.accuracy_months if a is not None)
    summary = f"Own calls {_pct(mean)} accurate over the last {n} closed month{'s' * (n != 1)}."
    return AgendaItem("forecast_accuracy", "Forecast accuracy", priority, summary, figures)


def onboarding_item(inputs: AgendaInputs) -> AgendaItem | None:
    if inputs.onboarding is None:
        return None
    o = inputs.onboarding
    steps, done, overdue = int(o.get("steps", 0)), int(o.get("done", 0)), int(o.get("overdue", 0))
    priority = HIGH if overdue else MEDIUM if done < steps else LOW
    summary = f"{done} of {steps} onboarding steps done" + (f", {overdue} overdue." if overdue else ".")
    return AgendaItem("onboarding", "Onboarding", priority, summary, dict(o))


def actions_item(inputs: AgendaInputs) -> AgendaItem:
    overdue = [a for a in inputs.actions if a.due_on is not None and a.due_on < inputs.today]
    n = len(inputs.actions)
    priority = HIGH if overdue else MEDIUM if n else LOW
    summary = f"{n} open action item{'s' * (n != 1)}" + (f", {len(overdue)} overdue." if overdue else ".")
    figures = {"open": n, "overdue": len(overdue), "ids": [a.id for a in inputs.actions]}
    return AgendaItem("actions", "Open action items", priority, summary if n else "No open action item.", figures)


def build_agenda(inputs: AgendaInputs) -> list[AgendaItem]:
    """Every item, the most pressing first (ties in the fixed topic order of ORDER)."""
    items = [
        actions_item(inputs),
        pace_item(inputs),
        risk_item(inputs),
        onboarding_item(inputs),
        hygiene_item(inputs),
        accuracy_item(inputs),
    ]
    present = [item for item in items if item is not None]
    return sorted(present, key=lambda item: (item.priority, ORDER.index(item.key)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def frozen(items: list[AgendaItem], *, built_on: dt.date) -> dict[str, Any]:
    """The agenda as stored in OneOnOne.agenda when the 1:1 is saved (JSON: decimals and dates as strings).
    The open action items are not copied: they stay in their own rows, private to the pair like the notes."""
    return {
        "built_on": built_on.isoformat(),
        "items": [
            {
                "key": i.key,
                "title": i.title,
                "priority": i.priority,
                "summary": i.summary,
                "figures": _jsonable({k: v for k, v in i.figures.items() if k != "ids"}),
            }
            for i in items
        ],
    }
