"""Writes of the adoption area: weekly scorecard snapshots and roll-outs (docs/enablement-adoption.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from enablement.engine import adoption as engine
from enablement.models import AdoptionSnapshot, Rollout, TargetRole
from enablement.selectors import adoption as selectors
from salesops import limits
from salesops.api import DomainError, Forbidden
from salesops.kernel.ids import is_id
from salesops.org.models import Region, Team, User
from salesops.org.permissions import may_manage_setup
from salesops.org.services import audit_record


def _stored(value: Decimal | int | None) -> str | int | None:
    return None if value is None else (str(value) if isinstance(value, Decimal) else value)


def snapshot_write(*, person_ids: Iterable[int], week: dt.date, now: dt.datetime) -> int:
    """Write (or rewrite) the scorecard rows of `person_ids` for the week starting Monday `week`, computed as of
    the week's end (Sunday 24:00) or `now` when that is earlier. One upsert; returns the rows written."""
    zone = timezone.get_current_timezone()
    end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    as_of = min(now, end)
    # `today` is the week's last day reached (Sunday for a closed week): a close date of that day is still current.
    today = timezone.localdate(as_of) if as_of < end else week + dt.timedelta(days=6)
    scores = selectors.scorecard_for_week(person_ids, week=week, today=today, now=as_of)
    rows = [
        AdoptionSnapshot(
            person_id=s.person_id,
            week=week,
            parts={k: _stored(v) for k, v in s.parts.items()},
            figures={k: _stored(v) for k, v in s.figures.items()},
            score=s.score,
            computed_at=now,
        )
        for s in scores.values()
    ]
    with transaction.atomic():
        AdoptionSnapshot.objects.bulk_create(
            rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["person", "week"],
            update_fields=["parts", "figures", "score", "computed_at"],
        )
    return len(rows)


def snapshot_adoption(*, now: dt.datetime | None = None) -> int:
    """The hourly job: this week's rows for everyone with access; on Mondays also last week's (closed as of
    Sunday 24:00, once: the first run after the week ended writes it and later runs leave it). Idempotent: one row
    per person and week, rewritten in place."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    people = list(selectors.people_with_access().values_list("id", flat=True))
    week = engine.week_start(today)
    written = snapshot_write(person_ids=people, week=week, now=now)
    if today.weekday() == 0:
        # Last week is closed once, by the first run after Sunday 24:00: a row already written after the week ended
        # is final (later runs on Monday would read the deals as they are by then, not as they stood on Sunday).
        last = week - dt.timedelta(days=7)
        ended = dt.datetime.combine(week, dt.time.min, tzinfo=timezone.get_current_timezone())
        closed = set(
            AdoptionSnapshot.objects.filter(week=last, computed_at__gte=ended).values_list("person_id", flat=True)
        )
        open_rows = [p for p in people if p not in closed]
        if open_rows:
            written += snapshot_write(person_ids=open_rows, week=last, now=now)
    return written


# ------------------------------------------------------------------------------------------------ roll-outs
ROLLOUT_FIELDS = ("name", "description", "team", "region", "role", "go_live", "metric", "threshold", "target_share")


def _share(value: Any, *, label: str, name: str, allow_zero: bool) -> Decimal:
    try:
        share = Decimal(str(value).strip().rstrip("%")) if value not in (None, "") else None
    except InvalidOperation:
        share = None
    if share is None or not share.is_finite():
        raise DomainError(f"Roll-out {name}: the {label} must be a number between 0 and 1.", field=label)
    if share > 1:  # typed as a percentage
        share = share / 100
    if share < 0 or share > 1 or (share == 0 and not allow_zero):
        raise DomainError(f"Roll-out {name}: the {label} must be between 0 and 1 (or 0 and 100 %).", field=label)
    return share.quantize(Decimal("0.0001"))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    name = str(values.get("name") or "").strip()
    if not name:
        raise DomainError("A roll-out needs a name.", field="name")
    if len(name) > 160:
        raise DomainError(f"Roll-out {name[:40]}…: the name is longer than 160 characters.", field="name")
    metric = str(values.get("metric") or "")
    if metric not in engine.METRICS:
        raise DomainError(f"Roll-out {name}: the metric must be one of {', '.join(engine.METRICS)}.", field="metric")
    go_live = values.get("go_live")
    if isinstance(go_live, str):
        try:
            go_live = dt.date.fromisoformat(go_live)
        except ValueError:
            go_live = None
    if not isinstance(go_live, dt.date):
        raise DomainError(f"Roll-out {name}: give the go-live date (YYYY-MM-DD).", field="go_live")
    if problem := limits.date_problem(go_live):
        raise DomainError(f"Roll-out {name}: the go-live date {problem}.", field="go_live")
    role = str(values.get("role") or "")
    if role not in TargetRole.values:
        raise DomainError(f"Roll-out {name}: unknown role {role!r}.", field="role")
    team = values.get("team")
    if team is not None and not isinstance(team, Team):
        team = Team.objects.filter(pk=team).first() if is_id(team) else None
        if team is None:
            raise DomainError(f"Roll-out {name}: no such team.", field="team")
    region = values.get("region")
    if region is not None and not isinstance(region, Region):
        region = Region.objects.filter(pk=region).first() if is_id(region) else None
        if region is None:
            raise DomainError(f"Roll-out {name}: no such region.", field="region")
    return {
        "name": name,
        "description": str(values.get("description") or "").strip(),
        "team": team,
        "region": region,
        "role": role,
        "go_live": go_live,
        "metric": metric,
        "threshold": _share(values.get("threshold", 1), label="threshold", name=name, allow_zero=True),
        "target_share": _share(values.get("target_share", "0.8"), label="target_share", name=name, allow_zero=False),
    }


def _may_write(actor: User) -> None:
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops create and change roll-outs.")


@transaction.atomic
def rollout_create(*, actor: User, **values: Any) -> Rollout:
    """A new roll-out (sales ops)."""
    _may_write(actor)
    clean = _clean(values)
    if Rollout.objects.filter(name=clean["name"]).exists():
        raise DomainError(f"Roll-out {clean['name']}: a roll-out of that name exists.", field="name")
    rollout = Rollout.objects.create(created_by=actor, **clean)
    audit_record(actor=actor, instance=rollout, action="create",
                 changes={k: (None, str(v) if v is not None else None) for k, v in clean.items()})  # fmt: skip
    return rollout


@transaction.atomic
def rollout_update(*, actor: User, rollout: Rollout, **values: Any) -> Rollout:
    """Change a roll-out (sales ops); fields not given keep their value."""
    _may_write(actor)
    current = {f: getattr(rollout, f) for f in ROLLOUT_FIELDS}
    clean = _clean({**current, **values})
    if Rollout.objects.filter(name=clean["name"]).exclude(pk=rollout.pk).exists():
        raise DomainError(f"Roll-out {clean['name']}: a roll-out of that name exists.", field="name")
    changes = {k: (str(current[k]), str(v)) for k, v in clean.items() if current[k] != v}
    for key, value in clean.items():
        setattr(rollout, key, value)
    rollout.save()
    if changes:
        audit_record(actor=actor, instance=rollout, action="update", changes=changes)
    return rollout


@transaction.atomic
def rollout_delete(*, actor: User, rollout: Rollout) -> None:
    """Remove a roll-out (sales ops); the snapshots it read stay."""
    _may_write(actor)
    audit_record(actor=actor, instance=rollout, action="delete", changes={"name": (rollout.name, None)})
    rollout.delete()
