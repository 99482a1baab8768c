"""Reads of onboarding programmes: progress per person, checklists, team views, programme lists.

Scope (docs/enablement-programmes.md): sales ops, finance and superusers read everyone's onboarding; a manager
their subtree; a rep only their own. Out of scope reads as missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from enablement.engine import programmes as engine
from enablement.models import StepProgress


@dataclass(frozen=True)
class OnboardingProgress:
    """A person's onboarding over all their enrolments: steps, done, overdue, and the next open step by due
    date."""

    person_id: int
    programmes: int
    steps: int
    done: int
    overdue: int
    next_step: str | None
    next_due: dt.date | None


def onboarding_progress(person_ids: Iterable[int], *, today: dt.date) -> dict[int, OnboardingProgress]:
    """Onboarding progress of each person with at least one enrolment (people without one are left out). One
    query."""
    ids = {int(i) for i in person_ids}
    if not ids:
        return {}
    rows = (
        StepProgress.objects.filter(enrolment__person_id__in=ids)
        .order_by("due_on", "step__position", "id")
        .values_list("enrolment__person_id", "enrolment_id", "completed_at", "due_on", "step__title")
    )
    gathered: dict[int, dict[str, object]] = {}
    for person_id, enrolment_id, completed_at, due, title in rows:
        acc = gathered.setdefault(person_id, {"enrolments": set(), "states": [], "next": None})
        acc["enrolments"].add(enrolment_id)  # type: ignore[attr-defined]
        acc["states"].append(engine.StepState(done=completed_at is not None, due=due))  # type: ignore[attr-defined]
        if completed_at is None and acc["next"] is None:
            acc["next"] = (title, due)
    # Enrolments without steps still count as programmes.
    from enablement.models import Enrolment

    for person_id, enrolment_id in Enrolment.objects.filter(person_id__in=ids).values_list("person_id", "id"):
        gathered.setdefault(person_id, {"enrolments": set(), "states": [], "next": None})
        gathered[person_id]["enrolments"].add(enrolment_id)  # type: ignore[attr-defined]
    result: dict[int, OnboardingProgress] = {}
    for person_id, acc in gathered.items():
        steps, done, overdue = engine.progress_counts(acc["states"], today=today)  # type: ignore[arg-type]
        nxt = acc["next"]
        result[person_id] = OnboardingProgress(
            person_id=person_id,
            programmes=len(acc["enrolments"]),  # type: ignore[arg-type]
            steps=steps,
            done=done,
            overdue=overdue,
            next_step=nxt[0] if nxt else None,  # type: ignore[index]
            next_due=nxt[1] if nxt else None,  # type: ignore[index]
        )
    return result
