"""Each app's entry page lists the areas its reader may open, by one audience rule (salesops/org/areas.py)."""

from __future__ import annotations

import pytest

from salesops.org.areas import area_links
from tests.factories import ManagerFactory, UserFactory

AREAS = [
    ("Everyone's", "home", "for all", "all"),
    ("Managers'", "home", "for managers", "managers"),
    ("Finance's", "home", "for finance", "finance"),
    ("Sales ops'", "home", "for sales ops", "ops"),
    ("Not built yet", "nowhere:page", "left out", "all"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ({"is_rep": True}, ["Everyone's"]),
        ({"is_manager": True}, ["Everyone's", "Managers'"]),
        ({"is_finance": True, "is_rep": False}, ["Everyone's", "Managers'", "Finance's"]),
        ({"is_sales_ops": True, "is_rep": False}, ["Everyone's", "Managers'", "Finance's", "Sales ops'"]),
    ],
)
def test_each_audience_sees_its_areas_and_unbuilt_ones_are_left_out(roles: dict[str, bool], expected: list[str]):
    factory = ManagerFactory if roles.get("is_manager") else UserFactory
    user = factory(**roles)
    links = area_links(user, AREAS)
    assert [link["label"] for link in links] == expected
    assert all(link["url"] == "/" for link in links)


@pytest.mark.django_db
def test_the_signals_home_lists_rules_for_sales_ops_only(client):
    rep = UserFactory(is_rep=True)
    client.force_login(rep)
    page = client.get("/signals/").content.decode()
    assert "Notifications" in page and "Rules" not in page and "Reconciliation" not in page
    ops = UserFactory(is_rep=False, is_sales_ops=True)
    client.force_login(ops)
    page = client.get("/signals/").content.decode()
    assert "Rules" in page and "Reconciliation" in page and "Attribution" in page
