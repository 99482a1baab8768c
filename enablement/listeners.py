"""Subscriptions of enablement to other apps' events (connected in EnablementConfig.ready). Each area adds its
own connect call here."""

from __future__ import annotations

import logging
from typing import Any


def connect() -> None:
    from pipeline.events import deals_changed
    from salesops.org.events import person_changed

    # Programmes: a deal change evaluates its people's CRM milestones; a person who starts is enrolled.
    deals_changed.connect(_milestones_on_deals_changed, dispatch_uid="enablement-milestones-on-deal-change")
    person_changed.connect(_enrol_on_person_changed, dispatch_uid="enablement-enrol-on-person-change")
    # Ramp: a deal change forgets its people's maintained ramp rows and queues their refresh.
    deals_changed.connect(_ramp_on_deals_changed, dispatch_uid="enablement-ramp-on-deal-change")


def _milestones_on_deals_changed(sender: object, *, person_ids: list[int], **_: Any) -> None:
    """Deals of these people changed: their open milestone steps are evaluated by a queued task (coalesced)."""
    if person_ids:
        from enablement.tasks_programmes import queue_milestones

        queue_milestones(person_ids)


def _enrol_on_person_changed(sender: object, *, person_id: int, created: bool = False, **_: Any) -> None:
    """A person created or changed (sent after commit): when they start, enrol them in matching programmes."""
    from enablement.services.programmes import enrol_if_starting

    enrol_if_starting(person_id=person_id)


def _ramp_on_deals_changed(sender: object, *, person_ids: list[int], **_: Any) -> None:
    """Deals of these people changed (sent after commit): their maintained ramp rows are dropped at once (the ramp
    reads their deals live meanwhile) and a coalesced refresh is queued (docs/enablement-ramp.md, "Freshness").
    Never fails the change: the nightly refresh catches up."""
    if not person_ids:
        return
    from enablement.services.ramp import forget
    from enablement.tasks_ramp import queue_ramp_refresh

    try:
        forget(person_ids)
        queue_ramp_refresh(person_ids)
    except Exception:
        logging.getLogger(__name__).exception("could not refresh the ramp of %s people", len(person_ids))
