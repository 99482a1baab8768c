"""Hardening, part 6: redirects stay on the site, caching, API authentication answers, deployment settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db

OFF_SITE = ["https://evil.example/phish", "//evil.example/phish", "javascript:alert(1)", "https:///evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_an_off_site_next_is_ignored_by_every_view_that_redirects_to_next(client_for, org, monkeypatch, target):
    deal = DealFactory.create(name="Alpha", owner=org.rep_a, amount=Decimal("100.00"))
    client = client_for(org.rep_a)
    detail = reverse("pipeline:deal_detail", args=[deal.pk])

    moved = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]), {"stage": default_stages()["Discovery"].pk, "next": target}
    )
    assert moved.status_code == 302 and moved["Location"] == detail
    category = client.post(reverse("pipeline:deal_category", args=[deal.pk]), {"category": "commit", "next": target})
    assert category.status_code == 302 and category["Location"] == detail
    forecast = client.post(f"/forecasting/deals/{deal.pk}/category/", {"category": "", "next": target})
    assert forecast.status_code == 302 and forecast["Location"] == reverse("forecasting:grid")

    monkeypatch.setattr("incentives.tasks.recompute_open_periods.apply_async", lambda **kwargs: None)
    recompute = client_for(org.ops).post(reverse("incentives:recompute"), {"next": target})
    assert recompute.status_code == 302 and recompute["Location"] == reverse("incentives:register")


def test_a_next_on_this_site_is_followed(client_for, org):
    deal = DealFactory.create(name="Alpha", owner=org.rep_a, amount=Decimal("100.00"))
    response = client_for(org.rep_a).post(
        reverse("pipeline:deal_category", args=[deal.pk]), {"category": "commit", "next": "/pipeline/board/?x=1"}
    )
    assert response.status_code == 302 and response["Location"] == "/pipeline/board/?x=1"


def test_signed_in_pages_and_the_api_are_never_cached_but_static_files_are(client, client_for, org, settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve /static/ as the e2e server does (read when the client starts)
    anonymous_api = client.get("/api/v1/deals/")
    assert {"private", "no-store"} <= _cache_control(anonymous_api)

    signed_in = client_for(org.rep_a)
    for url in ["/", "/pipeline/deals/", "/api/v1/deals/"]:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert {"private", "no-store"} <= _cache_control(response), url
    static = signed_in.get("/static/css/salesops.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


def _cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def test_an_anonymous_api_call_answers_401_with_a_challenge_and_a_signed_in_refusal_stays_403(client, org):
    from rest_framework.test import APIClient

    for url in ["/api/v1/deals/", "/api/v1/people/", "/api/v1/reporting/dashboards/manager/"]:
        response = APIClient().get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token", url
    bad_token = APIClient(HTTP_AUTHORIZATION="Token not-a-real-token").get("/api/v1/deals/")
    assert bad_token.status_code == 401 and bad_token["WWW-Authenticate"] == "Token"

    client.force_login(org.rep_a)  # signed in through the session: a refusal is about the role, 403
    assert client.get("/api/v1/reporting/dashboards/manager/").status_code == 403
    assert client.get("/api/v1/deals/").status_code == 200


def test_the_audit_log_is_read_only_in_the_admin_even_for_a_superuser(client, org):
    from salesops.org.models import AuditEvent, User

    boss = User.objects.create_superuser("root", "root@example.com", "pw-not-used")
    event = AuditEvent.objects.create(actor=org.ops, entity="pipeline.deal", entity_id="7", action="update")
    client.force_login(boss)
    changelist = client.get("/admin/org/auditevent/")
    assert changelist.status_code == 200 and "delete_selected" not in changelist.content.decode()
    assert client.get("/admin/org/auditevent/add/").status_code == 403
    assert (
        client.post("/admin/org/auditevent/add/", {"entity": "x", "entity_id": "1", "action": "a"}).status_code == 403
    )
    page = client.get(f"/admin/org/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    client.post(f"/admin/org/auditevent/{event.pk}/change/", {"action": "forged", "reason": "x"})
    assert client.post(f"/admin/org/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        "/admin/org/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert event.action == "update" and AuditEvent.objects.filter(pk=event.pk).exists()
    assert AuditEvent.objects.count() == 1
