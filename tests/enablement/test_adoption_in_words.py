"""What a rep reads at the top of the adoption scorecard: "of 1 person with access", not "of 1 people"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_scope_of_one_person_says_person(client_for):
    rep = UserFactory.create()
    html = client_for(rep).get(reverse("enablement:adoption")).content.decode()
    total = html.split('data-testid="adoption-total"', 1)[1].split("</p>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", total).split())
    assert "of 1 person with access" in text, text
