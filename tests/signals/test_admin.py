"""Signals in Django's admin: rules, firings, campaigns, invoice imports and mismatches read-only; channels without
their secrets; notifications (a person's own) not at all."""

from __future__ import annotations

import pytest
from django.contrib import admin

from signals.models import Campaign, Channel, InvoiceImport, Mismatch, Notification, Rule, RuleFiring
from tests.factories import UserFactory


@pytest.mark.django_db
def test_signals_changelists_open_read_only_and_notifications_stay_out(client):
    staff = UserFactory(is_staff=True, is_superuser=True, is_rep=False)
    client.force_login(staff)
    for model in (Rule, RuleFiring, Campaign, InvoiceImport, Mismatch, Channel):
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert client.get(url).status_code == 200, url
        assert client.get(f"{url}add/").status_code == 403, url
    assert Notification not in admin.site._registry
