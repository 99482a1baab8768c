"""Quota scenario pages and API per role: sales ops plan and publish, managers read their subtree and allocate
their reports, finance reads, a rep sees their own row of a published scenario only."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from planning.services import scenarios as services

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)


@pytest.fixture
def scenario(org):
    return services.scenario_create(actor=org.ops, name="Base", fiscal_year=2027, method="top_down", basis="equal",
                                    target="120000.00", inputs={"uplift": ["0.2"]}, today=TODAY)  # fmt: skip


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_per_role(org, scenario) -> None:
    detail = f"/planning/scenarios/{scenario.pk}/"
    ops = client_for(org.ops)
    page = ops.get(detail)
    assert page.status_code == 200 and org.rep_c.display_name in page.content.decode()
    assert b'data-testid="capacity"' in page.content
    assert client_for(org.finance).get(detail).status_code == 200
    west = client_for(org.manager_west).get(detail).content.decode()
    assert org.rep_c.display_name in west and org.rep_a.display_name not in west
    assert client_for(org.rep_a).get(detail).status_code == 404  # a draft is not a rep's
    assert client_for(org.rep_a).get("/planning/scenarios/compare/").status_code == 403
    assert client_for(org.rep_a).get(f"{detail}allocate/").status_code == 403
    assert client_for(org.finance).get(f"{detail}allocate/").status_code == 403
    assert client_for(org.manager_west).get(f"{detail}allocate/?manager={org.manager_east.pk}").status_code == 404
    assert client_for(org.director).post(f"{detail}approve/").status_code == 403
    assert client_for(org.finance).post(f"{detail}publish/").status_code == 403
    assert client_for(org.rep_a).get("/planning/required-pipeline/").status_code == 200
    compare = ops.get(f"/planning/scenarios/compare/?ids={scenario.pk}")
    assert compare.status_code == 200 and b"120,000.00" in compare.content


def test_manager_allocates_on_the_page_then_ops_publish(org, scenario) -> None:
    east = client_for(org.manager_east)
    form = east.get(f"/planning/scenarios/{scenario.pk}/allocate/", HTTP_HX_REQUEST="true")
    assert form.status_code == 200 and b"<html" not in form.content and b"66,666.67" in form.content
    east.post(f"/planning/scenarios/{scenario.pk}/allocate/",
              {f"person_{org.rep_a.pk}": "50000.00", f"person_{org.rep_b.pk}": "16666.67"})  # fmt: skip
    refused = east.post(f"/planning/scenarios/{scenario.pk}/allocate/", {f"person_{org.rep_a.pk}": "1.00"},
                        follow=True)  # fmt: skip
    assert b"add up to" in refused.content
    quotas = {q.person_id: q for q in scenario.quotas.filter(period="2027-Q1")}
    assert quotas[org.rep_a.pk].amount == Decimal("12500.00") and quotas[org.rep_a.pk].allocated_by == org.manager_east
    ops = client_for(org.ops)
    ops.post(f"/planning/scenarios/{scenario.pk}/approve/")
    ops.post(f"/planning/scenarios/{scenario.pk}/publish/")
    scenario.refresh_from_db()
    assert scenario.status == "published"
    rep = client_for(org.rep_a)
    own = rep.get(f"/planning/scenarios/{scenario.pk}/").content.decode()
    assert "50,000.00" in own and org.rep_b.display_name not in own and 'data-testid="capacity"' not in own
    assert client_for(org.rep_c).get("/planning/scenarios/").status_code == 200


def test_api_per_role(org, scenario, api_client_for) -> None:
    base = "/api/v1/planning/scenarios/"
    ops = api_client_for(org.ops)
    created = ops.post(base, {"name": "Bottom", "fiscal_year": 2027, "method": "bottom_up", "basis": "equal",
                              "inputs": {"productivity": "10000", "attainment": "1"}}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    # The answer is the computed scenario (not the row as it was before computing): three reps at 10,000 a month.
    assert created.json()["result"]["capacity"] == "360000.00", created.json()["result"]
    assert (
        api_client_for(org.manager_east).post(base, {"name": "x", "fiscal_year": 2027}, format="json").status_code
        == 403
    )
    assert api_client_for(org.rep_a).get(f"{base}{scenario.pk}/").status_code == 404
    east = api_client_for(org.manager_east)
    people = {row["person"] for row in east.get(f"{base}{scenario.pk}/").json()["quotas"]}
    assert people == {org.manager_east.pk, org.rep_a.pk, org.rep_b.pk}
    wrong = east.post(f"{base}{scenario.pk}/allocate/", {"numbers": {str(org.rep_a.pk): "1.00"}}, format="json")
    assert wrong.status_code == 400 and "add up to" in wrong.json()["detail"]
    west = api_client_for(org.manager_west)
    outside = west.post(
        f"{base}{scenario.pk}/allocate/", {"manager": org.manager_east.pk, "numbers": {}}, format="json"
    )
    assert outside.status_code == 404
    assert api_client_for(org.finance).post(f"{base}{scenario.pk}/approve/").status_code == 403
    assert ops.post(f"{base}{scenario.pk}/approve/").status_code == 200
    assert ops.post(f"{base}{scenario.pk}/publish/").status_code == 200
    assert ops.post(f"{base}{scenario.pk}/publish/").status_code == 400
    own = api_client_for(org.rep_a).get(f"{base}{scenario.pk}/").json()
    assert [row["person"] for row in own["quotas"]] == [org.rep_a.pk] and own["result"] == {}
    assert api_client_for(org.rep_a).get(f"{base}compare/").status_code == 403
    compare = ops.get(f"{base}compare/?ids={scenario.pk}&ids={created.json()['id']}").json()
    assert compare["totals"][0] == "120000.00"
    assert api_client_for(org.rep_a).get("/api/v1/planning/required-pipeline/?period=2026-Q4").status_code == 200


def _footer_row(page: str, testid: str) -> list[str]:
    row = page.split(f'data-testid="{testid}"', 1)[1].split("</tr>", 1)[0]
    return [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split('class="num')[1:]]


def test_compare_totals_are_the_teams_numbers_named_not_one_row_mislabelled(org, scenario) -> None:
    """docs/planning-quotas.md: each scenario's total is what the top of the tree carries. Base (target 120,000,
    uplift 20 % at level 0, equal basis): the director carries 120,000.00 and hands down 100,000.00: east (two
    reps) 66,666.67, west 33,333.33; rep_a 33,333.34, rep_b 33,333.33, rep_c 33,333.33. Lean (target 60,000, no
    uplift): east 40,000.00, west 20,000.00, each rep 20,000.00. Adding the manager's column would give
    66,666.67 + 33,333.34 + 33,333.33 = 133,333.34 (Base) and 80,000.00 (Lean): the team total is 66,666.67 and
    40,000.00, carried by the manager, and the page says so."""
    lean = services.scenario_create(actor=org.ops, name="Lean", fiscal_year=2027, method="top_down", basis="equal",
                                    target="60000.00", inputs={}, today=TODAY)  # fmt: skip
    url = f"/planning/scenarios/compare/?ids={scenario.pk}&ids={lean.pk}"
    page = client_for(org.manager_east).get(url).content.decode()
    assert "Team total" in page and ">Total<" not in page
    assert _footer_row(page, "team-total") == ["66,666.67", "40,000.00"]
    assert _footer_row(page, "carried-by") == [org.manager_east.display_name] * 2
    assert "133,333.34" not in page and "80,000.00" not in page
    page = client_for(org.ops).get(url).content.decode()
    assert _footer_row(page, "team-total") == ["120,000.00", "60,000.00"]
    assert _footer_row(page, "carried-by") == [org.director.display_name] * 2
    body = client_for(org.ops)  # the API says the same
    api = body.get(f"/api/v1/planning/scenarios/compare/?ids={scenario.pk}&ids={lean.pk}").json()
    assert api["totals"] == ["120000.00", "60000.00"]
    assert api["carried_by"] == [[org.director.display_name]] * 2


def test_scenario_money_reads_to_the_cent_in_the_headline_as_in_the_periods(org) -> None:
    """docs/formats.md: money on a page (not a dashboard) is shown to the cent. The year's capacity is the sum of
    its periods' capacities, so a reader adds the four quarters up and finds the headline, cents included."""
    bottom_up = services.scenario_create(
        actor=org.ops, name="From capacity", fiscal_year=2027, method="bottom_up", basis="equal", target="1000000.00",
        inputs={"productivity": "38524.00", "attainment": "0.85", "attrition": "0.10"}, today=TODAY,
    )  # fmt: skip
    page = client_for(org.ops).get(f"/planning/scenarios/{bottom_up.pk}/").content.decode()
    card = page.split('data-testid="capacity"', 1)[1].split("</section>", 1)[0]
    capacity, target, gap, _hires, productivity = re.findall(r'class="stat-value"[^>]*>([^<]*)<', card)
    table = card.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    periods = re.findall(r'<td class="num">([^<]*)</td>', table)
    assert len(periods) == 4 and all(re.fullmatch(r"[\d,]+\.\d\d", p) for p in periods)
    year = sum((Decimal(p.replace(",", "")) for p in periods), Decimal("0"))
    assert capacity == f"{year:,.2f}"  # e.g. 14,234,505.56, never a whole 14,234,506
    assert target == "1,000,000.00" and gap == f"{Decimal('1000000.00') - year:,.2f}"
    assert productivity == "38,524.00"  # per ramped rep-month, to the cent
