"""Territory pages and API by role: sales ops plan, finance reads all, managers their subtree, reps their own."""

from __future__ import annotations

import re

import pytest
from freezegun import freeze_time

from planning.services import territories as services
from tests.conftest import Org
from tests.factories import AccountFactory
from tests.planning.test_territories import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(org: Org):
    AccountFactory.create(name="Paris SARL", country="FR", employees=20)
    AccountFactory.create(name="Austin Inc", country="US", employees=300)
    return build(org)


def test_pages_show_each_role_its_territories(org, model, client_for) -> None:
    m, _t = model
    url = f"/planning/territories/models/{m.pk}/"
    page = client_for(org.ops).get(url).content.decode()
    assert all(name in page for name in ("EMEA", "France SMB", "Americas", "Assign accounts", "Activate"))
    page = client_for(org.finance).get(url).content.decode()
    assert "Americas" in page and "Assign accounts" not in page
    page = client_for(org.manager_east).get(url).content.decode()
    assert "EMEA" in page and "France SMB" in page and "Americas" not in page
    assert client_for(org.rep_a).get(url).status_code == 404  # a rep reads the active model only
    services.territory_model_activate(actor=org.ops, model_id=m.pk)
    page = client_for(org.rep_a).get(url).content.decode()
    assert "France SMB" in page and "EMEA" not in page and "Americas" not in page
    assert client_for(org.rep_b).get(url).status_code == 404  # owns no territory of it
    assert client_for(org.rep_b).get("/planning/territories/").status_code == 200


def test_only_sales_ops_act_and_others_get_403_or_404(org, model, client_for) -> None:
    m, t = model
    assign = f"/planning/territories/models/{m.pk}/assign/"
    assert client_for(org.finance).post(assign).status_code == 403
    assert (
        client_for(org.manager_east).post(f"/planning/territories/{t['smb']}/edit/", {"name": "x"}).status_code == 403
    )
    assert (
        client_for(org.manager_east).post(f"/planning/territories/{t['americas']}/edit/", {"name": "x"}).status_code
        == 404
    )
    assert client_for(org.rep_b).post(assign).status_code == 404
    response = client_for(org.ops).post(assign, follow=True)
    assert "2 accounts assigned: 2 placed" in response.content.decode()
    response = client_for(org.ops).post(assign, follow=True)
    assert "2 accounts assigned: nothing changed." in response.content.decode()
    response = client_for(org.ops).post(f"/planning/territories/models/{m.pk}/activate/", follow=True)
    assert "is active from" in response.content.decode()
    response = client_for(org.ops).post(f"/planning/territories/{t['smb']}/edit/", {"name": "x"}, follow=True)
    assert "only a draft changes" in response.content.decode()


def test_api_same_reads_and_actions(org, model, api_client_for) -> None:
    m, t = model
    base = "/api/v1/planning/territory-models/"
    names = [row["name"] for row in api_client_for(org.manager_east).get(f"{base}{m.pk}/").json()["territories"]]
    assert names == ["EMEA", "France SMB"]
    names = [row["name"] for row in api_client_for(org.finance).get(f"{base}{m.pk}/").json()["territories"]]
    assert set(names) == {"Company", "EMEA", "France SMB", "Americas"}
    assert api_client_for(org.rep_b).get(f"{base}{m.pk}/").status_code == 404
    assert api_client_for(org.rep_b).get(base).json() == []
    assert api_client_for(org.finance).post(f"{base}{m.pk}/assign/").status_code == 403
    assert api_client_for(org.rep_b).post(f"{base}{m.pk}/assign/").status_code == 404
    assert api_client_for(org.rep_a).get(f"/api/v1/planning/territories/{t['americas']}/").status_code == 404
    ops = api_client_for(org.ops)
    assert ops.post(f"{base}{m.pk}/assign/").json()["added"] == 2
    assert ops.post(f"{base}{m.pk}/assign/").json()["unchanged"] is True
    assert ops.post(f"{base}{m.pk}/activate/").json()["status"] == "active"
    mine = api_client_for(org.rep_a).get("/api/v1/planning/territories/").json()
    assert [row["name"] for row in mine] == ["France SMB"]
    response = ops.post(f"/api/v1/planning/territories/{t['smb']}/rules/", {"kind": "region", "values": ["DE"]},
                        format="json")  # fmt: skip
    assert response.status_code == 400 and "only a draft changes" in str(response.json())
    created = ops.post(base, {"name": "Next"}, format="json")
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert api_client_for(org.manager_east).post(base, {"name": "Nope"}, format="json").status_code == 403
    services.territory_model_archive(actor=org.ops, model_id=m.pk)


def test_the_model_page_costs_the_same_queries_however_many_territories(
    org, model, client_for, django_assert_max_num_queries
) -> None:
    m, t = model
    client = client_for(org.ops)
    client.get(f"/planning/territories/models/{m.pk}/")  # warm the session and fiscal calendar
    with django_assert_max_num_queries(25) as few:
        client.get(f"/planning/territories/models/{m.pk}/")
    for n in range(10):
        services.territory_create(
            actor=org.ops, model_id=m.pk, parent_id=t["emea"], name=f"T{n}", owner_id=org.rep_b.pk
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"/planning/territories/models/{m.pk}/")


def test_an_archived_draft_that_was_never_active_shows_no_effective_dates(org, model, client_for, api_client_for):
    # A draft archived the day after it was made: it never had a period, so no "effective to" (it showed yesterday).
    draft, _ = model
    base = "/api/v1/planning/territory-models/"
    with freeze_time("2026-03-10"):
        archived = api_client_for(org.ops).post(f"{base}{draft.pk}/archive/")
    assert archived.status_code == 200
    assert (archived.json()["status"], archived.json()["effective_from"], archived.json()["effective_to"]) == (
        "archived", None, None)  # fmt: skip
    shown = api_client_for(org.finance).get(base).json()
    assert [(m["name"], m["effective_from"], m["effective_to"]) for m in shown] == [("FY27", None, None)]
    page = client_for(org.ops).get("/planning/territories/").content.decode()
    row = re.search(r"<tr><td><a [^>]*>FY27</a></td>(.*?)</tr>", page, re.S)
    assert row is not None, page
    assert re.findall(r"<td>([^<]*)</td>", row.group(1))[:2] == ["—", "—"]  # no date: the page's dash
    assert "Effective" not in client_for(org.ops).get(f"/planning/territories/models/{draft.pk}/").content.decode()
    # The active model archived keeps its period: from its activation to the day before its archiving.
    other, _ = build(org, "FY28")
    with freeze_time("2026-04-01"):
        services.territory_model_activate(actor=org.ops, model_id=other.pk)
    with freeze_time("2026-06-15"):
        ended = api_client_for(org.ops).post(f"{base}{other.pk}/archive/").json()
    assert (ended["effective_from"], ended["effective_to"]) == ("2026-04-01", "2026-06-14")


def test_a_rep_who_sees_no_model_is_told_the_truth_about_the_active_one(org, model, client_for) -> None:
    """A rep owning no territory of the active model sees no model: the page says a model is active and why they
    do not see it, never "No territory models" (which only those who read every model are told)."""
    m, _t = model
    page = client_for(org.rep_b).get("/planning/territories/").content.decode()
    assert "No active territory model" in page and "No territory model is active." in page
    assert "No territory models" not in page  # a draft exists: "none" would be false
    services.territory_model_activate(actor=org.ops, model_id=m.pk)
    page = client_for(org.rep_b).get("/planning/territories/").content.decode()
    assert "No territory models" not in page and "No active territory model" not in page
    assert "A territory model is active, but you own none of its territories" in page
    assert "You own no territory in the active model." in page
    page = client_for(org.rep_a).get("/planning/territories/").content.decode()  # owns France SMB
    assert 'data-testid="territory-models"' in page and "No territory model to show you" not in page


def test_those_who_read_every_model_are_told_when_there_is_none(org, client_for) -> None:
    for person in (org.ops, org.manager_east):
        page = client_for(person).get("/planning/territories/").content.decode()
        assert "No territory models" in page and "No territory model is active." in page
