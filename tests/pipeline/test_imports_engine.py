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
    us = engine.DateReader(SALESFORCE.date_formats, order=SALESFORCE.date_order)
    iso = engine.DateReader(HUBSPOT.date_formats)
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


# ------------------------------------------------------------------------ files as Excel and CRMs write them
SF_HEADER = ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Amount"]


def rows_of(path: Path) -> tuple[list[str], list[tuple[int, list]]]:
    with engine.open_table(path) as table:
        return table.header, list(table.rows)


@pytest.mark.parametrize(("name", "separator"), [("europe.csv", ";"), ("excel-tabs.txt", "\t")])
def test_semicolon_and_tab_separated_exports_are_read(tmp_path: Path, name: str, separator: str):
    # Excel writes ";" for "CSV" where the decimal mark is a comma, and tabs for "Text (Tab delimited)".
    path = tmp_path / name
    lines = [SF_HEADER, ["006A", "Müller, Schmidt & Co", "priya", "Proposal", "1.234,56"]]
    path.write_text("\r\n".join(separator.join(cells) for cells in lines) + "\r\n", encoding="utf-8-sig")

    header, rows = rows_of(path)

    assert header == SF_HEADER
    assert rows == [(2, ["006A", "Müller, Schmidt & Co", "priya", "Proposal", "1.234,56"])]
    record = engine.DealRows(SALESFORCE, header, lookups()).parse(*rows[0])
    assert isinstance(record, engine.DealRecord) and record.amount == Decimal("1234.56")


def test_a_windows_1252_file_whose_first_accent_comes_late_is_read(tmp_path: Path):
    # More than the first megabyte is plain ASCII, then "é" and "€" as Excel on Windows writes them.
    path = tmp_path / "big-excel.csv"
    filler = "".join(f"006{n:07d},Deal {n} {'x' * 60},priya,Proposal,10\n" for n in range(20_000))
    path.write_bytes(("Opportunity ID,Opportunity Name,Opportunity Owner,Stage,Amount\n" + filler
                      + "006Z,Café Müller €,priya,Proposal,10\n").encode("cp1252"))  # fmt: skip
    assert path.stat().st_size > 1 << 20

    with engine.open_table(path) as table:
        *_, last = table.rows

    assert last == (20_002, ["006Z", "Café Müller €", "priya", "Proposal", "10"])


def test_a_utf8_file_with_a_byte_order_mark_is_never_read_as_windows_1252(tmp_path: Path):
    # Said to be UTF-8 but holding a Windows-1252 byte: refused, not read as "CafÃ©" (mojibake) throughout.
    path = tmp_path / "mixed.csv"
    path.write_bytes("\ufeffDeal,Owner\nCafé,Zoë\n".encode() + "Crème,Zoë\n".encode("cp1252"))
    with pytest.raises(engine.ImportFileError, match=r"^mixed.csv cannot be read .*'utf-8' codec can't decode"):
        rows_of(path)


def test_an_empty_file_says_it_is_empty(tmp_path: Path):
    for name, content in (("empty.csv", b""), ("bom-only.csv", b"\xef\xbb\xbf"), ("blank.csv", b"\r\n\r\n")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(engine.ImportFileError, match=f"^{name} is empty: its first row should name the columns"):
            rows_of(tmp_path / name)


def test_a_salesforce_footer_of_one_value_lines_is_skipped(tmp_path: Path):
    # A Salesforce report ends with lines of one quoted value each: its title, totals, copyright, the
    # confidentiality notice, who generated it and the company's name.
    path = tmp_path / "report.csv"
    path.write_text(
        '"Opportunity ID","Opportunity Name","Opportunity Owner","Stage","Amount"\n'
        '"006A","Acme","priya","Proposal","10"\n'
        '""\n""\n"Grand Totals (1 records)"\n'
        '"Opportunity Pipeline"\n"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n'
        '"Confidential Information - Do Not Distribute"\n"Generated By:  Jane Doe  3/5/2026 10:15 AM"\n'
        '"Acme Inc."\n',
        encoding="utf-8",
    )
    assert rows_of(path)[1] == [(2, ["006A", "Acme", "priya", "Proposal", "10"])]
    assert engine.count_rows(path) == 1

    # The title line before the copyright goes with it; a one-value line no footer line follows stays a row.
    path.write_text(
        '"Opportunity ID","Opportunity Name","Opportunity Owner","Stage","Amount"\n'
        '"006A","Acme","priya","Proposal","10"\n""\n"Opportunity Pipeline"\n'
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n',
        encoding="utf-8",
    )
    assert rows_of(path)[1] == [(2, ["006A", "Acme", "priya", "Proposal", "10"])]
    path.write_text('"Opportunity ID","Opportunity Name"\n"006A","Acme"\n""\n"006B"\n', encoding="utf-8")
    assert rows_of(path)[1] == [(2, ["006A", "Acme"]), (4, ["006B"])]


def test_headings_match_whatever_their_capitals_and_spacing(tmp_path: Path):
    header = ["OPPORTUNITY  ID", " opportunity name\u00a0", "Opportunity Owner", "stage", "amount"]
    rows = engine.DealRows(SALESFORCE, header, lookups())
    assert rows.index == {"external_id": 0, "name": 1, "owner": 2, "stage": 3, "amount": 4}


def test_a_heading_the_import_reads_twice_is_refused_naming_both_columns():
    header = [*SF_HEADER, "Close Date", "amount "]
    with pytest.raises(engine.ImportFileError) as refused:
        engine.DealRows(SALESFORCE, header, lookups(), file="q2.csv")
    assert str(refused.value) == (
        "q2.csv has 2 columns headed 'Amount' (columns E and G, for the amount): rename or remove all but one, then "
        "upload it again."
    )
    # A heading twice that the import does not read is no matter.
    assert engine.DealRows(SALESFORCE, [*SF_HEADER, "Notes", "notes"], lookups()).index["amount"] == 4


def test_a_row_with_a_value_right_of_the_last_heading_is_an_error():
    # "Acme, Inc" without quotes: every value after it moves one column right.
    rows = engine.DealRows(SALESFORCE, SF_HEADER, lookups())
    errors = rows.parse(2, ["006A", "Acme", " Inc", "priya", "Proposal", "10"])
    assert [str(e) for e in errors] == [  # type: ignore[union-attr]
        "row 2 (opportunity 006A): the row has a value in column F ('10'), right of the last heading: a value "
        "holding a comma (or the file's separator) needs quotes, else the values after it shift one column right",
        "row 2 (opportunity 006A): the stage 'priya' is not a stage of Sales (Proposal, Closed Won)",
        "row 2 (opportunity 006A): amount 'Proposal' is not an amount",
    ]
    # Empty cells there (a trailing separator) are nothing.
    assert isinstance(rows.parse(3, ["006B", "Acme", "priya", "Proposal", "10", "", " "]), engine.DealRecord)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        # A thousand written the European way, whose value happens to fit in cents: read as 1.00 it would be a
        # thousand times too small.
        ("1.000", "'1.000' has more than 2 decimals; amounts are in cents"),
        ("12.500 EUR", "'12.500 EUR' has more than 2 decimals"),
        ("$250.000", "'\\$250.000' has more than 2 decimals"),
        ("(500)", "'\\(500\\)' is negative; amounts are 0 or more"),
        ("1,234.56-", "'1,234.56-' is negative"),
    ],
)
def test_amounts_that_cannot_be_read_without_a_guess_are_refused(raw, problem):
    with pytest.raises(engine.ValueProblem, match=problem):
        engine.money(raw)


def test_thousands_written_with_dots_are_read():
    assert engine.money("1.234.567") == engine.money("1.234.567,00") == Decimal("1234567.00")
    assert engine.money("12.3400") == Decimal("12.34") and engine.money("1234.000") == Decimal("1234.00")


def test_an_amount_in_another_currency_than_the_rows_is_an_error():
    header = [*SF_HEADER, "Opportunity Currency"]
    rows = engine.DealRows(SALESFORCE, header, lookups())
    assert [str(e) for e in rows.parse(2, ["006A", "A", "priya", "Proposal", "EUR 8.000,00", "USD"])] == [  # type: ignore[union-attr]
        "row 2 (opportunity 006A): amount 'EUR 8.000,00' is in EUR but the currency is USD"
    ]
    assert [str(e) for e in rows.parse(3, ["006B", "B", "priya", "Proposal", "€8.000,00", ""])] == [  # type: ignore[union-attr]
        "row 3 (opportunity 006B): amount '€8.000,00' is in EUR but the row gives no currency (a deal is in USD "
        "unless it does): fill in its currency column, or write the amount without EUR"
    ]
    same = rows.parse(4, ["006C", "C", "priya", "Proposal", "8.000,00 EUR", "eur"])
    dollars = rows.parse(5, ["006D", "D", "priya", "Proposal", "$8,000.00", "CAD"])  # "$" names several currencies
    assert isinstance(same, engine.DealRecord) and (same.amount, same.currency) == (Decimal("8000.00"), "EUR")
    assert isinstance(dollars, engine.DealRecord) and dollars.currency == "CAD"
    no_column = engine.DealRows(SALESFORCE, SF_HEADER, lookups())
    assert [str(e) for e in no_column.parse(2, ["006A", "A", "priya", "Proposal", "£500"])] == [  # type: ignore[union-attr]
        "row 2 (opportunity 006A): amount '£500' is in GBP but the row gives no currency (a deal is in USD unless it "
        "does): add a currency column, or write the amount without GBP"
    ]
    assert isinstance(no_column.parse(3, ["006B", "B", "priya", "Proposal", "USD 500"]), engine.DealRecord)


# ------------------------------------------------------------------ dates as Salesforce, Excel and other files write them
TODAY = dt.date(2026, 6, 1)
SF_DATES_HEADER = ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Close Date", "Created Date"]


def sf_close_dates(*values: object) -> list[object]:
    """Each value read as a Salesforce report's close date: the date, or the row's error."""
    rows = engine.DealRows(SALESFORCE, SF_DATES_HEADER, lookups(), today=TODAY)
    read: list[object] = []
    for number, value in enumerate(values, start=2):
        parsed = rows.parse(number, [f"006{number}", "Deal", "priya", "Proposal", value, ""])
        read.append(parsed.close_date if isinstance(parsed, engine.DealRecord) else str(parsed[0]))
    return read


def test_a_salesforce_report_reads_its_dates_month_first_as_us_reports_write_them():
    """Salesforce US reports write 12/31/2026 and 1/5/2026: 5 January, never 1 May, and a date that reads only day
    first is the row's error naming the cell, not another order read silently."""
    assert sf_close_dates("12/31/2026", "1/5/2026", "01/05/2026", "1/5/2026 10:15 AM", "2026-01-05") == [
        dt.date(2026, 12, 31), dt.date(2026, 1, 5), dt.date(2026, 1, 5), dt.date(2026, 1, 5), dt.date(2026, 1, 5)
    ]  # fmt: skip
    assert sf_close_dates("13/01/2026") == [
        "row 2 (opportunity 0062): close date '13/01/2026' is not a date month first (MM/DD/YYYY), as Salesforce US "
        "reports write them; import a report written day first with a column mapping, dates DD/MM/YYYY"
    ]
    assert sf_close_dates("2/30/2026") == [
        "row 2 (opportunity 0062): close date '2/30/2026' is not a date (expected MM/DD/YYYY or YYYY-MM-DD)"
    ]


def test_two_digit_years_are_read_near_today_or_refused_never_guessed():
    """'12/31/26' is 2026 and '3/15/99' 1999 (within 30 years of the import's day); '1/5/75' could be 1975 or 2075:
    refused, naming the cell (it was read as 2075)."""
    assert sf_close_dates("12/31/26", "3/15/99", "1/5/05") == [
        dt.date(2026, 12, 31), dt.date(1999, 3, 15), dt.date(2005, 1, 5)
    ]  # fmt: skip
    assert sf_close_dates("1/5/75") == [
        "row 2 (opportunity 0062): close date '1/5/75' has a two-digit year that could be 1975 or 2075: write the "
        "year with four digits"
    ]
    # A mapping's own pattern with %y is held to the same rule (strptime alone read '70' as 1970, '68' as 2068).
    dotted = engine.DateReader(("%d.%m.%y",), today=TODAY)
    assert dotted("31.12.26") == dt.date(2026, 12, 31)
    with pytest.raises(engine.ValueProblem, match=r"'5\.1\.70' has a two-digit year that could be 1970 or 2070"):
        dotted("5.1.70")


def test_excel_date_numbers_are_read_and_other_numbers_refused():
    """46022 is 31 Dec 2025 in a spreadsheet: an XLSX number cell not formatted as a date, or a CSV holding the
    number, gave "'46022' is not a date"; a year alone (2026) must not become 18 Jul 1905."""
    assert sf_close_dates(46022, 46022.75, "46022", "46022.5") == [dt.date(2025, 12, 31)] * 4
    refused = sf_close_dates("2026", 2026, "123456", 0)
    assert refused[0] == (
        "row 2 (opportunity 0062): close date '2026' is a number, not a date (a date kept as a number has five "
        "digits: 46022 is 31 December 2025)"
    )
    assert all("is a number, not a date" in str(problem) for problem in refused)


def test_a_workbook_in_the_1904_date_system_counts_its_date_numbers_from_1904(tmp_path: Path):
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    workbook = openpyxl.Workbook()
    workbook.epoch = CALENDAR_MAC_1904  # Excel for Mac's old default: 31 Dec 2025 is 44560, not 46022
    workbook.active.append(SF_DATES_HEADER)
    workbook.active.append(["0061", "Deal", "priya", "Proposal", 44560, ""])
    workbook.save(tmp_path / "mac.xlsx")
    with engine.open_table(tmp_path / "mac.xlsx") as table:
        rows = engine.DealRows(SALESFORCE, table.header, lookups(), today=TODAY, epoch=table.epoch)
        (number, cells), *_ = list(table.rows)
    record = rows.parse(number, cells)
    assert table.epoch == dt.date(1904, 1, 1)
    assert isinstance(record, engine.DealRecord) and record.close_date == dt.date(2025, 12, 31)


def mapping_rows(*values: str) -> engine.DealRows:
    preset = mapping_preset({"external_id": "Id", "name": "Deal", "owner": "Rep", "stage": "Stage",
                             "close_date": "Closes"})  # fmt: skip
    rows = engine.DealRows(preset, ["Id", "Deal", "Rep", "Stage", "Closes"], lookups(), today=TODAY)
    assert rows.needs_date_order
    rows.learn_dates(iter([(n, [f"D{n}", "Deal", "priya", "Proposal", v]) for n, v in enumerate(values, start=2)]))
    return rows


def read_all(rows: engine.DealRows, *values: str) -> list[object]:
    out: list[object] = []
    for number, value in enumerate(values, start=2):
        parsed = rows.parse(number, [f"D{number}", "Deal", "priya", "Proposal", value])
        out.append(parsed.close_date if isinstance(parsed, engine.DealRecord) else str(parsed[0]))
    return out


def test_a_mapped_file_reads_its_slashed_dates_in_the_one_order_its_own_dates_show():
    """Without a date format a mapped file was read month first whatever it held: 05/01/2026 in a file of
    European dates became 1 May. Now the file's own dates say, and the file is told which order was read."""
    values = ("05/01/2026", "13/01/2026", "3/3/2026")
    day_first = mapping_rows(*values)
    assert read_all(day_first, *values) == [dt.date(2026, 1, 5), dt.date(2026, 1, 13), dt.date(2026, 3, 3)]
    assert day_first.column_warnings() == [
        "The file has no amount column: new deals get no amount, deals already in salesops keep theirs.",
        "The file has no account column: new deals get no account, deals already in salesops keep theirs.",
        "The file: dates are read day first (DD/MM/YYYY), as row 3's close date '13/01/2026' shows; if that date is a "
        "typo, correct it, or choose how the file's dates are written in the mapping.",
    ]
    month_first = mapping_rows("05/01/2026", "12/31/2026")
    assert read_all(month_first, "05/01/2026", "12/31/2026") == [dt.date(2026, 5, 1), dt.date(2026, 12, 31)]


def test_a_date_that_reads_two_ways_is_refused_naming_its_cell_when_the_file_shows_no_one_order():
    unknown = mapping_rows("05/01/2026", "2026-02-01", "4/4/2026")
    assert read_all(unknown, "05/01/2026", "2026-02-01", "4/4/2026") == [
        "row 2 (deal D2): close date '05/01/2026' could be 1 May 2026 or 5 January 2026, and no date in the file shows "
        "whether the day or the month comes first: choose how the file's dates are written in the mapping "
        "(DD/MM/YYYY or MM/DD/YYYY), or write them as YYYY-MM-DD",
        dt.date(2026, 2, 1),
        dt.date(2026, 4, 4),  # the same day either way
    ]
    both = mapping_rows("12/31/2026", "13/01/2026", "05/01/2026")
    assert read_all(both, "12/31/2026", "13/01/2026", "05/01/2026") == [
        dt.date(2026, 12, 31),
        dt.date(2026, 1, 13),
        "row 4 (deal D4): close date '05/01/2026' could be 1 May 2026 or 5 January 2026, and the file writes dates "
        "both month first (row 2's close date '12/31/2026') and day first (row 3's close date '13/01/2026'): write it "
        "as YYYY-MM-DD",
    ]
    # A named order is read as named, a time and two-digit years as the presets read them.
    named = mapping_preset({"name": "Deal", "owner": "Rep", "stage": "Stage", "close_date": "Closes",
                            "date_format": "%d/%m/%Y"})  # fmt: skip
    reader = engine.DateReader(named.date_formats, order=named.date_order, today=TODAY)
    assert (reader("05/01/2026"), reader("05/01/26 09:00"), reader("2026-01-05")) == (dt.date(2026, 1, 5),) * 3
    with pytest.raises(engine.ValueProblem, match="'12/31/2026' is not a date day first"):
        reader("12/31/2026")


# ------------------------------------------------------------------------------------------------ Salesforce ids
def test_the_two_forms_of_a_salesforce_id_are_one_record_in_a_file():
    rows = engine.DealRows(SALESFORCE, SF_HEADER, lookups())
    first = rows.parse(2, ["0065g00000AbCdE", "Acme", "priya", "Proposal", "1"])
    assert isinstance(first, engine.DealRecord) and first.salesforce_id == "0065g00000AbCdEAAV"
    assert [str(e) for e in rows.parse(3, ["0065G00000ABCDEAAV", "Acme", "priya", "Proposal", "1"])] == [  # type: ignore[union-attr]
        "row 3 (opportunity 0065G00000ABCDEAAV): the id '0065G00000ABCDEAAV' appears already on row 2"
    ]
    # Another record: the same 15 characters in other capitals.
    other = rows.parse(4, ["0065g00000ABCDE", "Acme", "priya", "Proposal", "1"])
    assert isinstance(other, engine.DealRecord) and other.salesforce_id == "0065g00000ABCDEAA5"
    plain = rows.parse(5, ["0061A00001", "Acme", "priya", "Proposal", "1"])
    assert isinstance(plain, engine.DealRecord) and plain.salesforce_id == ""
