"""The 1:1 agenda engine (pure): priorities from plain numbers, against hand calculations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from enablement.engine import agenda as engine

Q_START, Q_END = dt.date(2026, 10, 1), dt.date(2026, 12, 31)


def _inputs(**values: object) -> engine.AgendaInputs:
    base: dict[str, object] = {"today": dt.date(2026, 11, 18), "quarter": "2026-Q4", "quarter_start": Q_START,
                               "quarter_end": Q_END}  # fmt: skip
    return engine.AgendaInputs(**{**base, **values})  # type: ignore[arg-type]


def test_share_of_the_quarter_gone() -> None:
    # 1 Oct is day 1 of 92; 18 Nov is day 49; 31 Dec is day 92.
    assert engine.share_of_period_gone(dt.date(2026, 10, 1), Q_START, Q_END) == Decimal("0.0109")
    assert engine.share_of_period_gone(dt.date(2026, 11, 18), Q_START, Q_END) == Decimal("0.5326")
    assert engine.share_of_period_gone(dt.date(2026, 12, 31), Q_START, Q_END) == 1
    assert engine.share_of_period_gone(dt.date(2026, 9, 30), Q_START, Q_END) == 0
    assert engine.share_of_period_gone(dt.date(2027, 2, 1), Q_START, Q_END) == 1


def test_pace_priority_from_how_far_behind() -> None:
    # 53.26 % gone: 30 % booked is 23.26 points behind (> 20: first); 40 % is 13.26 behind (worth a look);
    # 50 % is 3.26 behind (on track).
    assert engine.pace_item(_inputs(attainment=Decimal("0.30"))).priority == engine.HIGH
    assert engine.pace_item(_inputs(attainment=Decimal("0.40"))).priority == engine.MEDIUM
    assert engine.pace_item(_inputs(attainment=Decimal("0.50"))).priority == engine.LOW
    item = engine.pace_item(_inputs(attainment=Decimal("0.30")))
    assert item.figures["behind"] == Decimal("0.2326")
    assert item.summary == "30.0 % of quota booked with 53.3 % of 2026-Q4 gone."
    assert engine.pace_item(_inputs()).summary == "No bookings quota for 2026-Q4."


def test_hygiene_accuracy_risk_onboarding_actions() -> None:
    assert engine.hygiene_item(_inputs(hygiene_score=Decimal("59.99"))).priority == engine.HIGH
    assert engine.hygiene_item(_inputs(hygiene_score=Decimal("60"))).priority == engine.MEDIUM
    assert engine.hygiene_item(_inputs(hygiene_score=Decimal("80"))).priority == engine.LOW
    months = (("2026-08", Decimal("0.6")), ("2026-09", None), ("2026-10", Decimal("0.9")))
    assert engine.mean_accuracy(months) == Decimal("0.75")  # (0.6 + 0.9) / 2: a month without a call is left out
    assert engine.accuracy_item(_inputs(accuracy_months=months)).priority == engine.MEDIUM
    assert engine.risk_item(_inputs(at_risk_count=3)).priority == engine.HIGH
    assert engine.risk_item(_inputs(at_risk_count=1)).priority == engine.MEDIUM
    assert engine.risk_item(_inputs()).priority == engine.LOW
    assert engine.onboarding_item(_inputs()) is None
    progress = {"steps": 5, "done": 3, "overdue": 1}
    assert engine.onboarding_item(_inputs(onboarding=progress)).priority == engine.HIGH  # type: ignore[union-attr]
    action = engine.OpenAction(1, "Call", 7, dt.date(2026, 11, 17), dt.date(2026, 11, 4))
    assert engine.actions_item(_inputs(actions=(action,))).figures["overdue"] == 1
    later = engine.OpenAction(2, "Mail", 7, dt.date(2026, 11, 18), dt.date(2026, 11, 4))
    assert engine.actions_item(_inputs(actions=(later,))).priority == engine.MEDIUM  # due today: not overdue


def test_the_agenda_is_ordered_by_priority_then_topic() -> None:
    items = engine.build_agenda(_inputs(attainment=Decimal("0.9"), at_risk_count=4, hygiene_score=Decimal(70)))
    assert [(i.key, i.priority) for i in items] == [
        ("deals_at_risk", 1), ("hygiene", 2), ("actions", 3), ("pace", 3), ("forecast_accuracy", 3),
    ]  # fmt: skip


def test_a_frozen_agenda_is_json_without_the_action_ids() -> None:
    action = engine.OpenAction(1, "Call", 7, None, dt.date(2026, 11, 4))
    stored = engine.frozen(engine.build_agenda(_inputs(actions=(action,))), built_on=dt.date(2026, 11, 18))
    assert stored["built_on"] == "2026-11-18"
    actions = next(i for i in stored["items"] if i["key"] == "actions")
    assert actions["figures"] == {"open": 1, "overdue": 0} and "Call" not in str(stored)
    pace = next(i for i in stored["items"] if i["key"] == "pace")
    assert pace["figures"]["time_gone"] == "0.5326"


@given(
    attainment=st.one_of(st.none(), st.decimals(min_value=0, max_value=3, places=4)),
    risk=st.integers(min_value=0, max_value=50),
    score=st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)),
    day=st.dates(min_value=dt.date(2026, 9, 1), max_value=dt.date(2027, 1, 31)),
)
def test_every_agenda_is_sorted_and_complete(attainment, risk, score, day) -> None:
    items = engine.build_agenda(_inputs(today=day, attainment=attainment, at_risk_count=risk, hygiene_score=score))
    assert {i.key for i in items} == {"actions", "pace", "deals_at_risk", "hygiene", "forecast_accuracy"}
    keys = [(i.priority, engine.ORDER.index(i.key)) for i in items]
    assert keys == sorted(keys)
    assert all(i.priority in (engine.HIGH, engine.MEDIUM, engine.LOW) for i in items)
    gone = engine.share_of_period_gone(day, Q_START, Q_END)
    assert 0 <= gone <= 1
