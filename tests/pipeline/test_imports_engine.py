"""The import engine's reading of values and rows: plain Python, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.imports import engine
from pipeline.imports.presets import HUBSPOT, SALESFORCE, mapping_preset


@given(st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2))
def test_amounts_read_back_whatever_the_formatting(amount):
    for written in (f"{amount}", f"${amount:,.2f}", f"USD {amount:,.2f}", f"{amount:,.2f}".replace(",", " ")):
        assert engine.money(written) == amount
    european = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    assert engine.money(european) == amount


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_salesforce_and_hubspot_dates_read_back(day):
    us = engine.make_date_reader(SALESFORCE.date_formats)
    iso = engine.make_date_reader(HUBSPOT.date_formats)
    assert us(f"{day.month}/{day.day}/{day.year}") == day
    assert us(day.isoformat()) == day
    assert iso(f"{day.isoformat()} 17:45") == iso(f"{day.isoformat()}T09:00:00Z") == day


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("-5", "'-5' is negative; amounts are 0 or more"),
        ("ten", "'ten' is not an amount"),
        ("NaN", "'NaN' is not an amount"),
        ("12.345", "'12.345' has more than 2 decimals; amounts are in cents"),
        ("1.054", "'1.054' has more than 2 decimals"),  # a thousand the European way, or a typo: not guessed
    ],
)
def test_bad_amounts_say_why(raw, problem):
    with pytest.raises(engine.ValueProblem, match=problem):
        engine.money(raw)


def test_a_spreadsheet_number_rounds_to_the_cent_halves_up():
    assert engine.money(1054.1000000000001) == Decimal("1054.10")
    assert engine.money(0.125) == Decimal("0.13") and engine.money("12.3400") == Decimal("12.34")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("New Customer", "new"),
        ("", "new"),
        ("newbusiness", "new"),
        ("Existing Customer - Upgrade", "expansion"),
        ("existingbusiness", "expansion"),
        ("Renewal", "renewal"),
        ("Existing Customer - Renewal", "renewal"),
    ],
)
def test_deal_types_of_salesforce_and_hubspot(raw, kind):
    assert engine.deal_type(raw) == kind


def lookups() -> engine.Lookups:
    found = engine.Lookups(target_pipeline_id=1, pipeline_names={1: "Sales"})
    found.stages[1] = {
        "proposal": engine.StageInfo(11, "Proposal", "open", Decimal(60), 1),
        "closed won": engine.StageInfo(12, "Closed Won", "won", Decimal(100), 1),
    }
    found.add_owner(7, "Jordan Lee", *engine.owner_keys("Jordan Lee", "jordan", "jordan@acme.test"))
    found.add_owner(8, "Jordan Lee", *engine.owner_keys("Jordan Lee", "jlee2", "jl2@acme.test"))
    found.add_owner(9, "Priya Nair", *engine.owner_keys("Priya Nair", "priya", "priya@acme.test"))
    return found


def test_a_row_becomes_a_record_with_ids_and_typed_values():
    rows = engine.DealRows(mapping_preset({"external_id": "Id", "name": "Deal", "owner": "Rep", "stage": "Stage",
                                           "amount": "Value", "probability": "P"}), ["Id", "Deal", "Rep", "Stage", "Value", "P"],
                           lookups())  # fmt: skip
    record = rows.parse(2, ["A-1", "Big deal", "PRIYA@acme.test", "proposal", "1,000", "75%"])
    assert isinstance(record, engine.DealRecord)
    assert (record.owner_id, record.stage_id, record.status, record.amount, record.probability) == (
        9, 11, "open", Decimal("1000.00"), Decimal("75.00")
    )  # fmt: skip
    won = rows.parse(3, ["A-2", "Won deal", "priya", "Closed Won", "5", "90"])
    assert isinstance(won, engine.DealRecord) and won.probability is None  # a won stage's 100 % is the truth


def test_every_problem_of_a_row_is_named_with_the_row_and_record():
    rows = engine.DealRows(SALESFORCE, ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Amount"],
                           lookups())  # fmt: skip
    assert isinstance(rows.parse(2, ["006A", "First", "priya", "Proposal", "1"]), engine.DealRecord)
    errors = rows.parse(9, ["006A", "Again", "Jordan Lee", "Signed", "-3"])
    assert [str(e) for e in errors] == [  # type: ignore[union-attr]
        "row 9 (opportunity 006A): the id '006A' appears already on row 2",
        "row 9 (opportunity 006A): the owner 'Jordan Lee' could be any of Jordan Lee, Jordan Lee; use a username or e-mail",
        "row 9 (opportunity 006A): the stage 'Signed' is not a stage of Sales (Proposal, Closed Won)",
        "row 9 (opportunity 006A): amount '-3' is negative; amounts are 0 or more",
    ]


def test_blank_rows_and_report_footers_are_skipped_but_rows_keep_their_numbers(tmp_path: Path):
    path = tmp_path / "report.csv"
    lines = ["A,B", "1,x", ",", "2,y", "", "Grand Totals (2 records),",
             '"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved.",']  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    with engine.open_table(path) as table:
        assert table.header == ["A", "B"]
        assert list(table.rows) == [(2, ["1", "x"]), (4, ["2", "y"])]
    assert engine.count_rows(path) == 2


def test_windows_1252_files_from_excel_are_read(tmp_path: Path):
    path = tmp_path / "excel.csv"
    path.write_bytes("Deal,Owner\nCafé Müller,Zoë\n".encode("cp1252"))
    with engine.open_table(path) as table:
        assert list(table.rows) == [(2, ["Café Müller", "Zoë"])]


def test_cells_lose_nul_bytes_and_ids_typed_into_excel_lose_their_decimals():
    assert engine.text("Acme\x00 Inc ") == "Acme Inc"
    assert engine.text(1234.0) == "1234"
