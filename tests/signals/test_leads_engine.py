"""The response-time rules on hand-counted leads (signals/engine/leads.py, docs/signals-leads.md). Times are
seconds: minutes × 60."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from signals.engine.leads import LeadTimes, grouped, judge, median, percentile, stats

NOW = 1_000_000.0
DAY = 86_400.0


def m(n: float) -> float:
    return n * 60.0


def lead(answered_after: float | None, sla: float | None = 30, *, ago: float = DAY, is_open: bool = True,
         in_period: bool = True) -> LeadTimes:  # fmt: skip
    return LeadTimes(NOW - ago, m(answered_after) if answered_after is not None else None,
                     m(sla) if sla is not None else None, is_open, in_period)  # fmt: skip


def test_median_and_nearest_rank_percentile_by_hand() -> None:
    # 5, 10, 20, 40, 80 minutes: median 20; p90 = rank ceil(4.5) = 5 -> 80.
    values = [m(x) for x in (40, 5, 80, 10, 20)]
    assert median(values) == m(20) and percentile(values, 0.9) == m(80)
    # An even count: halfway between the middle two (10 and 20 -> 15); p90 of 4 = rank 4.
    assert median([m(x) for x in (5, 10, 20, 40)]) == m(15)
    assert percentile([m(x) for x in (5, 10, 20, 40)], 0.9) == m(40)
    assert median([]) is None and percentile([], 0.9) is None


def test_within_sla_counts_answered_on_time_and_late_and_waits_for_fresh_leads() -> None:
    leads = [
        lead(10),  # within
        lead(30),  # exactly at the due time: within
        lead(31),  # late
        lead(None),  # unanswered, routed a day ago: past due, missed, breached now
        lead(None, ago=m(5)),  # still inside its 30 minutes: not decided, not breached
        lead(500, sla=None),  # no SLA for its source: neither
        lead(None, is_open=False),  # disqualified unanswered: missed, but no longer breached
        lead(None, in_period=False),  # routed before the period: only its breach counts
    ]
    s = stats("all", leads, now=NOW)
    assert (s.routed, s.answered, s.within, s.decided, s.breached_now) == (7, 4, 2, 5, 2)
    assert s.within_share == 0.4
    assert s.median == dt.timedelta(minutes=30.5)  # 10, 30, 31, 500
    assert s.p90 == dt.timedelta(minutes=500)


def test_grouped_keeps_a_group_with_only_breaches_now() -> None:
    rows = [("Web", lead(10)), ("Web", lead(None)), ("Event", lead(5)), ("Partner", lead(None, in_period=False))]
    result = {s.key: s for s in grouped((key, judge(lead, NOW)) for key, lead in rows)}
    assert (result["Web"].routed, result["Web"].breached_now) == (2, 1)
    assert (result["Partner"].routed, result["Partner"].breached_now, result["Partner"].median) == (0, 1, None)


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_the_percentiles_are_values_of_the_list_and_ordered(values: list[int]) -> None:
    times = [float(v) for v in values]
    p90 = percentile(times, 0.9)
    assert p90 in times
    assert min(times) <= median(times) <= p90 <= max(times)  # type: ignore[operator]
    # At least 90 % of the values are at or below the 90th percentile.
    assert sum(1 for t in times if t <= p90) >= 0.9 * len(times)  # type: ignore[operator]
