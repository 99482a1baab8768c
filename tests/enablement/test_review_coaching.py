"""Review regressions (coaching): odd ids in the 1:1 forms ('²' passes str.isdigit but not int) are refused,
never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from enablement.models import ActionItem
from enablement.services import coaching as services
from tests.conftest import Org

pytestmark = pytest.mark.django_db


def test_unicode_digits_in_the_action_item_forms_are_not_a_500(org: Org) -> None:
    meeting = services.one_on_one_create(actor=org.manager_east, report_id=org.rep_a.pk, held_on=dt.date(2026, 3, 2))
    item = services.action_item_add(actor=org.manager_east, one_on_one=meeting, text="Do")
    client = Client(raise_request_exception=False)
    client.force_login(org.manager_east)
    response = client.post(f"/enablement/one-on-ones/actions/{item.pk}/done/", {"meeting": "²"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done_at is not None and item.done_in_id == meeting.pk
    response = client.post(f"/enablement/one-on-ones/meetings/{meeting.pk}/actions/", {"text": "x", "owner": "²"})
    assert response.status_code == 302
    assert ActionItem.objects.count() == 1
