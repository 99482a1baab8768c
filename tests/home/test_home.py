"""Each role's home shows the numbers the selectors compute, scoped by roles.md, on a fixed day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from incentives import selectors as incentives
from incentives.models import Period
from pipeline import selectors as pipeline
from salesops.formats import day, money, percent
from tests.factories import UserFactory
from tests.home.conftest import NOW, TODAY, figure

pytestmark = pytest.mark.django_db


def home_of(client_for, user) -> str:
    response = client_for(user).get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


# ------------------------------------------------------------------------------------------------- rep
def test_rep_reads_their_quarter_pay_pipeline_and_next_actions(client_for, company):
    org = company["org"]
    rep = org.rep_a
    html = home_of(client_for, rep)
    measured = incentives.bookings_attainment([rep.pk], "2026-Q4")[rep.pk]
    # 45,000 won this quarter against a 100,000 quota.
    assert figure(html, "rep-attainment") == percent(measured.attainment) == "45.0 %"
    assert figure(html, "rep-credited") == money(measured.achieved) == "45,000.00"
    assert figure(html, "rep-quota") == "100,000.00"
    # Fiscal 2026 so far: Q3 5 % of 20,000 + a 500 adjustment, Q4 5 % of 45,000.
    assert incentives.paid_to_date(rep, rep.pk, 2026, today=dt.date(2026, 12, 31)) == Decimal("3750.00")
    assert figure(html, "rep-paid-to-date") == "3,750.00"
    statement = incentives.payout_of(rep, rep.pk, "2026-Q4")
    assert statement is not None and reverse("incentives:statement", args=[statement.pk]) in html
    # Own deals closing this quarter by forecast category (the next quarter's deal is not in it).
    assert figure(html, "rep-closed") == "45,000.00"
    assert figure(html, "rep-commit") == "30,000.00"  # Negotiation
    assert figure(html, "rep-best-case") == "40,000.00"  # Proposal + Discovery
    assert figure(html, "rep-pipeline") == "10,000.00"  # Prospecting
    health = pipeline.open_deal_health(pipeline.deals_visible_to(rep).filter(owner=rep), today=TODAY)
    assert figure(html, "rep-open-deals") == f"{health.count} open deals" == "5 open deals"
    assert figure(html, "rep-past-close") == str(health.past_close_date) == "1"
    assert figure(html, "rep-no-next-step") == str(health.no_next_step) == "1"
    # Tasks: one overdue (the done one does not count), two due this week (today and in two days).
    assert figure(html, "rep-tasks-overdue") == "1" and figure(html, "rep-tasks-due") == "2"
    assert f"due {day(TODAY - dt.timedelta(days=3))}" in html and "due 17 Nov 2026" in html
    assert figure(html, "rep-call") == "In"
    # Where the rep acts: the deal list filtered, the forecast grid, the statement.
    assert f"?status=open&owner={rep.pk}&no_next_step=true" in html
    assert f"{reverse('forecasting:grid')}?period=2026-Q4" in html


def test_a_rep_reads_finances_answer_to_their_dispute(client_for, company):
    from incentives import services
    from incentives.models import Dispute

    org = company["org"]
    assert 'data-panel="rep-disputes"' not in home_of(client_for, org.rep_b)  # nothing answered yet
    dispute = Dispute.objects.get(raised_by=org.rep_b)
    services.dispute_resolve(actor=org.finance, dispute=dispute, accept=True, resolution="Order form confirms it",
                             amount="250", period=Period.objects.get(label="2026-Q4"))  # fmt: skip
    html = home_of(client_for, org.rep_b)
    answers = incentives.recent_dispute_resolutions(org.rep_b)
    assert len(answers) == 1 and answers[0].amount == Decimal("250.00")
    panel = figure(html, "dispute-answers")
    assert "Accepted" in panel and "Order form confirms it" in panel and "250.00 in 2026-Q4" in panel
    assert f"by {org.finance.display_name}, 20 Nov 2026" in panel
    assert 'data-panel="rep-disputes"' not in home_of(client_for, org.rep_a)  # someone else's answer


def test_tasks_on_a_deal_handed_to_someone_else_leave_the_reps_home(client_for, company):
    from pipeline.models import Activity

    org = company["org"]
    task = Activity.objects.filter(owner=org.rep_a, done=False, due_date__lt=TODAY).select_related("deal").first()
    assert task is not None and task.deal is not None
    assert figure(home_of(client_for, org.rep_a), "rep-tasks-overdue") == "1"
    type(task.deal).objects.filter(pk=task.deal.pk).update(owner=org.rep_c)  # handed to another team
    html = home_of(client_for, org.rep_a)
    assert figure(html, "rep-tasks-overdue") == "0" and task.deal.name not in html


def test_a_rep_never_sees_a_teammates_deals_or_pay(client_for, company):
    org = company["org"]
    html = home_of(client_for, org.rep_a)
    for secret in ("Bob secret stale", "Bob won Q4", "Cy west deal", "80,000.00", "37.5 %"):
        assert secret not in html
    assert 'data-panel="manager"' not in html and 'data-panel="finance"' not in html


def test_a_rep_without_a_call_or_quota_reads_so(client_for, company):
    html = home_of(client_for, company["org"].rep_b)
    assert figure(html, "rep-call") == "Not in"
    html = home_of(client_for, UserFactory.create(username="newbie"))
    assert figure(html, "rep-attainment") == "—" and "no bookings quota this quarter" in html
    assert figure(html, "rep-paid-to-date") == "0.00"


# --------------------------------------------------------------------------------------------- manager
def test_manager_reads_team_attainment_calls_risk_and_stale_deals(client_for, company):
    org = company["org"]
    manager = org.manager_east
    html = home_of(client_for, manager)
    measured = incentives.bookings_attainment([manager.pk, org.rep_a.pk, org.rep_b.pk], "2026-Q4")
    # The team's credit (45,000 + 30,000) against the manager's 180,000 team quota.
    assert figure(html, "team-attainment") == percent(measured[manager.pk].attainment) == "41.7 %"
    assert figure(html, "team-credited") == "75,000.00" and figure(html, "team-quota") == "180,000.00"
    assert figure(html, f"attainment-{org.rep_a.pk}") == "45.0 %"
    assert figure(html, f"attainment-{org.rep_b.pk}") == percent(measured[org.rep_b.pk].attainment) == "37.5 %"
    assert figure(html, f"call-{org.rep_a.pk}") == "in" and figure(html, f"call-{org.rep_b.pk}") == "missing"
    assert figure(html, "missing-calls") == "1"
    subtree = pipeline.deals_visible_to(manager)
    at_risk = pipeline.deals_at_risk(subtree, start=dt.date(2026, 10, 1), end=dt.date(2026, 12, 31), today=TODAY)
    # Past close date, no next step, quiet 20 days, quiet 40 days; not the healthy one nor next quarter's.
    assert figure(html, "at-risk") == str(at_risk.count) == "4"
    assert f"deals at risk, {money(at_risk.amount)}" in html and money(at_risk.amount) == "110,000.00"
    assert {d.name for d in at_risk.deals} == {"Ann slipped", "Ann no step", "Ann quiet", "Bob secret stale"}
    assert pipeline.stale_by_owner(subtree) == {org.rep_b.pk: 1}
    assert figure(html, f"stale-{org.rep_b.pk}") == "1" and figure(html, "stale-total") == "1"
    assert "2 direct reports" in html


def test_a_manager_sees_only_their_subtree(client_for, company):
    org = company["org"]
    html = home_of(client_for, org.manager_east)
    assert "Cy west deal" not in html and org.rep_c.display_name not in html
    director = home_of(client_for, org.director)
    assert figure(director, "at-risk") == "5"  # the west deal (no next step) is the director's too
    assert "Cy west deal" in director


# --------------------------------------------------------------------------------------------- finance
def test_finance_reads_periods_to_close_with_blockers_totals_and_adjustments(client_for, company):
    org = company["org"]
    html = home_of(client_for, org.finance)
    rows = {r.period.label: r for r in incentives.periods_to_close(today=TODAY)}
    assert set(rows) == {"2026-Q3", "2026-Q4"}
    for label, row in rows.items():
        # The total is what a lock would freeze (payouts after the draw + adjustments).
        assert row.payout_total == incentives.lock_figures(Period.objects.get(label=label)).total
        assert figure(html, f"payout-{label}") == money(row.payout_total)
    # Q3: 5 % of 20,000 + 500 adjusted for rep_a, 1 % of the team's 20,000 for the manager.
    assert figure(html, "payout-2026-Q3") == "1,700.00"
    assert figure(html, "blockers-2026-Q3") == "ready to lock"
    assert figure(html, "blockers-2026-Q4") == "not ended 1 open dispute"
    assert "Spiff paid late" in html and "500.00" in html
    assert 'data-testid="recompute-failed"' not in html


def test_finance_sees_a_failed_or_running_recompute_block_the_periods(client_for, company):
    from incentives.models import CommissionRun

    CommissionRun.objects.create(status=CommissionRun.Status.FAILED, finished_at=NOW, scope={"people": "all"})
    html = home_of(client_for, company["org"].finance)
    assert 'data-testid="recompute-failed"' in html
    assert "recompute failed" in figure(html, "blockers-2026-Q3")
    CommissionRun.objects.create(status=CommissionRun.Status.RUNNING, scope={"since": "2026-10-01"})
    html = home_of(client_for, company["org"].finance)
    assert "recompute running" in figure(html, "blockers-2026-Q4")
    assert "recompute running" not in figure(html, "blockers-2026-Q3")  # the run starts after Q3


# ------------------------------------------------------------------------------------------- sales ops
def test_sales_ops_reads_data_quality_health_imports_and_people_without_pay(client_for, company):
    org = company["org"]
    html = home_of(client_for, org.ops)
    deals = pipeline.deals_visible_to(org.ops)
    assert figure(html, "dq-past-close") == str(pipeline.dq_past_close_date(deals, TODAY).count()) == "1"
    assert figure(html, "dq-missing") == str(pipeline.dq_missing_fields(deals).count()) == "0"
    assert figure(html, "dq-no-activity") == str(pipeline.dq_no_recent_activity(deals).count()) == "1"
    assert figure(html, "health-open") == "7" and figure(html, "health-stale") == "1"
    assert figure(html, "health-commit-count") == "3" and figure(html, "health-commit-amount") == "150,000.00"
    without = incentives.people_without_plan_or_quota(today=TODAY, period_label="2026-Q4")
    # The director, manager_west and rep_c hold no plan; the director and manager_west no quota.
    assert figure(html, "without-plan") == "3" == str(sum(not w.has_plan for w in without))
    assert figure(html, "without-quota") == "2" == str(sum(not w.has_quota for w in without))
    assert "No import yet" in html


# ------------------------------------------------------------------------------------ roles and queries
def test_a_person_without_a_role_reads_a_note(client_for, company):
    nobody = UserFactory.create(username="nobody", is_rep=False)
    html = home_of(client_for, nobody)
    assert "No role yet" in html
    for panel in ("rep", "manager", "finance", "ops"):
        assert f'data-panel="{panel}"' not in html


def test_a_person_with_several_roles_sees_each_roles_panels(client_for, company):
    manager = company["org"].manager_east
    manager.is_rep = manager.is_finance = True
    manager.save()
    html = home_of(client_for, manager)
    for panel in ("rep", "manager", "finance", "org"):
        assert f'data-panel="{panel}"' in html


@pytest.mark.parametrize("who", ["rep_a", "manager_east", "director", "finance", "ops"])
def test_each_home_runs_a_bounded_number_of_queries(client_for, company, django_assert_max_num_queries, who):
    client = client_for(getattr(company["org"], who))
    with django_assert_max_num_queries(25):
        assert client.get(reverse("home")).status_code == 200


def test_formats_for_people():
    assert money(Decimal("1234567.5")) == "1,234,567.50"
    assert percent(Decimal("0.41666")) == "41.7 %"
    assert day(dt.date(2026, 12, 4)) == "4 Dec 2026"
