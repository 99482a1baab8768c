"""What a correctness audit of the adoption scorecard found (docs/enablement-adoption.md): a score of 0.00 (a rep
who has not signed in this week and has no open deal) showed as "–" on the pages, the mark of a score that does
not apply, while the API said "0.00"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from freezegun import freeze_time

pytestmark = pytest.mark.django_db


@freeze_time("2026-03-04 12:00")
def test_a_score_of_zero_reads_zero_on_the_pages_as_in_the_api(org: Any, client_for: Any, api_client_for: Any) -> None:
    api = api_client_for(org.manager_east).get(f"/api/v1/enablement/adoption/scorecard/{org.rep_b.pk}/").json()
    assert (api["score"], api["parts"]["active"], api["parts"]["criteria_complete"]) == ("0.00", "0.0000", None)
    client = client_for(org.manager_east)
    person = client.get(f"/enablement/adoption/people/{org.rep_b.pk}/").content.decode()
    assert re.findall(r'data-testid="adoption-score">([^<]*)<', person) == ["0.00"]
    page = client.get("/enablement/adoption/").content.decode()
    row = re.search(rf'<tr data-person="{org.rep_b.pk}">.*?</tr>', page)
    assert row is not None and "<strong>0.00</strong>" in row.group(0)
    # rep_a and rep_b (the team's reps) both score 0.00: the team's and the scope's mean is 0.00, not "–".
    total = re.search(r'data-testid="adoption-total">.*?mean score <strong>([^<]*)</strong>', page)
    assert total is not None and total.group(1) == "0.00"
