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
