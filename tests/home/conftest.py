"""A small company seen on a fixed day (Friday 20 November 2026, in the fiscal quarter 2026-Q4 of a
January fiscal year): the org fixture's people with plans, quotas, deals, tasks, a call, a dispute and an
adjustment, and the commission run over it."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

# Heavy modules first: freezegun then only patches the clock, not their import.
import home.panels  # noqa: F401
from forecasting import services as forecasting_services
from incentives import services
from incentives.models import StatementLine
from incentives.recompute import commission_recompute
from pipeline import services as deals
from tests.conftest import Org
from tests.factories import DealFactory, default_stages

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
PLAN = {
    "period": "quarter", "attainment_basis": "period", "clawback_days": 90,
    "components": [{"key": "commission", "type": "tiered_rate", "method": "marginal",
                    "tiers": [{"from": "0", "rate": "0.05"}, {"from": "1.0", "rate": "0.10"}]}],
}  # fmt: skip
MANAGER_PLAN = {
    "period": "quarter", "credit_scope": "team",
    "components": [{"key": "override", "type": "tiered_rate", "method": "retroactive",
                    "tiers": [{"from": "0", "rate": "0.01"}]}],
}  # fmt: skip


def days_ago(n: int) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


@pytest.fixture
def frozen() -> Iterator[None]:
    from freezegun import freeze_time

    with freeze_time(NOW):
        yield


def figure(html: str, testid: str) -> str:
    """The text a reader sees in the element with `data-testid=testid` (tags dropped, spaces collapsed)."""
    found = re.search(rf'<(\w+)[^>]*\bdata-testid="{re.escape(testid)}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no {testid} on the page"
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())


@pytest.fixture
def company(frozen: None, org: Org) -> dict[str, Any]:
    """rep_a: won 45,000 this quarter (of a 100,000 quota) and 20,000 last quarter; four open deals (one past
    its close date, one without a next step, one quiet, one healthy), five tasks; a call in.
    rep_b: won 30,000 this quarter (of 80,000), a stale deal and a disputed statement line; no call.
    rep_c (the other team): a deal manager_east must not see. manager_east: a 180,000 team quota."""
    stages = default_stages()
    ops, fin = org.ops, org.finance
    ae = services.plan_save_version(actor=ops, key="ae", name="AE", definition=PLAN, effective_from=dt.date(2026, 1, 1))
    mgr = services.plan_save_version(
        actor=ops, key="mgr", name="Manager", definition=MANAGER_PLAN, effective_from=dt.date(2026, 1, 1)
    )
    for person, version in ((org.rep_a, ae), (org.rep_b, ae), (org.manager_east, mgr)):
        services.plan_assign(actor=ops, person=person, plan=version.plan, start=dt.date(2026, 1, 1))
    quotas = {org.rep_a: 100000, org.rep_b: 80000, org.rep_c: 90000, org.manager_east: 180000}
    for label in ("2026-Q3", "2026-Q4"):
        period = services.period_get_or_create(label)
        for person, amount in quotas.items():
            services.quota_set(actor=ops, person=person, period=period, amount=amount)

    def deal(owner: Any, name: str, stage: str, amount: str, close: dt.date, **values: Any) -> Any:
        values.setdefault("created_at", days_ago(60))
        values.setdefault("stage_entered_at", days_ago(5))
        values.setdefault("last_activity_at", days_ago(2))
        values.setdefault("next_step", "Call the buyer")
        return DealFactory.create(owner=owner, name=name, stage=stages[stage], amount=Decimal(amount), close_date=close,
                                  **values)  # fmt: skip

    deal(org.rep_a, "Ann won Q4", "Closed Won", "45000", dt.date(2026, 10, 15))
    deal(org.rep_a, "Ann won Q3", "Closed Won", "20000", dt.date(2026, 8, 10))
    slipped = deal(org.rep_a, "Ann slipped", "Negotiation", "30000", dt.date(2026, 11, 10))
    deal(org.rep_a, "Ann no step", "Proposal", "25000", dt.date(2026, 12, 10), next_step="")
    deal(org.rep_a, "Ann quiet", "Discovery", "15000", dt.date(2026, 12, 20), last_activity_at=days_ago(20))
    deal(org.rep_a, "Ann healthy", "Prospecting", "10000", dt.date(2026, 12, 28))
    deal(org.rep_a, "Ann next quarter", "Negotiation", "50000", dt.date(2027, 2, 1))
    deal(org.rep_b, "Bob won Q4", "Closed Won", "30000", dt.date(2026, 11, 2))
    deal(org.rep_b, "Bob secret stale", "Proposal", "40000", dt.date(2026, 12, 5),
         stage_entered_at=days_ago(45), last_activity_at=days_ago(40))  # fmt: skip
    deal(org.rep_c, "Cy west deal", "Negotiation", "70000", dt.date(2026, 12, 1), next_step="")
    for due, done in ((-3, False), (-1, True), (0, False), (2, False), (30, False)):
        deals.activity_create(actor=org.rep_a, kind="task", subject=f"Task {due:+d}", deal=slipped,
                              due_date=TODAY + dt.timedelta(days=due), done=done)  # fmt: skip
    forecasting_services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="45000", best_case="90000")
    commission_recompute()
    line = StatementLine.objects.filter(payout__person=org.rep_b, payout__period__label="2026-Q4").first()
    assert line is not None
    services.dispute_raise(actor=org.rep_b, line=line, text="My deal closed in October")
    q3 = services.period_get_or_create("2026-Q3")
    services.adjustment_create(actor=fin, person=org.rep_a, period=q3, amount="500", reason="Spiff paid late")
    return {"org": org, "stages": stages}
