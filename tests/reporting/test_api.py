"""The reporting API: the same numbers, filters and scope as the pages and `kpi_report`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

Q1 = {"period": "2026-Q1"}


def test_kpis_endpoint_equals_the_command_for_the_same_filters(book, api_client_for):
    out = io.StringIO()
    call_command(
        "kpi_report", "--from", "2026-01-01", "--to", "2026-03-31", "--by", "region", "--no-refresh", stdout=out
    )
    command = json.loads(out.getvalue())
    api = api_client_for(book.org.ops).get("/api/v1/reporting/kpis/", {**Q1, "by": "region"}).json()
    assert api == command
    assert {r["group"]: r["bookings"] for r in api} == {"East": "45000.00", "West": "20000.00"}
    east = next(r for r in api if r["group"] == "East")
    assert (east["won_count"], east["lost_count"], east["avg_deal_size"]) == (3, 3, "15000.00")


def test_dashboard_numbers_equal_the_report(book, api_client_for):
    client = api_client_for(book.org.manager_east)
    board = client.get("/api/v1/reporting/dashboards/manager/", Q1).json()
    headline = {s["key"]: s["value"] for s in board["panels"][0]["stats"]}
    report = client.get("/api/v1/reporting/kpis/", Q1).json()[0]
    assert headline["bookings"] == report["bookings"] == "45000.00"
    assert headline["win_rate"] == pytest.approx(report["win_rate"])
    assert headline["avg_deal_size"] == report["avg_deal_size"]
    assert board["as_of"] is not None
    leaderboard = next(p for p in board["panels"] if p["key"] == "leaderboard")
    assert sorted(row[2] for row in leaderboard["rows"]) == ["20000.00", "25000.00"]


def test_scope_and_permissions(book, api_client_for):
    rep = api_client_for(book.org.rep_a)
    assert rep.get("/api/v1/reporting/kpis/", Q1).json()[0]["bookings"] == "25000.00"  # own credit only
    assert rep.get("/api/v1/reporting/dashboards/manager/", Q1).status_code == 403
    assert rep.get("/api/v1/reporting/dashboards/nope/", Q1).status_code == 404
    assert rep.get("/api/v1/reporting/kpis/", {**Q1, "person": book.org.rep_c.pk}).status_code == 404
    assert rep.get("/api/v1/reporting/kpis/", {**Q1, "by": "nonsense"}).status_code == 400


def test_deals_behind_a_number(book, api_client_for):
    client = api_client_for(book.org.ops)
    page = client.get("/api/v1/reporting/deals/", {**Q1, "measure": "won", "region": book.org.rep_c.region_id}).json()
    assert page["count"] == 1 and page["amount"] == "5000.00"
    assert page["results"][0]["deal"] == book.deals["C1"].name
    slipped = client.get("/api/v1/reporting/deals/", {**Q1, "measure": "slipped"}).json()
    assert [r["deal_id"] for r in slipped["results"]] == [book.deals["A4"].pk]


def test_a_credit_on_a_deal_owned_outside_the_view_shows_what_the_statement_shows(book, api_client_for, client_for):
    """roles.md: a split holder sees their credit, not the deal. rep_c (West) holds half of A2, rep_a's deal in
    East: rep_c's bookings list A2's name and the 15,000 credit, not its owner, account, stage or amount."""
    o, a2 = book.org, book.deals["A2"]
    owner = o.rep_a.display_name
    for viewer in (o.rep_c, o.manager_west):
        rows = api_client_for(viewer).get("/api/v1/reporting/deals/", {**Q1, "measure": "bookings",
                                                                       "person": o.rep_c.pk}).json()["results"]  # fmt: skip
        row = next(r for r in rows if r["deal_id"] == a2.pk)
        assert (row["deal"], row["credit"], row["credited_person"]) == (a2.name, "15000.00", o.rep_c.display_name)
        assert (row["owner"], row["account"], row["stage"], row["amount"], row["product"]) == (None,) * 5
        own = next(r for r in rows if r["deal_id"] == book.deals["C1"].pk)  # rep_c's own deal: in full
        assert (own["owner"], own["amount"], own["stage"]) == (o.rep_c.display_name, "5000.00", "Closed Won")
        page = client_for(viewer).get("/reporting/deals/", {**Q1, "measure": "bookings", "person": o.rep_c.pk})
        html = page.content.decode()
        assert page.status_code == 200 and a2.name in html and "credit only" in html and owner not in html
        assert f"/pipeline/deals/{a2.pk}/" not in html and f"/pipeline/deals/{book.deals['C1'].pk}/" in html
    export = client_for(o.manager_west).get("/reporting/deals/", {**Q1, "measure": "bookings", "export": "csv"})
    body = b"".join(export.streaming_content).decode() if export.streaming else export.content.decode()
    assert a2.name in body and owner not in body and "30000" not in body
    # Inside the owner's scope the same credit comes with the whole deal.
    east = api_client_for(o.manager_east).get("/api/v1/reporting/deals/", {**Q1, "measure": "bookings"}).json()
    row = next(r for r in east["results"] if r["deal_id"] == a2.pk)
    assert (row["owner"], row["amount"]) == (owner, "30000.00")
