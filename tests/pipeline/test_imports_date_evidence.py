"""The order of a mapped file's slashed dates comes from the days its dates name: a date that is no day of the
calendar in either order (31/04/2026: April has 30 days; 2/30/2026) is a typo to correct, not evidence of an order,
and a file whose dates are written both ways says so even when none of them could be two days."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.models import Deal
from tests.pipeline.test_imports_salesforce import dates_of, mapped

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_date_that_is_no_day_does_not_turn_a_month_first_file_into_one_of_both_orders(sellers, tmp_path):
    """'31/04/2026' was taken for a day-first date: the month-first file then "wrote dates both ways" and every date
    that reads two ways (05/01/2026) became an error naming '31/04/2026' as a day-first date."""
    code, result = mapped(tmp_path, ["12/31/2026", "05/01/2026", "31/04/2026"])
    assert code == 2 and not Deal.objects.exists()
    assert result["errors"] == [
        "row 4 (deal R3): close date '31/04/2026' is not a date (expected YYYY-MM-DD or MM/DD/YYYY)"
    ]
    assert (
        "The file: dates are read month first (MM/DD/YYYY), as row 2's close date '12/31/2026' shows; if that date is "
        "a typo, correct it, or choose how the file's dates are written in the mapping." in result["warnings"]
    )
    # The typo corrected, the file imports month first.
    code, result = mapped(tmp_path, ["12/31/2026", "05/01/2026", "04/30/2026"])
    assert (code, result["errors"]) == (0, [])
    assert {ref: close for ref, (close, _) in dates_of().items()} == {
        "R1": dt.date(2026, 12, 31), "R2": dt.date(2026, 5, 1), "R3": dt.date(2026, 4, 30)
    }  # fmt: skip


def test_a_date_that_is_no_day_sets_no_order(sellers, tmp_path):
    """'2/30/2026' set the file's order month first (and the dry run said so, naming it): 05/01/2026 was read as
    1 May on the word of a day that does not exist."""
    code, result = mapped(tmp_path, ["05/01/2026", "2/30/2026"])
    assert code == 2
    assert result["errors"] == [
        "row 2 (deal R1): close date '05/01/2026' could be 1 May 2026 or 5 January 2026, and no date in the file shows "
        "whether the day or the month comes first: choose how the file's dates are written in the mapping "
        "(DD/MM/YYYY or MM/DD/YYYY), or write them as YYYY-MM-DD",
        "row 3 (deal R2): close date '2/30/2026' is not a date (expected YYYY-MM-DD or DD/MM/YYYY or MM/DD/YYYY)",
    ]
    assert not any("dates are read" in warning for warning in result["warnings"])


def test_a_file_writing_dates_both_ways_says_so_when_none_could_be_two_days(sellers, tmp_path):
    """12/31/2026 and 13/01/2026 in one file: each was read the one way it can be, and nothing said that the file
    writes its dates in two orders (one of them perhaps a typo)."""
    code, result = mapped(tmp_path, ["12/31/2026", "13/01/2026"])
    assert (code, result["errors"]) == (0, [])
    assert {ref: close for ref, (close, _) in dates_of().items()} == {
        "R1": dt.date(2026, 12, 31), "R2": dt.date(2026, 1, 13)
    }  # fmt: skip
    assert (
        "The file: dates are written both month first (row 2's close date '12/31/2026') and day first (row 3's close "
        "date '13/01/2026'): each is read the one way it can be, and a date that could be two days is an error; if "
        "one of them is a typo, correct it, or write the file's dates as YYYY-MM-DD." in result["warnings"]
    )
