"""GET /api/v1/home/ answers the home page's numbers, with the page's scope (roles.md), on the fixed day of
tests/home/conftest.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from incentives import selectors as incentives
from incentives.models import Period
from salesops.org import selectors as org_selectors
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db

HOME = "/api/v1/home/"


def home_of(api_client_for, user) -> dict:
    answer = api_client_for(user).get(HOME)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_rep_reads_their_quarter_pay_pipeline_and_next_actions(api_client_for, company):
    org = company["org"]
    body = home_of(api_client_for, org.rep_a)
    assert (body["day"], body["quarter"], body["fiscal_year"]) == ("2026-11-20", "2026-Q4", 2026)
    assert body["person"] == {"id": org.rep_a.pk, "name": org.rep_a.display_name}
    assert body["manager"] is None and body["finance"] is None and body["ops"] is None and body["org_counts"] is None
    rep = body["rep"]
    # 45,000 won this quarter against a 100,000 quota; paid in fiscal 2026 so far 3,750.00 (as the page says).
    assert rep["attainment"] == {"quota": "100000.00", "achieved": "45000.00", "attainment": "0.4500"}
    assert rep["paid_to_date"] == "3750.00"
    statement = incentives.payout_of(org.rep_a, org.rep_a.pk, "2026-Q4")
    assert statement is not None and rep["statement"]["id"] == statement.pk and rep["statement"]["period"] == "2026-Q4"
    assert rep["forecast"] == {"closed": "45000.00", "commit": "30000.00", "best_case": "40000.00",
                               "pipeline": "10000.00"}  # fmt: skip
    assert (rep["open_deals"]["count"], rep["open_deals"]["past_close_date"], rep["open_deals"]["no_next_step"]) == (
        5, 1, 1)  # fmt: skip
    assert (rep["tasks"]["overdue"], rep["tasks"]["due_soon"]) == (1, 2)
    assert {t["due_date"] for t in rep["tasks"]["tasks"]} >= {"2026-11-17"}
    assert rep["call"] is not None and rep["dispute_answers"] == []


def test_a_rep_reads_finances_answer_to_their_dispute(api_client_for, company):
    from incentives import services
    from incentives.models import Dispute

    org = company["org"]
    dispute = Dispute.objects.get(raised_by=org.rep_b)
    services.dispute_resolve(actor=org.finance, dispute=dispute, accept=True, resolution="Order form confirms it",
                             amount="250", period=Period.objects.get(label="2026-Q4"))  # fmt: skip
    [answer] = home_of(api_client_for, org.rep_b)["rep"]["dispute_answers"]
    assert (answer["status"], answer["amount"], answer["landed_period"]) == ("accepted", "250.00", "2026-Q4")
    assert answer["resolution"] == "Order form confirms it" and answer["resolved_by"] == org.finance.display_name
    assert home_of(api_client_for, org.rep_a)["rep"]["dispute_answers"] == []  # someone else's answer


def test_a_rep_never_reads_a_teammates_deals_or_pay(api_client_for, company):
    org = company["org"]
    text = api_client_for(org.rep_a).get(HOME).content.decode()
    for secret in ("Bob secret stale", "Bob won Q4", "Cy west deal", "0.3750"):  # names, rep_b's attainment
        assert secret not in text


def test_a_manager_reads_their_team_and_only_their_subtree(api_client_for, company):
    org = company["org"]
    body = home_of(api_client_for, org.manager_east)
    manager = body["manager"]
    assert manager["team"] == {"quota": "180000.00", "achieved": "75000.00", "attainment": "0.4167"}
    rows = {row["person"]["id"]: row for row in manager["rows"]}
    assert set(rows) == {org.rep_a.pk, org.rep_b.pk}
    assert (rows[org.rep_a.pk]["call_in"], rows[org.rep_b.pk]["call_in"]) == (True, False)
    assert [p["id"] for p in manager["missing_calls"]] == [org.rep_b.pk]
    assert (manager["at_risk"]["count"], manager["at_risk"]["amount"]) == (4, "110000.00")
    assert {d["name"] for d in manager["at_risk"]["deals"]} == {"Ann slipped", "Ann no step", "Ann quiet",
                                                                 "Bob secret stale"}  # fmt: skip
    assert [(s["person"]["id"], s["stale"]) for s in manager["stale"]] == [(org.rep_b.pk, 1)]
    assert manager["subtree_size"] == 2 and body["rep"] is None
    assert "Cy west deal" not in str(body) and org.rep_c.display_name not in str(body)
    assert home_of(api_client_for, org.director)["manager"]["at_risk"]["count"] == 5


def test_finance_reads_periods_to_close_and_the_organisation(api_client_for, company):
    org = company["org"]
    body = home_of(api_client_for, org.finance)
    periods = {row["period"]: row for row in body["finance"]["periods"]}
    assert set(periods) == {"2026-Q3", "2026-Q4"}
    assert periods["2026-Q3"]["payout_total"] == "1700.00" and periods["2026-Q3"]["ready"] is True
    q4 = periods["2026-Q4"]
    assert (q4["ended"], q4["open_disputes"], q4["ready"]) == (False, 1, False)
    for label, row in periods.items():
        assert Decimal(row["payout_total"]) == incentives.lock_figures(Period.objects.get(label=label)).total
    assert body["finance"]["recompute"] == {"running": None, "failed": None}
    assert any(a["reason"] == "Spiff paid late" and a["amount"] == "500.00" for a in body["finance"]["adjustments"])
    assert body["org_counts"]["active"] >= 8 and body["ops"] is None and body["rep"] is None
    regions = {r["name"]: r["active_people"] for r in body["regions"]}
    assert regions == {r.name: getattr(r, "active_people") for r in org_selectors.regions_with_people()}  # noqa: B009
    assert regions["East"] >= 3
    assert home_of(api_client_for, org.rep_a)["regions"] == []


def test_a_pipeline_past_a_trillion_is_answered(api_client_for, company):
    """The company's open pipeline adds up every open deal, each up to 14 digits: past 10^14 it is answered
    (it was a 500), as the page shows it."""
    DealFactory.create_batch(101, owner=company["org"].rep_a, amount=Decimal("999999999999.99"), name="Huge")
    health = home_of(api_client_for, company["org"].ops)["ops"]["health"]
    assert Decimal(health["amount"]) > Decimal("100999999999999")  # 15 digits before the point


def test_sales_ops_reads_health_and_people_without_pay(api_client_for, company):
    org = company["org"]
    ops = home_of(api_client_for, org.ops)["ops"]
    assert (ops["health"]["count"], ops["health"]["stale"], ops["health"]["past_close_date"]) == (7, 1, 1)
    commit = next(c for c in ops["health"]["categories"] if c["category"] == "commit")
    assert (commit["count"], commit["amount"]) == (3, "150000.00")
    assert len(ops["without_plan"]) == 3 and len(ops["without_quota"]) == 2
    assert ops["imports"] == []


def test_no_role_opens_no_panel_and_anonymous_is_refused(api_client_for, client, company):
    body = home_of(api_client_for, UserFactory.create(username="nobody", is_rep=False))
    assert [body[k] for k in ("rep", "manager", "finance", "ops", "org_counts")] == [None] * 5
    assert client.get(HOME).status_code in (401, 403)
