"""Lead response times: plain Python over plain data, no ORM (docs/signals-leads.md, "The response-time report").

For each lead routed in the report's period:
- its **response time** is first answered − routed (an answered lead only);
- it is **due** at routed + the SLA minutes of its source (its own row, else the "any other source" row; a source
  with neither has no SLA);
- it is **within the SLA** when answered by its due time; it **missed** the SLA when answered later, or when it is
  still unanswered after its due time. A lead still unanswered before its due time is not decided yet and counts
  in neither (so the share does not drop while fresh leads wait inside their SLA).

Per group (a source, an owner, a team) and in total: leads routed, answered, the **median** response time (the
middle answered lead; with an even number, halfway between the two middle ones) and the **90th percentile** (the
nearest rank: the answered lead at position ⌈0.9 × n⌉ in order of response time), the **share within the SLA**
(within ÷ decided) and the leads **breached now** (the rules' sweep: routed, unanswered, open and past due today,
whatever the day they were routed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LeadTimes:
    """One routed lead as the report needs it. `sla_minutes` None: its source has no SLA."""

    lead_id: int
    routed_at: dt.datetime
    first_response_at: dt.datetime | None
    sla_minutes: int | None

    @property
    def response(self) -> dt.timedelta | None:
        return self.first_response_at - self.routed_at if self.first_response_at is not None else None

    def within_sla(self, now: dt.datetime) -> bool | None:
        """True: answered by its due time; False: answered late, or unanswered and past due; None: no SLA, or
        still waiting inside it."""
        if self.sla_minutes is None:
            return None
        due = self.routed_at + dt.timedelta(minutes=self.sla_minutes)
        if self.first_response_at is not None:
            return self.first_response_at <= due
        return False if now >= due else None


def median(values: Sequence[dt.timedelta]) -> dt.timedelta | None:
    """The middle value of `values` (sorted here); halfway between the two middle ones for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[dt.timedelta], share: float) -> dt.timedelta | None:
    """Nearest rank: the value at position ⌈share × n⌉ (1-based) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class ResponseStats:
    key: object
    routed: int
    answered: int
    median: dt.timedelta | None
    p90: dt.timedelta | None
    within: int
    decided: int
    breached_now: int

    @property
    def within_share(self) -> float | None:
        """within ÷ decided (None when nothing is decided yet)."""
        return self.within / self.decided if self.decided else None


def stats(key: object, leads: Iterable[LeadTimes], *, now: dt.datetime, breached_now: int = 0) -> ResponseStats:
    leads = list(leads)
    times = [t for t in (lead.response for lead in leads) if t is not None]
    verdicts = [lead.within_sla(now) for lead in leads]
    return ResponseStats(
        key=key,
        routed=len(leads),
        answered=len(times),
        median=median(times),
        p90=percentile(times, 0.9),
        within=sum(1 for v in verdicts if v is True),
        decided=sum(1 for v in verdicts if v is not None),
        breached_now=breached_now,
    )


def grouped(
    rows: Iterable[tuple[object, LeadTimes]],
    *,
    now: dt.datetime,
    breached_keys: Iterable[object] = (),
) -> list[ResponseStats]:
    """`stats` per key of (key, lead) rows (a key with breaches now but no lead routed in the period still gets
    its row), in the order keys first appear (callers sort)."""
    groups: dict[object, list[LeadTimes]] = {}
    for key, lead in rows:
        groups.setdefault(key, []).append(lead)
    breached: dict[object, int] = {}
    for key in breached_keys:
        breached[key] = breached.get(key, 0) + 1
        groups.setdefault(key, [])
    return [stats(key, rows, now=now, breached_now=breached.get(key, 0)) for key, rows in groups.items()]
