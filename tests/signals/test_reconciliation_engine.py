"""The reconciliation engine on plain data: each mismatch kind, the external id first, tolerance and window edges,
one line to one deal, and the reading of rows (signals/engine/reconciliation.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals.engine import reconciliation as engine
from signals.engine.reconciliation import Line, MatchSettings, WonDeal

D = Decimal
CLOSE = dt.date(2026, 9, 15)


def deal(
    pk: int,
    amount: str = "1000.00",
    *,
    ext: str = "",
    account: str = "Acme Inc.",
    close: dt.date = CLOSE,
    currency: str = "USD",
    cancelled: dt.date | None = None,
) -> WonDeal:
    return WonDeal(pk, ext, account, D(amount), currency, close, cancelled)


def line(
    pk: int,
    amount: str = "1000.00",
    *,
    ext: str = "",
    account: str = "ACME",
    day: dt.date = CLOSE,
    currency: str = "USD",
) -> Line:
    return Line(pk, day, D(amount), currency, ext, account)


def kinds(result: engine.Result) -> list[tuple[str, int | None, int | None]]:
    return sorted((m.kind, m.deal_id, m.line_id) for m in result.mismatches)


def test_a_clean_match_by_account_has_no_mismatch() -> None:
    result = engine.reconcile([deal(1)], [line(10, day=CLOSE + dt.timedelta(days=3))])
    assert result.matches == [engine.Match(10, 1, engine.BY_ACCOUNT)]
    assert result.mismatches == []


def test_no_invoice() -> None:
    result = engine.reconcile([deal(1), deal(2, "500.00", account="Other")], [line(10)])
    assert kinds(result) == [("no_invoice", 2, None)]
    only = result.mismatches[0]
    assert only.deal_amount == D("500.00") and only.invoice_amount is None


def test_a_cancelled_deal_without_invoice_is_no_mismatch() -> None:
    result = engine.reconcile([deal(1, cancelled=CLOSE + dt.timedelta(days=5))], [])
    assert result.mismatches == []


def test_amount_differs_shows_both_amounts_and_the_difference() -> None:
    result = engine.reconcile([deal(1, "1000.00", ext="OPP-1")], [line(10, "950.50", ext="OPP-1")])
    assert kinds(result) == [("amount_differs", 1, 10)]
    m = result.mismatches[0]
    assert (m.deal_amount, m.invoice_amount, m.difference) == (D("1000.00"), D("950.50"), D("-49.50"))
    assert "950.50" in m.detail and "1,000.00" in m.detail


def test_invoiced_before_close() -> None:
    result = engine.reconcile([deal(1)], [line(10, day=CLOSE - dt.timedelta(days=4))])
    assert kinds(result) == [("invoiced_before_close", 1, 10)]
    m = result.mismatches[0]
    assert (m.invoice_date, m.close_date) == (CLOSE - dt.timedelta(days=4), CLOSE)
    assert "4 days before" in m.detail


def test_invoice_without_deal() -> None:
    result = engine.reconcile([deal(1)], [line(10), line(11, "77.00", account="Nobody Ltd")])
    assert kinds(result) == [("invoice_without_deal", None, 11)]
    assert result.mismatches[0].invoice_amount == D("77.00")


def test_external_id_beats_account_and_amount() -> None:
    # The line carries deal 1's id but has deal 2's account and amount: it is deal 1's.
    deals = [deal(1, "1000.00", ext="OPP-1", account="Acme"), deal(2, "250.00", ext="OPP-2", account="Globex")]
    result = engine.reconcile(deals, [line(10, "250.00", ext="opp-1", account="Globex")])
    assert result.matches == [engine.Match(10, 1, engine.BY_EXTERNAL_ID)]
    assert kinds(result) == [("amount_differs", 1, 10), ("no_invoice", 2, None)]


def test_a_salesforce_id_names_its_deal_in_either_form_and_never_another_record() -> None:
    """A deal imported with its 15-character Salesforce id (0065g00000AbCdE) and an invoice line carrying the
    18-character form (0065g00000AbCdEAAV, or 0065G00000ABCDEAAV from a tool that changed its case) are one deal: the
    line named nothing and fell back to the account. A 15-character id that differs only in case (0065g00000ABCDE)
    is another record: compared case-insensitively, its line was taken as deal 1's."""
    deals = [deal(1, "1000.00", ext="0065g00000AbCdE"), deal(2, "250.00", ext="0065g00000ABCDE", account="Globex")]
    result = engine.reconcile(deals, [line(10, "1000.00", ext="0065G00000ABCDEAAV", account="Other"),
                                      line(11, "250.00", ext="0065g00000ABCDE", account="Other")])  # fmt: skip
    assert result.matches == [engine.Match(10, 1, engine.BY_EXTERNAL_ID), engine.Match(11, 2, engine.BY_EXTERNAL_ID)]
    assert kinds(result) == []
    other_record = engine.reconcile([deal(1, ext="0065g00000AbCdE")], [line(10, ext="0065g00000abcde", account="X")])
    assert other_record.matches == [] and kinds(other_record) == [
        ("invoice_without_deal", None, 10),
        ("no_invoice", 1, None),
    ]


def test_an_unknown_external_id_falls_back_to_account_matching() -> None:
    result = engine.reconcile([deal(1)], [line(10, ext="NOT-A-DEAL")])
    assert result.matches == [engine.Match(10, 1, engine.BY_ACCOUNT)]


def test_several_lines_with_the_external_id_sum_to_the_deal() -> None:
    lines = [line(10, "600.00", ext="OPP-1"), line(11, "400.00", ext="OPP-1", day=CLOSE + dt.timedelta(days=30))]
    result = engine.reconcile([deal(1, ext="OPP-1")], lines)
    assert len(result.matches) == 2 and result.mismatches == []


def test_by_account_one_line_matches_one_deal() -> None:
    # Two equal deals of one account, three equal lines: two pairs, the third line has no deal.
    deals = [deal(1), deal(2, close=CLOSE + dt.timedelta(days=1))]
    lines = [line(10), line(11, day=CLOSE + dt.timedelta(days=1)), line(12, day=CLOSE + dt.timedelta(days=2))]
    result = engine.reconcile(deals, lines)
    assert sorted((m.line_id, m.deal_id) for m in result.matches) == [(10, 1), (11, 2)]
    assert kinds(result) == [("invoice_without_deal", None, 12)]


def test_split_invoices_without_external_id_do_not_sum() -> None:
    # Only lines naming the deal add up; by account a line's own amount must match.
    result = engine.reconcile([deal(1, "1000.00")], [line(10, "600.00"), line(11, "400.00")])
    assert result.matches == []
    assert [k for k, _, _ in kinds(result)] == ["invoice_without_deal", "invoice_without_deal", "no_invoice"]


def test_tolerance_edges() -> None:
    exact = MatchSettings()
    assert engine.reconcile([deal(1, "1000.00")], [line(10, "1000.01")], exact).matches == []
    five = MatchSettings(tolerance=D("5.00"))
    assert len(engine.reconcile([deal(1, "1000.00")], [line(10, "1005.00")], five).matches) == 1
    assert engine.reconcile([deal(1, "1000.00")], [line(10, "1005.01")], five).matches == []
    # By external id the tolerance decides whether the amounts differ.
    within = engine.reconcile([deal(1, "1000.00", ext="X")], [line(10, "995.00", ext="X")], five)
    assert within.mismatches == []
    beyond = engine.reconcile([deal(1, "1000.00", ext="X")], [line(10, "994.99", ext="X")], five)
    assert kinds(beyond) == [("amount_differs", 1, 10)]


@pytest.mark.parametrize(
    ("days", "matches"),
    [(-30, True), (-31, False), (0, True), (90, True), (91, False)],
)
def test_window_edges(days: int, matches: bool) -> None:
    result = engine.reconcile([deal(1)], [line(10, day=CLOSE + dt.timedelta(days=days))])
    assert bool(result.matches) is matches


def test_the_window_is_configurable() -> None:
    narrow = MatchSettings(days_before=0, days_after=10)
    assert engine.reconcile([deal(1)], [line(10, day=CLOSE - dt.timedelta(days=1))], narrow).matches == []
    assert engine.reconcile([deal(1)], [line(10, day=CLOSE + dt.timedelta(days=10))], narrow).matches
    assert engine.reconcile([deal(1)], [line(10, day=CLOSE + dt.timedelta(days=11))], narrow).matches == []


def test_another_currency_never_matches_by_account_and_differs_by_external_id() -> None:
    assert engine.reconcile([deal(1)], [line(10, currency="EUR")]).matches == []
    result = engine.reconcile([deal(1, ext="X")], [line(10, ext="X", currency="EUR")])
    assert kinds(result) == [("amount_differs", 1, 10)]
    assert result.mismatches[0].difference is None


def test_account_names_compare_normalised() -> None:
    assert engine.name_key("Acme Corporation, Inc.") == engine.name_key("ACME corp") == "acme"
    assert engine.name_key("Société Générale SA") == "societe generale"


def test_best_pairs_win_whatever_the_file_order() -> None:
    # Line 10 fits both deals; deal 2 is the closer amount for line 11 only if line 10 takes deal 1.
    deals = [deal(1, "100.00"), deal(2, "102.00")]
    lines = [line(10, "101.00"), line(11, "102.00")]
    tolerant = MatchSettings(tolerance=D("2.00"))
    forward = engine.reconcile(deals, lines, tolerant)
    backward = engine.reconcile(list(reversed(deals)), list(reversed(lines)), tolerant)
    assert sorted((m.line_id, m.deal_id) for m in forward.matches) == [(10, 1), (11, 2)]
    assert sorted(forward.matches, key=lambda m: m.line_id) == sorted(backward.matches, key=lambda m: m.line_id)


def test_default_period_widens_the_invoice_dates_by_the_window() -> None:
    start, end = engine.default_period(dt.date(2026, 10, 1), dt.date(2026, 12, 31), MatchSettings())
    assert (start, end) == (dt.date(2026, 7, 3), dt.date(2027, 1, 30))


amounts = st.decimals(min_value=D("-1000"), max_value=D("100000"), places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(amounts, st.integers(0, 3), st.integers(-40, 100), st.booleans()), max_size=25),
    st.lists(st.tuples(amounts, st.integers(0, 3)), max_size=15),
)
def test_every_line_and_deal_is_accounted_for(raw_lines: list, raw_deals: list) -> None:
    accounts = ["Acme", "Globex", "Initech", "Umbrella"]
    deals = [deal(i + 1, str(a), account=accounts[k], ext=f"D{i + 1}") for i, (a, k) in enumerate(raw_deals)]
    lines = [
        line(
            100 + i,
            str(a),
            account=accounts[k],
            day=CLOSE + dt.timedelta(days=d),
            ext=f"D{(i % 7) + 1}" if named else "",
        )
        for i, (a, k, d, named) in enumerate(raw_lines)
    ]
    result = engine.reconcile(deals, lines)
    matched = [m.line_id for m in result.matches]
    assert len(matched) == len(set(matched))  # a line matches at most one deal
    by_account = [m.deal_id for m in result.matches if m.rule == engine.BY_ACCOUNT]
    assert len(by_account) == len(set(by_account))  # by account one deal takes one line
    without = {m.line_id for m in result.mismatches if m.kind == engine.INVOICE_WITHOUT_DEAL}
    assert without | set(matched) == {ln.id for ln in lines} and not without & set(matched)
    no_invoice = {m.deal_id for m in result.mismatches if m.kind == engine.NO_INVOICE}
    assert no_invoice | {m.deal_id for m in result.matches} == {d.id for d in deals}


# ------------------------------------------------------------------------------------------------ reading
def test_rows_are_read_and_refused_with_their_row_numbers() -> None:
    header = ["Invoice Number", "Invoice date", "Amount", "Currency", "Deal external ID", "Account name", "Description"]
    rows: Iterator[tuple[int, list[Any]]] = iter(
        [
            (2, ["INV-1", "2026-10-01", "1,250.50", "usd", "OPP-1", "Acme", "Licences"]),
            (3, ["", "31.10.2026", "abc", "US", "", "", ""]),
            (5, ["INV-3", "10/11/2026", "5", "EUR", "", "Globex", ""]),
            (6, ["INV-4", dt.datetime(2026, 11, 2), 99.5, "EUR", 1234.0, "Globex", None]),
        ]
    )
    lines, errors = engine.parse_table(engine.Table(header, rows))
    assert [(ln.row, ln.amount, ln.currency, ln.deal_external_id) for ln in lines] == [
        (2, D("1250.50"), "USD", "OPP-1"),
        (6, D("99.50"), "EUR", "1234"),
    ]
    assert [str(e) for e in errors] == [
        "row 3: the invoice number is missing",
        "row 3: the account name is missing",
        "row 3: the amount “abc” is not a number",
        "row 3: the currency “US” is not a three-letter code such as USD",
        "row 5: the invoice date “10/11/2026” is not a date (write it as 2026-10-31)",
    ]


def test_a_missing_column_is_named() -> None:
    with pytest.raises(engine.FileError, match="no amount, account name column"):
        engine.parse_table(engine.Table(["Invoice number", "Invoice date", "Currency"], iter([])))


def test_the_deal_number_names_a_deal_when_no_external_id_does() -> None:
    deals = [deal(1, "1000.00", account="Acme"), deal(2, "250.00", ext="OPP-2", account="Globex")]
    by_number = Line(10, CLOSE, D("250.00"), "USD", "", "Globex", deal_id=1)
    result = engine.reconcile(deals, [by_number])
    assert result.matches == [engine.Match(10, 1, engine.BY_EXTERNAL_ID)]
    # The external id comes first when both are given.
    both = Line(11, CLOSE, D("250.00"), "USD", "OPP-2", "Globex", deal_id=1)
    assert engine.reconcile(deals, [both]).matches == [engine.Match(11, 2, engine.BY_EXTERNAL_ID)]


def test_a_deal_number_must_be_a_whole_number() -> None:
    header = ["Invoice number", "Invoice date", "Amount", "Currency", "Deal number", "Account name"]
    rows: Iterator[tuple[int, list[Any]]] = iter(
        [(2, ["I-1", "2026-10-01", "5", "USD", "#42", "A"]), (3, ["I-2", "2026-10-01", "5", "USD", "4x", "A"])]
    )
    lines, errors = engine.parse_table(engine.Table(header, rows))
    assert [ln.deal_id for ln in lines] == [42]
    assert [str(e) for e in errors] == ["row 3: the deal number “4x” is not a whole number"]
