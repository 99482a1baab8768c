"""The permission matrix's signals routes and records: lead hand-off (see tests/signals/matrix_common.py).

The response report is everyone's over the leads they see (its CSV: not a rep's); the SLA settings are sales ops'
(everyone else 403; the API lets everyone read the SLAs). The lead page and its hand-off actions (pipeline's) follow
the lead's owner: 404 outside the scope, 403 for finance. Each owner's matrix lead is routed a day ago from a marked
source with a 30-minute default SLA, so each is breached now and the report names it."""

from __future__ import annotations

from typing import Any

from tests.signals.matrix_common import OPS, POST

PATCH_DELETE = ("PATCH", "DELETE")

ROUTES: dict[str, dict[str, Any]] = {
    "signals/leads/response/": {"query": ("by=owner", "by=team", "export=csv", "period=FY2025")},
    "signals/leads/slas/": {"writes": POST, "only": OPS, "body": {"source": "Matrix", "minutes": "30"}},
    "signals/leads/slas/<int:pk>/": {"ids": "sla", "writes": POST, "only": OPS,
                                     "body": {"source": "", "minutes": "45", "is_active": "on"}},
    "signals/leads/slas/<int:pk>/delete/": {"ids": "sla", "writes": POST, "only": OPS},
    "api/v1/signals/lead-response/": {"query": ("period=90d",)},
    "api/v1/signals/response-slas/": {"writes": POST, "writers": OPS, "body": {"source": "Matrix", "minutes": 30}},
    "api/v1/signals/response-slas/<pk>/": {"ids": "sla", "writes": PATCH_DELETE, "writers": OPS,
                                           "body": {"minutes": 45}},
    # The pipeline side of the hand-off: a lead's page and actions, like its conversion.
    "pipeline/leads/<int:pk>/": {"ids": "lead"},
    "pipeline/leads/<int:pk>/answered/": {"ids": "lead", "writes": POST},
    "pipeline/leads/<int:pk>/assign/": {"ids": "lead", "writes": POST, "body": {"owner": "@person"}},
    "pipeline/leads/<int:pk>/activities/": {"ids": "lead", "writes": POST, "body": {"kind": "call", "subject": "M"}},
    "api/v1/leads/<pk>/answered/": {"ids": "lead", "writes": POST},
    "api/v1/leads/<pk>/assign/": {"ids": "lead", "writes": POST, "body": {"owner": "@person"}},
}  # fmt: skip
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    import datetime as dt

    from django.utils import timezone

    from pipeline.models import Lead
    from signals.services import leads as services

    sla = services.response_sla_save(actor=people["ops"], source="", minutes=30)
    shared["sla"] = sla.pk
    routed = timezone.now() - dt.timedelta(days=1)
    for owner, records in owned.items():
        Lead.objects.filter(pk=records["lead"]).update(routed_at=routed, source=f"MARK-{owner}-source")
