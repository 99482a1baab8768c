"""Lead response times: plain Python over plain data, no ORM (docs/signals-leads.md, "The response-time report").

Times are seconds (a lead's routing as seconds since the epoch, its response time and its SLA as lengths), so a
report over tens of thousands of leads is plain float arithmetic.

For each lead routed in the report's period:
- its **response time** is first answered − routed (an answered lead only);
- it is **due** at routed + the SLA of its source (its own row, else the "any other source" row; a source with
  neither has no SLA);
- it is **within the SLA** when answered by its due time; it **missed** the SLA when answered later, or when it is
  still unanswered after its due time. A lead still unanswered before its due time is not decided yet and counts
  in neither (so the share does not drop while fresh leads wait inside their SLA).

Per group (a source, an owner, a team) and in total: leads routed, answered, the **median** response time (the
middle answered lead; with an even number, halfway between the two middle ones) and the **90th percentile** (the
nearest rank: the answered lead at position ⌈0.9 × n⌉ in order of response time), the **share within the SLA**
(within ÷ decided) and the leads **breached now**: routed, unanswered, still open and past due, whatever day they
were routed (the rules' sweep, signals.selectors.leads.breached_leads).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple


class LeadTimes(NamedTuple):
    """One routed lead as the report needs it. `response` None: unanswered; `sla` None: its source has no SLA;
    `in_period`: routed in the report's period (a lead outside it counts only if breached now)."""

    routed: float
    response: float | None
    sla: float | None
    is_open: bool = True
    in_period: bool = True


def within_sla(lead: LeadTimes, now: float) -> bool | None:
    """True: answered by its due time; False: answered late, or unanswered and past due; None: no SLA, or still
    waiting inside it."""
    if lead.sla is None:
        return None
    if lead.response is not None:
        return lead.response <= lead.sla
    return False if now >= lead.routed + lead.sla else None


def breached(lead: LeadTimes, now: float) -> bool:
    """Routed, unanswered, still open and past its due time."""
    return lead.response is None and lead.is_open and lead.sla is not None and now >= lead.routed + lead.sla


class Judged(NamedTuple):
    """A lead judged once at `now`, so each grouping only adds up."""

    in_period: bool
    response: float | None
    verdict: bool | None
    breached: bool


def judge(lead: LeadTimes, now: float) -> Judged:
    return Judged(lead.in_period, lead.response, within_sla(lead, now), breached(lead, now))


def median(values: Sequence[float]) -> float | None:
    """The middle value of `values` (sorted here); halfway between the two middle ones for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank: the value at position ⌈share × n⌉ (1-based) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _span(seconds: float | None) -> dt.timedelta | None:
    return dt.timedelta(seconds=round(seconds)) if seconds is not None else None


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


def summarise(key: object, judged: Iterable[Judged]) -> ResponseStats:
    """The stats of one group of judged leads."""
    routed = answered = within = decided = late_now = 0
    times: list[float] = []
    for lead in judged:
        late_now += lead.breached
        if not lead.in_period:
            continue
        routed += 1
        if lead.response is not None:
            answered += 1
            times.append(lead.response)
        if lead.verdict is not None:
            decided += 1
            within += lead.verdict
    return ResponseStats(key, routed, answered, _span(median(times)), _span(percentile(times, 0.9)), within, decided,
                         late_now)  # fmt: skip


def stats(key: object, leads: Iterable[LeadTimes], *, now: float) -> ResponseStats:
    return summarise(key, (judge(lead, now) for lead in leads))


def grouped(rows: Iterable[tuple[object, Judged]]) -> list[ResponseStats]:
    """`summarise` per key of (key, judged lead) rows, in the order keys first appear (callers sort)."""
    groups: dict[object, list[Judged]] = {}
    for key, lead in rows:
        groups.setdefault(key, []).append(lead)
    return [summarise(key, members) for key, members in groups.items()]
