"""Writes of the pipeline. Pages, the API, imports, Celery and commands all come through here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pipeline import history
from pipeline.events import announce_deals_changed, announces_stage_move_refusals, locked_period_holding
from pipeline.history import DealState, HistoryRow, Ref, history_rows
from pipeline.models import (
    EXIT_CRITERIA_FIELDS,
    Account,
    Activity,
    ActivityKind,
    Contact,
    Deal,
    DealChange,
    DealSplit,
    DealStatus,
    ForecastCategory,
    Lead,
    LeadStatus,
    LostReason,
    Pipeline,
    Stage,
)
from pipeline.normalize import account_name_key
from pipeline.selectors import accounts_visible_to
from salesops import formats, limits
from salesops.api import DomainError
from salesops.kernel.money import MoneyError, parse_money
from salesops.org.models import User
from salesops.org.services import audit_record

CENT = Decimal("0.01")
OPEN_CATEGORIES = {ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, ForecastCategory.COMMIT}

# The pipeline a new company starts with; sales ops change it on the pipeline setup page.
DEFAULT_STAGES: list[dict[str, Any]] = [
    {"name": "Prospecting", "probability": 10, "forecast_category": "pipeline", "exit_criteria": []},
    {"name": "Qualification", "probability": 20, "forecast_category": "pipeline", "exit_criteria": ["account"]},
    {"name": "Discovery", "probability": 40, "forecast_category": "best_case", "exit_criteria": ["account", "amount"]},
    {
        "name": "Proposal",
        "probability": 60,
        "forecast_category": "best_case",
        "exit_criteria": ["account", "amount", "close_date"],
    },
    {
        "name": "Negotiation",
        "probability": 80,
        "forecast_category": "commit",
        "exit_criteria": ["account", "amount", "close_date", "contact"],
    },
    {
        "name": "Closed Won",
        "probability": 100,
        "forecast_category": "closed",
        "is_won": True,
        "exit_criteria": ["amount", "close_date"],
    },
    {"name": "Closed Lost", "probability": 0, "forecast_category": "omitted", "is_lost": True, "exit_criteria": []},
]


def _check_dates(name: str, values: dict[str, Any]) -> None:
    """A close or created date inside the date rule (docs/rules.md): 9999-12-31 is a typo, not a plan."""
    for field, words in (("close_date", "close date"), ("created_date", "created date")):
        day = values.get(field)
        problem = isinstance(day, dt.date) and limits.date_problem(day)
        if problem:
            raise DomainError(f"{name}: the {words} {problem}.", field=field)


def _money(value: Any, *, what: str) -> Decimal | None:
    try:
        return parse_money(value, optional=True, allow_negative=False)
    except MoneyError as exc:
        if exc.reason == "negative":
            raise DomainError(f"{what}: the amount may not be negative ({exc.amount}).", field="amount") from exc
        raise DomainError(f"{what}: {value!r} is not an amount.", field="amount") from exc


# ---------------------------------------------------------------------------------------- pipelines
@transaction.atomic
def pipeline_create(
    *, actor: User | None, name: str, stages: Sequence[dict[str, Any]] = DEFAULT_STAGES, is_default: bool = False
) -> Pipeline:
    name = name.strip()
    if not name:
        raise DomainError("A pipeline needs a name.", field="name")
    if Pipeline.objects.filter(name__iexact=name).exists():
        raise DomainError(f"A pipeline named {name!r} exists already.", field="name")
    if is_default or not Pipeline.objects.filter(is_default=True).exists():
        Pipeline.objects.filter(is_default=True).update(is_default=False)
        is_default = True
    pipeline = Pipeline.objects.create(name=name, is_default=is_default)
    for position, spec in enumerate(stages, start=1):
        _validate_stage_spec(pipeline, spec)
        Stage.objects.create(pipeline=pipeline, position=position, **spec)
    audit_record(actor=actor, instance=pipeline, action="create", changes={"name": (None, name)})
    return pipeline


def _validate_stage_spec(pipeline: Pipeline, spec: dict[str, Any]) -> None:
    unknown = set(spec.get("exit_criteria", [])) - set(EXIT_CRITERIA_FIELDS)
    if unknown:
        raise DomainError(
            f"Stage {spec.get('name')!r} of {pipeline.name}: unknown exit criteria {sorted(unknown)}; "
            f"choose from {sorted(EXIT_CRITERIA_FIELDS)}.",
            field="exit_criteria",
        )
    won, lost = spec.get("is_won", False), spec.get("is_lost", False)
    category = spec.get("forecast_category")
    expected = "closed" if won else "omitted" if lost else None
    if won and lost:
        raise DomainError(f"Stage {spec.get('name')!r} cannot be both won and lost.", field="is_won")
    if expected and category != expected:
        raise DomainError(f"Stage {spec.get('name')!r}: a {'won' if won else 'lost'} stage is {expected!r}.")
    if not expected and category not in OPEN_CATEGORIES:
        raise DomainError(
            f"Stage {spec.get('name')!r}: an open stage's category is pipeline, best_case or commit.",
            field="forecast_category",
        )
    probability = Decimal(str(spec.get("probability", 0)))
    if not 0 <= probability <= 100:
        raise DomainError(f"Stage {spec.get('name')!r}: probability must be 0–100.", field="probability")


def default_pipeline() -> Pipeline:
    """The default pipeline, created with the standard stages on first use."""
    pipeline = Pipeline.objects.filter(is_default=True).first()
    return pipeline or pipeline_create(actor=None, name="Sales", is_default=True)


@transaction.atomic
def stage_save(*, actor: User | None, pipeline: Pipeline, stage: Stage | None = None, **values: Any) -> Stage:
    """Create a stage at the end of `pipeline`, or change one (name, probability, category, flags, criteria)."""
    spec = {
        "name": values.get("name", stage.name if stage else ""),
        "probability": values.get("probability", stage.probability if stage else 0),
        "forecast_category": values.get("forecast_category", stage.forecast_category if stage else "pipeline"),
        "is_won": values.get("is_won", stage.is_won if stage else False),
        "is_lost": values.get("is_lost", stage.is_lost if stage else False),
        "exit_criteria": values.get("exit_criteria", stage.exit_criteria if stage else []),
    }
    if not str(spec["name"]).strip():
        raise DomainError("A stage needs a name.", field="name")
    _validate_stage_spec(pipeline, spec)
    clash = Stage.objects.filter(pipeline=pipeline, name__iexact=spec["name"])
    if stage is not None:
        clash = clash.exclude(pk=stage.pk)
    if clash.exists():
        raise DomainError(f"{pipeline.name} has a stage named {spec['name']!r} already.", field="name")
    if stage is None:
        last = Stage.objects.filter(pipeline=pipeline).order_by("-position").first()
        stage = Stage.objects.create(pipeline=pipeline, position=(last.position + 1) if last else 1, **spec)
        audit_record(actor=actor, instance=stage, action="create", changes={"name": (None, stage.name)})
        return stage
    changes = {k: (getattr(stage, k), v) for k, v in spec.items() if getattr(stage, k) != v}
    outcome_changed = "is_won" in changes or "is_lost" in changes
    if outcome_changed and stage.deals.exists():
        raise DomainError(
            f"Stage {stage.name!r} holds deals; move them before changing whether it is won or lost.", field="is_won"
        )
    for key, value in spec.items():
        setattr(stage, key, value)
    stage.save()
    if changes:
        audit_record(actor=actor, instance=stage, action="update", changes=changes)
    return stage


@transaction.atomic
def stage_reorder(*, actor: User | None, pipeline: Pipeline, stage_ids: list[int]) -> None:
    """Put `pipeline`'s stages in the order `stage_ids` lists them (the first at position 1). The list names each
    of its stages exactly once; a refusal names the ids not of the pipeline, those listed twice and the stages
    left out."""
    stages = {s.pk: s for s in Stage.objects.select_for_update().filter(pipeline=pipeline).order_by("position")}
    if sorted(stage_ids) != sorted(stages):
        raise DomainError(_stage_order_problems(pipeline, stages, stage_ids), field="stages")
    # Two passes so the unique (pipeline, position) constraint never sees a duplicate.
    offset = len(stages) + 1000
    for position, pk in enumerate(stage_ids, start=1):
        Stage.objects.filter(pk=pk).update(position=position + offset)
    for position, pk in enumerate(stage_ids, start=1):
        Stage.objects.filter(pk=pk).update(position=position)
    audit_record(actor=actor, instance=pipeline, action="reorder", changes={"stages": (list(stages), stage_ids)})


def _stage_order_problems(pipeline: Pipeline, stages: dict[int, Stage], stage_ids: list[int]) -> str:
    listed = Counter(stage_ids)
    foreign = [str(pk) for pk in listed if pk not in stages]
    if len(foreign) > 10:  # named, not echoed by the thousand
        foreign = [*foreign[:10], f"and {len(foreign) - 10} more"]
    twice = [f"{pk} ({stages[pk].name})" for pk, times in listed.items() if times > 1 and pk in stages]
    left_out = [f"{pk} ({stage.name})" for pk, stage in stages.items() if pk not in listed]
    problems = [
        *([f"not a stage of {pipeline.name}: {', '.join(foreign)}"] if foreign else []),
        *([f"listed more than once: {', '.join(twice)}"] if twice else []),
        *([f"left out: {', '.join(left_out)}"] if left_out else []),
    ]
    return f"The new order must list every stage of {pipeline.name} once; {'; '.join(problems)}."


@transaction.atomic
def stage_delete(*, actor: User | None, stage: Stage) -> None:
    count = stage.deals.count()
    if count:
        raise DomainError(f"Stage {stage.name!r} holds {count} deal(s); move them first.")
    audit_record(actor=actor, instance=stage, action="delete", changes={"name": (stage.name, None)})
    stage.delete()


# ------------------------------------------------------------------------------------- lost reasons
# The list a new company starts with (the same as the migration that seeds it).
DEFAULT_LOST_REASONS = ["Price", "Lost to competitor", "No decision", "Timing", "Budget cut", "Feature gap"]


def lost_reasons(*, active_only: bool = True) -> list[LostReason]:
    """The reasons sales ops keep, in their order; the default list is created on first use (an empty
    table means nobody has set them up: reasons are retired, never deleted)."""
    if not LostReason.objects.exists():
        LostReason.objects.bulk_create(
            [LostReason(name=name, position=i) for i, name in enumerate(DEFAULT_LOST_REASONS, start=1)],
            ignore_conflicts=True,
        )
    reasons = LostReason.objects.order_by("position", "name")
    return list(reasons.filter(is_active=True) if active_only else reasons)


@transaction.atomic
def lost_reason_save(
    *, actor: User | None, reason: LostReason | None = None, name: str, is_active: bool = True,
    position: int | None = None,
) -> LostReason:  # fmt: skip
    """Add a lost reason (at the end of the list unless `position` says), or rename, reorder or retire one.
    Deals lost for a renamed or retired reason keep the text they were lost with."""
    name = " ".join(name.split())
    if not name:
        raise DomainError("A lost reason needs a name.", field="name")
    clash = LostReason.objects.filter(name__iexact=name)
    if reason is not None:
        clash = clash.exclude(pk=reason.pk)
    if clash.exists():
        raise DomainError(f"There is a lost reason named {name!r} already.", field="name")
    if position is None:
        position = reason.position if reason else (max((r.position for r in lost_reasons(active_only=False)),
                                                      default=0) + 1)  # fmt: skip
    if reason is None:
        reason = LostReason.objects.create(name=name, is_active=is_active, position=position)
        audit_record(actor=actor, instance=reason, action="create", changes={"name": (None, name)})
        return reason
    values = {"name": name, "is_active": is_active, "position": position}
    changes = {k: (getattr(reason, k), v) for k, v in values.items() if getattr(reason, k) != v}
    if changes:
        for key, value in values.items():
            setattr(reason, key, value)
        reason.save()
        audit_record(actor=actor, instance=reason, action="update", changes=changes)
    return reason


def _active_lost_reason(deal_name: str, value: str) -> str:
    """The active reason `value` names (as sales ops spell it), or a DomainError naming the deal and the list."""
    active = lost_reasons()
    wanted = " ".join((value or "").split()).casefold()
    for reason in active:
        if reason.name.casefold() == wanted:
            return reason.name
    listed = ", ".join(r.name for r in active)
    if not wanted:
        raise DomainError(f"{deal_name} cannot be closed as lost without a reason: choose one of {listed}.",
                          field="lost_reason")  # fmt: skip
    raise DomainError(f"{value!r} is not a lost reason in use; choose one of {listed} for {deal_name}.",
                      field="lost_reason")  # fmt: skip


# ---------------------------------------------------------------------------------- locked periods
def _may_change_locked_pay(actor: User | None) -> bool:
    """Finance (and the hub itself, actor None: loaders and data fixes) may change what a locked period paid;
    the recompute then books the difference as a signed adjustment in the next open period."""
    return actor is None or bool(actor.is_finance or actor.is_superuser)


PAY_FIELDS = {"amount", "close_date", "owner", "currency"}


def _paid_in(deal: Deal, day: dt.date) -> str:
    """How a won deal's pay reaches the period holding `day`: its close date or its cancellation."""
    return "was cancelled in" if day == deal.cancelled_on and day != deal.close_date else "is won in"


def _pay_words(changed: list[str]) -> str:
    words = {"amount": "amount", "close_date": "close date", "owner": "owner", "currency": "currency"}
    return ", ".join(words[f] for f in changed if f in words)


FINANCE_MAY = " Only finance may do this; the difference is then paid in the next open period."
# Finance reads deals and changes none of their fields (roles.md), so a won deal's pay in a locked period is
# corrected once finance reopens the period; the reopened period then pays the change itself.
REOPEN_FIRST = " It can change once finance reopens {period}."


def _refuse_in_locked_period(
    actor: User | None, day: dt.date | None, message: str, *, then: str = FINANCE_MAY, field: str | None = None
) -> None:
    if day is None or _may_change_locked_pay(actor):
        return
    label = locked_period_holding(day)
    if label:
        raise DomainError((message + then).replace("{period}", label), code="locked_period", field=field)


def _refuse_winning_in_locked_period(actor: User | None, deal: Deal) -> None:
    """A deal won with a close date in a locked period would add to what that period paid: refused, as taking a
    won deal out of it is (the close date moves into an open period first)."""
    if deal.close_date is not None:
        _refuse_in_locked_period(
            actor,
            deal.close_date,
            f"{deal.name} would be won on its close date {formats.day(deal.close_date)}, in {{period}}, which is "
            "locked: move its close date into an open period first.",
            then=REOPEN_FIRST,
            field="close_date",
        )


# -------------------------------------------------------------------------------------------- deals
def missing_exit_criteria(deal: Deal, stage: Stage, *, line_item_count: int | None = None) -> list[str]:
    """What `deal` lacks to enter `stage`, in the words of EXIT_CRITERIA_FIELDS."""
    missing = []
    for criterion in stage.exit_criteria:
        if criterion == "line_items":
            count = line_item_count if line_item_count is not None else (deal.line_items.count() if deal.pk else 0)
            ok = count > 0
        elif criterion in ("account", "contact"):
            ok = getattr(deal, f"{criterion}_id") is not None
        else:
            value = getattr(deal, criterion)
            ok = value is not None and value != ""
        if not ok:
            missing.append(EXIT_CRITERIA_FIELDS[criterion])
    return missing


def _blocked_message(deal: Deal, stage: Stage, missing: list[str]) -> str:
    label = deal.name or "This deal"
    return f"{label} cannot enter {stage.name}: it needs {', '.join(missing)}."


def _change(deal: Deal, field: str, old: Any, new: Any, actor: User | None, *, old_ref: int | None = None,
            new_ref: int | None = None, at: dt.datetime | None = None, reason: str = "") -> DealChange:  # fmt: skip
    return DealChange(
        deal=deal,
        field=field,
        old_value=history.text(old),
        new_value=history.text(new),
        old_ref=old_ref,
        new_ref=new_ref,
        changed_by=actor if actor is not None and actor.pk else None,
        changed_at=at or timezone.now(),
        reason=reason[:400],
    )


def _history_state(deal: Deal, *, owner_name: str | None = None) -> DealState:
    """What the history tracks of `deal` as it stands (pipeline.history); `owner_name` spares loading the
    owner when the change keeps it."""
    owner = Ref(deal.owner_id, str(deal.owner) if owner_name is None else owner_name)
    return DealState(
        stage=Ref(deal.stage_id, deal.stage.name),
        owner=owner,
        amount=deal.amount,
        close_date=deal.close_date,
        category_override=deal.category_override,
        lost_reason=deal.lost_reason,
        lost_note=deal.lost_note,
        lost_competitor=deal.lost_competitor,
        product_gap=deal.product_gap,
    )


def _recorded(deal: Deal, row: HistoryRow, actor: User | None, *, at: dt.datetime | None = None,
              reason: str = "") -> DealChange:  # fmt: skip
    return _change(deal, row.field, row.old_value, row.new_value, actor, old_ref=row.old_ref, new_ref=row.new_ref,
                   at=at, reason=reason)  # fmt: skip


@transaction.atomic
def deal_create(
    *,
    actor: User | None,
    name: str,
    owner: User,
    stage: Stage | None = None,
    pipeline: Pipeline | None = None,
    amount: Any = None,
    **values: Any,
) -> Deal:
    if not name or not name.strip():
        raise DomainError("A deal needs a name.", field="name")
    _check_dates(name.strip(), values)
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline())
    stage = stage or pipeline.stages.order_by("position").first()
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise DomainError(f"The stage must belong to the pipeline {pipeline.name}.", field="stage")
    deal = Deal(
        name=name.strip(),
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        status=stage.status,
        amount=_money(amount, what=name),
        **values,
    )
    if deal.created_date is None:
        deal.created_date = timezone.localdate()
    if stage.is_lost and actor is not None:
        deal.lost_reason = _active_lost_reason(deal.name, deal.lost_reason)
    elif not stage.is_lost and (deal.lost_reason or deal.lost_note or deal.lost_competitor or deal.product_gap):
        raise DomainError(f"{deal.name} is not lost: a lost reason is given when it is closed as lost.",
                          field="lost_reason")  # fmt: skip
    missing = missing_exit_criteria(deal, stage, line_item_count=0)
    if missing:
        raise DomainError(_blocked_message(deal, stage, missing), field="stage")
    if deal.category_override and deal.category_override not in OPEN_CATEGORIES:
        raise DomainError("A category override is pipeline, best case or commit.", field="category_override")
    if stage.is_won:
        _refuse_winning_in_locked_period(actor, deal)
    deal.full_clean(exclude=["stage_entered_at"])
    deal.save()
    _change(deal, DealChange.Field.CREATED, None, stage.name, actor, new_ref=stage.pk).save()
    announce_deals_changed(deal_ids=[deal.pk], person_ids=[owner.pk], fields=["created"],
                           pay_relevant=deal.status == DealStatus.WON)  # fmt: skip
    return deal


TRACKED = {"amount", "close_date", "owner"}
# What a lost deal says about why (its history names them in pipeline.history.LOST_FIELDS).
LOST_FIELDS = tuple(attribute for attribute, _ in history.LOST_FIELDS)
EDITABLE = TRACKED | set(LOST_FIELDS) | {
    "name", "account", "contact", "probability", "deal_type", "source", "next_step", "currency", "created_date",
}  # fmt: skip


@transaction.atomic
def deal_update(*, actor: User | None, deal: Deal, **values: Any) -> Deal:
    """Change a deal's fields. Amount, close date and owner are kept in its history; the stage moves only
    through `deal_move_stage` and the category through `deal_set_category_override`."""
    unknown = set(values) - EDITABLE
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    deal = Deal.objects.select_for_update().select_related("stage", "owner").get(pk=deal.pk)
    if "amount" in values:
        values["amount"] = _money(values["amount"], what=deal.name)
    if "name" in values and not str(values["name"]).strip():
        raise DomainError("A deal needs a name.", field="name")
    _check_dates(deal.name, values)
    for field in LOST_FIELDS:
        if field in values:
            values[field] = " ".join(str(values[field] or "").split()) if field != "lost_note" else str(
                values[field] or "").strip()  # fmt: skip
    lost_changes = {f for f in LOST_FIELDS if f in values and values[f] != getattr(deal, f)}
    if lost_changes and deal.status != DealStatus.LOST:
        raise DomainError(f"{deal.name} is not lost: a lost reason is given when it is closed as lost.",
                          field=sorted(lost_changes)[0])  # fmt: skip
    if "lost_reason" in lost_changes and actor is not None:
        values["lost_reason"] = _active_lost_reason(deal.name, values["lost_reason"])
    changed: list[str] = []
    old_close_date = deal.close_date
    before = _history_state(deal)
    for field, new in values.items():
        old = getattr(deal, field)
        if old == new:
            continue
        changed.append(field)
        setattr(deal, field, new)
    if not changed:
        return deal
    # Which of these changes are history: pipeline.history, the one definition (the import's writer uses it).
    changes = [_recorded(deal, row, actor) for row in history_rows(before, _history_state(deal))]
    if deal.status == DealStatus.WON and set(changed) & PAY_FIELDS:
        # What a won deal pays is frozen with its period: not moved out of it (then out of won), not re-priced;
        # nor is what its cancellation took back in the period of the cancellation.
        for day in dict.fromkeys(d for d in (old_close_date, deal.close_date, deal.cancelled_on) if d):
            _refuse_in_locked_period(
                actor,
                day,
                f"{deal.name} {_paid_in(deal, day)} {{period}}, which is locked: its {_pay_words(changed)} no longer "
                f"change{'s' if len(set(changed) & PAY_FIELDS) == 1 else ''}.",
                then=REOPEN_FIRST,
            )
    if deal.cancelled_on and deal.close_date and deal.close_date > deal.cancelled_on:
        raise DomainError(
            f"{deal.name} was cancelled on {deal.cancelled_on}; its close date cannot move after that "
            f"({deal.close_date}).",
            field="close_date",
        )
    # A field its stage requires may not be cleared.
    missing = missing_exit_criteria(deal, deal.stage)
    if missing:
        raise DomainError(f"{deal.name} is in {deal.stage.name}, which needs {', '.join(missing)}.")
    deal.full_clean(exclude=["stage_entered_at"])
    deal.save()
    DealChange.objects.bulk_create(changes)
    # A new account is no history, but what is read through it (the reports' territory) follows at once.
    moved_account = ["account"] if "account" in changed else []
    if changes or moved_account:
        people = {deal.owner_id, *(c.old_ref for c in changes if c.field == "owner" and c.old_ref)}
        people |= set(deal.splits.values_list("person_id", flat=True))
        # The earliest date the change touches: a deal moved out of a (perhaps locked) period changes it too.
        dates = [d for d in (old_close_date, deal.close_date, deal.cancelled_on) if d]
        announce_deals_changed(
            deal_ids=[deal.pk],
            person_ids=people,
            fields=[c.field for c in changes] + moved_account,
            pay_relevant=deal.status == DealStatus.WON and any(c.field in TRACKED for c in changes),
            since=min(dates) if dates else None,
        )
    return deal


@announces_stage_move_refusals  # a refused move (rolled back) is announced: the owner may be told
@transaction.atomic
def deal_move_stage(
    *,
    actor: User | None,
    deal: Deal,
    stage: Stage,
    lost_reason: str = "",
    lost_note: str = "",
    lost_competitor: str = "",
    product_gap: str = "",
    reason: str = "",
) -> Deal:
    """Move a deal to another stage of its pipeline, if it meets the stage's exit criteria.

    Closing as lost needs a reason from the active list sales ops keep (`lost_reason`; a note, the
    competitor who won it and the product gap that lost it are optional). Taking a won deal out of won needs a
    `reason` (for a move to a lost stage the lost reason and note are that reason), and when its close date lies
    in a locked commission period only finance may do it. The hub itself (actor None: loaders, data fixes) is not
    asked for reasons."""
    deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if stage.pipeline_id != deal.pipeline_id:
        raise DomainError(f"{stage.name} is not a stage of {deal.name}'s pipeline.", field="stage")
    if stage.pk == deal.stage_id:
        return deal
    if deal.cancelled_on:
        raise DomainError(f"{deal.name} was cancelled on {deal.cancelled_on}; it no longer moves.")
    missing = missing_exit_criteria(deal, stage)
    if missing:
        raise DomainError(_blocked_message(deal, stage, missing), field="stage")
    old = deal.stage
    lost_reason, lost_note = " ".join((lost_reason or "").split()), (lost_note or "").strip()
    lost_competitor = " ".join((lost_competitor or "").split())
    product_gap = " ".join((product_gap or "").split())
    if product_gap and not stage.is_lost:
        raise DomainError(f"{deal.name}: a product gap is given when it is closed as lost.", field="product_gap")
    if stage.is_lost and actor is not None:
        lost_reason = _active_lost_reason(deal.name, lost_reason)
    reason = " ".join((reason or "").split())
    leaves_won = old.is_won and not stage.is_won
    if leaves_won:
        if not reason and stage.is_lost:
            reason = f"{lost_reason}: {lost_note}" if lost_note else lost_reason  # the lost reason says why
        if not reason and actor is not None:
            raise DomainError(
                f"{deal.name} is won: say why it leaves {old.name} (taking a deal out of won changes pay).",
                field="reason",
            )
        _refuse_in_locked_period(
            actor,
            deal.close_date,
            f"{deal.name} closed on {formats.day(deal.close_date)}, in {{period}}, which is locked: it cannot leave "
            f"{old.name}.",
        )
    if stage.is_won and not old.is_won:
        _refuse_winning_in_locked_period(actor, deal)
    now = timezone.now()
    lost_why = f"{lost_reason}: {lost_note}" if lost_note else lost_reason
    why = reason if leaves_won else lost_why if stage.is_lost else ""
    before = _history_state(deal, owner_name="")
    # forecasting.md: an override lasts until the deal changes stage.
    deal.category_override = ""
    # A lost deal says why; a deal that leaves lost stages no longer does (its history keeps what it said).
    lost_values = (
        {
            "lost_reason": lost_reason,
            "lost_note": lost_note,
            "lost_competitor": lost_competitor,
            "product_gap": product_gap,
        }
        if stage.is_lost
        else {"lost_reason": "", "lost_note": "", "lost_competitor": "", "product_gap": ""}
        if old.is_lost
        else {}
    )
    for field, new in lost_values.items():
        setattr(deal, field, new)
    deal.stage = stage
    deal.status = stage.status
    deal.stage_entered_at = now
    if stage.is_won or stage.is_lost:
        deal.probability = None  # the stage's 100 % or 0 % is the truth now
    # The move's history (pipeline.history): the stage row says why, every row is dated with the move.
    history = [
        _recorded(deal, row, actor, at=now, reason=why if row.field == "stage" else "")
        for row in history_rows(before, _history_state(deal, owner_name=""))
    ]
    deal.full_clean(exclude=["stage_entered_at"])
    deal.save()
    DealChange.objects.bulk_create(history)
    announce_deals_changed(
        deal_ids=[deal.pk],
        person_ids=[deal.owner_id, *deal.splits.values_list("person_id", flat=True)],
        fields=[c.field for c in history],
        pay_relevant=old.is_won or stage.is_won,
        since=deal.close_date if leaves_won else None,
    )
    return deal


@transaction.atomic
def deal_set_category_override(*, actor: User | None, deal: Deal, category: str) -> Deal:
    deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if deal.status != DealStatus.OPEN:
        raise DomainError(f"{deal.name} is closed: its forecast category cannot be overridden.")
    if category and category not in OPEN_CATEGORIES:
        raise DomainError("A category override is pipeline, best case or commit.", field="category")
    if category == deal.stage.forecast_category:
        category = ""  # the same as the stage says: no override
    if category == deal.category_override:
        return deal
    old = deal.forecast_category
    deal.category_override = category
    deal.save(update_fields=["category_override", "updated_at"])
    _change(deal, "category", old, deal.forecast_category, actor).save()
    announce_deals_changed(deal_ids=[deal.pk], person_ids=[deal.owner_id], fields=["category"], pay_relevant=False)
    return deal


@dataclass(frozen=True)
class SplitSpec:
    person: User
    percent: Decimal
    is_overlay: bool = False


def _splits_text(splits: Iterable[DealSplit | SplitSpec]) -> str:
    return ", ".join(
        f"{s.person.username} {Decimal(str(s.percent)).quantize(CENT)}%{' overlay' if s.is_overlay else ''}"
        for s in sorted(splits, key=lambda s: (s.is_overlay, s.person.username))
    )


@transaction.atomic
def deal_set_splits(*, actor: User | None, deal: Deal, splits: Sequence[SplitSpec]) -> Deal:
    """Replace a deal's splits. Revenue splits sum to 100 % (or there are none: the owner gets all)."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    seen: set[tuple[int, bool]] = set()
    for split in splits:
        percent = Decimal(str(split.percent))
        if not Decimal(0) < percent <= 100:
            raise DomainError(f"{deal.name}: {split.person.display_name}'s split must be above 0 and at most 100 %.")
        key = (split.person.pk, split.is_overlay)
        if key in seen:
            raise DomainError(f"{deal.name}: {split.person.display_name} appears twice among the splits.")
        seen.add(key)
    revenue = sum((Decimal(str(s.percent)) for s in splits if not s.is_overlay), Decimal(0))
    if any(not s.is_overlay for s in splits) and revenue != 100:
        shown = format(revenue.quantize(CENT).normalize(), "f")
        raise DomainError(f"{deal.name}: revenue splits sum to {shown} %, not 100 %.", field="splits")
    old = list(deal.splits.select_related("person"))
    old_text, new_text = _splits_text(old), _splits_text(splits)
    if old_text == new_text:
        return deal
    if deal.status == DealStatus.WON:
        for day in dict.fromkeys(d for d in (deal.close_date, deal.cancelled_on) if d):
            _refuse_in_locked_period(
                actor, day, f"{deal.name} {_paid_in(deal, day)} {{period}}, which is locked: its splits no longer "
                "change.", then=REOPEN_FIRST,
            )  # fmt: skip
    deal.splits.all().delete()
    DealSplit.objects.bulk_create(
        DealSplit(deal=deal, person=s.person, percent=Decimal(str(s.percent)), is_overlay=s.is_overlay) for s in splits
    )
    _change(deal, "splits", old_text, new_text, actor).save()
    announce_deals_changed(
        deal_ids=[deal.pk],
        person_ids=[deal.owner_id, *(s.person.pk for s in old), *(s.person.pk for s in splits)],
        fields=["splits"],
        pay_relevant=deal.status == DealStatus.WON,
    )
    return deal


@transaction.atomic
def deal_cancel(*, actor: User | None, deal: Deal, on: dt.date, reason: str = "") -> Deal:
    """Record that a won deal was cancelled on `on` (the customer withdrew): the plans with a clawback window
    take its commission back, dated `on`. A person gives a reason; a cancellation dated in a locked
    commission period is finance's to record."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    reason = " ".join((reason or "").split())
    if deal.status != DealStatus.WON:
        raise DomainError(f"{deal.name} is not won; only won deals are cancelled.")
    if deal.cancelled_on:
        raise DomainError(f"{deal.name} was cancelled on {formats.day(deal.cancelled_on)} already.")
    if deal.close_date and on < deal.close_date:
        raise DomainError(f"{deal.name}: the cancellation date {formats.day(on)} is before the close date "
                          f"{formats.day(deal.close_date)}.", field="date")  # fmt: skip
    if not reason and actor is not None:
        raise DomainError(f"Cancelling {deal.name} needs a reason.", field="reason")
    _refuse_in_locked_period(
        actor, on, f"{deal.name} cannot be cancelled on {formats.day(on)}: that day is in {{period}}, which is locked."
    )
    deal.cancelled_on = on
    deal.cancel_reason = reason
    deal.save(update_fields=["cancelled_on", "cancel_reason", "updated_at"])
    _change(deal, "cancelled", "", on.isoformat(), actor, reason=reason).save()
    announce_deals_changed(
        deal_ids=[deal.pk],
        person_ids=[deal.owner_id, *deal.splits.values_list("person_id", flat=True)],
        fields=["cancelled"],
        pay_relevant=True,
    )
    return deal


# -------------------------------------------------------------------------------------- activities
@transaction.atomic
def activity_create(
    *,
    actor: User,
    kind: str,
    subject: str,
    deal: Deal | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    owner: User | None = None,
    due_date: dt.date | None = None,
    notes: str = "",
    done: bool = False,
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Log an activity on a deal, an account, a contact or a lead. The first done activity with a lead is the
    lead's first answer (docs/signals-leads.md)."""
    if kind not in ActivityKind.values:
        raise DomainError(f"{kind!r} is not an activity kind; use call, email, meeting or task.", field="kind")
    if not subject.strip():
        raise DomainError("An activity needs a subject.", field="subject")
    if deal is None and account is None and contact is None and lead is None:
        raise DomainError("An activity belongs to a deal, an account, a contact or a lead.")
    when = occurred_at or timezone.now()
    activity = Activity.objects.create(
        kind=kind,
        subject=subject.strip(),
        notes=notes,
        deal=deal,
        account=account or (deal.account if deal else None),
        contact=contact,
        lead=lead,
        owner=owner or actor,
        due_date=due_date,
        done=done or kind != ActivityKind.TASK,
        done_at=when if (done or kind != ActivityKind.TASK) else None,
        occurred_at=when,
    )
    if deal is not None and activity.done:
        Deal.objects.filter(pk=deal.pk).filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=when)).update(
            last_activity_at=when
        )
    if lead is not None and activity.done:
        _lead_answered_by_activity(lead, when)
    return activity


@transaction.atomic
def activity_complete(*, actor: User, activity: Activity) -> Activity:
    if activity.done:
        return activity
    now = timezone.now()
    activity.done, activity.done_at = True, now
    activity.save(update_fields=["done", "done_at"])
    if activity.deal_id:
        Deal.objects.filter(pk=activity.deal_id).update(last_activity_at=now)
    if activity.lead is not None:
        _lead_answered_by_activity(activity.lead, now)  # a task done for the lead answers it
    return activity


# ----------------------------------------------------------------------------- accounts and contacts
ACCOUNT_FIELDS = {"name", "domain", "sector", "country", "employees", "annual_revenue", "year_established",
                  "parent", "owner", "external_id"}  # fmt: skip


@transaction.atomic
def account_create(*, actor: User | None, name: str, **values: Any) -> Account:
    unknown = set(values) - ACCOUNT_FIELDS
    if unknown:
        raise TypeError(f"account_create got unknown fields: {sorted(unknown)}")
    if not name.strip():
        raise DomainError("An account needs a name.", field="name")
    account = Account(name=name.strip(), name_key=account_name_key(name), **values)
    account.full_clean()
    account.save()
    audit_record(actor=actor, instance=account, action="create", changes={"name": (None, account.name)})
    return account


@transaction.atomic
def account_update(*, actor: User | None, account: Account, **values: Any) -> Account:
    unknown = set(values) - ACCOUNT_FIELDS
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changes = {k: (getattr(account, k), v) for k, v in values.items() if getattr(account, k) != v}
    if not changes:
        return account
    for key, value in values.items():
        setattr(account, key, value)
    account.name_key = account_name_key(account.name)
    account.full_clean()
    account.save()
    audit_record(actor=actor, instance=account, action="update", changes=changes)
    return account


@transaction.atomic
def contact_create(*, actor: User | None, last_name: str, **values: Any) -> Contact:
    if not last_name.strip():
        raise DomainError("A contact needs a last name.", field="last_name")
    contact = Contact(last_name=last_name.strip(), **values)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def account_merge(*, actor: User | None, keep: Account, duplicate: Account) -> dict[str, int]:
    """Fold `duplicate` into `keep`: every deal, contact, activity and subsidiary moves; the history of each
    deal stays with it; the duplicate is deleted and the merge is audited with what moved."""
    if keep.pk == duplicate.pk:
        raise DomainError("An account cannot be merged into itself.")
    keep = Account.objects.select_for_update().get(pk=keep.pk)
    duplicate = Account.objects.select_for_update().get(pk=duplicate.pk)
    moved_deals = list(Deal.objects.filter(account=duplicate).values_list("pk", "owner_id"))
    moved = {
        # Stamped as changed: what is derived from a deal's account (the reports' territory) follows it.
        "deals": Deal.objects.filter(account=duplicate).update(account=keep, updated_at=timezone.now()),
        "contacts": Contact.objects.filter(account=duplicate).update(account=keep),
        "activities": Activity.objects.filter(account=duplicate).update(account=keep),
        "subsidiaries": Account.objects.filter(parent=duplicate).exclude(pk=keep.pk).update(parent=keep),
        "leads": Lead.objects.filter(converted_account=duplicate).update(converted_account=keep),
    }
    if keep.parent_id == duplicate.pk:
        keep.parent = duplicate.parent if duplicate.parent_id != keep.pk else None
    # Fill the kept record's blanks from the duplicate; never overwrite what it has.
    for field in ("domain", "sector", "country", "employees", "annual_revenue", "year_established", "owner_id"):
        if getattr(keep, field) in (None, "") and getattr(duplicate, field) not in (None, ""):
            setattr(keep, field, getattr(duplicate, field))
    if not keep.external_id and duplicate.external_id:
        external_id, duplicate.external_id = duplicate.external_id, ""
        duplicate.save(update_fields=["external_id"])
        keep.external_id = external_id
    keep.save()
    audit_record(
        actor=actor,
        instance=keep,
        action="merge",
        changes={"merged_account": (duplicate.name, None), **{k: (None, v) for k, v in moved.items()}},
        reason=f"merged account #{duplicate.pk} {duplicate.name!r} into #{keep.pk}",
    )
    duplicate.delete()
    if moved_deals:
        announce_deals_changed(deal_ids=[pk for pk, _ in moved_deals], person_ids=[o for _, o in moved_deals],
                               fields=["account"], pay_relevant=False)  # fmt: skip
    return moved


@transaction.atomic
def contact_merge(*, actor: User | None, keep: Contact, duplicate: Contact) -> dict[str, int]:
    if keep.pk == duplicate.pk:
        raise DomainError("A contact cannot be merged into itself.")
    moved = {
        "deals": Deal.objects.filter(contact=duplicate).update(contact=keep),
        "activities": Activity.objects.filter(contact=duplicate).update(contact=keep),
        "leads": Lead.objects.filter(converted_contact=duplicate).update(converted_contact=keep),
    }
    for field in ("first_name", "email", "phone", "title", "account_id"):
        if not getattr(keep, field) and getattr(duplicate, field):
            setattr(keep, field, getattr(duplicate, field))
    keep.save()
    audit_record(
        actor=actor,
        instance=keep,
        action="merge",
        changes={"merged_contact": (str(duplicate), None), **{k: (None, v) for k, v in moved.items()}},
        reason=f"merged contact #{duplicate.pk} into #{keep.pk}",
    )
    duplicate.delete()
    return moved


# -------------------------------------------------------------------------------------------- leads
@transaction.atomic
def lead_create(*, actor: User, last_name: str, company: str, owner: User | None = None, **values: Any) -> Lead:
    """Add a lead. It is routed to its owner as it is made (docs/signals-leads.md): `routed_at` is its creation
    time unless given (a loader replaying the past gives both)."""
    if not last_name.strip() or not company.strip():
        raise DomainError("A lead needs a last name and a company.")
    values.setdefault("routed_at", values.get("created_at") or timezone.now())
    return Lead.objects.create(last_name=last_name.strip(), company=company.strip(), owner=owner or actor, **values)


@transaction.atomic
def lead_assign(*, actor: User | None, lead: Lead, owner: User) -> Lead:
    """Hand a lead to another owner. The hand-off restarts the response clock (docs/signals-leads.md): routed now,
    and not yet answered by its new owner unless it was answered already (an answered lead stays answered)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.owner_id == owner.pk:
        return lead
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        raise DomainError(f"The lead {lead} is {lead.get_status_display().lower()}; it is no longer handed over.")
    old_owner = lead.owner
    lead.owner = owner
    if lead.first_response_at is None:  # an answered lead keeps the routing it was answered against (else the
        lead.routed_at = timezone.now()  # response time, answered − routed, would turn negative)
    lead.save(update_fields=["owner", "routed_at", "updated_at"])
    audit_record(actor=actor, instance=lead, action="update", changes={"owner": (str(old_owner), str(owner))})
    return lead


@transaction.atomic
def lead_mark_answered(*, actor: User | None, lead: Lead, at: dt.datetime | None = None) -> Lead:
    """Record that the lead got its first answer (a reply sent outside the hub, say). Only the first answer
    counts: a lead answered already keeps its time. An answer before the lead was routed is refused."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.first_response_at is not None:
        return lead
    when = at or timezone.now()
    if lead.routed_at is not None and when < lead.routed_at:
        routed = formats.day(timezone.localtime(lead.routed_at))
        raise DomainError(f"The lead {lead} was routed on {routed}; it cannot have been answered before.", field="at")
    lead.first_response_at = when
    lead.save(update_fields=["first_response_at", "updated_at"])
    return lead


def _lead_answered_by_activity(lead: Lead, when: dt.datetime) -> None:
    """The first activity logged with a lead is its first answer (an earlier one already set wins; an activity
    dated before the routing is not an answer to it)."""
    Lead.objects.filter(pk=lead.pk, first_response_at__isnull=True).filter(
        Q(routed_at__isnull=True) | Q(routed_at__lte=when)
    ).update(first_response_at=when, updated_at=timezone.now())


@transaction.atomic
def lead_convert(
    *,
    actor: User,
    lead: Lead,
    account: Account | None = None,
    deal_name: str = "",
    amount: Any = None,
    close_date: dt.date | None = None,
    create_deal: bool = True,
) -> Lead:
    """Qualify and convert a lead into an account (new, or an existing one), a contact and a deal."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED:
        converted = formats.day(timezone.localdate(lead.converted_at))  # the company's day, as pages show it
        raise DomainError(f"The lead {lead} was converted on {converted} already.")
    if lead.status == LeadStatus.DISQUALIFIED:
        raise DomainError(f"The lead {lead} is disqualified; requalify it before converting.")
    if account is None:
        # Only an account the converter may see is reused: matching another team's by name would hang this deal
        # on it and reveal that it exists (roles.md); otherwise the lead's company becomes an account of its own.
        existing = accounts_visible_to(actor).filter(name_key=account_name_key(lead.company)).order_by("pk").first()
        account = existing or account_create(actor=actor, name=lead.company, owner=lead.owner)
    contact = contact_create(
        actor=actor,
        account=account,
        first_name=lead.first_name,
        last_name=lead.last_name,
        email=lead.email,
        phone=lead.phone,
        title=lead.title,
        owner=lead.owner,
    )
    deal = None
    if create_deal:
        deal = deal_create(
            actor=actor,
            name=deal_name or f"{account.name} — new business",
            owner=lead.owner,
            account=account,
            contact=contact,
            amount=amount,
            close_date=close_date,
            source=lead.source,
        )
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    # Converting a lead answers it: a lead converted before anyone logged an answer was answered then.
    if lead.first_response_at is None:
        lead.first_response_at = lead.converted_at
    lead.converted_account, lead.converted_contact, lead.converted_deal = account, contact, deal
    lead.save()
    return lead
