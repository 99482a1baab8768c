"""`kpi_report` against the public Maven CRM sample: after importing it, the command's figures equal what an
analyst computes from the raw CSV with nothing but the csv module (bookings = Σ close_value of the Won rows
closing in the range; cycle = close_date − engage_date of those rows; the agent owns the deal, their
regional office is the region and their manager the manager)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.management import call_command

MAVEN = Path(settings.BASE_DIR).parent / "shared" / "data" / "maven-crm"


@pytest.fixture(scope="module")
def maven_dir() -> Path:
    if not (MAVEN / "sales_pipeline.csv").is_file():
        pytest.skip(f"The Maven CRM sample is not at {MAVEN}: shared/ belongs beside the repository (as in CI).")
    return MAVEN


@pytest.fixture
def imported(db, maven_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("import_crm", "--preset", "maven-crm", str(maven_dir), stdout=io.StringIO())
    return maven_dir


def expected(maven_dir: Path, start: dt.date, end: dt.date, by: str | None) -> dict[str, dict]:
    """The analyst's numbers, straight from the CSV files."""
    with (maven_dir / "sales_teams.csv").open(encoding="utf-8-sig") as handle:
        teams = {row["sales_agent"]: row for row in csv.DictReader(handle)}
    groups: dict[str, dict] = defaultdict(lambda: {"bookings": Decimal(0), "won": 0, "lost": 0, "cycles": []})
    with (maven_dir / "sales_pipeline.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["deal_stage"] not in ("Won", "Lost") or not row["close_date"]:
                continue
            closed = dt.date.fromisoformat(row["close_date"])
            if not start <= closed <= end:
                continue
            agent = teams[row["sales_agent"]]
            key = {
                None: "Total",
                "region": agent["regional_office"],
                "manager": agent["manager"],
                "owner": row["sales_agent"],
            }[by]
            group = groups[key]
            if row["deal_stage"] == "Won":
                group["bookings"] += Decimal(row["close_value"])
                group["won"] += 1
                group["cycles"].append((closed - dt.date.fromisoformat(row["engage_date"])).days)
            else:
                group["lost"] += 1
    return {
        key: {
            "group": key,
            "bookings": f"{g['bookings']:.2f}",
            "won_count": g["won"],
            "lost_count": g["lost"],
            "win_rate": g["won"] / (g["won"] + g["lost"]),
            "avg_deal_size": f"{(g['bookings'] / g['won']).quantize(Decimal('0.01'))}" if g["won"] else None,
            "cycle_days_mean": statistics.mean(g["cycles"]) if g["cycles"] else None,
            "cycle_days_median": float(statistics.median(g["cycles"])) if g["cycles"] else None,
        }
        for key, g in groups.items()
    }


def report(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("kpi_report", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def same(actual: list[dict], wanted: dict[str, dict]) -> None:
    assert {row["group"] for row in actual} == set(wanted)
    for row in actual:
        want = wanted[row["group"]]
        assert row["bookings"] == want["bookings"], row["group"]
        assert (row["won_count"], row["lost_count"]) == (want["won_count"], want["lost_count"]), row["group"]
        assert row["avg_deal_size"] == want["avg_deal_size"], row["group"]
        assert row["win_rate"] == pytest.approx(want["win_rate"], abs=1e-12), row["group"]
        assert row["cycle_days_mean"] == pytest.approx(want["cycle_days_mean"], abs=1e-9), row["group"]
        assert row["cycle_days_median"] == want["cycle_days_median"], row["group"]


def test_totals_regions_and_managers_equal_the_csv_in_every_format(imported, tmp_path):
    start, end = dt.date(2017, 1, 1), dt.date(2017, 12, 31)
    total = report("--from", "2017-01-01", "--to", "2017-12-31")
    same(total, expected(imported, start, end, None))
    assert total[0]["bookings"] == "10005534.00" and total[0]["won_count"] == 4238  # the sample's well-known totals
    same(
        report("--from", "2017-01-01", "--to", "2017-12-31", "--by", "region"), expected(imported, start, end, "region")
    )
    same(
        report("--from", "2017-01-01", "--to", "2017-12-31", "--by", "manager"),
        expected(imported, start, end, "manager"),
    )
    # A range that cuts months in two (the facts, not the monthly rollups, answer it).
    start, end = dt.date(2017, 4, 15), dt.date(2017, 6, 10)
    same(
        report("--from", "2017-04-15", "--to", "2017-06-10", "--by", "owner", "--no-refresh"),
        expected(imported, start, end, "owner"),
    )

    # CSV and XLSX give the same rows (one import serves both checks: it takes most of this test's time).
    rows = report("--from", "2017-01-01", "--to", "2017-12-31", "--by", "quarter", "--no-refresh")
    assert [r["group"] for r in rows] == ["2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4"]
    out = io.StringIO()
    call_command(
        "kpi_report",
        "--from",
        "2017-01-01",
        "--to",
        "2017-12-31",
        "--by",
        "quarter",
        "--format",
        "csv",
        "--no-refresh",
        stdout=out,
    )
    from_csv = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["group"], r["bookings"], int(r["won_count"])) for r in from_csv] == [
        (r["group"], r["bookings"], r["won_count"]) for r in rows
    ]
    target = tmp_path / "kpis.xlsx"
    call_command(
        "kpi_report",
        "--from",
        "2017-01-01",
        "--to",
        "2017-12-31",
        "--by",
        "quarter",
        "--format",
        "xlsx",
        "--output",
        str(target),
        "--no-refresh",
        stderr=io.StringIO(),
    )
    sheet = openpyxl.load_workbook(target).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("group", "bookings", "won_count")
    assert [(v[0], Decimal(str(v[1])).quantize(Decimal("0.01")), v[2]) for v in values[1:]] == [
        (r["group"], Decimal(r["bookings"]), r["won_count"]) for r in rows
    ]
