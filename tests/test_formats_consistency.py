"""The same number reads the same on every page, and exports write numbers (docs/formats.md).

- Attainment is one figure: credited ÷ quota to 4 decimals, shown with one decimal. 88,185 of 125,000 is 0.70548
  exactly, 0.7055 as the statement keeps it: 70.6 % on the manager's home, on Team pay and on the manager's
  dashboard alike (the dashboard divided exactly and showed 70.5 %).
- A person's place names the region once when the team's name starts with it ("East · Jones", never
  "East · East · Jones").
- Exports: CSV moments to the second; shares as ratios to 4 decimals; a campaign's return a number.
- One minus sign on the pages: a negative change reads like a negative percentage ("-3.0 %").
"""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from freezegun import freeze_time

from incentives import services
from incentives.recompute import commission_recompute
from pipeline.models import Lead
from reporting.dashboards import fmt_change
from reporting.dashboards.panels import Cell, Panel
from reporting.refresh import refresh_changed
from salesops import formats
from salesops.exports import csv_rows, ratio
from salesops.kernel.money import round_attainment
from tests.conftest import Org
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)  # a Friday of 2026-Q4 (January fiscal year)
PLAN = {
    "period": "quarter", "attainment_basis": "period", "clawback_days": 90,
    "components": [{"key": "commission", "type": "tiered_rate", "method": "marginal",
                    "tiers": [{"from": "0", "rate": "0.05"}, {"from": "1.0", "rate": "0.10"}]}],
}  # fmt: skip


def words(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def row_of(html: str, name: str, after: str = "") -> list[str]:
    """The cells (in words) of the first table row naming `name`, after the marker `after`."""
    html = html.split(after, 1)[1] if after else html
    for row in re.findall(r"<tr\b.*?</tr>", html, re.S):
        cells = [words(cell) for cell in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", row, re.S)]
        if any(cell == name for cell in cells):
            return cells
    raise AssertionError(f"no row of {name}")


@pytest.fixture
def kyle(org: Org) -> Any:
    """rep_a, the manager_east's report: 88,185.00 won in 2026-Q4 against a 125,000.00 quota, paid on it."""
    with freeze_time(NOW):
        stages = default_stages()
        ae = services.plan_save_version(actor=org.ops, key="ae", name="AE", definition=PLAN,
                                        effective_from=dt.date(2026, 1, 1))  # fmt: skip
        services.plan_assign(actor=org.ops, person=org.rep_a, plan=ae.plan, start=dt.date(2026, 1, 1))
        period = services.period_get_or_create("2026-Q4")
        services.quota_set(actor=org.ops, person=org.rep_a, period=period, amount=125000)
        DealFactory.create(owner=org.rep_a, name="Kyle's win", stage=stages["Closed Won"], amount=Decimal("88185"),
                           close_date=dt.date(2026, 10, 15))  # fmt: skip
        commission_recompute()
        refresh_changed()
    return org


def test_the_same_person_and_period_read_the_same_attainment_everywhere(kyle: Org, client_for: Any) -> None:
    rep, client = kyle.rep_a, client_for(kyle.manager_east)
    name = rep.display_name
    with freeze_time(NOW):
        home = client.get(reverse("home")).content.decode()
        team = client.get(reverse("incentives:team"), {"period": "2026-Q4"}).content.decode()
        board = client.get(reverse("reporting:manager"), {"period": "2026-Q4"}).content.decode()
        export = client.get(reverse("reporting:manager"),
                            {"period": "2026-Q4", "export": "csv", "panel": "direct_reports"})  # fmt: skip
    cell = re.search(rf'data-testid="attainment-{rep.pk}"[^>]*>(.*?)</td>', home, re.S)
    assert cell, "no attainment of the report on the home page"
    on_home = words(cell.group(1))
    on_team_pay = row_of(team, name)[3]  # person, quota, credited, attainment
    on_dashboard = row_of(board, name, 'data-testid="panel-direct_reports"')[3]  # report, bookings, quota, attainment
    assert on_home == on_team_pay == on_dashboard == "70.6 %"  # 0.70548 → 0.7055 → 70.6 %, not 70.5 %
    body = b"".join(export.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    exported = {r["direct report"]: r for r in csv.DictReader(io.StringIO(body))}
    assert exported[name]["attainment"] == "0.7055"  # the figure the statement keeps


def test_attainment_is_kept_to_four_decimals_halves_away_from_zero() -> None:
    from forecasting import math as fm
    from reporting import kpis

    assert round_attainment(Decimal("88185") / Decimal("125000")) == Decimal("0.7055")
    assert round_attainment(Decimal("0.70545")) == Decimal("0.7055")  # a half goes up (the engine's rule)
    assert round_attainment(Decimal("-0.70545")) == Decimal("-0.7055")  # away from zero
    assert str(round_attainment(Decimal("-0.00001"))) == "0.0000"  # never "-0.0 %"
    assert kpis.attainment(Decimal("88185"), Decimal("125000")) == 0.7055
    assert fm.attainment(Decimal("88185"), Decimal("125000")) == Decimal("0.7055")
    assert formats.percent(kpis.attainment(Decimal("88185"), Decimal("125000"))) == "70.6 %"


# ------------------------------------------------------------------------------------------ region and team
@pytest.mark.parametrize(
    ("region", "team", "shown"),
    [
        ("East", "East · Jones", "East · Jones"),  # the team names its region: once
        ("East", "East", "East"),
        ("East", "Enterprise", "East · Enterprise"),
        ("East", "Eastern", "East · Eastern"),  # only the letters, not the name: both
        ("East", None, "East"),
        (None, "Enterprise", "Enterprise"),
        ("R&D", "R&D · Lab", "R&amp;D · Lab"),  # escaped like any output
    ],
)
def test_a_place_names_the_region_once(region: str | None, team: str | None, shown: str) -> None:
    rendered = Template("{% region_and_team region team %}").render(Context({"region": region, "team": team}))
    assert rendered == shown


def test_the_home_page_does_not_repeat_the_region_before_its_team(org: Org, client_for: Any) -> None:
    team, region = org.manager_east.team, org.manager_east.region
    assert team is not None and region is not None and region.name == "East"
    team.name = f"{region.name} · Jones"  # as the demo names its teams: "East · Jones"
    team.save(update_fields=["name"])
    with freeze_time(NOW):
        html = client_for(org.manager_east).get(reverse("home")).content.decode()
    head = words(html.split('data-testid="home-title"', 1)[1].split("</p>", 1)[0])
    assert "· East · Jones ·" in head and "East · East" not in head


def test_a_persons_page_does_not_repeat_the_region_before_its_team(org: Org, client_for: Any) -> None:
    team, region = org.manager_east.team, org.manager_east.region
    assert team is not None and region is not None
    team.name = f"{region.name} · Jones"
    team.save(update_fields=["name"])
    html = client_for(org.ops).get(reverse("org:person_detail", args=[org.rep_a.pk])).content.decode()
    assert "East · Jones" in html and "East · East" not in html


def test_a_team_total_and_the_home_quotas_round_attainment_as_pay_does() -> None:
    """Halves away from zero, to 4 decimals: 70,545 of 100,000 is 70.6 % on a statement; a team total divided
    exactly and the home page's quotas rounded half to even (0.7054) read 70.5 %."""
    from incentives.selectors import RegisterTotals

    totals = RegisterTotals(earned=Decimal(0), adjustments=Decimal(0), payout=Decimal(0), total=Decimal(0), people=1,
                            quota=Decimal("100000.00"), credited=Decimal("70545.00"))  # fmt: skip
    assert totals.attainment == Decimal("0.7055")


# ------------------------------------------------------------------------------------------------ exports
@override_settings(TIME_ZONE="UTC")
def test_a_csv_moment_is_to_the_second(org: Org, client_for: Any) -> None:
    lead = Lead.objects.create(last_name="Bolton", company="Penetrode", owner=org.rep_a)
    Lead.objects.filter(pk=lead.pk).update(created_at=dt.datetime(2026, 3, 1, 4, 5, 6, 789012, tzinfo=dt.UTC))
    answer = client_for(org.ops).get(reverse("pipeline:lead_list"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))  # type: ignore[attr-defined]
    assert rows[0]["Created"] == "2026-03-01T04:05:06+00:00"


def test_an_export_writes_a_share_as_its_ratio_to_four_decimals() -> None:
    assert ratio(0.6348528015194682) == Decimal("0.6349") and ratio(-41.0349999) == Decimal("-41.0350")
    assert ratio(None) is None and ratio(float("nan")) is None and str(ratio(-0.00001)) == "0.0000"
    panel = Panel("forecast_accuracy", "Forecast accuracy", header=["Person", "Own call accuracy", "Days", "Actual"])
    panel.rows = [[Cell("Ann", "Ann"), Cell.pct(0.6348528015194682), Cell.days(56.81666666666667),
                   Cell.money(Decimal("42120"))]]  # fmt: skip
    header, rows = panel.export()
    assert rows == [["Ann", 0.6349, 56.8167, Decimal("42120.00")]]
    text = "".join(csv_rows(header, rows))
    assert "0.6349,56.8167,42120.00" in text and "0.63485" not in text


# ------------------------------------------------------------------------------------------------ minus
@pytest.mark.parametrize("value", [-0.03, -42.03, -0.158, 0.158, -1.0])
def test_a_change_is_signed_with_the_minus_of_every_other_number(value: float) -> None:
    """The dashboard's change and a negative percentage (forecast accuracy "-4,203.0 %") use one minus sign."""
    shown = fmt_change(value)
    assert shown == (("+" if value > 0 else "") + formats.percent(value))
    assert "−" not in shown and "−" not in formats.percent(value) and "−" not in formats.money(-120.5)
