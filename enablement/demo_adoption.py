"""The demo's CRM adoption: twelve weeks of sign-in events and weekly scorecard snapshots for everyone with access
(hygiene improving over the weeks, faster for the reps once the roll-out went live), this week's rows computed live
from the demo's deals, and a roll-out in progress that went live about five weeks ago with a rising curve. Built
relative to `today`, so it looks alive on any day."""

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
    snapshots: list[AdoptionSnapshot] = []
    for person in people:
        habit = rng.uniform(0.55, 0.95)  # how likely they sign in on a working day
        base = rng.uniform(0.25, 0.6)
        for back in range(WEEKS - 1, -1, -1):
            week = this_week - dt.timedelta(days=7 * back)
            days = [week + dt.timedelta(days=d) for d in range(5) if week + dt.timedelta(days=d) <= today]
            active = False
            for day in days:
                if rng.random() < habit:
                    at = dt.datetime.combine(day, dt.time(8 + rng.randrange(3), rng.randrange(60)), tzinfo=zone)
                    events.append(SignInEvent(user=person, via="password" if not active else "session", at=at))
                    active = True
            if back == 0:
                continue  # this week is computed live below
            age = WEEKS - 1 - back  # 0 for the oldest week
            lift = 0.02 * age + (
                0.07 * ((week - go_live_week).days // 7 + 1) if person.is_rep and week >= go_live_week else 0
            )
            parts: dict[str, str | None] = {"active": "1.0000" if active else "0.0000"}
            if person.is_rep:
                for key in list(engine.PARTS)[1:]:
                    parts[key] = str(_clip(base + lift + rng.uniform(-0.1, 0.1)))
            else:
                parts.update({key: None for key in list(engine.PARTS)[1:]})
            score = engine.score_of(Decimal(v) if v is not None else None for v in parts.values())
            snapshots.append(AdoptionSnapshot(person=person, week=week, parts=parts, figures={}, score=score))
    SignInEvent.objects.bulk_create(events, batch_size=2000)
    AdoptionSnapshot.objects.bulk_create(snapshots, batch_size=2000, ignore_conflicts=True)
    now = timezone.now()
    current = services.snapshot_write(person_ids=[p.pk for p in people], week=this_week, now=now)
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
