"""Subscriptions of enablement to other apps' events (connected in EnablementConfig.ready). Each area adds its
own connect call here."""

from __future__ import annotations

from typing import Any


def connect() -> None:
    from pipeline.events import deals_changed
    from salesops.org.events import person_changed

    # Programmes: a deal change evaluates its people's CRM milestones; a person who starts is enrolled.
    deals_changed.connect(_milestones_on_deals_changed, dispatch_uid="enablement-milestones-on-deal-change")
    person_changed.connect(_enrol_on_person_changed, dispatch_uid="enablement-enrol-on-person-change")


def _milestones_on_deals_changed(sender: object, *, person_ids: list[int], **_: Any) -> None:
    """Deals of these people changed: their open milestone steps are evaluated by a queued task (coalesced)."""
    if person_ids:
        from enablement.tasks_programmes import queue_milestones

        queue_milestones(person_ids)


def _enrol_on_person_changed(sender: object, *, person_id: int, created: bool = False, **_: Any) -> None:
    """A person created or changed (sent after commit): when they start, enrol them in matching programmes."""
    from enablement.services.programmes import enrol_if_starting

    enrol_if_starting(person_id=person_id)
