"""The territory engine on hand-worked examples and under hypothesis: every account in exactly one territory."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.engine.territories import (
    SIZE_BANDS,
    AccountFacts,
    TerritoryDef,
    TerritoryError,
    assign,
    balance,
    size_band,
)

# World (1) → EMEA (2, region FR/DE) → France SMB (4, region FR + size 1-49)
#           → Software (3, industry software)       → Named (5, named account 99)
TREE = [
    TerritoryDef(1, None, "World"),
    TerritoryDef(2, 1, "EMEA", owner=10, rules={"region": ["FR", "DE"]}),
    TerritoryDef(3, 1, "Software", owner=11, rules={"industry": ["Software"]}),
    TerritoryDef(4, 2, "France SMB", owner=12, rules={"region": ["FR"], "size_band": ["1-49"]}),
    TerritoryDef(5, 1, "Named", owner=13, rules={"named_account": [99]}),
]


def test_size_bands() -> None:
    assert [size_band(n) for n in (None, 1, 49, 50, 249, 250, 999, 1000, 10**6)] == [
        "unknown", "1-49", "1-49", "50-249", "50-249", "250-999", "250-999", "1000+", "1000+",
    ]  # fmt: skip


def test_precedence_by_hand() -> None:
    accounts = [
        AccountFacts(1, country="FR", industry="software", employees=10),  # EMEA, Software, France SMB: deepest
        AccountFacts(2, country="FR", industry="software", employees=500),  # EMEA (depth 1) vs Software (1): id 2
        AccountFacts(3, country="US", industry="Software", employees=5),  # Software only (case is ignored)
        AccountFacts(4, country="us", industry="retail"),  # nothing: the root
        AccountFacts(99, country="FR", employees=10),  # named beats the deeper France SMB
        AccountFacts(6, country="DE", employees=None),  # EMEA; no employee count is the "unknown" band
    ]
    assert assign(TREE, accounts) == {
        1: (4, "region+size_band"),
        2: (2, "region"),
        3: (3, "industry"),
        4: (1, "root"),
        99: (5, "named_account"),
        6: (2, "region"),
    }


def test_more_rule_kinds_wins_at_the_same_depth_then_the_lowest_id() -> None:
    tree = [
        TerritoryDef(1, None, "Root"),
        TerritoryDef(7, 1, "France", rules={"region": ["FR"]}),
        TerritoryDef(8, 1, "France software", rules={"region": ["FR"], "industry": ["software"]}),
        TerritoryDef(9, 1, "France again", rules={"region": ["FR"]}),
    ]
    got = assign(tree, [AccountFacts(1, country="FR", industry="software"), AccountFacts(2, country="FR")])
    assert got == {1: (8, "region+industry"), 2: (7, "region")}


def test_every_rule_kind_must_match_and_values_are_alternatives() -> None:
    tree = [
        TerritoryDef(1, None),
        TerritoryDef(2, 1, rules={"region": ["FR", "DE"], "size_band": ["1000+", "unknown"]}),
    ]
    got = assign(tree, [AccountFacts(1, country="DE"), AccountFacts(2, country="DE", employees=20)])
    assert got == {1: (2, "region+size_band"), 2: (1, "root")}


def test_a_model_needs_exactly_one_root() -> None:
    with pytest.raises(TerritoryError, match="no root"):
        assign([TerritoryDef(1, 2), TerritoryDef(2, 1)], [])
    with pytest.raises(TerritoryError, match="2 root territories"):
        assign([TerritoryDef(1, None), TerritoryDef(2, None)], [])
    with pytest.raises(TerritoryError, match="unknown size bands"):
        assign([TerritoryDef(1, None), TerritoryDef(2, 1, rules={"size_band": ["huge"]})], [])


def test_balance_sums_accounts_pipeline_and_bookings_per_territory() -> None:
    accounts = [
        AccountFacts(1, open_pipeline=Decimal("100.50"), trailing_bookings=Decimal("10")),
        AccountFacts(2, open_pipeline=Decimal("200.25"), trailing_bookings=Decimal("0")),
        AccountFacts(3, open_pipeline=Decimal("1"), trailing_bookings=Decimal("5")),
    ]
    result = balance(TREE, accounts, {1: 2, 2: 2, 3: 1}, {10: Decimal("1000"), 11: Decimal("7")})
    assert (result[2].accounts, result[2].open_pipeline, result[2].trailing_bookings) == (2, Decimal("300.75"), 10)
    assert result[2].owner_quota == Decimal("1000") and result[1].owner_quota is None
    assert result[3].accounts == 0 and result[3].owner_quota == Decimal("7")
    assert result[1].accounts == 1


COUNTRIES = ["FR", "DE", "US", "fr", ""]
INDUSTRIES = ["software", "retail", "Software", ""]


@st.composite
def models(draw: st.DrawFn) -> tuple[list[TerritoryDef], list[AccountFacts]]:
    n = draw(st.integers(1, 12))
    territories = [TerritoryDef(1, None, "root")]
    for tid in range(2, n + 1):
        rules: dict[str, list[str | int]] = {}
        if draw(st.booleans()):
            rules["region"] = draw(st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=3))
        if draw(st.booleans()):
            rules["industry"] = draw(st.lists(st.sampled_from(INDUSTRIES), min_size=1, max_size=2))
        if draw(st.booleans()):
            rules["size_band"] = draw(st.lists(st.sampled_from(SIZE_BANDS), min_size=1, max_size=3))
        if draw(st.booleans()):
            rules["named_account"] = draw(st.lists(st.integers(1, 30), max_size=3))
        territories.append(TerritoryDef(tid, draw(st.integers(1, tid - 1)), rules=rules))
    accounts = [
        AccountFacts(
            i,
            country=draw(st.sampled_from(COUNTRIES)),
            industry=draw(st.sampled_from(INDUSTRIES)),
            employees=draw(st.none() | st.integers(1, 5000)),
        )
        for i in draw(st.sets(st.integers(1, 30), max_size=30))
    ]
    return territories, accounts


@settings(max_examples=200, deadline=None)
@given(models())
def test_every_account_lands_in_exactly_one_territory_of_the_model(model: tuple) -> None:
    territories, accounts = model
    got = assign(territories, accounts)
    ids = {t.id for t in territories}
    assert set(got) == {a.id for a in accounts}
    assert all(territory in ids for territory, _rule in got.values())
    # the same input in another order places every account the same way
    assert assign(list(reversed(territories)), list(reversed(accounts))) == got
    counted = balance(territories, accounts, {a: t for a, (t, _r) in got.items()}, {})
    assert sum(b.accounts for b in counted.values()) == len(accounts)
