"""The pure parts: KPI formulas (with hypothesis against the textbook definitions), the SQL median against
Python's, the streamed XLSX writer, and the fiscal periods of the filter bar."""

from __future__ import annotations

import datetime as dt
import io
import statistics
from decimal import Decimal

import openpyxl
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting import kpis
from reporting.filtersets import ReportFilter, previous, span_for
from reporting.queries import median_sql
from salesops.xlsx import xlsx_chunks


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=60))
@settings(max_examples=60, deadline=None)
def test_median_is_percentile_cont(values):
    assert kpis.median(values) == statistics.median(values)


@given(won=st.integers(0, 500), lost=st.integers(0, 500), bookings=st.decimals(0, 10**9, places=2))
def test_rates_follow_their_definitions(won, lost, bookings):
    rate = kpis.win_rate(won, lost)
    assert rate is None if won + lost == 0 else rate == won / (won + lost)
    size = kpis.avg_deal_size(bookings, won)
    assert size is None if won == 0 else size == bookings / won


def test_coverage_velocity_and_pace():
    assert kpis.coverage(Decimal(300), Decimal(1000), Decimal(700)) == 1.0
    assert kpis.coverage(Decimal(300), Decimal(1000), Decimal(1000)) is None  # nothing left to close
    assert kpis.coverage(Decimal(300), None, Decimal(0)) is None
    assert kpis.velocity(10, 0.5, Decimal(1000), 25.0) == Decimal(200)
    assert kpis.pace(Decimal(500), Decimal(1000), 0.5) == 1.0
    assert kpis.elapsed_share(dt.date(2026, 1, 1), dt.date(2026, 1, 10), dt.date(2026, 1, 5)) == 0.5
    assert kpis.forecast_accuracy(Decimal(90), Decimal(100)) == 0.9
    assert kpis.bottleneck({1: 3.0, 2: 9.5, 3: None}) == 2


def test_sql_median_from_counts_equals_python(db):
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
    histogram = "SELECT 1 AS g, v, COUNT(*) AS n FROM unnest(%s::int[]) AS t(v) GROUP BY v"
    for sample in (values, values[:-1], [7]):
        with connection.cursor() as cursor:
            cursor.execute(median_sql(histogram, ["g"]), [sample])
            assert float(cursor.fetchone()[1]) == statistics.median(sample)


def test_streamed_xlsx_opens_with_typed_cells_and_neutralised_text():
    rows = [[1, "=cmd|' /C calc'!A0", Decimal("1234.50"), dt.date(2026, 3, 31), None, "Ünïcode & <tags>", True]]
    data = b"".join(xlsx_chunks(["id", "name", "amount", "close", "empty", "text", "flag"], rows, sheet="Deals"))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Deals"
    assert [c.value for c in sheet[1]] == ["id", "name", "amount", "close", "empty", "text", "flag"]
    values = [c.value for c in sheet[2]]
    assert values[0] == 1 and values[1].startswith("'=")  # a formula-like text stays text
    assert values[2] == 1234.5 and values[3] == dt.datetime(2026, 3, 31) and values[4] is None
    assert values[5] == "Ünïcode & <tags>" and values[6] is True


def test_periods_and_filters_round_trip_through_the_url():
    q1 = span_for("2026-Q1", 1)
    assert (q1.start, q1.end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert previous(q1, 1).label == "2025-Q4"
    assert previous(span_for("2026", 4), 4).label == "2025"  # fiscal years starting in April
    assert span_for("2026", 4).start == dt.date(2026, 4, 1)
    flt = ReportFilter.from_query(
        {"period": "2026-Q1", "region": "3", "product": "x"}, start_month=1, today=dt.date(2026, 5, 1)
    )
    assert (flt.span.label, flt.region, flt.product) == ("2026-Q1", 3, None)
    assert ReportFilter.from_query(flt.params(), start_month=1, today=dt.date(2026, 5, 1)) == flt
    custom = ReportFilter.from_query({"from": "2026-02-10", "to": "2026-02-01"}, start_month=1, today=dt.date.today())
    assert (custom.span.start, custom.span.end, custom.span.kind) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 10),
        "custom",
    )


def test_the_kpi_formulas_have_no_orm_inside():
    """kpis.py is plain Python over plain numbers (CONVENTIONS.md), so every screen can trust one formula."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(kpis))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    outside = {m for m in imported if m and not m.startswith("salesops.kernel")}  # the kernel: plain Python below
    assert not {m for m in outside if m.split(".")[0] in {"django", "pipeline", "incentives", "salesops"}}
