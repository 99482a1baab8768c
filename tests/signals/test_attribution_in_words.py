"""A year without campaigns on the attribution page: the summary says so ("0 deals with 0 counted touches") and
draws no chart of zeros beside it."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_year_without_campaigns_draws_no_empty_chart(client_for, org):
    html = client_for(org.manager_east).get(reverse("signals:attribution"), {"year": "2024"}).content.decode()
    summary = html.split('data-testid="attribution-summary"', 1)[1].split("</section>", 1)[0]
    assert "0 deals with 0 counted touches" in summary
    assert "data-chart" not in summary
