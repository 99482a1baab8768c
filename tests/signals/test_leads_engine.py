"""The response-time rules on hand-counted leads (signals/engine/leads.py, docs/signals-leads.md)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from signals.engine.leads import LeadTimes, grouped, median, percentile, stats

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=1)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def lead(i: int, answered_after: float | None, sla: int | None = 30, routed: dt.datetime = T0) -> LeadTimes:
    answered = routed + minutes(answered_after) if answered_after is not None else None
    return LeadTimes(i, routed, answered, sla)


def test_median_and_nearest_rank_percentile_by_hand() -> None:
    # 5, 10, 20, 40, 80 minutes: median 20; p90 = rank ceil(4.5) = 5 -> 80.
    values = [minutes(m) for m in (40, 5, 80, 10, 20)]
    assert median(values) == minutes(20)
    assert percentile(values, 0.9) == minutes(80)
    # An even count: halfway between the middle two (10 and 20 -> 15); p90 of 4 = rank 4.
    assert median([minutes(m) for m in (5, 10, 20, 40)]) == minutes(15)
    assert percentile([minutes(m) for m in (5, 10, 20, 40)], 0.9) == minutes(40)
    assert median([]) is None and percentile([], 0.9) is None


def test_within_sla_counts_answered_on_time_and_late_and_waits_for_fresh_leads() -> None:
    leads = [
        lead(1, 10),  # within
        lead(2, 30),  # exactly at the due time: within
        lead(3, 31),  # late
        lead(4, None),  # unanswered, routed a day before NOW: past due, missed
        lead(5, None, routed=NOW - minutes(5)),  # still inside its 30 minutes: not decided
        lead(6, 500, sla=None),  # no SLA for its source: neither
    ]
    s = stats("all", leads, now=NOW, breached_now=1)
    assert (s.routed, s.answered, s.within, s.decided, s.breached_now) == (6, 4, 2, 4, 1)
    assert s.within_share == 0.5
    assert s.median == minutes(30.5)  # 10, 30, 31, 500
    assert s.p90 == minutes(500)


def test_grouped_keeps_a_group_with_only_breaches_now() -> None:
    rows = [("Web", lead(1, 10)), ("Web", lead(2, 50)), ("Event", lead(3, 5))]
    result = {s.key: s for s in grouped(rows, now=NOW, breached_keys=["Partner", "Web"])}
    assert result["Web"].routed == 2 and result["Web"].breached_now == 1
    assert result["Partner"].routed == 0 and result["Partner"].breached_now == 1 and result["Partner"].median is None


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_the_percentiles_are_values_of_the_list_and_ordered(values: list[int]) -> None:
    times = [minutes(v) for v in values]
    p90 = percentile(times, 0.9)
    assert p90 in times
    assert min(times) <= median(times) <= p90 <= max(times)  # type: ignore[operator]
    # At least 90 % of the values are at or below the 90th percentile.
    assert sum(1 for t in times if t <= p90) >= 0.9 * len(times)  # type: ignore[operator]
