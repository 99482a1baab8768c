"""Reads of the ramp to productivity (docs/enablement-ramp.md): who is shown to whom, and each rep's plain inputs
loaded through the owning apps' selectors (credited bookings by month and the first won deal from pipeline, the
full monthly quota and the quota ramp from incentives), then `enablement.engine.ramp` does the arithmetic.

Scope (roles.md): finance, sales ops and superusers see every rep; a manager their subtree's reps; anyone else
only themselves. A person outside the scope is a 404, the same answer as a missing id. Five or six queries whatever
the number of reps (the bookings come from enablement's maintained rows; see `credited`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import Http404

from enablement.engine import ramp as engine
from enablement.models import RampMonth, RampPerson
from incentives import selectors as incentives_selectors
from pipeline import selectors as pipeline_selectors
from salesops.kernel.ids import is_id
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar, sees_everyone, visible_people_q

YEARS_DEFAULT = 3
YEARS_MIN, YEARS_MAX = 1, 5


def years_back(today: dt.date, years: int) -> dt.date:
    """The same day `years` years before `today` (28 Feb for a 29 Feb)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def parse_years(raw: str | None) -> int | None:
    """`?years=` as an int in 1–5; None when it is not one (the API answers 400, the page shows the default)."""
    raw = (raw or "").strip()
    if not raw:
        return YEARS_DEFAULT
    if not (is_id(raw) and len(raw) <= 4) or not YEARS_MIN <= int(raw) <= YEARS_MAX:
        return None
    return int(raw)


@dataclass(frozen=True)
class Person:
    person_id: int
    name: str
    team: str
    start: dt.date | None
    end: dt.date | None
    is_rep: bool


@dataclass(frozen=True)
class RepRow:
    person: Person
    ramp: engine.RepRamp


@dataclass(frozen=True)
class Overview:
    today: dt.date
    years: int
    since: dt.date
    reps: list[RepRow]  # newest start first
    cohorts: list[engine.Cohort]  # oldest first
    expected: list[Decimal | None]  # the ramp expectation line, k = 1 .. MONTHS_SHOWN
    everyone: bool  # the viewer sees every rep (sales ops, finance)


def _people(rows: Any) -> list[Person]:
    return [
        Person(pk, f"{first} {last}".strip() or username, team or "", start, end, bool(rep))
        for pk, first, last, username, team, start, end, rep in rows
    ]


_FIELDS = ("pk", "first_name", "last_name", "username", "team__name", "start_date", "end_date", "is_rep")


def reps_in_scope(user: Any, *, today: dt.date, years: int) -> list[Person]:
    """The reps `user` may see whose start date is within the last `years` years (up to today)."""
    rows = (
        User.objects.filter(visible_people_q(user), is_rep=True, start_date__gte=years_back(today, years))
        .filter(start_date__lte=today)
        .order_by("-start_date", "last_name", "first_name", "pk")
        .values_list(*_FIELDS)
    )
    return _people(rows)


def credited(starts: dict[int, dt.date], *, today: dt.date) -> tuple[dict[int, dict[dt.date, Decimal]],
                                                                      dict[int, dt.date]]:  # fmt: skip
    """Each person's credited bookings by completed month and first won deal on or after the start: from the
    maintained rows (RampPerson/RampMonth, two queries) for everyone whose rows are there and were computed for
    their current start date, and live (`pipeline.selectors.credits_since_start`, one query) for the rest (deals
    changed since, new hires, a changed start date). The rows carry every month and the first deal with no
    upper date; only months before today's month and a first deal up to today are kept, as the live read does
    (docs/enablement-ramp.md, "Freshness")."""
    bookings: dict[int, dict[dt.date, Decimal]] = {}
    first_won: dict[int, dt.date] = {}
    this_month = engine.month_first(today)
    kept = set()
    for pid, start, first in RampPerson.objects.filter(person_id__in=list(starts)).values_list(
        "person_id", "start", "first_won"
    ):
        if start != starts[pid]:
            continue
        kept.add(pid)
        if first is not None and first <= today:
            first_won[pid] = first
    if kept:
        rows = RampMonth.objects.filter(ramp_id__in=sorted(kept), month__lt=this_month).values_list(
            "ramp_id", "month", "bookings"
        )
        for pid, month, amount in rows:
            bookings.setdefault(pid, {})[month] = amount
    live = {pid: start for pid, start in starts.items() if pid not in kept}
    if live:
        credits = pipeline_selectors.credits_since_start(live, until=today)
        for (pid, month), amount in credits.bookings.items():
            bookings.setdefault(pid, {})[month] = amount
        first_won.update(credits.first_won)
    return bookings, first_won


def ramps_of(people: list[Person], *, today: dt.date) -> dict[int, engine.RepRamp]:
    """Each person's ramp as of `today` (people without a start date are left out): four or five queries for everyone,
    through pipeline's and incentives' selectors."""
    started = [p for p in people if p.start is not None and p.start <= today]
    if not started:
        return {}
    ids = [p.person_id for p in started]
    starts = {p.person_id: p.start for p in started if p.start is not None}
    earliest = engine.month_first(min(starts.values()))
    by_person_bookings, first_won = credited(starts, today=today)
    quotas = incentives_selectors.full_bookings_quota_by_person_month(ids, earliest, today)
    ramps = incentives_selectors.ramps_by_person(ids)
    by_person_quota: dict[int, dict[dt.date, Decimal]] = {}
    for (pid, month), amount in quotas.items():
        by_person_quota.setdefault(pid, {})[month] = amount
    start_month = fiscal_calendar().fiscal_year_start_month
    found = {}
    for person in started:
        assert person.start is not None
        pid = person.person_id
        rep = engine.RepInput(
            person_id=pid,
            start=person.start,
            end=person.end,
            shares=ramps[pid][1] if pid in ramps else (),
            bookings=by_person_bookings.get(pid, {}),
            full_quota=by_person_quota.get(pid, {}),
            first_win=first_won.get(pid),
        )
        found[pid] = engine.rep_ramp(rep, today=today, start_month=start_month)
    return found


def overview(user: Any, *, today: dt.date, years: int = YEARS_DEFAULT, cohort: str | None = None) -> Overview:
    """The ramp page's figures for `user`: every rep in scope hired in the last `years` years, the cohorts'
    median curves over those reps, and the ramp expectation line. `cohort` keeps only that cohort's reps (the
    curves and the line still cover every cohort)."""
    people = reps_in_scope(user, today=today, years=years)
    ramps = ramps_of(people, today=today)
    rows = [RepRow(p, ramps[p.person_id]) for p in people if p.person_id in ramps]
    all_ramps = [row.ramp for row in rows]
    if cohort:
        rows = [row for row in rows if row.ramp.cohort == cohort]
    return Overview(
        today=today,
        years=years,
        since=years_back(today, years),
        reps=rows,
        cohorts=engine.cohorts(all_ramps),
        expected=engine.expectation(all_ramps),
        everyone=sees_everyone(user),
    )


@dataclass(frozen=True)
class PersonRamp:
    person: Person
    ramp: engine.RepRamp | None  # None: not a rep, or no start date yet
    shares: tuple[Decimal, ...]  # the quota ramp's shares (() = none)


def person_ramp(user: Any, person_id: int, *, today: dt.date) -> PersonRamp:
    """One person's ramp over every completed month of their tenure, if `user` may see them (else 404, as for
    a missing id). A person in scope who is not a rep or has no start date has no ramp (None), not a 404."""
    rows = User.objects.filter(visible_people_q(user), pk=person_id).values_list(*_FIELDS)
    people = _people(rows)
    if not people:
        raise Http404("No such person.")
    person = people[0]
    if not person.is_rep or person.start is None or person.start > today:
        return PersonRamp(person, None, ())
    ramp = ramps_of([person], today=today).get(person.person_id)
    shares = incentives_selectors.ramps_by_person([person.person_id]).get(person.person_id, (0, ()))[1]
    return PersonRamp(person, ramp, shares)
