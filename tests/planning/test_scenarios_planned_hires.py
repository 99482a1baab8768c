"""Planned hires in a quota scenario's tree: what a manager hands down includes their planned hires' numbers,
on the scenario page, the allocation page and the API, so the reports' sum adds up to the rows shown below the
manager; a manager's allocation counts them and scales them with their team (docs/planning-quotas.md).

The scenario: target 120,000, uplift 20 % at the top, equal basis. The director hands down 100,000 over four
sellers (rep_a and rep_b in the east, rep_c and the planned hire west-hire-1 in the west): east and west
50,000 each, and the west manager hands rep_c and the planned hire 25,000 each."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest

from planning.selectors import scenarios as selectors
from planning.services import scenarios as services
from salesops.api import DomainError
from tests.planning.test_scenarios import Q, make

pytestmark = pytest.mark.django_db

HIRE = "west-hire-1"


@pytest.fixture
def scenario(org):
    hires = [{"id": HIRE, "manager": str(org.manager_west.pk), "start_date": "2027-03-01", "ramp": ["0.5"]}]
    return make(org, inputs={"uplift": ["0.2", "0"], "hires": hires})


def tree_rows(page: str) -> dict[str, list[str]]:
    """The allocation tree of a scenario page: each row's first cell (the name, as text) → the other cells."""
    section = page[page.index('data-testid="allocation-tree"') :]
    rows: dict[str, list[str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section[section.index("<tbody>") :], flags=re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def test_scenario_page_hand_down_includes_the_planned_hire(org, scenario, client_for) -> None:
    page = client_for(org.ops).get(f"/planning/scenarios/{scenario.pk}/").content.decode()
    rows = tree_rows(page)
    west = rows[org.manager_west.display_name]
    # Year, reports' sum (handed down), then the quarters: west hands down all 50,000 (no uplift at level 1),
    # rep_c's 25,000 and the planned hire's 25,000, not rep_c's alone.
    assert west[:2] == ["50,000.00", "50,000.00"]
    assert rows[f"{HIRE} planned hire"] == ["25,000.00", "–", "6,250.00", "6,250.00", "6,250.00", "6,250.00"]
    assert rows[org.rep_c.display_name][0] == "25,000.00"
    # The director's reports' sum is east + west (the planned hire is in west's number, counted once).
    assert rows[org.director.display_name][:2] == ["120,000.00", "100,000.00"]


def test_allocation_page_hands_down_includes_the_planned_hire(org, scenario, client_for) -> None:
    page = html.unescape(
        client_for(org.manager_west).get(f"/planning/scenarios/{scenario.pk}/allocate/").content.decode()
    )
    assert re.search(r'data-testid="hands-down">([^<]*)<', page).group(1) == "50,000.00"  # type: ignore[union-attr]
    hire_row = page[page.index('data-testid="planned-hire"') :].split("</tr>")[0]
    assert HIRE in hire_row and "25,000.00" in hire_row and "<input" not in hire_row  # not set by hand
    assert f'name="person_{org.rep_c.pk}"' in page


def test_api_reports_sum_adds_up_to_the_rows_below(org, scenario, api_client_for) -> None:
    body = api_client_for(org.ops).get(f"/api/v1/planning/scenarios/{scenario.pk}/").json()
    rows = body["quotas"]
    [hire] = [row for row in rows if row["planned_hire"]]
    assert (hire["person"], hire["name"], hire["manager"], hire["year"]) == (
        None,
        HIRE,
        org.manager_west.pk,
        "25000.00",
    )
    assert hire["periods"] == dict.fromkeys(Q, "6250.00")
    for manager in (org.director, org.manager_east, org.manager_west):
        [row] = [r for r in rows if r["person"] == manager.pk]
        below = sum(Decimal(r["year"]) for r in rows if r["manager"] == manager.pk)
        assert Decimal(row["reports_sum"]) == below, manager.username
    assert {r["person"]: r["reports_sum"] for r in rows}[org.manager_west.pk] == "50000.00"
    # The director's allocation answers with the tree after it: west's planned hire scaled with west's team.
    numbers = {str(org.manager_east.pk): "40000.00", str(org.manager_west.pk): "60000.00"}
    answer = api_client_for(org.director).post(
        f"/api/v1/planning/scenarios/{scenario.pk}/allocate/", {"numbers": numbers}, format="json"
    )
    assert answer.status_code == 200
    after = {row["name"]: row for row in answer.json()["quotas"]}
    assert (after[HIRE]["year"], after[org.manager_west.display_name]["reports_sum"]) == ("30000.00", "60000.00")


def test_manager_allocates_within_a_hand_down_that_counts_the_planned_hire(org, scenario) -> None:
    with pytest.raises(DomainError) as refused:  # rep_c may not take the planned hire's share
        services.scenario_allocate(actor=org.manager_west, scenario=scenario, manager=org.manager_west,
                                   numbers={org.rep_c.pk: "50000.00"})  # fmt: skip
    west = org.manager_west.display_name
    assert (
        refused.value.message
        == f"{west}: the reports' numbers add up to 75000.00, not to the 50000.00 {west} hands down"
    )
    # The director moves 10,000 from east to west: west's team, the planned hire included, is scaled with it.
    services.scenario_allocate(actor=org.director, scenario=scenario, manager=org.director,
                               numbers={org.manager_east.pk: "40000.00", org.manager_west.pk: "60000.00"})  # fmt: skip
    scenario.refresh_from_db()
    tree = {row.name: row for row in selectors.scenario_tree(scenario, org.ops)}
    assert tree[west].annual == tree[west].reports_sum == Decimal("60000.00")
    assert tree[org.rep_c.display_name].annual == tree[HIRE].annual == Decimal("30000.00")
    assert tree[HIRE].by_period == dict.fromkeys(Q, Decimal("7500.00"))
    assert scenario.result["planned_hires"] == {HIRE: "30000.00"}


def test_planned_hire_rows_follow_their_managers_scope(org, scenario, client_for) -> None:
    assert HIRE in client_for(org.director).get(f"/planning/scenarios/{scenario.pk}/").content.decode()
    east = selectors.scenario_tree(scenario, org.manager_east)
    assert all(row.planned_hire is None for row in east)  # another team's planned hire
    comparison = selectors.scenario_comparison([scenario], org.ops)
    assert HIRE not in [name for name, _ in comparison.rows] and comparison.totals == [Decimal("120000.00")]
    services.scenario_approve(actor=org.ops, scenario=scenario)
    services.scenario_publish(actor=org.ops, scenario=scenario)
    mine = selectors.scenario_tree(scenario, org.rep_c)
    assert [row.person_id for row in mine] == [org.rep_c.pk]  # a rep: their own row only


def test_a_scenario_computed_before_the_hires_quarters_were_kept(org, scenario) -> None:
    """Its tree still counts the planned hire's annual number (manager from the inputs); a manager whose team
    holds the hire is asked to recompute first (which keeps the quarters), and any other manager allocates as
    before."""
    scenario.refresh_from_db()
    del scenario.result["planned_hire_numbers"]
    scenario.save(update_fields=["result"])
    tree = {row.name: row for row in selectors.scenario_tree(scenario, org.ops)}
    assert tree[org.manager_west.display_name].reports_sum == Decimal("50000.00")
    assert (tree[HIRE].annual, tree[HIRE].by_period) == (Decimal("25000.00"), {})
    for manager in (org.manager_west, org.director):  # the hire is in their team
        with pytest.raises(DomainError, match=f"planned hire '{HIRE}' is in {manager.display_name}'s team: recompute"):
            services.scenario_allocate(actor=manager, scenario=scenario, manager=manager, numbers={})
    # East's team holds no planned hire: its allocation goes through, and keeps what east hands down.
    services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                               numbers={org.rep_a.pk: "30000.00", org.rep_b.pk: "20000.00"})  # fmt: skip
    east = {row.person_id: row.annual for row in selectors.scenario_tree(scenario, org.manager_east)}
    assert (east[org.rep_a.pk], east[org.rep_b.pk]) == (Decimal("30000.00"), Decimal("20000.00"))
    services.scenario_compute(actor=org.ops, scenario=scenario)
    services.scenario_allocate(actor=org.manager_west, scenario=scenario, manager=org.manager_west,
                               numbers={org.rep_c.pk: "25000.00"})  # fmt: skip
