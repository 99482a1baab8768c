"""The date rule, written once in the kernel: its bounds, its words, and an end past it read as no end."""

from __future__ import annotations

import datetime as dt

from salesops import limits
from salesops.kernel.dates import EARLIEST_DATE, LATEST_DATE, date_problem, end_or_none


def test_the_rule_takes_its_bounds_and_refuses_a_day_either_side():
    assert date_problem(EARLIEST_DATE) is None
    assert date_problem(LATEST_DATE) is None
    assert date_problem(dt.date(1899, 12, 31)) == "1899-12-31 is not a date between 1 Jan 1900 and 31 Dec 2199"
    assert date_problem(dt.date(2200, 1, 1)) == "2200-01-01 is not a date between 1 Jan 1900 and 31 Dec 2199"


def test_an_end_past_the_rule_is_no_end_and_one_inside_it_is_kept():
    assert end_or_none(None) is None
    assert end_or_none(dt.date(9999, 12, 31)) is None
    assert end_or_none(dt.date(2200, 1, 1)) is None
    assert end_or_none(LATEST_DATE) == LATEST_DATE
    assert end_or_none(dt.date(2026, 6, 30)) == dt.date(2026, 6, 30)


def test_limits_names_the_same_rule_for_the_apps():
    assert (limits.EARLIEST_DATE, limits.LATEST_DATE) == (EARLIEST_DATE, LATEST_DATE)
    assert limits.date_problem(dt.date(9999, 12, 31)) == date_problem(dt.date(9999, 12, 31))
