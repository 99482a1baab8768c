"""The permission matrix's signals routes and records: marketing (see tests/signals/matrix_common.py).

Campaigns are shared (everyone reads; sales ops write: 403 for the others). A campaign's touches and members name
deals, leads and contacts, so each owner's deal carries a touch and each owner's lead is a member: the campaign
page and the API list them only to those who see the deal or the lead (the leak search reads the markers).
Attribution is for managers, finance and sales ops (reps 403). Records a sales-ops write removes have their own
copies, so the walk's later reads still find theirs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.signals.matrix_common import OPS, PAGE_ROLES_MANAGERS, POST

PATCH_DELETE = ("PATCH", "DELETE")
DELETE = ("DELETE",)
CAMPAIGN_BODY = {"name": "Matrix API campaign", "type": "email", "status": "planned", "start_date": "2026-01-05",
                 "end_date": "2026-01-06", "cost": "10.00", "owner": "@person"}  # fmt: skip

ROUTES: dict[str, dict[str, Any]] = {
    "signals/campaigns/": {"writes": POST, "writers": OPS, "body": {"name": "Matrix campaign"}},
    "signals/campaigns/import/": {"writes": POST, "only": OPS},
    "signals/campaigns/deals/": {"only": OPS},
    "signals/campaigns/<int:pk>/": {"ids": "campaign", "writes": POST, "writers": OPS},
    "signals/campaigns/<int:pk>/members/": {"ids": "campaign", "writes": POST, "only": OPS},
    "signals/campaigns/<int:pk>/touches/": {"ids": "campaign", "writes": POST, "only": OPS},
    "signals/campaigns/members/<int:pk>/status/": {"ids": "campaign_member_page", "writes": POST, "only": OPS},
    "signals/campaigns/members/<int:pk>/remove/": {"ids": "campaign_member_page", "writes": POST, "only": OPS},
    "signals/campaigns/touches/<int:pk>/remove/": {"ids": "campaign_touch_page", "writes": POST, "only": OPS},
    "signals/campaigns/<int:pk>/delete/": {"ids": "campaign_doomed", "writes": POST, "only": OPS},
    "signals/attribution/": {"only": PAGE_ROLES_MANAGERS},
    "signals/attribution/export/": {"only": PAGE_ROLES_MANAGERS},
    "api/v1/signals/campaigns/": {"writes": POST, "writers": OPS, "body": CAMPAIGN_BODY},
    "api/v1/signals/campaigns/<pk>/": {"ids": "campaign_api_doomed", "writes": PATCH_DELETE, "writers": OPS,
                                       "body": {"description": "matrix"}},
    "api/v1/signals/campaign-members/": {"writes": POST, "writers": OPS,
                                         "body": {"campaign": "@campaign", "lead_id": "@lead", "status": "sent"}},
    "api/v1/signals/campaign-members/import/": {"writes": POST, "only": OPS},
    "api/v1/signals/campaign-members/<pk>/": {"ids": "campaign_member", "writes": PATCH_DELETE, "writers": OPS,
                                              "body": {"status": "responded",
                                                       "responded_at": "2026-01-10T12:00:00Z"}},
    "api/v1/signals/campaign-touches/": {"writes": POST, "writers": OPS, "query": ("deal=@deal",),
                                         "body": {"campaign": "@campaign", "deal_id": "@deal",
                                                  "touched_at": "2026-01-10T12:00:00Z"}},
    "api/v1/signals/campaign-touches/<pk>/": {"ids": "campaign_touch", "writes": DELETE, "writers": OPS},
    "api/v1/signals/attribution/": {"only": PAGE_ROLES_MANAGERS},
}  # fmt: skip
OWNED_KINDS: set[str] = {"campaign_member", "campaign_member_page", "campaign_touch", "campaign_touch_page"}


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from signals.models import CampaignMember
    from signals.services import marketing as services

    ops = people["ops"]

    def campaign(name: str) -> Any:
        return services.campaign_create(actor=ops, name=name, type="webinar", start_date=dt.date(2025, 1, 2),
                                        end_date=dt.date(2025, 1, 3), cost="1000", owner=ops)  # fmt: skip

    main, other = campaign("MARK-shared-campaign"), campaign("MARK-shared-campaign-2")
    shared["campaign"] = main.pk
    shared["campaign_doomed"] = campaign("MARK-shared-campaign-doomed").pk
    shared["campaign_api_doomed"] = campaign("MARK-shared-campaign-api").pk
    for record in owned.values():
        for kind, camp in (("campaign_touch", main), ("campaign_touch_page", other)):
            # before the won deal closed (10 Feb 2025): it counts in the owner's attribution of fiscal 2025
            touch = services.touch_add(actor=ops, campaign=camp, deal_id=record["won"],
                                       touched_at=dt.date(2025, 1, 2))  # fmt: skip
            record[kind] = touch.pk
        services.touch_add(actor=ops, campaign=main, deal_id=record["deal"], touched_at=dt.date(2025, 1, 4))
        member = services.member_add(actor=ops, campaign=main, lead_id=record["lead"])
        record["campaign_member"] = member.pk
        page_member = services.member_add(actor=ops, campaign=other, contact_id=record["contact"])
        record["campaign_member_page"] = page_member.pk
    assert CampaignMember.objects.filter(campaign=main).count() == len(owned)
