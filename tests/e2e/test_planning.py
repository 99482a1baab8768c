"""Planning in a real browser: sales ops build a top-down quota scenario for next fiscal year, read its capacity,
gap and allocation tree, approve and publish it, and the incentives app's quotas page shows exactly its numbers;
a manager allocates their reports within their number; the territory model and a stress test's result render.

The data is built with the factories and the planning services (never the demo), and every date is derived
from today so the tests do not depend on the day they run."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e

TARGET = Decimal("1200000.00")
UPLIFT = ["0.2", "0.1"]  # the top carries 20 % over what it hands down, the managers 10 %


@pytest.fixture
def team(transactional_db):
    """director → (mgr_east → rep_a, rep_b), (mgr_west → rep_c); sales ops outside the tree. Everyone started
    years ago (fully ramped), password "pw"."""
    from tests.factories import ManagerFactory, RegionFactory, TeamFactory, UserFactory

    east, west = RegionFactory.create(name="East"), RegionFactory.create(name="West")
    started = dt.date.today().replace(day=1) - dt.timedelta(days=3 * 365)
    director = ManagerFactory.create(username="director", title="VP of Sales", start_date=started)
    people = {"director": director, "ops": UserFactory.create(username="ops1", is_rep=False, is_sales_ops=True)}
    for name, region in (("mgr_east", east), ("mgr_west", west)):
        people[name] = ManagerFactory.create(username=name, manager=director, region=region,
                                             team=TeamFactory.create(region=region), start_date=started)  # fmt: skip
    for name, manager in (("rep_a", "mgr_east"), ("rep_b", "mgr_east"), ("rep_c", "mgr_west")):
        boss = people[manager]
        people[name] = UserFactory.create(username=name, manager=boss, region=boss.region, team=boss.team,
                                          start_date=started)  # fmt: skip
    return people


def next_fiscal_year() -> int:
    from django.utils import timezone

    from salesops.kernel import fiscal
    from salesops.org.selectors import fiscal_calendar

    return fiscal.fiscal_year_of(timezone.localdate(), fiscal_calendar().fiscal_year_start_month) + 1


def money(value: Decimal, places: int = 2) -> str:
    from salesops import formats

    return formats.money(value, places) if places else formats.money0(value)


def numbers_of(scenario) -> tuple[dict[int, Decimal], dict[tuple[int, str], Decimal]]:
    """Each person's annual number and their number per quarter, as stored."""
    annual: dict[int, Decimal] = {}
    by_period: dict[tuple[int, str], Decimal] = {}
    for person_id, period, amount in scenario.quotas.values_list("person_id", "period", "amount"):
        annual[person_id] = annual.get(person_id, Decimal("0.00")) + amount
        by_period[(person_id, period)] = amount
    return annual, by_period


def tree_row(page, name: str) -> list[str]:
    row = page.locator("[data-testid=allocation-tree] tbody tr", has_text=name).first
    return [cell.strip() for cell in row.locator("td").all_inner_texts()]


def test_sales_ops_build_approve_and_publish_a_top_down_scenario(page, team):
    from planning.models import QuotaScenario
    from planning.selectors.scenarios import scenario_periods

    year = next_fiscal_year()
    quarters = [p.label for p in scenario_periods(year)]
    sign_in(page, "ops1", "pw")
    page.goto("/planning/scenarios/")
    form = page.locator("[data-testid=scenario-form]")
    assert form.locator("input[name=fiscal_year]").input_value() == str(year)  # next fiscal year by default
    form.locator("input[name=name]").fill("Top-down E2E")
    form.locator("select[name=method]").select_option("top_down")
    form.locator("select[name=basis]").select_option("equal")
    form.locator("input[name=target]").fill(str(TARGET))
    # 10,000 of bookings per fully ramped rep-month, all of it attained, nobody leaving: capacity is plain.
    inputs = {"uplift": UPLIFT, "productivity": "10000", "attainment": "1", "attrition": "0"}
    form.locator("textarea[name=inputs]").fill(json.dumps(inputs))
    form.locator("button", has_text="Compute scenario").click()
    page.wait_for_load_state("networkidle")
    assert "computed" in page.locator(".messages").inner_text()
    scenario = QuotaScenario.objects.get(name="Top-down E2E")
    assert page.url.endswith(f"/planning/scenarios/{scenario.pk}/") and scenario.fiscal_year == year

    # Capacity: three sellers × 12 months × 10,000; the gap is the rest of the target.
    capacity = Decimal(scenario.result["capacity"])
    assert capacity == Decimal("360000.00")
    card = page.locator("[data-testid=capacity]")
    assert money(capacity) in card.inner_text()  # to the cent, as the tree below
    assert page.locator("[data-testid=gap]").inner_text() == money(TARGET - capacity)
    page.wait_for_selector("[data-testid=capacity] .main-svg")  # the capacity chart drew (no inline script)
    for label in quarters:
        assert label in card.inner_text()

    # The tree: 1,200,000 at the top hands down 1,000,000 by seller (east two, west one); each manager hands
    # down their number less 10 %, split evenly between their reports to the cent.
    annual, by_period = numbers_of(scenario)
    director, east, west = team["director"], team["mgr_east"], team["mgr_west"]
    assert annual[director.pk] == TARGET
    assert (annual[east.pk], annual[west.pk]) == (Decimal("666666.67"), Decimal("333333.33"))
    east_hands_down = (annual[east.pk] / Decimal("1.1")).quantize(Decimal("0.01"))
    assert annual[team["rep_a"].pk] + annual[team["rep_b"].pk] == east_hands_down == Decimal("606060.61")
    assert tree_row(page, director.display_name)[1:3] == [money(TARGET), money(annual[east.pk] + annual[west.pk])]
    assert tree_row(page, east.display_name)[1:3] == [money(annual[east.pk]), money(east_hands_down)]
    rep_a = tree_row(page, team["rep_a"].display_name)
    assert rep_a[1] == money(annual[team["rep_a"].pk])
    assert rep_a[3:] == [money(by_period[(team["rep_a"].pk, label)]) for label in quarters]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planning-scenario.png"), full_page=True)

    page.click("[data-testid=recompute]")  # nothing changed meanwhile: the same numbers again
    # The page before still shows the last message: wait for the one of the page the post opens.
    expect(page.locator(".messages")).to_contain_text("recomputed")
    assert numbers_of(scenario) == (annual, by_period)

    page.click("[data-testid=approve]")
    expect(page.locator(".messages")).to_contain_text("approved")
    assert page.locator("[data-testid=recompute]").count() == 0  # an approved scenario no longer changes
    page.click("[data-testid=publish]")
    expect(page.locator(".messages")).to_contain_text("published: its quotas are set")
    scenario.refresh_from_db()
    assert scenario.status == QuotaScenario.Status.PUBLISHED

    # The incentives app's quotas: exactly the scenario's numbers, for its people and quarters.
    for label in quarters:
        page.goto(f"/incentives/quotas/?period={label}")
        table = page.locator("[data-testid=quotas]")
        shown = {}
        for row in table.locator("tbody tr").all():
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            shown[cells[0]] = cells[3]
        for key in ("director", "mgr_east", "mgr_west", "rep_a", "rep_b", "rep_c"):
            person = team[key]
            assert shown[person.display_name] == money(by_period[(person.pk, label)], 0), (key, label)
    # The API, to the cent: rep_a's published quota in each quarter is the scenario's; over the year east's
    # reports carry exactly what east hands down.
    published: dict[tuple[int, str], Decimal] = {}
    for label in quarters:
        answer = page.request.get(f"/api/v1/incentives/quotas/?period={label}")
        assert answer.ok, answer.text()
        for row in answer.json()["results"]:
            published[(row["person"], row["period"])] = Decimal(str(row["amount"]))
    assert published == by_period  # exactly the scenario's quotas (everyone fully ramped), nothing else
    for label in quarters:
        assert published[(team["rep_a"].pk, label)] == by_period[(team["rep_a"].pk, label)] > 0
    reports_year = sum((published[(team[k].pk, label)] for k in ("rep_a", "rep_b") for label in quarters),
                       Decimal("0.00"))  # fmt: skip
    assert reports_year == east_hands_down
    page.goto(f"/incentives/quotas/?period={quarters[0]}")
    page.screenshot(path=str(ARTIFACTS / "planning-published-quotas.png"), full_page=True)


def allocate(page) -> None:
    """Send the allocation form (an htmx post answered with HX-Redirect: the page loads again, its message)."""
    with page.expect_navigation():
        page.locator("[data-testid=allocation] button", has_text="Allocate").click()
    page.wait_for_load_state("networkidle")


def test_manager_allocates_their_reports_within_their_number(page, team):
    from planning.models import QuotaScenario
    from planning.services import scenarios as services

    scenario = services.scenario_create(actor=team["ops"], name="Manager E2E", fiscal_year=next_fiscal_year(),
                                        method="top_down", basis="equal", target=str(TARGET),
                                        inputs={"uplift": UPLIFT})  # fmt: skip
    east, rep_a, rep_b, rep_c = team["mgr_east"], team["rep_a"], team["rep_b"], team["rep_c"]
    before, _ = numbers_of(scenario)
    hands_down = before[rep_a.pk] + before[rep_b.pk]
    assert hands_down == Decimal("606060.61")

    sign_in(page, "mgr_east", "pw")
    page.goto(f"/planning/scenarios/{scenario.pk}/")
    assert rep_c.display_name not in page.locator("[data-testid=allocation-tree]").inner_text()  # not their team
    page.click("text=Allocate my reports")
    allocation = page.locator("[data-testid=allocation]")
    assert allocation.locator("[data-testid=hands-down]").inner_text() == money(hands_down)
    assert allocation.locator(f"input[name=person_{rep_c.pk}]").count() == 0

    # Within the number: rep_a carries 400,000, rep_b the rest; the sum is kept.
    allocation.locator(f"input[name=person_{rep_a.pk}]").fill("400000.00")
    allocation.locator(f"input[name=person_{rep_b.pk}]").fill(str(hands_down - Decimal("400000.00")))
    allocate(page)
    assert "reports allocated" in page.locator(".messages").inner_text()
    assert allocation.locator(f"input[name=person_{rep_a.pk}]").input_value() == "400000.00"
    after, _ = numbers_of(scenario)
    assert (after[rep_a.pk], after[rep_b.pk]) == (Decimal("400000.00"), Decimal("206060.61"))
    assert after[east.pk] == before[east.pk] and after[rep_c.pk] == before[rep_c.pk]
    assert scenario.quotas.filter(person=rep_a, allocated_by=east).count() == 4
    page.goto(f"/planning/scenarios/{scenario.pk}/")
    assert tree_row(page, rep_a.display_name)[1] == "400,000.00"
    assert tree_row(page, east.display_name)[2] == money(hands_down)  # what east hands down is unchanged

    # A wrong total is refused, naming the manager whose number it breaks; nothing changes.
    page.click("text=Allocate my reports")
    allocation.locator(f"input[name=person_{rep_a.pk}]").fill("500000.00")
    allocate(page)
    refused = page.locator(".messages").inner_text()
    assert east.display_name in refused and "add up to" in refused, refused
    assert numbers_of(scenario)[0][rep_a.pk] == Decimal("400000.00")

    # Someone outside their team: a field for rep_c slipped into the form is refused, and rep_c's number stays.
    page.evaluate(
        """(id) => {
            const input = document.createElement('input');
            input.name = 'person_' + id; input.value = '1.00';
            document.querySelector('[data-testid=allocation] form').appendChild(input);
        }""",
        rep_c.pk,
    )
    allocation.locator(f"input[name=person_{rep_a.pk}]").fill("400000.00")
    allocate(page)
    refused = page.locator(".messages").inner_text()  # by id: east may not read rep_c's name (roles.md)
    assert f"Person {rep_c.pk} does not report to {east.display_name}" in refused and rep_c.display_name not in refused
    assert numbers_of(scenario)[0][rep_c.pk] == before[rep_c.pk]
    # ... and west's allocation page is not east's to open.
    answer = page.goto(f"/planning/scenarios/{scenario.pk}/allocate/?manager={team['mgr_west'].pk}")
    assert answer is not None and answer.status == 404
    assert QuotaScenario.objects.get(pk=scenario.pk).status == QuotaScenario.Status.DRAFT
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"/planning/scenarios/{scenario.pk}/allocate/")
    page.screenshot(path=str(ARTIFACTS / "planning-allocate.png"), full_page=True)


@pytest.fixture
def seeded_world(team):
    """An active territory model (a territory per industry, rep_a's and rep_c's) with accounts placed, and a
    finished stress test of a plan over this quarter's open pipeline with quotas for the three reps."""
    from django.utils import timezone

    from incentives import services as pay
    from planning.services import stress as stress_services
    from planning.services import territories as territory_services
    from planning.tasks import run_stress_test
    from salesops.kernel import fiscal
    from salesops.org.selectors import fiscal_calendar
    from tests.factories import AccountFactory, DealFactory, default_stages

    ops = team["ops"]
    model = territory_services.territory_model_create(actor=ops, name="E2E territories")
    root = model.territories.get()
    for name, sector, owner in (("Software", "software", "rep_a"), ("Finance", "finance", "rep_c")):
        territory = territory_services.territory_create(actor=ops, model_id=model.pk, parent_id=root.pk, name=name,
                                                        owner_id=team[owner].pk)  # fmt: skip
        territory_services.territory_rule_set(actor=ops, territory_id=territory.pk, kind="industry", values=[sector])
    accounts = [AccountFactory.create(sector=s) for s in ("software", "software", "software", "finance", "retail")]
    territory_services.territory_model_activate(actor=ops, model_id=model.pk)
    territory_services.territory_assign(actor=ops, model_id=model.pk)

    today = timezone.localdate()
    label = fiscal.period_label(today, "quarter", fiscal_calendar().fiscal_year_start_month)
    span = fiscal.span_of(label, fiscal_calendar().fiscal_year_start_month)
    start, end = span.start, span.end
    plan = {"key": "ae", "period": "quarter", "components": [
        {"key": "commission", "type": "tiered_rate", "cap_attainment": 2,
         "tiers": [{"from": 0, "rate": "0.08"}, {"from": 1, "rate": "0.12"}]}]}  # fmt: skip
    version = pay.plan_save_version(actor=ops, key="ae", name="AE", definition=plan, effective_from=start)
    period = pay.period_get_or_create(label)
    stages = default_stages()
    for key, quota in (("rep_a", 50_000), ("rep_b", 40_000), ("rep_c", 30_000)):
        rep = team[key]
        pay.plan_assign(actor=ops, person=rep, plan=version.plan, start=start)
        pay.quota_set(actor=ops, person=rep, period=period, amount=quota)
        DealFactory.create(owner=rep, account=accounts[0], stage=stages["Closed Won"], amount=Decimal(quota) / 2,
                           close_date=start, created_date=start)  # fmt: skip
        for stage, amount in (("Negotiation", 20_000), ("Prospecting", 15_000)):
            DealFactory.create(owner=rep, account=accounts[3], stage=stages[stage], amount=Decimal(amount),
                               close_date=max(end, today), created_date=start)  # fmt: skip
    test = stress_services.stress_test_create(actor=ops, name="E2E stress", plan_definition=plan, period=label,
                                              outcomes=100, seed=3)  # fmt: skip
    run_stress_test(test.pk)
    test.refresh_from_db()
    assert test.status == "done", test.error
    return {"model": model, "test": test, "label": label}


def chart_x(page, within: str) -> list[str]:
    """The x values of the first chart container in `within` (its placeholder and figure JSON; these pages do
    not load plotly.js, so the figure is read, not drawn)."""
    plot = page.locator(f"{within} .chart-plot").first
    assert plot.count() == 1
    figure = json.loads(page.locator(f"script[id='{plot.get_attribute('data-chart')}']").text_content() or "{}")
    return [str(x) for x in figure["figure"]["data"][0]["x"]]


def test_sales_ops_read_the_territory_model_and_a_stress_test(page, team, seeded_world):
    model, test = seeded_world["model"], seeded_world["test"]
    sign_in(page, "ops1", "pw")
    page.goto(f"/planning/territories/models/{model.pk}/")
    assert chart_x(page, "[data-testid=territory-balance]") == ["Company", "Finance", "Software"]
    software = page.locator("[data-testid=territory-tree] tbody tr", has_text="Software").first
    cells = [c.strip() for c in software.locator("td").all_inner_texts()]
    assert cells[1] == team["rep_a"].display_name and cells[3] == "3"  # three software accounts
    finance = page.locator("[data-testid=territory-tree] tbody tr", has_text="Finance").first
    assert [c.strip() for c in finance.locator("td").all_inner_texts()][3] == "1"

    page.goto(f"/planning/stress-tests/{test.pk}/")
    assert page.locator("[data-testid=stress-status]").get_attribute("data-status") == "done"
    assert chart_x(page, "[data-testid=stress-status]")  # the histogram of cost of sales has its bars
    assert page.locator("[data-testid=stress-cost-p50]").inner_text() == money(Decimal(test.result["cost"]["p50"]))
    assert page.locator("[data-testid=stress-weighted]").inner_text() == money(Decimal(test.result["weighted_cost"]))
    people = page.locator("[data-testid=stress-people] tbody tr")
    assert people.count() == 3
    assert "50,000.00" in people.filter(has_text=team["rep_a"].display_name).inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planning-stress.png"), full_page=True)
