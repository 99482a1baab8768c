"""forecasting.md: a rollup is over the deals credited to the person's subtree. A deal with revenue splits counts
each person's share (overlays credit nobody here), so a split deal adds up to its amount once above both teams,
and the deals behind a number list it for each team, in full where the viewer may open it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forecasting import demo, selectors, services
from forecasting.models import Rollup
from pipeline import services as deals
from tests.forecasting.conftest import make_deal

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def split(org, q4):
    """rep_a's October win of 10,000: 60 % rep_a (East), 40 % rep_c (West), and a 25 % overlay to rep_b."""
    deals.deal_set_splits(actor=org.ops, deal=q4["a_won"], splits=[
        deals.SplitSpec(org.rep_a, D(60)), deals.SplitSpec(org.rep_c, D(40)),
        deals.SplitSpec(org.rep_b, D(25), True)])  # fmt: skip
    services.rollup_refresh(period="2026-Q4")
    return q4["a_won"]


def _closed() -> dict[str, Decimal]:
    return {r.person.username: r.closed for r in Rollup.objects.filter(period="2026-Q4").select_related("person")}


def test_a_split_deal_counts_each_share_and_its_amount_once_above_both(org, split):
    closed = _closed()
    assert (closed["rep_a"], closed["rep_c"], closed["rep_b"]) == (D("6000.00"), D("4000.00"), D("7000.00"))
    assert closed["mgr_east"] == D("14000.00")  # rep_a 6,000 + rep_b 7,000 (no overlay) + own 1,000
    assert closed["mgr_west"] == D("4000.00")
    assert closed["director"] == D("18000.00")  # the whole deal once
    assert selectors.own_numbers("2026-Q4", [org.rep_c.pk]).closed == D("4000.00")


def test_the_deals_behind_a_number_show_a_credit_outside_the_view_as_credit_only(
    org, split, client_for, api_client_for
):
    west = selectors.deals_for_number(org.manager_west, org.manager_west, "2026-Q4", "closed")
    assert west.deals == [] and [(c.pk, c.credit) for c in west.credit_only] == [(split.pk, D("4000.00"))]
    top = selectors.deals_for_number(org.director, org.director, "2026-Q4", "closed")
    shares = {d.pk: (d.share, d.credit) for d in top.deals}
    assert shares[split.pk] == (D("100.00"), D("10000.00")) and top.credit_only == []
    east = selectors.deals_for_number(org.manager_east, org.manager_east, "2026-Q4", "closed")
    assert {d.pk: d.credit for d in east.deals}[split.pk] == D("6000.00")

    page = client_for(org.manager_west).get("/forecasting/deals/", {"period": "2026-Q4", "number": "closed"})
    html = page.content.decode()
    assert page.status_code == 200 and "credit only" in html and "4,000" in html
    assert org.rep_a.display_name not in html and f"/pipeline/deals/{split.pk}/" not in html
    api = api_client_for(org.manager_west).get("/api/v1/forecasting/deals/", {"period": "2026-Q4", "number": "closed"})
    assert api.json()["count"] == 1
    assert api.json()["results"] == [{"id": split.pk, "name": split.name, "owner": None, "stage": None,
                                      "status": "won", "category": None, "amount": None, "share": None,
                                      "credit": "4000.00", "close_date": None}]  # fmt: skip
    east_page = client_for(org.manager_east).get("/forecasting/deals/", {"period": "2026-Q4", "number": "closed"})
    assert "6,000" in east_page.content.decode() and "(60 %)" in east_page.content.decode()


def test_accuracy_actuals_count_credits(org, split):
    actual = selectors.actual_bookings(
        selectors.period_span("2026-10"), selectors.subtree_of(selectors.tree(), org.director.pk)
    )
    assert (actual[org.rep_a.pk], actual[org.rep_c.pk], actual[org.director.pk]) == (D("6000"), D("4000"), D("10000"))


def test_the_demo_reconstruction_credits_as_the_live_rollup_does(org, split):
    """The demo's backdated rollups group reconstructed deals as `own_groups` groups live ones."""
    make_deal(org.rep_c, "Proposal", "2000.00", dt.date(2026, 12, 15))
    span = selectors.period_span("2026-Q4")
    states = demo._history(dt.date(2026, 11, 30))
    latest = states[max(states)]
    rebuilt = selectors.own_from_groups(demo._groups(latest, selectors.pipeline_selectors.stages_by_id(), span,
                                                     demo._split_credits()), selectors.win_rates())  # fmt: skip
    assert rebuilt[org.rep_a.pk].closed == D("6000") and rebuilt[org.rep_c.pk].closed == D("4000")


def test_a_category_change_in_the_list_keeps_the_share_credited_here_looked_up_again(org, q4, client_for):
    """The row sent back after a category change shows the share of the list's person, computed on the server:
    a share posted with the change is ignored, and a person outside the viewer's scope is a 404 with nothing saved."""
    open_deal = q4["a_best"]  # rep_a's 5,000 in Proposal, 60 % East and 40 % West
    deals.deal_set_splits(actor=org.ops, deal=open_deal, splits=[
        deals.SplitSpec(org.rep_a, D(60)), deals.SplitSpec(org.rep_c, D(40))])  # fmt: skip
    client = client_for(org.manager_east)
    listed = client.get("/forecasting/deals/", {"period": "2026-Q4", "number": "best_case"}).content.decode()
    assert f'"person": "{org.manager_east.pk}", "period": "2026-Q4"' in listed
    url = f"/forecasting/deals/{open_deal.pk}/category/"
    row = client.post(url, {"category": "commit", "person": org.manager_east.pk, "period": "2026-Q4", "share": "100"},
                      HTTP_HX_REQUEST="true")  # fmt: skip
    html = row.content.decode()
    assert row.status_code == 200 and "3,000" in html and "(60 %)" in html
    open_deal.refresh_from_db()
    assert open_deal.category_override == "commit"

    outside = client.post(url, {"category": "pipeline", "person": org.manager_west.pk, "period": "2026-Q4"},
                          HTTP_HX_REQUEST="true")  # fmt: skip
    open_deal.refresh_from_db()
    assert outside.status_code == 404 and open_deal.category_override == "commit"
