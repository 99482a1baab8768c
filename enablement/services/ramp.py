"""Ramp to productivity, maintained inputs (docs/enablement-ramp.md, "Freshness"): each tracked hire's credited
bookings by month and first won deal, read through `pipeline.selectors.credits_since_start` and kept in
RampPerson/RampMonth so the ramp page reads a few hundred small rows instead of every hire's won deals.

- Tracked: reps with a start date within the last `YEARS_MAX` (5) years, up to today.
- The rows hold every credited deal closed from the start month on, with no upper date: the engine reads only
  completed months and a first deal up to today, so the rows do not age with the calendar; only a deal change
  or a new start date changes them.
- A deal change (`pipeline.events.deals_changed`) forgets its people's rows at once (the page reads their deals
  live until the refresh) and queues their refresh (enablement.tasks_ramp); the nightly task refreshes everyone
  tracked and drops the rows of people no longer tracked. A start date that changed makes the rows unusable
  (their `start` differs), so those people are read live too until the refresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from enablement.models import RampMonth, RampPerson
from enablement.selectors.ramp import YEARS_MAX, years_back
from pipeline import selectors as pipeline_selectors
from salesops.job_runner import advisory_xact_lock
from salesops.kernel.locks import lock_key
from salesops.org.models import User

LOCK_KEY = lock_key("enablement.ramp")  # pg_advisory_xact_lock key serialising refreshes
NO_END = dt.date(9999, 12, 31)  # every credited deal from the start month on (see the module's docstring)


def tracked_starts(*, today: dt.date, person_ids: Iterable[int] | None = None) -> dict[int, dt.date]:
    """{person id: start date} of the tracked reps (of `person_ids` only, when given)."""
    people = User.objects.filter(is_rep=True, start_date__gte=years_back(today, YEARS_MAX), start_date__lte=today)
    if person_ids is not None:
        people = people.filter(pk__in=list(person_ids))
    return {pk: start for pk, start in people.values_list("pk", "start_date") if start is not None}


def forget(person_ids: Iterable[int]) -> int:
    """Drop these people's rows (their deals changed): until refreshed, the ramp reads their deals live."""
    ids = sorted({int(i) for i in person_ids})
    if not ids:
        return 0
    deleted, _ = RampPerson.objects.filter(person_id__in=ids).delete()
    return deleted


def refresh(*, person_ids: Iterable[int] | None = None, today: dt.date | None = None) -> int:
    """Recompute the rows of these people (None: everyone tracked, and drop the rows of anyone no longer
    tracked). Returns how many people were written. Idempotent; one read of the deals for everyone."""
    today = today or timezone.localdate()
    ids = None if person_ids is None else sorted({int(i) for i in person_ids})
    with transaction.atomic():
        # One refresh at a time, reading the deals once it holds the lock: a refresh queued by a later change
        # waits for an earlier one and then reads that change, so an older read never has the last word.
        advisory_xact_lock(LOCK_KEY)
        starts = tracked_starts(today=today, person_ids=ids)
        credits = pipeline_selectors.credits_since_start(starts, until=NO_END) if starts else None
        now = timezone.now()
        if ids is None:
            RampPerson.objects.all().delete()
        else:
            RampPerson.objects.filter(person_id__in=ids).delete()
        if not starts or credits is None:
            return 0
        RampPerson.objects.bulk_create(
            [
                RampPerson(person_id=pid, start=start, first_won=credits.first_won.get(pid), refreshed_at=now)
                for pid, start in starts.items()
            ]
        )
        RampMonth.objects.bulk_create(
            [RampMonth(ramp_id=pid, month=month, bookings=amount) for (pid, month), amount in credits.bookings.items()],
            batch_size=5000,
        )
    return len(starts)
