"""The demo's CRM adoption: twelve weeks of sign-in events and weekly scorecard snapshots for everyone with access:
this week's rows computed live from the demo's deals, and the earlier weeks climbing towards them (slowly, faster for
the reps once the roll-out went live), so a roll-out in progress that went live about five weeks ago has a rising
curve that arrives where the scorecard stands today. Built relative to `today`, so it looks alive on any day."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from enablement.engine import adoption as engine
from enablement.models import AdoptionSnapshot
from enablement.services import adoption as services
from salesops.org.models import SignInEvent, User

WEEKS = 12
ROLLOUT_NAME = "Next steps on every deal"


def _clip(value: float) -> Decimal:
    return Decimal(str(max(0.0, min(1.0, value)))).quantize(Decimal("0.0001"))


def seed_adoption(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    """Sign-in events and snapshots of the last WEEKS weeks, and the roll-out; returns counts by kind."""
    rng = random.Random(seed)  # noqa: S311 (demo figures, not a secret)
    zone = timezone.get_current_timezone()
    people = list(User.objects.filter(is_active=True).order_by("id"))
    this_week = engine.week_start(today)
    go_live = today - dt.timedelta(days=35)
    go_live_week = engine.week_start(go_live)
    events: list[SignInEvent] = []
    active_weeks: dict[tuple[int, dt.date], bool] = {}
    for person in people:
        habit = rng.uniform(0.55, 0.95)  # how likely they sign in on a working day
        for back in range(WEEKS - 1, -1, -1):
            week = this_week - dt.timedelta(days=7 * back)
            days = [week + dt.timedelta(days=d) for d in range(5) if week + dt.timedelta(days=d) <= today]
            active = False
            for day in days:
                if rng.random() < habit:
                    at = dt.datetime.combine(day, dt.time(8 + rng.randrange(3), rng.randrange(60)), tzinfo=zone)
                    events.append(SignInEvent(user=person, via="password" if not active else "session", at=at))
                    active = True
            active_weeks[person.pk, week] = active
    SignInEvent.objects.bulk_create(events, batch_size=2000)
    # This week is computed live from the demo's deals first; the earlier weeks climb towards it (slowly, faster for
    # the reps once the roll-out went live), so the curve arrives where the scorecard stands today.
    now = timezone.now()
    current = services.snapshot_write(person_ids=[p.pk for p in people], week=this_week, now=now)
    live = dict(AdoptionSnapshot.objects.filter(week=this_week).values_list("person_id", "parts"))
    snapshots: list[AdoptionSnapshot] = []
    for person in people:
        # Where a part stands now: its live value, or (a rep without open deals to measure) a level of their own.
        level = rng.uniform(0.55, 0.95)
        for back in range(WEEKS - 1, 0, -1):
            week = this_week - dt.timedelta(days=7 * back)
            # What the weeks from this one to today added: 0.07 a week for a rep once live, else 0.02.
            climb = sum(
                0.07 if person.is_rep and this_week - dt.timedelta(days=7 * b) >= go_live_week else 0.02
                for b in range(back)
            )
            parts: dict[str, str | None] = {"active": "1.0000" if active_weeks[person.pk, week] else "0.0000"}
            for key in list(engine.PARTS)[1:]:
                now_value = (live.get(person.pk) or {}).get(key)
                if not person.is_rep:
                    parts[key] = None
                else:
                    target = level if now_value is None else float(now_value)
                    parts[key] = str(_clip(target - climb + rng.uniform(-0.05, 0.05)))
            score = engine.score_of(Decimal(v) if v is not None else None for v in parts.values())
            snapshots.append(AdoptionSnapshot(person=person, week=week, parts=parts, figures={}, score=score))
    AdoptionSnapshot.objects.bulk_create(snapshots, batch_size=2000, ignore_conflicts=True)
    rollouts = 0
    if org.ops is not None:
        services.rollout_create(
            actor=org.ops,
            name=ROLLOUT_NAME,
            description="Every open deal carries a next step, refreshed at least every two weeks.",
            role="rep",
            go_live=go_live,
            metric="next_step_fresh",
            threshold="0.6",
            target_share="0.8",
        )
        rollouts = 1
    return {"sign_in_events": len(events), "adoption_snapshots": len(snapshots) + current, "rollouts": rollouts}
