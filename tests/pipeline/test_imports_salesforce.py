"""Imports read dates and record ids as the source writes them: Salesforce US reports (12/31/2026, 1/5/2026, two-digit
years), spreadsheets' date numbers (46022, in an XLSX cell or a CSV), mapped files whose dates are written day first,
and a Salesforce id in its 15- or its 18-character form as one record."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from pipeline.models import Deal
from tests.factories import DealFactory, default_stages
from tests.pipeline.test_imports import SALESFORCE_HEADER, run_command, salesforce_rows, write_csv

pytestmark = pytest.mark.django_db

CLOSE, CREATED = SALESFORCE_HEADER.index("Close Date"), SALESFORCE_HEADER.index("Created Date")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def dates_of() -> dict[str, tuple[dt.date | None, dt.date | None]]:
    return {d.external_id: (d.close_date, d.created_date) for d in Deal.objects.all()}


# ------------------------------------------------------------------------------------------------------ dates
def test_a_salesforce_report_stores_its_dates_as_written_us_style_and_as_spreadsheet_numbers(sellers, tmp_path):
    """A CSV holding a date number (46022, what Excel writes for an unformatted date cell) was refused as "not a
    date"; two-digit years and M/D dates are read as a US report writes them."""
    rows = salesforce_rows()
    rows[0][CLOSE], rows[0][CREATED] = "12/31/26", "46022"
    rows[1][CLOSE], rows[1][CREATED] = "1/5/2026", "12/1/2025 9:30 AM"
    rows[2][CLOSE], rows[2][CREATED] = "2/3/2026", "1/5/26"
    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "us.csv", SALESFORCE_HEADER, rows)))
    assert (code, result["errors"], result["deals"]["created"]) == (0, [], 3)
    assert dates_of() == {
        "0061A00001": (dt.date(2026, 12, 31), dt.date(2025, 12, 31)),
        "0061A00002": (dt.date(2026, 1, 5), dt.date(2025, 12, 1)),
        "0061A00003": (dt.date(2026, 2, 3), dt.date(2026, 1, 5)),
    }


def test_an_xlsx_date_number_is_read_whether_or_not_its_cell_is_formatted_as_a_date(sellers, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(SALESFORCE_HEADER)
    for row in salesforce_rows():
        sheet.append(row)
    sheet.cell(row=2, column=CLOSE + 1).value = 46022  # a plain number cell: openpyxl reads 46022
    sheet.cell(row=3, column=CLOSE + 1).value = 46022
    sheet.cell(row=3, column=CLOSE + 1).number_format = "mm/dd/yyyy"  # formatted: read as a date already
    sheet.cell(row=4, column=CLOSE + 1).value = 46022.5  # with a time of day
    workbook.save(tmp_path / "report.xlsx")
    code, result = run_command("--preset", "salesforce", str(tmp_path / "report.xlsx"))
    assert (code, result["errors"]) == (0, [])
    assert {close for close, _ in dates_of().values()} == {dt.date(2025, 12, 31)}


def test_a_date_that_cannot_be_read_without_a_guess_is_a_row_error_and_nothing_is_written(sellers, tmp_path):
    """'1/5/70' was stored as 5 Jan 2070 (the year 1970 as likely); a number such as 2026 is no date either."""
    rows = salesforce_rows()
    rows[0][CLOSE] = "1/5/70"
    rows[1][CREATED] = "2026"
    code, result = run_command(
        "--preset", "salesforce", str(write_csv(tmp_path / "guess.csv", SALESFORCE_HEADER, rows))
    )
    assert code == 2
    assert result["errors"] == [
        "row 2 (opportunity 0061A00001): close date '1/5/70' has a two-digit year that could be 1970 or 2070: write "
        "the year with four digits",
        "row 3 (opportunity 0061A00002): created date '2026' is a number, not a date (a date kept as a number has "
        "five digits: 46022 is 31 December 2025)",
    ]
    assert not Deal.objects.exists()


MAPPING = {"external_id": "Ref", "name": "Deal", "owner": "Rep", "stage": "Phase", "close_date": "Closes"}


def mapped(tmp_path, closes: list[str], mapping: dict[str, str] = MAPPING) -> tuple[int, dict]:
    rows = [[f"R{n}", f"Deal {n}", "priya.nair", "Proposal", close] for n, close in enumerate(closes, start=1)]
    path = write_csv(tmp_path / "europe.csv", ["Ref", "Deal", "Rep", "Phase", "Closes"], rows)
    return run_command("--mapping", json.dumps(mapping), str(path))


def test_a_mapped_file_written_day_first_reads_every_date_day_first_and_says_so(sellers, tmp_path):
    """Without a date format a mapped file was read month first: 05/01/2026 in a European file became 1 May while
    13/01/2026 was an error. The file's own dates show the order, and all of them are read in it."""
    code, result = mapped(tmp_path, ["05/01/2026", "13/01/2026", "28/02/2026"])
    assert (code, result["errors"]) == (0, [])
    assert {ref: close for ref, (close, _) in dates_of().items()} == {
        "R1": dt.date(2026, 1, 5), "R2": dt.date(2026, 1, 13), "R3": dt.date(2026, 2, 28)
    }  # fmt: skip
    assert (
        "The file: dates are read day first (DD/MM/YYYY), as row 3's close date '13/01/2026' shows; if that date is "
        "a typo, correct it, or choose how the file's dates are written in the mapping." in result["warnings"]
    )


def test_a_mapped_file_whose_dates_show_no_order_is_refused_naming_the_cells(sellers, tmp_path):
    code, result = mapped(tmp_path, ["05/01/2026", "2026-03-01", "02/03/2026"])
    assert code == 2 and not Deal.objects.exists()
    assert result["errors"] == [
        "row 2 (deal R1): close date '05/01/2026' could be 1 May 2026 or 5 January 2026, and no date in the file shows "
        "whether the day or the month comes first: choose how the file's dates are written in the mapping "
        "(DD/MM/YYYY or MM/DD/YYYY), or write them as YYYY-MM-DD",
        "row 4 (deal R3): close date '02/03/2026' could be 3 February 2026 or 2 March 2026, and no date in the file "
        "shows whether the day or the month comes first: choose how the file's dates are written in the mapping "
        "(DD/MM/YYYY or MM/DD/YYYY), or write them as YYYY-MM-DD",
    ]
    # Said how they are written, they are read so.
    code, result = mapped(tmp_path, ["05/01/2026", "2026-03-01", "02/03/2026"], {**MAPPING, "date_format": "%m/%d/%Y"})
    assert (code, result["errors"]) == (0, [])
    assert {ref: close for ref, (close, _) in dates_of().items()} == {
        "R1": dt.date(2026, 5, 1), "R2": dt.date(2026, 3, 1), "R3": dt.date(2026, 2, 3)
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------- Salesforce ids
SF15 = ["0065g00000AbCdE", "0065g00000XyZ01", "0065g00000QrStu"]


def sf_rows(ids: list[str]) -> list[list[str]]:
    rows = salesforce_rows()
    for row, opportunity in zip(rows, ids, strict=True):
        row[0] = opportunity
    return rows


def test_a_salesforce_id_in_its_18_character_form_updates_the_deal_imported_with_its_15(sellers, tmp_path):
    """A report of 15-character ids, then one of 18-character ids (one of them upper-cased by a spreadsheet): the
    second created three more deals, each opportunity twice in the pipeline."""
    first = write_csv(tmp_path / "ids15.csv", SALESFORCE_HEADER, sf_rows(SF15))
    assert run_command("--preset", "salesforce", str(first))[1]["deals"]["created"] == 3
    rows = sf_rows(["0065g00000AbCdEAAV", "0065G00000XYZ01AAF", "0065g00000qrstuaaf"])
    rows[0][4] = "13000"  # the amount moved meanwhile
    code, result = run_command(
        "--preset", "salesforce", str(write_csv(tmp_path / "ids18.csv", SALESFORCE_HEADER, rows))
    )
    assert (code, result["errors"], result["deals"]) == (0, [], {"created": 0, "updated": 1, "unchanged": 2})
    assert result["changes"][0]["record"] == "opportunity 0065g00000AbCdEAAV"
    assert Deal.objects.count() == 3
    assert Deal.objects.get(external_id="0065g00000AbCdE").amount == Decimal("13000.00")
    # Read back with the 15-character ids: the same three deals, unchanged.
    assert run_command("--preset", "salesforce", str(first))[1]["deals"]["created"] == 0


def test_two_15_character_salesforce_ids_that_differ_only_in_case_are_two_deals(sellers, tmp_path):
    first = write_csv(tmp_path / "a.csv", SALESFORCE_HEADER, sf_rows(SF15))
    assert run_command("--preset", "salesforce", str(first))[1]["deals"]["created"] == 3
    other = sf_rows(["0065g00000ABCDE", "0065g00000xyz01", SF15[2]])  # two other records, one the same
    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "b.csv", SALESFORCE_HEADER, other)))
    assert (code, result["deals"]) == (0, {"created": 2, "updated": 0, "unchanged": 1})
    assert Deal.objects.count() == 5
    # In one file, the two forms of one id are one record named twice.
    twice = sf_rows([SF15[0], "0065G00000ABCDEAAV", "0065g00000NoPqR"])
    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "c.csv", SALESFORCE_HEADER, twice)))
    assert code == 2
    assert result["errors"] == [
        "row 3 (opportunity 0065G00000ABCDEAAV): the id '0065G00000ABCDEAAV' appears already on row 2"
    ]


def test_a_record_held_as_two_deals_is_updated_once_and_the_row_warns_of_the_other(org, sellers, tmp_path):
    """Deals imported before the two forms were read as one: one opportunity in salesops twice. The row updates
    the deal holding the id as the file writes it and names the other."""
    stage = default_stages()["Proposal"]
    fifteen = DealFactory.create(external_id=SF15[0], name="Acme renewal", stage=stage, amount=Decimal("12500.00"))
    eighteen = DealFactory.create(external_id="0065G00000ABCDEAAV", name="Acme renewal", stage=stage,
                                  amount=Decimal("12500.00"))  # fmt: skip
    rows = sf_rows([SF15[0], SF15[1], SF15[2]])
    rows[0][4] = "13000"
    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "d.csv", SALESFORCE_HEADER, rows)))
    assert (code, result["errors"], result["deals"]["created"]) == (0, [], 2)
    fifteen.refresh_from_db()
    eighteen.refresh_from_db()
    assert (fifteen.amount, eighteen.amount) == (Decimal("13000.00"), Decimal("12500.00"))
    assert (
        f"row 2 (opportunity {SF15[0]}): salesops also holds this Salesforce id in its other form: deal {eighteen.pk} "
        f"(as '0065G00000ABCDEAAV'), the same opportunity imported twice; the row updates deal {fifteen.pk} only and "
        "leaves the other as it is" in result["warnings"]
    )


def test_a_record_held_as_three_deals_names_both_others_and_says_it_leaves_them(org, sellers, tmp_path):
    """The 15-character form, the 18-character form and that form in capitals: three deals of one opportunity. The
    warning said it "leaves the other as it is" while naming two."""
    stage = default_stages()["Proposal"]
    fifteen = DealFactory.create(external_id=SF15[0], name="Acme renewal", stage=stage, amount=Decimal("12500.00"))
    eighteen = DealFactory.create(external_id="0065g00000AbCdEAAV", name="Acme renewal", stage=stage,
                                  amount=Decimal("12500.00"))  # fmt: skip
    capitals = DealFactory.create(external_id="0065G00000ABCDEAAV", name="Acme renewal", stage=stage,
                                  amount=Decimal("12500.00"))  # fmt: skip
    rows = sf_rows([SF15[0], SF15[1], SF15[2]])
    rows[0][4] = "13000"
    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "e.csv", SALESFORCE_HEADER, rows)))
    assert (code, result["errors"]) == (0, [])
    assert (
        f"row 2 (opportunity {SF15[0]}): salesops also holds this Salesforce id in its other form: deal {eighteen.pk} "
        f"(as '0065g00000AbCdEAAV') and deal {capitals.pk} (as '0065G00000ABCDEAAV'), the same opportunity imported "
        f"more than once; the row updates deal {fifteen.pk} only and leaves the others as they are"
        in result["warnings"]
    )
    assert [d.amount for d in Deal.objects.filter(pk__in=[fifteen.pk, eighteen.pk, capitals.pk]).order_by("pk")] == [
        Decimal("13000.00"),
        Decimal("12500.00"),
        Decimal("12500.00"),
    ]


def test_the_imports_page_says_how_dates_and_ids_are_read_and_offers_month_first(org, client_for):
    page = client_for(org.ops).get(reverse("imports:job_list")).content.decode()
    assert "Dates of a Salesforce report are read month first, as US reports write" in page
    assert "15- or its 18-character form" in page
    assert '<option value="%m/%d/%Y">MM/DD/YYYY (US)</option>' in page
    assert "YYYY-MM-DD, or as the file&#x27;s dates show" in page
