"""The forecasting API holds the same rules as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from forecasting import services
from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.django_db
API = "/api/v1/forecasting"


def test_grid_and_deals(org, q4, api_client_for):
    body = api_client_for(org.manager_east).get(f"{API}/grid/", {"period": "2026-Q4"}).json()
    rows = {r["name"]: r for r in body["rows"]}
    east = rows[org.manager_east.display_name]
    assert (east["closed"], east["commit"], east["pipeline"]) == ("18000.00", "38000.00", "29000.00")
    assert body["computed_at"] and len(rows) == 3
    deals = api_client_for(org.rep_a).get(f"{API}/deals/", {"period": "2026-Q4", "number": "closed"}).json()
    assert [d["amount"] for d in deals["results"]] == ["10000.00"]
    assert api_client_for(org.rep_a).get(f"{API}/grid/", {"person": org.rep_b.pk}).status_code == 404
    assert api_client_for(org.finance).get(f"{API}/grid/", {"person": org.rep_c.pk}).status_code == 200


def test_calls_and_adjustments_with_the_role_rules(org, q4, api_client_for):
    rep = api_client_for(org.rep_a)
    made = rep.post(f"{API}/calls/", {"period": "2026-Q4", "commit": "30000", "best_case": "35000", "note": "n"})
    assert made.status_code == 201 and made.json()["person"] == org.rep_a.pk
    closed = rep.post(f"{API}/calls/", {"period": "2026-10", "commit": "1", "best_case": "1"})
    assert closed.status_code == 400 and closed.json()["code"] == "period_closed"
    assert api_client_for(org.ops).post(f"{API}/calls/", {"period": "2026-Q4", "commit": "1",
                                                          "best_case": "1"}).status_code == 403  # fmt: skip
    manager = api_client_for(org.manager_east)
    adjusted = manager.post(f"{API}/adjustments/", {"person": org.rep_a.pk, "period": "2026-Q4", "commit": "25000",
                                                    "best_case": "30000", "note": "haircut"})  # fmt: skip
    assert adjusted.status_code == 201
    assert manager.post(f"{API}/adjustments/", {"person": org.rep_c.pk, "period": "2026-Q4", "commit": "1",
                                                "best_case": "1", "note": "x"}).status_code == 404  # fmt: skip
    assert api_client_for(org.director).post(f"{API}/adjustments/", {
        "person": org.rep_a.pk, "period": "2026-Q4", "commit": "1", "best_case": "1", "note": "x"}).status_code == 403  # fmt: skip
    grid = manager.get(f"{API}/grid/", {"period": "2026-Q4"}).json()
    a = next(r for r in grid["rows"] if r["person"] == org.rep_a.pk)
    assert a["call"]["commit"] == "30000.00" and a["manager_adjustment"]["commit"] == "25000.00"
    history = manager.get(f"{API}/calls/", {"period": "2026-Q4", "person": org.rep_a.pk}).json()
    assert [c["note"] for c in history] == ["n"]
    assert api_client_for(org.rep_b).get(f"{API}/calls/", {"person": org.rep_a.pk}).status_code == 404


def test_trend_waterfall_and_accuracy(org, q4, api_client_for):
    services.snapshot_take(day=dt.date(2026, 11, 16))
    with freeze_time("2026-11-20 12:00:00"):
        make_deal(org.rep_b, "Prospecting", "100.10", dt.date(2026, 12, 5), created_date=dt.date(2026, 11, 20))
        services.snapshot_take(day=dt.date(2026, 11, 20))
        client = api_client_for(org.manager_east)
        trend = client.get(f"{API}/trend/", {"period": "2026-Q4"}).json()
        assert [p["closed"] for p in trend] == ["18000.00", "18000.00"]
        w = client.get(f"{API}/waterfall/", {"period": "2026-Q4"}).json()
        assert w["movements"]["created"] == "100.10" and w["balanced"]
        assert Decimal(w["start"]) + sum(Decimal(v) for v in w["movements"].values()) == Decimal(w["end"])
        acc = client.get(f"{API}/accuracy/", {"kind": "quarter"}).json()
        assert acc[0]["person"] == org.manager_east.pk and len(acc[0]["periods"]) == 4
        longer = client.get(f"{API}/accuracy/", {"kind": "quarter", "periods": 8}).json()
        assert [p["period"] for p in longer[0]["periods"]][-4:] == [p["period"] for p in acc[0]["periods"]]
        assert len(longer[0]["periods"]) == 8 and longer[0]["periods"][0]["period"] == "2024-Q4"
        refused = client.get(f"{API}/accuracy/", {"kind": "month", "periods": 8})
        assert refused.status_code == 400 and "6 or 12 or 24" in refused.content.decode()
        assert client.get(f"{API}/accuracy/", {"kind": "month", "periods": "9" * 5000}).status_code == 400
        assert client.get(f"{API}/waterfall/", {"from": "2026-11-20", "to": "2026-11-16"}).status_code == 400


def test_a_person_that_is_not_an_id_is_refused_naming_it(org, q4, api_client_for):
    """int() read `?person=0_<id>` and `?person=+<id>` as that person (another spelling than any id), and
    `?person=<id>.5` answered "No such person": each is a 400 naming the parameter on every read that takes it;
    a person out of scope stays a 404."""
    manager, pk = api_client_for(org.manager_east), org.rep_a.pk
    assert manager.get(f"{API}/grid/", {"period": "2026-Q4", "person": pk}).status_code == 200
    for bad in (f"0_{pk}", f"+{pk}", f" {pk}", f"{pk}.5", f"{pk}.0", "²"):
        for url in ("grid", "deals", "calls", "adjustments", "trend", "waterfall", "accuracy"):
            response = manager.get(f"{API}/{url}/", {"period": "2026-Q4", "person": bad})
            assert response.status_code == 400, (url, bad, response.content)
            assert response.json()["person"] == [f"person: {bad!r} is not an id (whole digits, e.g. ?person=12)."]
    assert api_client_for(org.rep_b).get(f"{API}/grid/", {"person": pk}).status_code == 404
