"""The attribution engine: every model's shares, the key touches of the W, the cut-off at close, and (hypothesis)
each deal's credits summing to its amount to the cent under every model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from signals.engine import marketing as engine
from signals.engine.marketing import MODELS, DealFacts, Touch

D = dt.date


def touches(*days: int, campaigns: list[int] | None = None) -> list[Touch]:
    ids = campaigns or list(range(1, len(days) + 1))
    return [Touch(c, D(2026, 1, day), i) for i, (c, day) in enumerate(zip(ids, days, strict=True))]


def credits(amount: str, ts: list[Touch], model: str, created: dt.date = dt.date(2026, 1, 15)) -> list[Decimal]:
    return engine.deal_credits(Decimal(amount), ts, model, created=created)


def test_first_last_linear() -> None:
    ts = touches(1, 5, 9)
    assert credits("300.00", ts, "first") == [Decimal("300.00"), Decimal("0.00"), Decimal("0.00")]
    assert credits("300.00", ts, "last") == [Decimal("0.00"), Decimal("0.00"), Decimal("300.00")]
    # 100 / 3 = 33.333…: the first touch takes the odd cent (equal remainders: the earlier touch)
    assert credits("100.00", ts, "linear") == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_u_shaped_40_20_40_one_and_two_touches() -> None:
    assert credits("1000.00", touches(1, 2, 3, 4), "u_shaped") == [
        Decimal("400.00"), Decimal("100.00"), Decimal("100.00"), Decimal("400.00")
    ]  # fmt: skip
    assert credits("1000.00", touches(1, 2, 3), "u_shaped") == [Decimal("400.00"), Decimal("200.00"), Decimal("400.00")]
    assert credits("1000.00", touches(1, 2), "u_shaped") == [Decimal("500.00"), Decimal("500.00")]
    assert credits("1000.00", touches(1), "u_shaped") == [Decimal("1000.00")]


def test_w_shaped_keys_and_the_others() -> None:
    # created on the 15th: touches on 1, 5, 12 (creation touch: the last on or before the 15th), 20, 25 (last)
    ts = touches(1, 5, 12, 20, 25)
    assert credits("1000.00", ts, "w_shaped") == [
        Decimal("300.00"), Decimal("50.00"), Decimal("300.00"), Decimal("50.00"), Decimal("300.00")
    ]  # fmt: skip
    # the creation touch is the first: keys add up (60 %), 10 % over the two others
    ts = touches(10, 20, 22, 25)
    assert credits("1000.00", ts, "w_shaped") == [
        Decimal("600.00"), Decimal("50.00"), Decimal("50.00"), Decimal("300.00")
    ]  # fmt: skip
    # three distinct keys and no other touch: a third each
    assert credits("900.00", touches(1, 15, 20), "w_shaped") == [Decimal("300.00")] * 3
    # two touches, the first also the creation touch: two thirds and one third
    assert credits("900.00", touches(1, 20), "w_shaped") == [Decimal("600.00"), Decimal("300.00")]
    # every touch after creation: the first touch stands in for the creation touch
    assert credits("900.00", touches(16, 20), "w_shaped") == [Decimal("600.00"), Decimal("300.00")]
    assert credits("900.00", touches(16), "w_shaped") == [Decimal("900.00")]


def test_counted_touches_stop_at_close_or_today() -> None:
    ts = touches(1, 10, 20, 30)
    won = engine.counted_touches(ts, status="won", close=D(2026, 1, 20), today=D(2026, 3, 1))
    assert [t.day.day for t in won] == [1, 10, 20]
    still_open = engine.counted_touches(ts, status="open", close=D(2026, 1, 5), today=D(2026, 1, 25))
    assert [t.day.day for t in still_open] == [1, 10, 20]  # an open deal's expected close does not cut


def test_attribute_sourced_influenced_and_periods() -> None:
    created = D(2026, 2, 10)
    deals = [
        DealFacts(1, Decimal("1000.00"), "won", created, D(2026, 5, 1)),  # sourced by campaign 7 (touch before)
        DealFacts(2, Decimal("500.00"), "open", D(2026, 3, 1), D(2026, 9, 1)),  # touched only after creation
        DealFacts(3, Decimal("200.00"), "lost", D(2026, 1, 5), D(2026, 1, 20)),  # touch after it was lost
    ]
    by_deal = {
        1: [Touch(7, D(2026, 2, 1), 1), Touch(8, D(2026, 4, 1), 2)],
        2: [Touch(8, D(2026, 3, 5), 3)],
        3: [Touch(7, D(2026, 2, 1), 4)],
    }
    result = engine.attribute(deals, by_deal, start=D(2026, 1, 1), end=D(2026, 12, 31), today=D(2026, 6, 1),
                              period_of=lambda d: f"Q{(d.month - 1) // 3 + 1}")  # fmt: skip
    totals = result.by_campaign()
    seven, eight = totals[7], totals[8]
    assert seven.sourced_pipeline == 100000 and seven.sourced_opportunities == 1 and seven.sourced_bookings == 100000
    assert eight.sourced_pipeline == 0 and eight.influenced_pipeline == 150000 and eight.opportunities == 2
    assert seven.opportunities == 1  # the lost deal's only touch came after it closed: not counted
    assert seven.pipeline["first"] == 100000 and eight.pipeline["first"] == 50000
    assert seven.bookings["linear"] == 50000 and eight.bookings["linear"] == 50000
    assert result.cells[(7, "Q1")].pipeline["last"] == 0 and result.cells[(8, "Q2")].bookings["last"] == 100000
    for model in MODELS:  # attributed pipeline adds up to the touched deals' amounts under every model
        assert sum(f.pipeline[model] for f in totals.values()) == 150000


touch_lists = st.lists(
    st.tuples(st.integers(1, 6), st.dates(D(2025, 1, 1), D(2026, 12, 31)), st.integers(0, 1000)), min_size=1,
    max_size=25,
)  # fmt: skip
amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("99999999999.99"), places=2,
                      allow_nan=False, allow_infinity=False)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(raw=touch_lists, amount=amounts, created=st.dates(D(2025, 1, 1), D(2026, 12, 31)))
def test_every_model_sums_to_the_cent(raw: list[tuple[int, dt.date, int]], amount: Decimal, created: dt.date) -> None:
    ts = sorted((Touch(c, day, seq) for c, day, seq in raw), key=lambda t: (t.day, t.seq))
    for model in MODELS:
        parts = engine.deal_credits(amount, ts, model, created=created)
        assert len(parts) == len(ts)
        assert sum(parts, Decimal(0)) == amount, model
        assert all(p == p.quantize(Decimal("0.01")) for p in parts)
        if amount >= 0:
            assert all(p >= 0 for p in parts)
        # no touch is more than a cent away from its exact share
        w = engine.weights(model, len(ts), engine.creation_index(ts, created))
        for part, weight in zip(parts, w, strict=True):
            assert abs(part - amount * weight / sum(w)) < Decimal("0.01")


@settings(max_examples=100, deadline=None)
@given(
    deals=st.lists(st.tuples(amounts, st.sampled_from(["open", "won", "lost"]), touch_lists), min_size=1, max_size=8)
)
def test_report_totals_are_the_deals_amounts(deals: list[tuple[Decimal, str, list[tuple[int, dt.date, int]]]]) -> None:
    facts, by_deal = [], {}
    for i, (amount, status, raw) in enumerate(deals):
        facts.append(DealFacts(i, amount, status, D(2025, 6, 1), D(2026, 12, 31)))
        by_deal[i] = [Touch(c, day, seq) for c, day, seq in raw]
    result = engine.attribute(facts, by_deal, start=D(2025, 1, 1), end=D(2026, 12, 31), today=D(2026, 12, 31),
                              period_of=lambda d: str(d.year))  # fmt: skip
    expected = sum(engine.to_cents(a) for a, _, _ in deals)
    for model in MODELS:
        assert sum(f.pipeline[model] for f in result.cells.values()) == expected
        won = sum(engine.to_cents(a) for a, s, _ in deals if s == "won")
        assert sum(f.bookings[model] for f in result.cells.values()) == won


@settings(max_examples=150, deadline=None)
@given(
    deals=st.lists(
        st.tuples(amounts, st.sampled_from(["open", "won", "lost"]), st.dates(D(2025, 6, 1), D(2026, 6, 1)),
                  st.dates(D(2025, 6, 1), D(2026, 12, 31)), touch_lists),
        min_size=1, max_size=10,
    )
)  # fmt: skip
def test_the_whole_report_matches_deal_by_deal(
    deals: list[tuple[Decimal, str, dt.date, dt.date, list[tuple[int, dt.date, int]]]],
) -> None:
    """The numpy report equals the one-deal rules (`counted_touches`, `deal_credits`) summed by hand."""
    start, end, today = D(2026, 1, 1), D(2026, 12, 31), D(2026, 9, 30)
    facts, by_deal = [], {}
    expected: dict[tuple[int, str, str], Decimal] = {}
    sourced: dict[int, Decimal] = {}
    for i, (amount, status, created, close, raw) in enumerate(deals):
        facts.append(DealFacts(i, amount, status, created, close))
        by_deal[i] = [Touch(c, day, seq) for c, day, seq in raw]
        counted = engine.counted_touches(by_deal[i], status=status, close=close, today=today)
        if not counted:
            continue
        sides = [("pipeline", created)] if start <= created <= end else []
        if status == "won" and start <= close <= end:
            sides.append(("bookings", close))
        for model in MODELS:
            for touch, credit in zip(
                counted, engine.deal_credits(amount, counted, model, created=created), strict=True
            ):
                for side, _ in sides:
                    key = (touch.campaign_id, side, model)
                    expected[key] = expected.get(key, Decimal(0)) + credit
        if counted[0].day <= created and sides and sides[0][0] == "pipeline":
            sourced[counted[0].campaign_id] = sourced.get(counted[0].campaign_id, Decimal(0)) + amount
    result = engine.attribute(facts, by_deal, start=start, end=end, today=today, period_of=lambda d: "year")
    got: dict[tuple[int, str, str], Decimal] = {}
    for (campaign_id, _), figures in result.cells.items():
        for model in MODELS:
            for side, cents in (("pipeline", figures.pipeline[model]), ("bookings", figures.bookings[model])):
                if cents:
                    key = (campaign_id, side, model)
                    got[key] = got.get(key, Decimal(0)) + engine.from_cents(cents)
    assert got == {k: v for k, v in expected.items() if v}
    got_sourced = {
        c: engine.from_cents(f.sourced_pipeline) for c, f in result.by_campaign().items() if f.sourced_pipeline
    }
    assert got_sourced == {c: v for c, v in sourced.items() if v}
