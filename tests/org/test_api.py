"""The people API: same scoping and permissions as the pages, token and session auth."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from salesops.org.services import api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def names(response) -> set[str]:
    return {row["username"] for row in response.json()["results"]}


def test_unauthenticated_api_is_refused(org):
    assert APIClient().get("/api/v1/people/").status_code in (401, 403)


def test_token_authentication(org):
    issued = api_token_issue(owner=org.rep_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "rep_a"
    assert response.json()["roles"] == ["rep"]


def test_token_is_issued_for_a_password(org):
    response = APIClient().post("/api/v1/auth/token/", {"username": "rep_a", "password": "pw"})
    assert response.status_code == 200 and len(response.json()["token"]) == 43


def test_people_are_scoped_like_the_pages(api_client_for, org):
    assert names(api_client_for(org.rep_a).get("/api/v1/people/")) == {"rep_a"}
    assert names(api_client_for(org.manager_east).get("/api/v1/people/")) == {"mgr_east", "rep_a", "rep_b"}
    assert len(names(api_client_for(org.finance).get("/api/v1/people/"))) == 8


def test_person_outside_scope_is_404(api_client_for, org):
    assert api_client_for(org.manager_east).get(f"/api/v1/people/{org.rep_c.pk}/").status_code == 404
    assert api_client_for(org.rep_a).patch(f"/api/v1/people/{org.rep_c.pk}/", {"title": "x"}).status_code == 403


def test_filters_match_the_page(api_client_for, org):
    client = api_client_for(org.ops)
    assert names(client.get("/api/v1/people/", {"role": "manager"})) == {"director", "mgr_east", "mgr_west"}
    assert names(client.get("/api/v1/people/", {"region": org.rep_c.region_id})) == {"mgr_west", "rep_c"}


def test_only_sales_ops_write(api_client_for, org):
    response = api_client_for(org.manager_east).patch(f"/api/v1/people/{org.rep_a.pk}/", {"title": "Boss"})
    assert response.status_code == 403
    response = api_client_for(org.ops).patch(f"/api/v1/people/{org.rep_a.pk}/", {"title": "Senior AE"})
    assert response.status_code == 200 and response.json()["title"] == "Senior AE"
    response = api_client_for(org.ops).post(
        "/api/v1/people/", {"username": "newrep", "first_name": "New", "is_rep": True, "manager": org.manager_east.pk}
    )
    assert response.status_code == 201
    assert response.json()["manager"] == org.manager_east.pk


def test_reporting_loop_is_a_400_naming_the_people(api_client_for, org):
    response = api_client_for(org.ops).patch(f"/api/v1/people/{org.director.pk}/", {"manager": org.rep_a.pk})
    assert response.status_code == 400
    assert org.director.display_name in response.json()["detail"]
    assert "manager" in response.json()


def test_list_query_count_does_not_grow_with_rows(api_client_for, org):
    client = api_client_for(org.ops)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/people/")
    for n in range(30):
        UserFactory.create(username=f"extra{n}", manager=org.manager_east, region=org.rep_a.region, team=org.rep_a.team)
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/people/")
    assert len(many) == len(few)


def test_openapi_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/people/" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "unpkg" not in docs.lower()


def test_an_api_edit_is_audited_with_its_reason(api_client_for, org):
    from salesops.org.models import AuditEvent

    ops = api_client_for(org.ops)
    url = f"/api/v1/people/{org.rep_a.pk}/"
    response = ops.patch(url, {"title": "Senior AE", "reason": "Promoted in the spring review"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Senior AE"
    assert "reason" not in response.json()  # kept in the history, not on the person
    event = AuditEvent.objects.filter(entity="org.user", entity_id=str(org.rep_a.pk)).latest("id")
    assert (event.action, event.changes, event.reason, event.actor) == (
        "update", {"title": ["Account Executive", "Senior AE"]}, "Promoted in the spring review", org.ops
    )  # fmt: skip
    body = {**response.json(), "manager": org.manager_west.pk, "team": org.manager_west.team_id,
            "region": org.manager_west.region_id, "reason": "Moved west"}  # fmt: skip
    for read_only in ("id", "name", "roles"):
        body.pop(read_only)
    assert ops.put(url, body, format="json").status_code == 200
    event = AuditEvent.objects.filter(entity="org.user", entity_id=str(org.rep_a.pk)).latest("id")
    assert event.reason == "Moved west" and event.changes["manager"] == [org.manager_east.pk, org.manager_west.pk]
    # Without a reason the change is still audited (an empty why); a reason too long is refused, nothing saved.
    assert ops.patch(url, {"title": "AE"}, format="json").status_code == 200
    assert AuditEvent.objects.filter(entity="org.user", entity_id=str(org.rep_a.pk)).latest("id").reason == ""
    response = ops.patch(url, {"title": "Lead AE", "reason": "x" * 501}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    org.rep_a.refresh_from_db()
    assert org.rep_a.title == "AE"


def test_a_persons_history_is_their_pages_for_sales_ops_only(api_client_for, client_for, org):
    from django.urls import reverse

    ops = api_client_for(org.ops)
    url = f"/api/v1/people/{org.rep_a.pk}/history/"
    ops.patch(f"/api/v1/people/{org.rep_a.pk}/", {"title": "Senior AE", "reason": "Promoted"}, format="json")
    ops.patch(f"/api/v1/people/{org.rep_a.pk}/", {"employee_id": "E-17"}, format="json")
    ops.patch(f"/api/v1/people/{org.rep_b.pk}/", {"title": "Not rep_a's"}, format="json")
    response = ops.get(url)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["action"], r["changes"], r["reason"], r["actor"], r["actor_name"]) for r in rows[:2]] == [
        ("update", {"employee_id": [None, "E-17"]}, "", org.ops.pk, org.ops.display_name),
        ("update", {"title": ["Account Executive", "Senior AE"]}, "Promoted", org.ops.pk, org.ops.display_name),
    ]
    # The same rows, newest first, as the History section of the person's page.
    page = client_for(org.ops).get(reverse("org:person_detail", args=[org.rep_a.pk]))
    assert [r["id"] for r in rows] == [event.pk for event in page.context["history"]]
    assert "Not rep_a's" not in response.content.decode()
    # Sales ops alone read it: those who see the person are refused (403); outside their scope it is 404.
    for who in (org.manager_east, org.finance, org.rep_a):
        assert api_client_for(who).get(url).status_code == 403
    assert api_client_for(org.manager_west).get(url).status_code == 404
    assert ops.get("/api/v1/people/987654321/history/").status_code == 404


def test_a_manager_filter_that_is_not_an_id_is_refused_naming_it(api_client_for, org):
    """`?manager=<id>.5` listed the reports of manager <id>; it answers 400 naming the parameter."""
    finance = api_client_for(org.finance)
    assert names(finance.get("/api/v1/people/", {"manager": org.manager_east.pk})) == {"rep_a", "rep_b"}
    response = finance.get("/api/v1/people/", {"manager": f"{org.manager_east.pk}.5"})
    assert response.status_code == 400
    assert response.json()["manager"] == [
        f"manager: '{org.manager_east.pk}.5' is not an id (whole digits, e.g. ?manager=12)."
    ]
