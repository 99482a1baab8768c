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
