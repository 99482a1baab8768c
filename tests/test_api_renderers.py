"""Security audit: the API answers JSON only, so no HTML form of the browsable API lists records outside the
caller's scope (its POST forms offered every person and territory of the company in their selects)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

# Lists a rep may open whose write forms refer to people or territories.
LISTS = ["/api/v1/enablement/one-on-ones/", "/api/v1/enablement/enrolments/", "/api/v1/deals/", "/api/v1/leads/"]


@pytest.mark.parametrize("url", LISTS)
def test_an_api_list_asked_for_html_never_shows_people_outside_the_scope(client_for, org, url):
    org.rep_c.first_name, org.rep_c.last_name = "Westerly", "Outofscope"
    org.rep_c.save()
    response = client_for(org.rep_a).get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    text = response.content.decode()
    assert "Outofscope" not in text
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json"), url


def test_the_browsable_api_format_is_not_served(client_for, org):
    response = client_for(org.rep_a).get("/api/v1/deals/?format=api")
    assert response.status_code == 404
    assert "Outofscope" not in response.content.decode()


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/csv"])
def test_a_client_accepting_no_json_gets_the_json_answer_with_its_own_status(client_for, org, accept):
    # Only JSON is served, and a client asking for something else (a script's "Accept: text/html", an XML client)
    # got 406 on every call, its 404s and 401s included ("Could not satisfy the request Accept header."): it gets
    # the JSON answer with the call's own status, as a browser does.
    org.rep_c.first_name, org.rep_c.last_name = "Westerly", "Outofscope"
    org.rep_c.save()
    rep = client_for(org.rep_a)
    listing = rep.get("/api/v1/deals/", HTTP_ACCEPT=accept)
    assert listing.status_code == 200 and listing["Content-Type"] == "application/json"
    assert listing.json()["count"] == 0 and "Outofscope" not in listing.content.decode()
    missing = rep.get("/api/v1/deals/999999/", HTTP_ACCEPT=accept)
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    rep.logout()
    anonymous = rep.get("/api/v1/deals/", HTTP_ACCEPT=accept)
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"
