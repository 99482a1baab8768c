"""The arithmetic of onboarding programmes (pure: no Django, no ORM). docs/enablement-programmes.md.

- A step's due date is the enrolment's start date plus the step's `due_days`; the enrolment starts on the person's
  start date when they have one, else on the day they were enrolled.
- A step is overdue when it is not done and its due date is before today.
- A person "starts" (auto-enrolment) when their start date is within the last 90 days or in the future.
- A programme matches a person when every criterion it sets (role, team, region) matches.
- A CRM milestone is reached when its value is at least its target; once reached it stays reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from salesops.kernel.money import format_count, format_money

STARTER_WINDOW_DAYS = 90


def enrolment_start(person_start: dt.date | None, enrolled_on: dt.date) -> dt.date:
    """The day an enrolment counts from: the person's start date, else the day of enrolment."""
    return person_start if person_start is not None else enrolled_on


def due_on(start: dt.date, due_days: int) -> dt.date:
    return start + dt.timedelta(days=due_days)


def is_overdue(*, done: bool, due: dt.date, today: dt.date) -> bool:
    return not done and due < today


def is_starter(start_date: dt.date | None, *, today: dt.date, window_days: int = STARTER_WINDOW_DAYS) -> bool:
    """Started within the last `window_days` days (today included) or starting in the future."""
    return start_date is not None and start_date >= today - dt.timedelta(days=window_days)


def programme_matches(
    *,
    for_role: str,
    for_team_id: int | None,
    for_region_id: int | None,
    roles: Collection[str],
    team_id: int | None,
    region_id: int | None,
) -> bool:
    """All criteria the programme sets must match (none set: everyone)."""
    if for_role and for_role not in roles:
        return False
    if for_team_id is not None and for_team_id != team_id:
        return False
    return for_region_id is None or for_region_id == region_id


def milestone_reached(*, value: Decimal, target: Decimal, already: bool = False) -> bool:
    """Reached when value >= target; a reached milestone stays reached."""
    return already or value >= target


AMOUNT_MILESTONES = frozenset({"booked"})  # the milestones that count money; the others count records


def milestone_text(milestone: str, value: Decimal | int) -> str:
    """A milestone's value or target for people: an amount booked in money ("50,000.00"), a count whole ("3"),
    or with the decimals it has when a target was set to one ("2.5")."""
    if milestone in AMOUNT_MILESTONES:
        return format_money(value)
    number = Decimal(value)
    if number == number.to_integral_value():
        return format_count(int(number))
    return f"{number:,.2f}".rstrip("0")


@dataclass(frozen=True)
class StepState:
    done: bool
    due: dt.date


def progress_counts(steps: Collection[StepState], *, today: dt.date) -> tuple[int, int, int]:
    """(steps, done, overdue) of a list of steps."""
    done = sum(1 for s in steps if s.done)
    overdue = sum(1 for s in steps if is_overdue(done=s.done, due=s.due, today=today))
    return len(steps), done, overdue


def percent_done(steps: int, done: int) -> Decimal:
    """Percent of steps done with one decimal, halves up as every percentage reads (docs/formats.md): 7 of 8 is
    87.5, 2 of 3 is 66.7 (0.0 without steps). Never 100.0 until every step is done (999 of 1,000 is 99.9)."""
    if steps == 0:
        return Decimal("0.0")
    value = (Decimal(done * 100) / steps).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return min(value, Decimal("99.9")) if done < steps else value
