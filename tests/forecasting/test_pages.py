"""The forecast pages for each role: what they show, who may open or change what (404 outside the scope,
403 for a role that may not), and the query count of the grid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from forecasting import services
from forecasting.models import ForecastAdjustment, ForecastSubmission
from pipeline.models import Deal
from tests.factories import UserFactory
from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.django_db
GRID = "/forecasting/"


def test_manager_grid_shows_own_row_and_one_per_direct_report_with_computed_at(org, q4, client_for):
    page = client_for(org.manager_east).get(GRID, {"period": "2026-Q4"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="grid-row-mgr_east"' in html and 'data-testid="grid-row-rep_a"' in html
    assert 'data-testid="grid-row-rep_b"' in html and "grid-row-rep_c" not in html
    assert "numbers computed" in html
    rows = {r.person.username: r for r in page.context["grid"].rows}
    assert rows["mgr_east"].commit_forecast == Decimal("38000.00")  # closed 18,000 + commit 20,000
    assert rows["rep_a"].best_case_forecast == Decimal("35000.00")
    assert rows["rep_a"].open_pipeline == Decimal("26000.00")


def test_drill_down_one_level_at_a_time_and_scope(org, q4, client_for):
    director = client_for(org.director)
    top = director.get(GRID, {"period": "2026-Q4"})
    managers = sorted([org.manager_east, org.manager_west], key=lambda u: (u.last_name, u.first_name, u.pk))
    assert [r.person for r in top.context["grid"].rows] == [org.director, *managers]
    down = director.get(GRID, {"period": "2026-Q4", "person": org.manager_east.pk})
    assert {r.person.username for r in down.context["grid"].rows} == {"mgr_east", "rep_a", "rep_b"}
    assert client_for(org.manager_east).get(GRID, {"person": org.rep_c.pk}).status_code == 404
    assert client_for(org.rep_a).get(GRID, {"person": org.rep_b.pk}).status_code == 404
    rep = client_for(org.rep_a).get(GRID, {"period": "2026-Q4"})
    assert [r.person.username for r in rep.context["grid"].rows] == ["rep_a"]
    fin = client_for(org.finance).get(GRID, {"period": "2026-Q4"})
    assert fin.context["grid"].person == org.director and not fin.context["may_submit"]


def test_grid_queries_do_not_grow_with_reports(org, q4, client_for):
    services.rollup_refresh(period="2026-Q4")
    client = client_for(org.manager_east)
    with CaptureQueriesContext(connection) as two:
        client.get(GRID, {"period": "2026-Q4"})
    for i in range(5):
        UserFactory.create(username=f"extra{i}", manager=org.manager_east)
    services.rollup_refresh(period="2026-Q4")
    with CaptureQueriesContext(connection) as seven:
        page = client.get(GRID, {"period": "2026-Q4"})
    assert len(page.context["grid"].rows) == 8
    assert len(seven.captured_queries) == len(two.captured_queries)


def test_number_drill_down_lists_its_deals_and_overrides_a_category_inline(org, q4, client_for):
    client = client_for(org.rep_a)
    fragment = client.get("/forecasting/deals/", {"period": "2026-Q4", "person": org.rep_a.pk, "number": "commit"},
                          HTTP_HX_REQUEST="true")  # fmt: skip
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert q4["a_commit"].name in html and q4["a_won"].name in html and q4["a_best"].name not in html
    pipe = q4["a_pipe"]
    row = client.post(f"/forecasting/deals/{pipe.pk}/category/", {"category": "commit"}, HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and "override" in row.content.decode()
    pipe.refresh_from_db()
    assert pipe.category_override == "commit"
    won = q4["a_won"]
    refused = client.post(f"/forecasting/deals/{won.pk}/category/", {"category": "commit"}, HTTP_HX_REQUEST="true")
    assert "Closed" in refused.content.decode()
    assert client_for(org.rep_b).post(f"/forecasting/deals/{pipe.pk}/category/", {"category": ""}).status_code == 404
    assert client_for(org.finance).post(f"/forecasting/deals/{pipe.pk}/category/", {"category": ""}).status_code == 403


def test_rep_submits_and_manager_adjusts_with_history_and_refusals(org, q4, client_for):
    rep = client_for(org.rep_a)
    response = rep.post("/forecasting/calls/", {"period": "2026-Q4", "commit": "30000", "best_case": "36000",
                                                "note": "Negotiation signs in November"})  # fmt: skip
    assert response.status_code == 302
    assert ForecastSubmission.objects.get(person=org.rep_a).commit == Decimal("30000.00")
    closed = rep.post("/forecasting/calls/", {"period": "2026-10", "commit": "1", "best_case": "1"}, follow=True)
    assert "closed" in closed.content.decode() and ForecastSubmission.objects.count() == 1
    assert client_for(org.finance).post("/forecasting/calls/", {"period": "2026-Q4", "commit": "1",
                                                                "best_case": "1"}).status_code == 403  # fmt: skip
    manager = client_for(org.manager_east)
    manager.post(f"/forecasting/people/{org.rep_a.pk}/adjust/", {"period": "2026-Q4", "commit": "26000",
                                                                 "best_case": "33000", "note": "haircut"})  # fmt: skip
    assert ForecastAdjustment.objects.get(person=org.rep_a).manager == org.manager_east
    grid = manager.get(GRID, {"period": "2026-Q4"}).content.decode()
    assert "30,000" in grid and "26,000" in grid  # the rep's call beside the manager's number
    history = manager.get(f"/forecasting/people/{org.rep_a.pk}/history/", {"period": "2026-Q4"}).content.decode()
    assert "Negotiation signs in November" in history and "haircut" in history
    # outside the subtree: 404; a role that may not: 403
    assert manager.post(f"/forecasting/people/{org.rep_c.pk}/adjust/", {"period": "2026-Q4", "commit": "1",
                                                                        "best_case": "1", "note": "x"}).status_code == 404  # fmt: skip
    assert client_for(org.director).post(f"/forecasting/people/{org.rep_a.pk}/adjust/", {
        "period": "2026-Q4", "commit": "1", "best_case": "1", "note": "x"}).status_code == 403  # fmt: skip
    assert client_for(org.rep_b).get(f"/forecasting/people/{org.rep_a.pk}/history/").status_code == 404


def test_trend_waterfall_and_accuracy_pages(org, q4, client_for):
    services.snapshot_take(day=dt.date(2026, 11, 16))
    with freeze_time("2026-11-23 12:00:00"):
        make_deal(org.rep_a, "Prospecting", "2500.00", dt.date(2026, 12, 5), created_date=dt.date(2026, 11, 23))
        services.snapshot_take(day=dt.date(2026, 11, 23))
        client = client_for(org.manager_east)
        trend = client.get("/forecasting/trend/", {"period": "2026-Q4"})
        assert (
            trend.status_code == 200 and len(trend.context["points"]) == 2 and "trend-chart" in trend.content.decode()
        )
        page = client.get("/forecasting/waterfall/", {"period": "2026-Q4"})
        view = page.context["view"]
        assert view.result.movements["created"] == Decimal("2500.00") and view.result.balanced
        assert "waterfall-chart" in page.content.decode()
        deals = client.get("/forecasting/waterfall/deals/", {"period": "2026-Q4", "movement": "created",
                                                             "from": "2026-11-16", "to": "2026-11-23"})  # fmt: skip
        assert "2,500.00" in deals.content.decode()
        accuracy = client.get("/forecasting/accuracy/", {"kind": "month"})
        assert accuracy.status_code == 200 and accuracy.context["rows"][0].person == org.manager_east
        assert len(accuracy.context["rows"][0].periods) == 6
        year = client.get("/forecasting/accuracy/", {"kind": "month", "periods": "24"})
        assert [p.label for p in year.context["rows"][0].periods][:2] == ["2024-11", "2024-12"]
        assert '<option value="24" selected>Last 24</option>' in year.content.decode()
        assert client.get("/forecasting/waterfall/", {"person": org.rep_c.pk}).status_code == 404
        assert client.get(GRID, {"period": "2026-Q9"}).status_code == 400


def test_the_waterfall_names_no_deal_handed_to_another_team(org, q4, client_for):
    """A deal rep_a handed to rep_c (West) counts as pushed out of East's waterfall; East's manager sees its
    amount in the list, not its name, owner or stage (the deal page answers them 404)."""
    deal = make_deal(org.rep_a, "Proposal", "4200.00", dt.date(2026, 12, 1), name="Handover Ltd renewal")
    services.snapshot_take(day=dt.date(2026, 11, 16))
    Deal.objects.filter(pk=deal.pk).update(owner=org.rep_c)
    services.snapshot_take(day=dt.date(2026, 11, 23))
    client = client_for(org.manager_east)
    assert client.get(f"/pipeline/deals/{deal.pk}/").status_code == 404
    page = client.get("/forecasting/waterfall/", {"period": "2026-Q4", "from": "2026-11-16", "to": "2026-11-23"})
    assert page.context["view"].result.movements["pushed"] == Decimal("-4200.00")
    listed = client.get("/forecasting/waterfall/deals/", {"period": "2026-Q4", "movement": "pushed",
                                                          "from": "2026-11-16", "to": "2026-11-23"}).content.decode()  # fmt: skip
    assert "4,200.00" in listed and "a deal now outside your view" in listed, listed
    assert "Handover" not in listed and org.rep_c.display_name not in listed and "Proposal" not in listed
    west = client_for(org.manager_west).get("/forecasting/waterfall/deals/", {
        "period": "2026-Q4", "movement": "pulled_in", "from": "2026-11-16", "to": "2026-11-23"}).content.decode()  # fmt: skip
    assert "Handover Ltd renewal" in west  # its new team sees it by name


def test_listener_queues_a_refresh_after_a_deal_change(org, q4, monkeypatch, django_capture_on_commit_callbacks):
    from forecasting import tasks
    from pipeline import services as deals

    queued = []
    monkeypatch.setattr(tasks.refresh_rollups, "apply_async", lambda *a, **k: queued.append(k))
    from django.core.cache import cache

    cache.delete(tasks.PENDING_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_update(actor=None, deal=Deal.objects.get(pk=q4["a_pipe"].pk), amount=Decimal("1500"))
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_update(actor=None, deal=Deal.objects.get(pk=q4["a_pipe"].pk), amount=Decimal("1600"))
    assert len(queued) == 1 and queued[0]["queue"] == "recompute"  # the second change found one pending
    tasks.refresh_rollups.run()  # what the worker does
    from forecasting.models import Rollup

    assert Rollup.objects.get(person=org.rep_a, period="2026-Q4").pipeline == Decimal("1600.00")


def test_the_trend_shows_the_best_case_call_and_the_time_series_interval(org, q4, client_for, api_client_for):
    """The trend left out the best-case call and the time series' interval, which every snapshot keeps."""
    from forecasting.models import RollupSnapshot

    services.snapshot_take(day=dt.date(2026, 11, 16))
    # What a night with a call and a time-series forecast stored (the numbers themselves are tested elsewhere).
    RollupSnapshot.objects.filter(person_id=org.manager_east.pk, period="2026-Q4").update(
        call_best_case=Decimal("52500.00"),
        ts_point=Decimal("45000.00"),
        ts_low=Decimal("38250.50"),
        ts_high=Decimal("51750.00"),
    )
    with freeze_time("2026-11-17 12:00:00"):
        page = client_for(org.manager_east).get("/forecasting/trend/", {"period": "2026-Q4"}).content.decode()
        api = api_client_for(org.manager_east).get("/api/v1/forecasting/trend/", {"period": "2026-Q4"}).json()
    assert "Called (best case)" in page and "52,500" in page
    assert "45,000" in page and "38,251 – 51,750" in page and "Time series 80 % interval" in page
    assert (api[-1]["call_best_case"], api[-1]["ts_low"], api[-1]["ts_high"]) == ("52500.00", "38250.50", "51750.00")
