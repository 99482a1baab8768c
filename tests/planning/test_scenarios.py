"""Quota scenarios: compute, a manager's allocation within their number, approve and publish, required
pipeline on a hand example (docs/planning-quotas.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from freezegun import freeze_time

from incentives import selectors as incentives_selectors
from incentives import services as incentives
from planning.selectors import scenarios as selectors
from planning.services import scenarios as services
from salesops.api import DomainError, Forbidden
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)
Q = ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]


def make(org, name="Base", **kw):
    args: dict[str, Any] = {"fiscal_year": 2027, "method": "top_down", "basis": "equal", "target": "120000.00",
            "inputs": {"uplift": ["0.2", "0"]}}  # fmt: skip
    args.update(kw)
    return services.scenario_create(actor=org.ops, name=name, today=TODAY, **args)


def annual(scenario, user):
    return {row.person_id: row.annual for row in selectors.scenario_tree(scenario, user)}


def test_top_down_equal_with_uplift_sums_to_parent(org) -> None:
    scenario = make(org)
    numbers = annual(scenario, org.ops)
    # director carries 120,000 and hands down 100,000 (uplift 20 % at level 0), split by sellers below:
    # east has 2 reps, west 1 → 66,666.67 and 33,333.33; managers at level 1 have no uplift.
    assert numbers[org.director.pk] == Decimal("120000.00")
    assert numbers[org.manager_east.pk] == Decimal("66666.67")
    assert numbers[org.manager_west.pk] == Decimal("33333.33")
    assert numbers[org.rep_a.pk] + numbers[org.rep_b.pk] == Decimal("66666.67")
    assert numbers[org.rep_c.pk] == Decimal("33333.33")
    tree = {row.person_id: row for row in selectors.scenario_tree(scenario, org.ops)}
    assert tree[org.director.pk].reports_sum == Decimal("100000.00")
    assert sorted(tree[org.rep_c.pk].by_period) == Q
    assert sum(tree[org.rep_c.pk].by_period.values()) == Decimal("33333.33")
    assert org.finance.pk not in numbers and org.ops.pk not in numbers


def test_quarters_sum_to_the_parent_after_compute_and_after_a_managers_allocation(org) -> None:
    """Quotas are published per quarter: in every quarter the reports carry exactly what their manager hands down,
    after computing and after the manager reallocates (the typed annual numbers kept exactly)."""
    scenario = make(org)

    def quarters() -> dict[int, dict[str, Decimal]]:
        out: dict[int, dict[str, Decimal]] = {}
        for q in scenario.quotas.all():
            out.setdefault(q.person_id, {})[q.period] = q.amount
        return out

    before = quarters()
    east = [org.rep_a.pk, org.rep_b.pk]
    handed = {label: before[org.rep_a.pk][label] + before[org.rep_b.pk][label] for label in Q}
    # The director hands down 25,000.00 a quarter (30,000 less the 20 % uplift), east and west share it exactly.
    assert all(before[org.manager_east.pk][q] + before[org.manager_west.pk][q] == Decimal("25000.00") for q in Q)
    assert all(handed[q] == before[org.manager_east.pk][q] for q in Q)
    services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                               numbers={org.rep_a.pk: "40000.00", org.rep_b.pk: "26666.67"})  # fmt: skip
    after = quarters()
    assert sum(after[org.rep_a.pk].values()) == Decimal("40000.00")
    assert sum(after[org.rep_b.pk].values()) == Decimal("26666.67")
    assert all(sum(after[p][q] for p in east) == handed[q] for q in Q)  # every quarter still exact
    assert all(abs(after[org.rep_a.pk][q] - Decimal("10000.00")) <= Decimal("0.01") for q in Q)


def test_manager_allocates_within_their_number_only(org) -> None:
    scenario = make(org)
    before = annual(scenario, org.ops)
    services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                               numbers={org.rep_a.pk: "40000.00", org.rep_b.pk: "26666.67"})  # fmt: skip
    after = annual(scenario, org.ops)
    assert after[org.rep_a.pk] == Decimal("40000.00") and after[org.rep_b.pk] == Decimal("26666.67")
    assert after[org.manager_east.pk] == before[org.manager_east.pk]
    with pytest.raises(DomainError, match=r"add up to 70000\.00, not to the 66666\.67"):
        services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                                   numbers={org.rep_a.pk: "43333.33"})  # fmt: skip
    with pytest.raises(Forbidden):  # not their subtree
        services.scenario_allocate(actor=org.manager_west, scenario=scenario, manager=org.manager_east,
                                   numbers={org.rep_a.pk: "40000.00"})  # fmt: skip
    with pytest.raises(DomainError, match="does not report"):
        services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                                   numbers={org.rep_c.pk: "0.00"})  # fmt: skip
    assert annual(scenario, org.ops) == after


def test_approve_then_publish_writes_exactly_the_scenario(org) -> None:
    scenario = make(org)
    with pytest.raises(Forbidden):
        services.scenario_approve(actor=org.director, scenario=scenario)
    with pytest.raises(DomainError, match="not approved"):
        services.scenario_publish(actor=org.ops, scenario=scenario)
    services.scenario_approve(actor=org.ops, scenario=scenario)
    with pytest.raises(DomainError, match="no longer changes"):
        services.scenario_allocate(actor=org.ops, scenario=scenario, manager=org.manager_east, numbers={})
    services.scenario_publish(actor=org.ops, scenario=scenario)
    expected = {(q.person_id, q.period): q.amount for q in scenario.quotas.all()}
    assert len(expected) == 6 * 4
    written = {
        (pid, label): amount for label in Q for pid, amount in incentives_selectors.bookings_quotas_of_period(label)
    }
    assert written == expected
    with pytest.raises(DomainError, match="published already"):
        services.scenario_publish(actor=org.ops, scenario=scenario)


def test_required_pipeline_hand_example(org) -> None:
    for who in (org.rep_a, org.rep_b):
        incentives.quota_set(actor=org.ops, person=who, period=incentives.period_get_or_create("2026-Q4"),
                             amount="100000.00")  # fmt: skip
    # rep_a: won 30,000 and lost 10,000 over the last four closed quarters (win rate 0.75); 20,000 won in the
    # period; open 90,000 closing in it. Required = (100,000 − 20,000) ÷ 0.75 = 106,666.67 → short.
    DealFactory.create(
        owner=org.rep_a, amount=Decimal("30000"), stage=default_stages()["Closed Won"], close_date=dt.date(2026, 3, 1)
    )
    DealFactory.create(
        owner=org.rep_a, amount=Decimal("10000"), stage=default_stages()["Closed Lost"], close_date=dt.date(2026, 5, 1)
    )
    DealFactory.create(
        owner=org.rep_a, amount=Decimal("20000"), stage=default_stages()["Closed Won"], close_date=dt.date(2026, 10, 5)
    )
    DealFactory.create(owner=org.rep_a, amount=Decimal("90000"), close_date=dt.date(2026, 12, 1))
    rows = {r.person_id: r for r in selectors.required_pipeline(org.ops, "2026-Q4", today=TODAY)}
    a = rows[org.rep_a.pk]
    assert (a.quota, a.closed, a.win_rate) == (Decimal("100000.00"), Decimal("20000.00"), Decimal("0.75"))
    assert a.coverage.required == Decimal("106666.67") and a.coverage.open == Decimal("90000.00")
    assert a.coverage.short
    b = rows[org.rep_b.pk]  # no history: requirement unknown, neither short nor covered
    assert b.coverage.required is None and not b.coverage.short and b.coverage.status == "no_win_rate"
    assert [r.person_id for r in selectors.required_pipeline(org.rep_a, "2026-Q4", today=TODAY)] == [org.rep_a.pk]


def test_an_allocation_names_nobody_outside_the_managers_reports(org, client_for, api_client_for) -> None:
    """roles.md: a manager never reads another person's name by posting their id; numbers beyond the quota rule
    are refused in words (not a server error), and nothing changes."""
    scenario = make(org)
    before = annual(scenario, org.ops)
    for outsider in (org.rep_c, org.manager_west, org.director):
        with pytest.raises(DomainError) as error:
            services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                                       numbers={outsider.pk: "0.00"})  # fmt: skip
        assert error.value.message == (
            f"Person {outsider.pk} does not report to {org.manager_east.display_name} with a number in scenario 'Base'."
        )
        assert outsider.display_name not in error.value.message
    api = api_client_for(org.manager_east).post(f"/api/v1/planning/scenarios/{scenario.pk}/allocate/",
                                                {"numbers": {str(org.rep_c.pk): "100.00"}}, format="json")  # fmt: skip
    assert api.status_code == 400 and org.rep_c.display_name not in api.content.decode()
    for value in ("1e400", "1E+30", "-5"):
        page = client_for(org.manager_east).post(f"/planning/scenarios/{scenario.pk}/allocate/",
                                                 {f"person_{org.rep_a.pk}": value}, follow=True)  # fmt: skip
        assert page.status_code == 200 and "is not a number to allocate" in page.content.decode(), value
    assert annual(scenario, org.ops) == before


def _row_of(page: str, name: str) -> str:
    table = page.split('data-testid="required-pipeline"', 1)[1].split("</table>", 1)[0]
    return next(row for row in table.split("<tr>") if name in row)


@freeze_time("2026-11-15")
def test_no_win_rate_is_not_short_and_the_summary_counts_people(org, client_for, api_client_for) -> None:
    """docs/planning-quotas.md, Required pipeline. Quota 100,000.00 each for 2026-Q4.
    rep_a: won 30,000, lost 10,000 before (0.75); 20,000 won in Q4; 90,000 open: required 106,666.67, short by
    16,666.67. rep_b: no history, 500,000 open (5 × the quota): no win rate, so no requirement: not short.
    rep_c: the same history as rep_a, nothing won in Q4, 200,000 open: required 133,333.33, covered."""
    won, lost = default_stages()["Closed Won"], default_stages()["Closed Lost"]
    for who in (org.rep_a, org.rep_b, org.rep_c):
        incentives.quota_set(actor=org.ops, person=who, period=incentives.period_get_or_create("2026-Q4"),
                             amount="100000.00")  # fmt: skip
    for who in (org.rep_a, org.rep_c):
        DealFactory.create(owner=who, amount=Decimal("30000"), stage=won, close_date=dt.date(2026, 3, 1))
        DealFactory.create(owner=who, amount=Decimal("10000"), stage=lost, close_date=dt.date(2026, 5, 1))
    DealFactory.create(owner=org.rep_a, amount=Decimal("20000"), stage=won, close_date=dt.date(2026, 10, 5))
    DealFactory.create(owner=org.rep_a, amount=Decimal("90000"), close_date=dt.date(2026, 12, 1))
    DealFactory.create(owner=org.rep_b, amount=Decimal("500000"), close_date=dt.date(2026, 12, 1))
    DealFactory.create(owner=org.rep_c, amount=Decimal("200000"), close_date=dt.date(2026, 12, 1))
    url = "/planning/required-pipeline/?period=2026-Q4"

    page = client_for(org.ops).get(url).content.decode()
    assert (
        "1 person short of coverage; 1 person with no win rate, whose required pipeline cannot be computed; "
        "1 person covered." in page
    )
    a, b, c = (_row_of(page, who.display_name) for who in (org.rep_a, org.rep_b, org.rep_c))
    assert page.index(org.rep_a.display_name) < page.index(org.rep_b.display_name) < page.index(org.rep_c.display_name)
    assert "106,666.67" in a and ">short<" in a
    assert ">short<" not in b and "no win rate" in b and "cannot compute" in b and "500,000.00" in b
    assert "133,333.33" in c and ">short<" not in c and "no win rate" not in c

    page = client_for(org.manager_east).get(url).content.decode()
    assert (
        "1 person short of coverage; 1 person with no win rate, whose required pipeline cannot be computed; "
        "0 people covered." in page
    )
    assert "You are short of coverage by 16,666.67." in client_for(org.rep_a).get(url).content.decode()
    page = client_for(org.rep_b).get(url).content.decode()
    assert "Your required pipeline cannot be computed: you have no win rate" in page
    assert "short of coverage" not in page
    assert "Your open pipeline covers what you need." in client_for(org.rep_c).get(url).content.decode()
    assert (
        "You have no quota of your own in 2027-Q1."
        in client_for(org.rep_c).get("/planning/required-pipeline/?period=2027-Q1").content.decode()
    )

    people = api_client_for(org.ops).get("/api/v1/planning/required-pipeline/?period=2026-Q4").json()["people"]
    assert [(p["person"], p["short"], p["status"], p["required"]) for p in people] == [
        (org.rep_a.pk, True, "short", "106666.67"),
        (org.rep_b.pk, False, "no_win_rate", None),
        (org.rep_c.pk, False, "covered", "133333.33"),
    ]
