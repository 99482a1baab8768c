"""Where territories show outside planning (issue 15): the deal page, the account page and the deal API read
the territory of the deal's account in the active territory model, through the lookup planning registers with
pipeline/events.py (the pipeline imports nothing of planning)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipeline import events
from planning.services import territories as services
from tests.factories import AccountFactory, DealFactory
from tests.planning.test_territories import accounts, build  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _activate(org, name: str = "FY27") -> dict[str, int]:
    model, t = build(org, name)
    services.territory_assign(actor=org.ops, model_id=model.pk)
    services.territory_model_activate(actor=org.ops, model_id=model.pk)
    return t


def test_deal_and_account_pages_show_the_active_territory_and_its_owner(org, accounts, client_for) -> None:  # noqa: F811
    deal = DealFactory.create(account_id=accounts["fr_small"], owner=org.rep_a)
    client = client_for(org.rep_a)
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert 'data-testid="deal-territory">—' in page  # no active model: no territory
    _activate(org)
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert "France SMB" in page and org.rep_a.display_name in page.split('data-testid="deal-territory"')[1][:200]
    account = client.get(reverse("pipeline:account_detail", args=[accounts["fr_small"]])).content.decode()
    shown = account.split('data-testid="account-territory"')[1][:200]
    assert "France SMB" in shown and org.rep_a.display_name in shown


def test_a_territory_owner_outside_the_viewers_scope_is_not_named(org, accounts, client_for) -> None:  # noqa: F811
    """rep_a's deal on an American account: Americas is rep_c's (West), whom rep_a may not see (roles.md), so
    the pages name the territory only; the director, above both, sees its owner."""
    deal = DealFactory.create(account_id=accounts["us"], owner=org.rep_a)
    _activate(org)
    for viewer, named in ((org.rep_a, False), (org.manager_east, False), (org.director, True), (org.ops, True)):
        client = client_for(viewer)
        page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
        shown = page.split('data-testid="deal-territory"')[1][:200]
        assert "Americas" in shown and (org.rep_c.display_name in shown) is named, viewer.username
        assert "no owner" not in shown
        account = client.get(reverse("pipeline:account_detail", args=[accounts["us"]])).content.decode()
        shown = account.split('data-testid="account-territory"')[1][:200]
        assert "Americas" in shown and (org.rep_c.display_name in shown) is named, viewer.username


def test_deal_api_gives_the_territory_or_null(org, accounts, api_client_for) -> None:  # noqa: F811
    deal = DealFactory.create(account_id=accounts["us"], owner=org.rep_a)
    bare = DealFactory.create(account=None, owner=org.rep_a)
    client = api_client_for(org.rep_a)
    assert client.get(f"/api/v1/deals/{deal.pk}/").json()["territory"] is None
    t = _activate(org)
    assert client.get(f"/api/v1/deals/{deal.pk}/").json()["territory"] == {"id": t["americas"], "name": "Americas"}
    listed = {d["id"]: d["territory"] for d in client.get("/api/v1/deals/").json()["results"]}
    assert listed[deal.pk] == {"id": t["americas"], "name": "Americas"}
    assert listed[bare.pk] is None


def test_the_deal_api_list_looks_territories_up_once_not_per_deal(org, api_client_for) -> None:
    for owner, count in ((org.rep_a, 20), (org.rep_b, 2)):
        for _ in range(count):
            DealFactory.create(account=AccountFactory.create(country="FR", employees=10), owner=owner)
    t = _activate(org)
    client = api_client_for(org.ops)

    def queries_for(owner, rows: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/deals/", {"owner": owner.pk})
        results = response.json()["results"]
        assert len(results) == rows and all(d["territory"]["id"] == t["smb"] for d in results)
        return len(captured)

    assert queries_for(org.rep_a, 20) == queries_for(org.rep_b, 2)


def test_with_nobody_registered_no_account_has_a_territory(org, accounts, monkeypatch) -> None:  # noqa: F811
    _activate(org)
    assert events.territory_of_account(accounts["us"]) is not None
    monkeypatch.setattr(events, "_territory_lookups", {})
    assert events.territory_of_account(accounts["us"]) is None
    assert events.territories_of_accounts([]) == {}
