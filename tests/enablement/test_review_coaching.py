"""Review regressions (coaching): odd ids in the 1:1 forms ('²' passes str.isdigit but not int) are refused,
never a 500; a report who moved away takes their live numbers out of the former manager's 1:1 pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from enablement.models import ActionItem
from enablement.services import coaching as services
from salesops.org.models import User
from tests.conftest import Org
from tests.factories import DealFactory

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


def test_a_former_manager_no_longer_reads_the_moved_reports_numbers_in_a_live_agenda(
    org: Org, api_client_for: Any
) -> None:
    """The former manager still opens the pair's 1:1s (docs), but the live agenda carries the report's deals at
    risk, quota and hygiene today: once the report has moved away, those are out of the former manager's scope."""
    today = timezone.localdate()
    meeting = services.one_on_one_create(
        actor=org.manager_east, report_id=org.rep_a.pk, held_on=today + dt.timedelta(days=1)
    )
    services.action_item_add(actor=org.manager_east, one_on_one=meeting, text="Send the plan")
    DealFactory.create(owner=org.rep_a, name="Secret West Deal", close_date=today, next_step="")
    url = f"/api/v1/enablement/one-on-ones/{meeting.pk}/"
    assert "Secret West Deal" in str(api_client_for(org.manager_east).get(url).json())
    User.objects.filter(pk=org.rep_a.pk).update(manager=org.manager_west, team=org.manager_west.team)
    for reader in (org.manager_east, org.rep_a):
        body = api_client_for(reader).get(url).json()
        assert "Secret West Deal" not in str(body)
        assert [item["key"] for item in body["agenda"]["items"]] == ["actions"]
        assert body["agenda"]["items"][0]["figures"]["open"] == 1
    saved = api_client_for(org.manager_east).post(f"{url}save/").json()
    assert "Secret West Deal" not in str(saved)
