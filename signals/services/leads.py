"""Signals services: lead hand-off: the response SLA per lead source (sales ops set them; docs/signals-leads.md).

The routing and answering of leads themselves are pipeline's services (lead_create, lead_assign,
lead_mark_answered, activity_create with a lead); escalation on breach is a rule (signals/services/rules.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.functions import Lower

from pipeline.selectors import leads as pipeline_leads
from salesops.api import DomainError
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.services import audit_record
from signals.models import ResponseSla

SOURCE_MAX = 80  # ResponseSla.source
MAX_MINUTES = 60 * 24 * 90  # 90 days: an SLA beyond that is a typo (minutes for hours twice over)


def _require_ops(actor: User | None) -> None:
    if actor is not None and not may_manage_setup(actor):
        raise PermissionDenied("Only sales ops set response SLAs.")


def _clean(source: str, minutes: object) -> tuple[str, int]:
    source = pipeline_leads.source_label(source or "")  # as the report and the sweep match leads to it
    if "\x00" in source or len(source) > SOURCE_MAX:
        raise DomainError(f"A source has at most {SOURCE_MAX} characters and no NUL character.", field="source")
    try:
        value = int(str(minutes))
    except (TypeError, ValueError):
        value = 0
    what = f"The SLA for {source}" if source else "The SLA for any other source"
    if not 1 <= value <= MAX_MINUTES:
        raise DomainError(f"{what} must be a whole number of minutes from 1 to {MAX_MINUTES:,}.", field="minutes")
    return source, value


@transaction.atomic
def response_sla_save(
    *, actor: User | None, source: str, minutes: object, is_active: bool = True, sla: ResponseSla | None = None
) -> ResponseSla:
    """Create (no `sla`) or change an SLA row. One row per source, case-insensitive; a blank source is the default
    row for every source without one. Audited."""
    _require_ops(actor)
    source, value = _clean(source, minutes)
    clash = ResponseSla.objects.annotate(key=Lower("source")).filter(key=source.lower())
    if sla is not None:
        clash = clash.exclude(pk=sla.pk)
    existing = clash.first()
    if existing is not None:
        named = f"“{existing.source}”" if existing.source else "any other source"
        raise DomainError(f"There is an SLA for {named} already: change that one.", field="source")
    if sla is None:
        sla = ResponseSla.objects.create(source=source, minutes=value, is_active=is_active)
        created = {"source": (None, source), "minutes": (None, value), "is_active": (None, is_active)}
        audit_record(actor=actor, instance=sla, action="create", changes=created)
        return sla
    sla = ResponseSla.objects.select_for_update().get(pk=sla.pk)
    changes = {
        field: (getattr(sla, field), new)
        for field, new in (("source", source), ("minutes", value), ("is_active", is_active))
        if getattr(sla, field) != new
    }
    if changes:
        for field, (_, new) in changes.items():
            setattr(sla, field, new)
        sla.save()
        audit_record(actor=actor, instance=sla, action="update", changes=changes)
    return sla


@transaction.atomic
def response_sla_delete(*, actor: User | None, sla: ResponseSla) -> None:
    """Remove an SLA row (its source falls back to the default row). Audited."""
    _require_ops(actor)
    audit_record(actor=actor, instance=sla, action="delete",
                 changes={"source": (sla.source, None), "minutes": (sla.minutes, None)})  # fmt: skip
    sla.delete()
