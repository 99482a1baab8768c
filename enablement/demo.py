"""The demo's enablement: two programmes, a course with a quiz, a certification about to expire, recent hires at
different steps, a roll-out in progress, weeks of adoption snapshots and 1:1s with carried action items. Built
relative to `today` through enablement's own services, so it looks alive on any day.

Order matters: the programmes use the learning demo's course and certification; the adoption snapshots and the 1:1s'
agendas read the enrolments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from enablement.demo_adoption import seed_adoption
from enablement.demo_coaching import seed_coaching
from enablement.demo_learning import seed_learning
from enablement.demo_programmes import seed_programmes


@dataclass(frozen=True)
class EnablementDemo:
    programmes: int = 0
    enrolments: int = 0
    courses: int = 0
    one_on_ones: int = 0
    rollouts: int = 0


def seed_enablement(*, org: Any, seed: int, today: dt.date) -> EnablementDemo:
    learning = seed_learning(org=org, seed=seed, today=today)
    programmes = seed_programmes(org=org, seed=seed, today=today)
    adoption = seed_adoption(org=org, seed=seed, today=today)
    coaching = seed_coaching(org=org, seed=seed, today=today)
    return EnablementDemo(
        programmes=programmes.get("programmes", 0),
        enrolments=programmes.get("enrolments", 0),
        courses=learning.get("courses", 0),
        one_on_ones=coaching.get("one_on_ones", 0),
        rollouts=adoption.get("rollouts", 0),
    )
