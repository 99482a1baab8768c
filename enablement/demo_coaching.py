"""The demo's 1:1s: the demo manager with each of their direct reports every two weeks over the last four weeks
(saved, with notes and action items, some done and some carried over) and a next 1:1 on the agenda. Built through
the coaching services relative to `today`, so it looks alive on any day."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from enablement.services import coaching as services
from salesops.org.models import User

NOTES = [
    "Walked through the pipeline for the quarter. Agreed to firm up next steps on the two largest deals.",
    "Discussed the discovery calls of last week: good questions, follow-ups were slow.",
    "Talked about the forecast call: commit was light against what closed; be bolder on deals past legal.",
    "Reviewed the onboarding checklist and the product certification.",
]
ACTIONS = [
    ("Book an executive sponsor meeting on the largest open deal", "report"),
    ("Share the pricing approval template", "manager"),
    ("Log next steps on every deal in Negotiation", "report"),
    ("Shadow a demo with a senior rep", "report"),
    ("Review the territory account list together", "manager"),
]


def seed_coaching(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    """1:1s of the demo manager (the first of `org.managers`) with each of their direct reports."""
    rng = random.Random(seed)  # noqa: S311 (demo text, not a secret)
    manager: User = org.managers[0]
    reports = list(User.objects.filter(manager=manager, is_active=True).order_by("last_name", "first_name"))
    now = timezone.now()
    made = items = 0
    for index, report in enumerate(reports):
        shift = index % 3  # the pairs do not all meet on the same day
        first = services.one_on_one_create(actor=manager, report_id=report.pk, held_on=today - dt.timedelta(28 + shift))
        second = services.one_on_one_create(
            actor=manager, report_id=report.pk, held_on=today - dt.timedelta(14 + shift)
        )
        services.one_on_one_create(actor=manager, report_id=report.pk, held_on=today + dt.timedelta(3 + shift))
        made += 3
        chosen = rng.sample(ACTIONS, 3)
        early = [
            services.action_item_add(
                actor=manager, one_on_one=first, text=text, owner=owner, due_on=first.held_on + dt.timedelta(days=10)
            )
            for text, owner in chosen[:2]
        ]
        services.one_on_one_notes_save(actor=manager, one_on_one=first, notes=rng.choice(NOTES))
        services.one_on_one_save(actor=manager, one_on_one=first, today=today, now=now)
        # In the second 1:1 one of the first's items is done, the other carried over; one more agreed.
        services.action_item_set_done(actor=report, item=early[0], done=True, in_meeting=second)
        text, owner = chosen[2]
        services.action_item_add(
            actor=report, one_on_one=second, text=text, owner=owner, due_on=today + dt.timedelta(days=5)
        )
        services.one_on_one_notes_save(actor=report, one_on_one=second, notes=rng.choice(NOTES))
        services.one_on_one_save(actor=manager, one_on_one=second, today=today, now=now)
        items += 3
    return {"one_on_ones": made, "action_items": items}
