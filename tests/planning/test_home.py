"""The planning entry page: every role opens it and sees only the areas its role may use."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.factories import ManagerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _page(user) -> str:
    client = Client()
    client.force_login(user)
    answer = client.get(reverse("planning:home"))
    assert answer.status_code == 200
    return answer.content.decode()


def test_every_role_opens_planning_and_sees_its_areas():
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    rep = UserFactory.create()
    manager = ManagerFactory.create()
    for user in (ops, manager):
        page = _page(user)
        assert "Planning" in page and 'data-testid="planning-areas"' in page
    rep_page = _page(rep)
    # Required pipeline and stress tests are for managers, finance and sales ops.
    for name in ("planning:required_pipeline", "planning:stress_tests"):
        try:
            url = reverse(name)
        except NoReverseMatch:  # the area is not built yet: nothing to check
            continue
        assert url not in rep_page
    client = Client()
    assert client.get(reverse("planning:home")).status_code == 302  # sign in first
