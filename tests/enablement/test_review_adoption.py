"""Review regressions (adoption): a roll-out's week reaches its target share on the exact share of the group,
not on the share rounded for display."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from enablement.engine import adoption as engine

WEEK = dt.date(2026, 3, 2)


def test_two_of_three_does_not_reach_a_target_of_0_6667() -> None:
    values = {(1, WEEK): Decimal(1), (2, WEEK): Decimal(1), (3, WEEK): Decimal(0)}
    (point,) = engine.adoption_curve([WEEK], [1, 2, 3], values, threshold=Decimal("0.5"),
                                     target_share=Decimal("0.6667"))  # fmt: skip
    assert point.share == Decimal("0.6667")
    assert not point.reached
    (point,) = engine.adoption_curve([WEEK], [1, 2, 3], values, threshold=Decimal("0.5"),
                                     target_share=Decimal("0.6666"))  # fmt: skip
    assert point.reached
