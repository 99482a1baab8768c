"""A rep sees their own forecast only, even if someone happens to report to them (roles.md): the rows below, and
their numbers inside a subtree's totals, are the manager role's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from forecasting import selectors
from forecasting.selectors import current_period
from salesops.kernel.fiscal import span_of
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_of_rep_a(org):
    report = UserFactory.create(username="rep_sub", first_name="Ottoline", manager=org.rep_a)
    # Closing at the end of the current quarter, whatever the day the suite runs.
    closing = span_of(current_period("quarter"), selectors.fiscal_start_month()).end
    DealFactory.create(owner=org.rep_a, amount=Decimal("10000.00"), close_date=closing)
    DealFactory.create(owner=report, amount=Decimal("7000.00"), close_date=closing)
    return report


def test_a_rep_with_a_report_sees_their_own_row_and_numbers_only(org, report_of_rep_a):
    grid = selectors.grid(org.rep_a, org.rep_a, current_period("quarter"))
    assert [row.person for row in grid.rows] == [org.rep_a]
    assert grid.rows[0].rollup.pipeline == Decimal("10000.00")


def test_their_manager_sees_the_report_and_the_subtree_total(org, report_of_rep_a):
    grid = selectors.grid(org.manager_east, org.rep_a, current_period("quarter"))
    assert [row.person for row in grid.rows] == [org.rep_a, report_of_rep_a]
    assert grid.rows[0].rollup.pipeline == Decimal("17000.00")


def test_the_accuracy_panel_and_person_page_name_no_report_to_the_rep(org, report_of_rep_a, client_for):
    rows = selectors.accuracy(org.rep_a, with_reports=selectors.sees_reports(org.rep_a))
    assert [row.person for row in rows] == [org.rep_a]
    client = client_for(org.rep_a)
    for url in ["/forecasting/", "/forecasting/accuracy/", f"/org/people/{org.rep_a.pk}/", "/api/v1/forecasting/grid/",
                "/api/v1/forecasting/accuracy/"]:  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Ottoline" not in response.content.decode(), url
