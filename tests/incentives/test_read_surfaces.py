"""What an audit of the incentives read surfaces found: a next-band hint past the cap, a Draw column whose total was
not the sum of its cells, quota totals of rounded cells, a payroll export of an unknown period answering another
period's file, team pay missing older periods, paid-so-far counting quarters not begun, and 500s on '²'."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

from incentives import services
from incentives.models import Payout
from incentives.recompute import commission_recompute
from pipeline.models import Deal
from tests.factories import ManagerFactory, UserFactory, default_stages

pytestmark = pytest.mark.django_db
API = "/api/v1/incentives"

CAPPED = {
    "period": "quarter",
    "components": [
        {
            "key": "commission",
            "type": "tiered_rate",
            "method": "marginal",
            "cap_attainment": "1.2",
            "tiers": [{"from": "0", "rate": "0.05"}, {"from": "1.5", "rate": "0.10"}],
        }
    ],
}
DRAW = {
    "period": "quarter",
    "components": [{"key": "commission", "type": "tiered_rate", "tiers": [{"from": "0", "rate": "0.10"}]}],
    "draw": {"amount": "3000", "recoverable": True},
}
PLAIN = {
    "period": "quarter",
    "components": [{"key": "commission", "type": "tiered_rate", "tiers": [{"from": "0", "rate": "0.10"}]}],
}


@pytest.fixture
def world(db):
    ops = UserFactory.create(username="ops9", is_rep=False, is_sales_ops=True)
    fin = UserFactory.create(username="fin9", is_rep=False, is_finance=True)
    boss = ManagerFactory.create(username="boss")
    cap = UserFactory.create(username="cap", manager=boss, first_name="Cap", last_name="Aa")
    dee = UserFactory.create(username="dee", manager=boss, first_name="Dee", last_name="Bb")
    pia = UserFactory.create(username="pia", manager=boss, first_name="Pia", last_name="Cc")
    plans = {}
    for key, d in (("capped", CAPPED), ("drawplan", DRAW), ("plain", PLAIN)):
        plans[key] = services.plan_save_version(
            actor=ops, key=key, name=key, definition=d, effective_from=dt.date(2025, 1, 1)
        ).plan
    for person, key in ((cap, "capped"), (dee, "drawplan"), (pia, "plain")):
        services.plan_assign(actor=ops, person=person, plan=plans[key], start=dt.date(2025, 1, 1))
    period = services.period_get_or_create("2025-Q1")
    for person, amount in ((cap, "100000"), (dee, "50000.50"), (pia, "50000.50")):
        services.quota_set(actor=ops, person=person, period=period, amount=Decimal(amount))
    stages = default_stages()
    for owner, amount in ((cap, "130000"), (dee, "10000"), (pia, "40000")):
        Deal.objects.create(
            name=f"{owner.username}",
            owner=owner,
            pipeline=stages["Closed Won"].pipeline,
            stage=stages["Closed Won"],
            status="won",
            amount=Decimal(amount),
            close_date=dt.date(2025, 2, 10),
        )
    commission_recompute()
    return {"ops": ops, "fin": fin, "boss": boss, "cap": cap, "dee": dee, "pia": pia}


def cell(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}">')[1].split("<")[0]


def test_no_next_band_above_the_cap(client_for, world):
    payout = Payout.objects.get(person=world["cap"], period__label="2025-Q1")
    # 130,000 credited on a 100,000 quota, cap 1.2: credits above 120,000 earn nothing, the 1.5 band is never reached
    assert payout.earned == Decimal("6000.00"), payout.earned  # 120,000 × 5 %
    html = client_for(world["cap"]).get(reverse("incentives:statement", args=[payout.pk])).content.decode()
    assert "more credit reaches the" not in html


def test_the_register_draw_column_totals_its_cells(client_for, api_client_for, world):
    html = client_for(world["fin"]).get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    body = html.split('data-testid="register"')[1].split("<tbody>")[1].split("</tbody>")[0]
    shown = []
    for row in body.split("<tr>")[1:]:
        tds = row.split('<td class="num">')
        # columns: quota, attainment, earned, draw, adjustments, payout
        shown.append(tds[4].split("</td>")[0])
    visible = sum((Decimal(s.replace(",", "")) for s in shown if s.strip()), Decimal(0))
    assert Decimal(cell(html, "rows-draw").replace(",", "")) == visible == Decimal("2000.00")  # Dee's draw top-up
    # The API says the same of Dee's statement.
    payout = Payout.objects.get(person=world["dee"], period__label="2025-Q1")
    assert api_client_for(world["fin"]).get(f"{API}/payouts/{payout.pk}/").json()["draw"] == "2000.00"


def test_quota_total_row_matches_the_shown_quotas(client_for, world):
    html = client_for(world["fin"]).get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    body = html.split('data-testid="register"')[1].split("<tbody>")[1].split("</tbody>")[0]
    shown = [row.split('<td class="num">')[1].split("</td>")[0] for row in body.split("<tr>")[1:]]
    assert Decimal(cell(html, "rows-quota").replace(",", "")) == sum(Decimal(s.replace(",", "")) for s in shown)


def test_a_payroll_export_of_an_unknown_period_is_404(client_for, world):
    services.period_get_or_create("2025-Q2")
    r = client_for(world["fin"]).get(reverse("incentives:register"), {"period": "2031-Q4", "export": "csv"})
    assert r.status_code == 404


def test_estimator_page_with_a_unicode_digit(client_for, world):
    r = client_for(world["pia"]).post(reverse("incentives:estimator"), {"deal": ["²"]})
    assert r.status_code == 200


def test_plan_export_api_with_a_unicode_digit_version(api_client_for, world):
    r = api_client_for(world["pia"]).get(f"{API}/plans/plain/export/", {"version": "²"})
    assert r.status_code == 400


MONTHLY = {
    "period": "month",
    "components": [{"key": "commission", "type": "tiered_rate", "tiers": [{"from": "0", "rate": "0.10"}]}],
}


def test_team_pay_shows_the_teams_periods_whatever_other_teams_have(client_for, example):
    ops = example["ops"]
    other = UserFactory.create(username="monthly_rep")  # not in mia's subtree
    plan = services.plan_save_version(
        actor=ops, key="monthly", name="Monthly", definition=MONTHLY, effective_from=dt.date(2025, 1, 1)
    ).plan
    services.plan_assign(actor=ops, person=other, plan=plan, start=dt.date(2025, 1, 1))
    for month in range(1, 13):
        services.quota_set(
            actor=ops, person=other, period=services.period_get_or_create(f"2025-{month:02d}"), amount=1000
        )
    commission_recompute()
    assert Payout.objects.filter(person=example["ann"], period__label="2025-Q1").exists()
    html = client_for(example["mia"]).get(reverse("incentives:team"), {"period": "2025-Q1"}).content.decode()
    assert "No payouts for this period" not in html
    assert 'href="/incentives/statements/' in html
    # The menu lists the periods of the payouts mia may see (her team's quarters), not the other rep's months.
    menu = client_for(example["mia"]).get(reverse("incentives:team")).content.decode().split('name="period"')[1]
    menu = menu.split("</select>")[0]
    assert 'value="2025-Q1"' in menu and 'value="2025-12"' not in menu


def test_paid_so_far_counts_the_quarters_begun(client_for, db):
    ops = UserFactory.create(username="ops9", is_rep=False, is_sales_ops=True)
    dee = UserFactory.create(username="dee")
    plan = services.plan_save_version(
        actor=ops, key="drawplan", name="Draw", definition=DRAW, effective_from=dt.date(2025, 1, 1)
    ).plan
    services.plan_assign(actor=ops, person=dee, plan=plan, start=dt.date(2025, 1, 1))
    for q in (1, 2, 3, 4):
        services.quota_set(actor=ops, person=dee, period=services.period_get_or_create(f"2025-Q{q}"), amount=50000)
    stages = default_stages()
    Deal.objects.create(
        name="d",
        owner=dee,
        pipeline=stages["Closed Won"].pipeline,
        stage=stages["Closed Won"],
        status="won",
        amount=Decimal(10000),
        close_date=dt.date(2025, 2, 10),
    )
    client_for(dee).get(reverse("incentives:my_attainment"))  # load URLs/modules before freezing
    with freeze_time("2025-02-15"):
        commission_recompute()
        html = client_for(dee).get(reverse("incentives:my_attainment")).content.decode()
    paid = html.split('data-testid="paid-to-date">', 1)[1].split("<", 1)[0]
    assert paid == "3,000.00"  # only Q1 has begun
