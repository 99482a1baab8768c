"""Reports and dashboards grouped and filtered by territory (issue 15): a deal's territory is its account's in
the active territory model, read through planning's published view `planning_account_territory`.

The book of tests/reporting/conftest.py, with accounts: rep_a's deals (A1–A4) at a small French account
(France SMB), rep_b's (B1–B3) at a German one (EMEA), rep_c's (C1, C2) at an American one (Americas).
2026-Q1 bookings by territory: France SMB 40,000 (A1 10,000 + A2 30,000, whoever is credited), EMEA 20,000
(B1), Americas 5,000 (C1): 65,000 in all, the ungrouped total. Open pipeline: France SMB 50,000 (A4).
"""

from __future__ import annotations

import pytest

from pipeline.models import Deal
from planning.services import territories as services
from reporting.refresh import refresh_deals
from tests.factories import AccountFactory
from tests.planning.test_territories import build

Q1 = {"period": "2026-Q1"}


@pytest.fixture
def territories(book) -> dict[str, int]:
    org = book.org
    accounts = {
        "A": AccountFactory.create(name="Paris SARL", country="FR", employees=20),
        "B": AccountFactory.create(name="Berlin GmbH", country="DE", employees=None),
        "C": AccountFactory.create(name="Austin Inc", country="US", employees=300),
    }
    for key, deal in book.deals.items():
        Deal.objects.filter(pk=deal.pk).update(account=accounts.get(key[0]))
    # A queryset update announces nothing: the facts are refreshed here, as a service's announcement would have.
    refresh_deals([deal.pk for deal in book.deals.values()])
    model, t = build(org)
    services.territory_assign(actor=org.ops, model_id=model.pk)
    services.territory_model_activate(actor=org.ops, model_id=model.pk)
    return t


def _by_territory(client) -> dict[str, str]:
    board = client.get("/api/v1/reporting/dashboards/executive/", Q1).json()
    panel = next(p for p in board["panels"] if p["key"] == "by_territory")
    column = panel["header"].index("bookings")
    return {row[0]: row[column] for row in panel["rows"]}


def test_executive_dashboard_groups_bookings_by_territory_summing_to_the_total(book, territories, api_client_for):
    client = api_client_for(book.org.ops)
    assert _by_territory(client) == {"France SMB": "40000.00", "EMEA": "20000.00", "Americas": "5000.00"}
    total = client.get("/api/v1/reporting/kpis/", Q1).json()[0]["bookings"]
    assert total == "65000.00"
    grouped = client.get("/api/v1/reporting/kpis/", {**Q1, "by": "territory"}).json()
    assert {r["group"]: r["bookings"] for r in grouped} == {
        "Americas": "5000.00",
        "EMEA": "20000.00",
        "France SMB": "40000.00",
    }
    assert sum(float(r["bookings"]) for r in grouped) == float(total)


def test_without_an_active_model_every_deal_is_in_no_territory(book, api_client_for):
    client = api_client_for(book.org.ops)
    grouped = client.get("/api/v1/reporting/kpis/", {**Q1, "by": "territory"}).json()
    assert {r["group"]: r["bookings"] for r in grouped} == {"No territory": "65000.00"}


def test_the_territory_filter_narrows_deals_and_the_drill_down_keeps_it(book, territories, api_client_for):
    client = api_client_for(book.org.ops)
    smb = {**Q1, "territory": territories["smb"]}
    row = client.get("/api/v1/reporting/kpis/", smb).json()[0]
    assert (row["bookings"], row["won_count"], row["lost_count"]) == ("40000.00", 2, 1)
    won = client.get("/api/v1/reporting/deals/", {**smb, "measure": "won"}).json()
    assert sorted(r["deal_id"] for r in won["results"]) == sorted([book.deals["A1"].pk, book.deals["A2"].pk])
    assert won["amount"] == "40000.00"
    pipeline = client.get("/api/v1/reporting/deals/", {**smb, "measure": "open"}).json()
    assert [r["deal_id"] for r in pipeline["results"]] == [book.deals["A4"].pk]
    board = client.get("/api/v1/reporting/dashboards/executive/", smb).json()
    headline = {s["key"]: s["value"] for s in board["panels"][0]["stats"]}
    assert headline["bookings"] == "40000.00"
    # A territory holding no account: nothing, not everything.
    assert client.get("/api/v1/reporting/kpis/", {**Q1, "territory": territories["root"]}).json()[0]["bookings"] in (
        "0.00",
        "0",
    )


def test_scope_is_unchanged_by_the_territory(book, territories, api_client_for):
    """manager_west sees rep_c only: of France SMB's 40,000 that is rep_c's half of A2."""
    client = api_client_for(book.org.manager_west)
    row = client.get("/api/v1/reporting/kpis/", {**Q1, "territory": territories["smb"]}).json()[0]
    assert row["bookings"] == "15000.00"
    grouped = client.get("/api/v1/reporting/kpis/", {**Q1, "by": "territory"}).json()
    assert {r["group"]: r["bookings"] for r in grouped} == {"Americas": "5000.00", "France SMB": "15000.00"}


def test_the_executive_page_offers_the_territory_filter_and_table(book, territories, client_for):
    response = client_for(book.org.ops).get("/reporting/executive/", {**Q1, "territory": territories["smb"]})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="territory"' in body and "France SMB" in body and "By territory" in body


def test_deals_of_a_merged_account_follow_it_into_its_territory(book, territories, api_client_for, monkeypatch):
    """Americas' only account (C1 5,000) merged into the French one: its bookings count for France SMB once the
    reports' sweep runs (the merge stamps the moved deals as changed)."""
    from pipeline import services as pipeline_services
    from pipeline.models import Account
    from reporting.refresh import refresh_changed

    keep = Deal.objects.select_related("account").get(pk=book.deals["A1"].pk).account
    duplicate = Deal.objects.select_related("account").get(pk=book.deals["C1"].pk).account
    assert isinstance(keep, Account) and isinstance(duplicate, Account)
    moved = sorted(Deal.objects.filter(account=duplicate).values_list("pk", flat=True))
    assert moved == sorted([book.deals["C1"].pk, book.deals["C2"].pk])
    stamps = dict(Deal.objects.values_list("pk", "updated_at"))
    announced: list[dict] = []
    monkeypatch.setattr(pipeline_services, "announce_deals_changed", lambda **kw: announced.append(kw))
    pipeline_services.account_merge(actor=book.org.ops, keep=keep, duplicate=duplicate)
    # The moved deals are stamped (the reports' sweep reads updated_at) and announced; the others are not touched.
    after = dict(Deal.objects.values_list("pk", "updated_at"))
    assert sorted(pk for pk in after if after[pk] != stamps[pk]) == moved
    assert [(sorted(a["deal_ids"]), a["fields"], a["pay_relevant"]) for a in announced] == [(moved, ["account"], False)]
    client = api_client_for(book.org.ops)
    assert "Americas" in _by_territory(client)  # the facts still hold the old account until they are refreshed
    refresh_changed()
    assert _by_territory(client) == {"France SMB": "45000.00", "EMEA": "20000.00"}


def test_a_deal_moved_to_another_account_is_announced(book, monkeypatch):
    from pipeline import services as pipeline_services

    announced: list[dict] = []
    monkeypatch.setattr(pipeline_services, "announce_deals_changed", lambda **kw: announced.append(kw))
    deal = book.deals["C1"]
    pipeline_services.deal_update(actor=book.org.ops, deal=deal, account=AccountFactory.create(name="Lyon SAS"))
    assert [(a["deal_ids"], a["fields"]) for a in announced] == [([deal.pk], ["account"])]


def test_without_an_active_model_the_executive_territory_table_says_why(book, api_client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_for(book.org.ops)
    with CaptureQueriesContext(connection) as queries:
        board = client.get("/api/v1/reporting/dashboards/executive/", Q1).json()
    # The territory grouping is not queried at all (only the filter bar's list of territories reads the view).
    assert not [q["sql"] for q in queries.captured_queries if "planning_account_territory tt" in q["sql"]]
    panel = next(p for p in board["panels"] if p["key"] == "by_territory")
    assert panel["rows"] == [] and panel["state"] == "empty" and "No territory model is active" in panel["message"]
    by_region = next(p for p in board["panels"] if p["key"] == "by_region")
    assert by_region["rows"]
