"""Product gap on lost deals (docs/signals-winloss.md): given on the lost form (page and API) and the deal form,
kept in the deal's history like the competitor, cleared when the deal leaves lost, refused on a deal not lost,
and suggested from the tags in use on the deals the person sees."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import Deal, DealChange
from salesops.api import DomainError
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages(org):
    services.lost_reasons()
    return default_stages()


def _history(deal: Deal) -> list[tuple[str, str, str]]:
    return [(c.field, c.old_value, c.new_value) for c in DealChange.objects.filter(deal=deal, field="product_gap")]


def test_lost_with_a_gap_kept_in_history_and_cleared_when_reopened(org, stages) -> None:
    deal = DealFactory.create(name="Alpha", owner=org.rep_a, stage=stages["Proposal"])
    deal = services.deal_move_stage(actor=org.rep_a, deal=deal, stage=stages["Closed Lost"], lost_reason="Feature gap",
                                    lost_competitor="Acme", product_gap="  SSO   login ")  # fmt: skip
    assert deal.product_gap == "SSO login"
    services.deal_update(actor=org.rep_a, deal=deal, product_gap="SAML SSO")
    deal = services.deal_move_stage(actor=org.rep_a, deal=deal, stage=stages["Proposal"])
    assert deal.product_gap == ""
    assert _history(deal) == [("product_gap", "", "SSO login"), ("product_gap", "SSO login", "SAML SSO"),
                              ("product_gap", "SAML SSO", "")]  # fmt: skip


def test_a_gap_only_on_a_lost_deal(org, stages) -> None:
    deal = DealFactory.create(name="Bravo", owner=org.rep_a, stage=stages["Proposal"])
    with pytest.raises(DomainError, match="Bravo is not lost"):
        services.deal_update(actor=org.rep_a, deal=deal, product_gap="SSO")
    with pytest.raises(DomainError, match="closed as lost"):
        services.deal_move_stage(actor=org.rep_a, deal=deal, stage=stages["Discovery"], product_gap="SSO")


def test_the_lost_form_offers_the_gaps_in_use_and_saves_one(client_for, org, stages) -> None:
    DealFactory.create(owner=org.rep_a, stage=stages["Closed Lost"], product_gap="Offline mode")
    DealFactory.create(owner=org.rep_c, stage=stages["Closed Lost"], product_gap="West coast secret")
    deal = DealFactory.create(name="Charlie", owner=org.rep_a, stage=stages["Proposal"])
    client = client_for(org.rep_a)
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert 'list="product-gap-suggestions"' in page and '<option value="Offline mode">' in page
    assert "West coast secret" not in page  # suggestions come from the deals the person sees
    client.post(reverse("pipeline:deal_move", args=[deal.pk]), {"stage": stages["Closed Lost"].pk,
                "lost_reason": "Feature gap", "product_gap": "Offline mode"})  # fmt: skip
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.product_gap == "Offline mode"
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert "Product gap" in page
    edited = client.post(reverse("pipeline:deal_field", args=[deal.pk, "product_gap"]), {"product_gap": "SSO"})
    assert edited.status_code == 200
    deal.refresh_from_db()
    assert deal.product_gap == "SSO"


def test_the_api_moves_to_lost_with_a_gap_and_patches_it(api_client_for, org, stages) -> None:
    deal = DealFactory.create(name="Delta", owner=org.rep_a, stage=stages["Proposal"])
    api = api_client_for(org.rep_a)
    moved = api.post(f"/api/v1/deals/{deal.pk}/move/", {"stage": stages["Closed Lost"].pk,
                     "lost_reason": "Price", "product_gap": "API limits"}, format="json")  # fmt: skip
    assert moved.status_code == 200 and moved.json()["product_gap"] == "API limits"
    patched = api.patch(f"/api/v1/deals/{deal.pk}/", {"product_gap": "Webhooks"}, format="json")
    assert patched.status_code == 200 and patched.json()["product_gap"] == "Webhooks"
