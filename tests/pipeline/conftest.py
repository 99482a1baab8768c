"""Fixtures the pipeline tests share."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory


@pytest.fixture
def sellers(org):
    """People a CRM export names by full name, username or e-mail."""
    return {
        "jordan": UserFactory.create(
            username="jordan.lee", first_name="Jordan", last_name="Lee", email="jordan@acme.test"
        ),
        "priya": UserFactory.create(
            username="priya.nair", first_name="Priya", last_name="Nair", email="priya@acme.test"
        ),
    }
