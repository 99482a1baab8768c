"""Reads of the CRM adoption scorecard: the live scorecard of people, team rows, the weekly trend from snapshots,
and roll-outs with their adoption curves (docs/enablement-adoption.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet

from enablement.engine import adoption as engine
from enablement.engine.adoption import RepScore
from pipeline import selectors as pipeline_selectors
from salesops.org.models import User
from salesops.org.selectors import active_people_by_week, sees_everyone, subtree_ids

__all__ = ["RepScore", "scorecard"]

TREND_WEEKS = 12


def scorecard(person_ids: Iterable[int], *, today: dt.date, now: dt.datetime) -> dict[int, RepScore]:
    """Person id → their live scorecard for the week `today` is in (Monday to `now`): active = any sign-in event
    this week; the deal parts from their open deals as of `now`. Three queries whatever the count."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return {}
    week = engine.week_start(today)
    active = active_people_by_week(ids, first_week=week, last_week=week).get(week, set())
    counts = pipeline_selectors.hygiene_counts(ids, today=today, now=now)
    return {
        person: engine.rep_score(
            person,
            active=person in active,
            open_deals=c.open,
            criteria_complete=c.criteria_complete,
            next_step_fresh=c.next_step_fresh,
            close_date_current=c.close_date_current,
            recent_activity=c.recent_activity,
            activities=c.activities,
        )
        for person, c in counts.items()
    }


# ------------------------------------------------------------------------------------------------ people
def people_with_access() -> QuerySet[User]:
    """Everyone who can sign in (active accounts): the denominator of weekly active users."""
    return User.objects.filter(is_active=True)


def people_in_scope(user: User) -> QuerySet[User]:
    """The people whose adoption `user` reads: everyone (finance, sales ops, superuser), a manager's subtree, or
    a rep themselves; active accounts only."""
    people = people_with_access()
    if sees_everyone(user):
        return people
    if user.is_manager:
        return people.filter(id__in=subtree_ids(user))
    return people.filter(id=user.pk)
