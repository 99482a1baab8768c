"""Pipeline reads for signals' notifications (docs/signals-notifications.md): who a deal was just assigned to and
by whom, and a deal's name and owner for a refused stage move. Plain rows out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.models import Deal, DealChange, DealStatus, Stage


@dataclass(frozen=True)
class OwnerChange:
    """A deal's latest change of owner: to whom, by whom (None: the hub itself, a loader or an import)."""

    change_id: int
    deal_id: int
    deal_name: str
    owner_id: int
    changed_by_id: int | None


def latest_owner_changes(deal_ids: Iterable[int]) -> list[OwnerChange]:
    """Each deal's latest owner change (one query), when it gave the deal to its current owner."""
    ids = sorted(set(deal_ids))
    if not ids:
        return []
    rows = (
        DealChange.objects.filter(deal_id__in=ids, field=DealChange.Field.OWNER)
        .order_by("deal_id", "-changed_at", "-id")
        .distinct("deal_id")
        .values_list("id", "deal_id", "deal__name", "deal__owner_id", "new_ref", "changed_by_id")
    )
    return [
        OwnerChange(change_id=pk, deal_id=deal_id, deal_name=name, owner_id=owner_id, changed_by_id=by)
        for pk, deal_id, name, owner_id, new_ref, by in rows
        if new_ref == owner_id
    ]


@dataclass(frozen=True)
class DealBrief:
    deal_id: int
    name: str
    owner_id: int
    stage_name: str


def deal_brief(deal_id: int) -> DealBrief | None:
    """A deal's name, owner and current stage, whoever owns it (the caller decides who is told)."""
    row = Deal.objects.filter(pk=deal_id).values_list("name", "owner_id", "stage__name").first()
    if row is None:
        return None
    return DealBrief(deal_id=deal_id, name=row[0], owner_id=row[1], stage_name=row[2])


def stage_name(stage_id: int) -> str:
    return Stage.objects.filter(pk=stage_id).values_list("name", flat=True).first() or ""


def open_deal_of(owner_id: int) -> tuple[int, str] | None:
    """One open deal of the person (id, name): the largest, for the demo's notifications to point at."""
    row = (
        Deal.objects.filter(owner_id=owner_id, status=DealStatus.OPEN)
        .order_by("-amount", "pk")
        .values_list("pk", "name")
        .first()
    )
    return (row[0], row[1]) if row else None
