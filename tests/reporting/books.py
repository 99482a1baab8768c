"""Deals written as the pipeline's services would leave them, with their stage history: the reporting
tests' building block (tests/reporting/conftest.py, tests/e2e/test_reporting.py)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pipeline.models import Deal, DealChange, DealLineItem, DealSplit, Product, Stage
from tests.factories import DealFactory


def at(day: str, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)))


def make_deal(
    *,
    owner: Any,
    stage: Stage,
    amount: str | None,
    close: str | None,
    created: str,
    path: Sequence[tuple[Stage, str]] = (),
    splits: Sequence[tuple[Any, str, bool]] = (),
    product: Product | None = None,
    pushes: Sequence[tuple[str, str, str]] = (),
    name: str = "",
) -> Deal:
    """A deal with its stage history (`path`: stage entered on day, ending in `stage`), splits, first
    product line and close-date pushes (old, new, on day), written directly as the services would leave it."""
    deal = DealFactory.create(
        name=name or f"deal of {owner.username}",
        owner=owner,
        stage=stage,
        amount=Decimal(amount) if amount is not None else None,
        close_date=dt.date.fromisoformat(close) if close else None,
        created_date=dt.date.fromisoformat(created),
        stage_entered_at=at(path[-1][1]) if path else at(created),
    )
    steps = list(path) or [(stage, created)]
    history = [
        DealChange(
            deal=deal, field="created", new_value=steps[0][0].name, new_ref=steps[0][0].pk, changed_at=at(steps[0][1])
        )
    ]
    for (old, _), (new, day) in itertools.pairwise(steps):
        history.append(
            DealChange(
                deal=deal,
                field="stage",
                old_value=old.name,
                new_value=new.name,
                old_ref=old.pk,
                new_ref=new.pk,
                changed_at=at(day),
            )
        )
    for old_close, new_close, day in pushes:
        history.append(
            DealChange(deal=deal, field="close_date", old_value=old_close, new_value=new_close, changed_at=at(day, 9))
        )
    DealChange.objects.bulk_create(history)
    for person, percent, overlay in splits:
        DealSplit.objects.create(deal=deal, person=person, percent=Decimal(percent), is_overlay=overlay)
    if product is not None:
        DealLineItem.objects.create(deal=deal, product=product, unit_price=Decimal(amount or "0"))
    return deal
