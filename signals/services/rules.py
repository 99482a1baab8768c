"""Signals services: rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes,
firings, dry runs (docs/signals-rules.md).

Evaluation is set-based: a rule runs ONE filtered query (the deal list's FilterSet over the changed deals, or over
every deal for a scheduled rule), reads its open episodes in one query, closes the ones that stopped matching in one
update and opens the new ones in one insert; only the firings' actions work per subject. The rule's row is locked
while it is evaluated (two workers evaluating the same rule wait for each other) and the partial unique constraint
on open episodes is the last guard: a subject can never fire twice in one episode.

Actions act as the system where the pipeline allows it (a field set by a rule shows "system" in the deal's history);
a task is created in the name of the rule's author (an activity needs a person) and given to the deal's owner.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from pipeline.filtersets import DealFilterSet
from pipeline.selectors import rules as pipeline_rules
from salesops.api import DomainError, Forbidden
from salesops.kernel import fiscal, trees
from salesops.org.models import Region, Team, User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar
from salesops.org.services import audit_record
from signals.engine import rules as engine
from signals.models import Rule, RuleEpisode, RuleFiring, RuleSubject, RuleTrigger

log = logging.getLogger(__name__)

# Query-string names that are no condition (sorting, paging, exporting): dropped from a rule's conditions.
NOT_CONDITIONS = {"ordering", "page", "export", "per_page"}
RULE_FIELDS = (
    "name",
    "description",
    "trigger",
    "conditions",
    "every_minutes",
    "daily_hour",
    "kpi",
    "kpi_scope",
    "kpi_scope_id",
    "kpi_direction",
    "kpi_threshold",
    "actions",
    "is_live",
)
DRY_RUN_DAYS = 90


# ------------------------------------------------------------------------------------------------ conditions
def conditions_errors(conditions: str, *, existing: Mapping[str, set[int]] | None = None) -> list[str]:
    """What is wrong with a query string as a rule's conditions, in words (empty: fine). `existing`: the ids of the
    rows that exist per row filter, read beforehand for many conditions at once (rules_conditions_problems); without
    it, each row the conditions name is read here."""
    data = QueryDict(conditions or "")
    known = DealFilterSet.base_filters
    errors = [
        f"“{name}” is not a filter of the deal list."
        for name in data
        if name not in known and name not in NOT_CONDITIONS
    ]
    filterset = _conditions_filterset(data, existing)
    if not filterset.is_valid():
        for name, messages in filterset.errors.items():
            label = known[name].label if name in known and known[name].label else name.replace("_", " ")
            errors.extend(f"{str(label).capitalize()}: {message}" for message in messages)
    return errors


def _row_id(value: str | None) -> int | None:
    """The id a row filter's value names, read as the filter's lookup reads it (int()); None: it names none."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _conditions_filterset(data: QueryDict, existing: Mapping[str, set[int]] | None) -> DealFilterSet:
    filterset_data = data
    if existing is not None:
        # A row that exists holds: its filter is left out. Any other value is checked against no row, so the filter
        # refuses it in its own words (an id, a value that is none) without a query.
        filterset_data = data.copy()
        for name in pipeline_rules.ROW_FILTERS:
            row = _row_id(filterset_data.get(name))
            if row is not None and row in existing[name]:
                del filterset_data[name]
    filterset = DealFilterSet(data=filterset_data, queryset=pipeline_rules.deals_for_rules())
    if existing is not None:
        for name in pipeline_rules.ROW_FILTERS:
            field = filterset.form.fields[name]
            field.queryset = field.queryset.none()  # type: ignore[attr-defined]
    return filterset


def conditions_clean(conditions: str) -> str:
    """The conditions as stored: the deal list's query string without blanks, paging or sorting; DomainError when a
    filter is unknown or a value invalid (the message names each)."""
    raw = (conditions or "").strip().lstrip("?")
    errors = conditions_errors(raw)
    if errors:
        raise DomainError(" ".join(errors), field="conditions")
    data = QueryDict(raw)
    return urlencode([(k, v) for k, values in data.lists() if k not in NOT_CONDITIONS for v in values if v != ""])


def rules_conditions_problems(rules: Iterable[Rule]) -> dict[int, list[str]]:
    """What no longer holds in saved rules' conditions (a person, stage or team they name changed, a value the deal
    list now refuses), in words, {rule id: problems}; empty when they hold. Such a rule is not evaluated until sales
    ops correct it, and its pages say so. The rows the conditions name are read once per kind for all the rules (the
    rules lists), not once per rule."""
    rules = list(rules)
    checked = {rule.pk: rule.conditions for rule in rules if rule.trigger != RuleTrigger.LEAD_SLA and rule.conditions}
    named: dict[str, set[int]] = {name: set() for name in pipeline_rules.ROW_FILTERS}
    for conditions in checked.values():
        data = QueryDict(conditions)
        for name, ids in named.items():
            row = _row_id(data.get(name))
            if row is not None:
                ids.add(row)
    existing = pipeline_rules.rows_existing(named)
    return {
        rule.pk: conditions_errors(checked[rule.pk], existing=existing) if rule.pk in checked else [] for rule in rules
    }


def rule_conditions_problems(rule: Rule) -> list[str]:
    """rules_conditions_problems of one rule (its page, its evaluation)."""
    return rules_conditions_problems([rule])[rule.pk]


def matching_deals(conditions: str) -> Any:
    """The deals a rule's conditions select now (a queryset of the pipeline's deals). Conditions that no longer
    validate (an owner no longer a rep, a stage or team removed) select no deal: django-filter would drop the
    invalid filter and select every deal."""
    filterset = DealFilterSet(data=QueryDict(conditions or ""), queryset=pipeline_rules.deals_for_rules())
    if not filterset.is_valid():
        return filterset.queryset.none()
    return filterset.qs


def matching_count(conditions: str) -> int:
    """How many deals match now (the form's preview)."""
    return pipeline_rules.deal_count(matching_deals(conditions))


# ------------------------------------------------------------------------------------------------ writes
MAX_EVERY_MINUTES = 525_600  # a year
MAX_THRESHOLD = Decimal("100000000000000")  # numeric(16, 2)


def _may_write(actor: User) -> None:
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops write rules.")


def _int_or_none(value: Any, *, what: str, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(f"{what} is a whole number.", field=field) from None


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    for key in ("name", "description", "conditions"):
        if "\x00" in str(values.get(key) or ""):
            raise DomainError(f"A rule's {key} cannot hold a NUL character.", field=key)
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise DomainError("A rule needs a name.", field="name")
    trigger = values.get("trigger") or RuleTrigger.DEAL_CHANGE
    if trigger not in RuleTrigger.values:
        raise DomainError(f"“{trigger}” is not a trigger: {', '.join(RuleTrigger.values)}.", field="trigger")
    clean: dict[str, Any] = {
        "name": name[:160],
        "description": str(values.get("description") or "").strip(),
        "trigger": trigger,
        "conditions": conditions_clean(str(values.get("conditions") or "")) if trigger != RuleTrigger.LEAD_SLA else "",
        "every_minutes": None,
        "daily_hour": None,
        "kpi": "",
        "kpi_scope": "",
        "kpi_scope_id": None,
        "kpi_direction": "",
        "kpi_threshold": None,
        "is_live": bool(values.get("is_live", False)),
    }
    if trigger == RuleTrigger.SCHEDULE:
        hour = _int_or_none(values.get("daily_hour"), what="The hour", field="daily_hour")
        minutes = _int_or_none(values.get("every_minutes"), what="The minutes", field="every_minutes")
        if hour is None and minutes is None:
            raise DomainError(
                "A scheduled rule runs every N minutes or daily at an hour: give one.", field="every_minutes"
            )
        if hour is not None and not 0 <= hour <= 23:
            raise DomainError("The hour is 0 to 23 (company time).", field="daily_hour")
        if hour is None and minutes is not None and minutes < 5:
            raise DomainError("A scheduled rule runs at most every 5 minutes.", field="every_minutes")
        if hour is None and minutes is not None and minutes > MAX_EVERY_MINUTES:
            raise DomainError("A scheduled rule runs at least once a year (525,600 minutes).", field="every_minutes")
        clean["daily_hour"], clean["every_minutes"] = hour, (None if hour is not None else minutes)
    if trigger == RuleTrigger.KPI:
        kpi = values.get("kpi") or ""
        if kpi not in engine.KPIS:
            raise DomainError(f"Choose a KPI: {', '.join(engine.KPIS)}.", field="kpi")
        scope = values.get("kpi_scope") or "company"
        if scope not in ("company", "team", "region"):
            raise DomainError("The KPI's scope is the company, a team or a region.", field="kpi_scope")
        scope_id = _int_or_none(values.get("kpi_scope_id"), what="The team or region", field="kpi_scope_id")
        if scope == "company":
            scope_id = None
        elif scope_id is None or not (Team if scope == "team" else Region).objects.filter(pk=scope_id).exists():
            raise DomainError(f"Choose the {scope} the KPI is read for.", field="kpi_scope_id")
        direction = values.get("kpi_direction") or "above"
        if direction not in ("above", "below"):
            raise DomainError("The KPI crosses its threshold going above or below.", field="kpi_direction")
        try:
            threshold = Decimal(str(values.get("kpi_threshold")).replace(",", "").strip())
        except (InvalidOperation, ValueError):
            raise DomainError("The threshold is a number.", field="kpi_threshold") from None
        if not threshold.is_finite():
            raise DomainError("The threshold is a number.", field="kpi_threshold")
        if abs(threshold) >= MAX_THRESHOLD:  # the column holds 16 digits, 2 after the point
            raise DomainError("The threshold must be below 100,000,000,000,000.", field="kpi_threshold")
        clean.update(
            kpi=kpi,
            kpi_scope=scope,
            kpi_scope_id=scope_id,
            kpi_direction=direction,
            kpi_threshold=threshold.quantize(Decimal("0.01")),
        )
    if "\\u0000" in json.dumps(values.get("actions"), default=str):
        raise DomainError("An action cannot hold a NUL character.", field="actions")
    subject = {RuleTrigger.LEAD_SLA: "lead", RuleTrigger.KPI: "KPI"}.get(trigger, "deal")
    try:
        clean["actions"] = engine.validate_actions(values.get("actions"), subject=subject)
    except ValueError as error:
        raise DomainError(str(error), field="actions") from None
    channel_ids = {a["channel_id"] for a in clean["actions"] if a["kind"] == "channel"}
    if channel_ids:
        from signals.selectors.channels import channel_choices

        active = {pk for pk, _ in channel_choices()}
        missing = channel_ids - active
        if missing:
            raise DomainError("An action names a channel that does not exist or is switched off.", field="actions")
    return clean


@transaction.atomic
def rule_create(*, actor: User, **values: Any) -> Rule:
    """A new rule (sales ops). It starts switched off unless `is_live` is given: run the dry run first."""
    _may_write(actor)
    clean = _clean(values)
    rule = Rule.objects.create(created_by=actor, **clean)
    audit_record(
        actor=actor,
        instance=rule,
        action="create",
        changes={k: (None, str(v) if v is not None else None) for k, v in clean.items()},
    )
    return rule


@transaction.atomic
def rule_update(*, actor: User, rule: Rule, **values: Any) -> Rule:
    """Change a rule; fields not given keep their value. Its open episodes stay (a deal still matching the changed
    conditions does not fire again; the next evaluation closes those that no longer match)."""
    _may_write(actor)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    current = {f: getattr(rule, f) for f in RULE_FIELDS}
    clean = _clean({**current, **values})
    changes = {k: (str(current[k]), str(v)) for k, v in clean.items() if current[k] != v}
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.save()
    if current["is_live"] and not rule.is_live:  # switched off through the form: as rule_set_live does
        RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).update(ended_at=timezone.now())
    if changes:
        audit_record(actor=actor, instance=rule, action="update", changes=changes)
    return rule


@transaction.atomic
def rule_set_live(*, actor: User, rule: Rule, live: bool) -> Rule:
    """Switch a rule on or off. Switched off, its open episodes close (switched on again, a deal still matching
    fires anew: it is a new episode of the rule's life)."""
    _may_write(actor)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if rule.is_live == live:
        return rule
    rule.is_live = live
    rule.save(update_fields=["is_live", "updated_at"])
    if not live:
        RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).update(ended_at=timezone.now())
    audit_record(actor=actor, instance=rule, action="update", changes={"is_live": (str(not live), str(live))})
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: Rule) -> None:
    _may_write(actor)
    audit_record(actor=actor, instance=rule, action="delete", changes={"name": (rule.name, None)})
    rule.delete()


# ------------------------------------------------------------------------------------------------ evaluation
def _deal_url(deal_id: int) -> str:
    return reverse("pipeline:deal_detail", args=[deal_id])


def _role_people(role: str) -> list[int]:
    people = User.objects.filter(is_active=True)
    if role == "finance":
        people = people.filter(is_finance=True)
    elif role == "sales_ops":
        people = people.filter(is_sales_ops=True)
    else:
        people = people.filter(is_manager=True)
    return list(people.values_list("pk", flat=True))


def _tree(managers: list[int], cache: dict[str, Any]) -> tuple[dict[int, int], set[int]]:
    """The reports-to tree (person -> manager) and which of `managers` see everyone, read once per evaluation."""
    if "manager:parents" not in cache:
        cache["manager:parents"] = dict(User.objects.filter(manager__isnull=False).values_list("id", "manager_id"))
        cache["manager:everyone"] = set(
            User.objects.filter(pk__in=managers)
            .filter(Q(is_finance=True) | Q(is_sales_ops=True) | Q(is_superuser=True))
            .values_list("pk", flat=True)
        )
    return cache["manager:parents"], cache["manager:everyone"]


def _managers_seeing(owner_id: int, managers: list[int], cache: dict[str, Any]) -> list[int]:
    """Of `managers`, those who may see what `owner_id` owns (roles.md: a manager sees their subtree; one who is
    also finance or sales ops, or a superuser, sees everyone): a rule telling "managers" about a deal or a lead
    tells nobody outside its owner's chain."""
    return _managers_seeing_all([owner_id], managers, cache)


def _managers_seeing_all(owner_ids: Iterable[int], managers: list[int], cache: dict[str, Any]) -> list[int]:
    """Of `managers`, those who may see a figure made of what `owner_ids` own: one above (or among) every one of
    them, or one who sees everyone (finance, sales ops). A figure of nobody's is told only to the latter."""
    parents, everyone = _tree(managers, cache)
    allowed: set[int] | None = None
    for owner in set(owner_ids):
        line = set(trees.reporting_line(parents, owner))
        allowed = line if allowed is None else allowed & line
        if not allowed:
            break
    return [m for m in managers if m in everyone or (allowed is not None and m in allowed)]


class _Subject:
    """What an action needs to know of the subject a rule fired for."""

    def __init__(
        self,
        *,
        kind: str,
        subject_id: int,
        label: str,
        owner_id: int | None,
        manager_id: int | None,
        text: str,
        url: str,
        notify_kind: str = "rule_fired",
        figure_owner_ids: tuple[int, ...] | None = None,
    ) -> None:
        self.kind, self.subject_id, self.label = kind, subject_id, label
        self.owner_id, self.manager_id, self.text, self.url = owner_id, manager_id, text, url
        self.notify_kind = notify_kind
        # A KPI's subject: whose deals make the figure (who may be told it is decided from them).
        self.figure_owner_ids = figure_owner_ids


# person id -> {subject id: (subject, episode id)}: whom an evaluation's firings tell, about what.
Told = dict[int, dict[int, tuple["_Subject", int]]]
DIGEST_NAMES = 20  # a notification about many subjects names this many


ACTIVE_KEY = "active people"  # in an evaluation's `roles` cache: the ids of everyone active


def _run_action(
    rule: Rule, action: dict[str, Any], subject: _Subject, episode_id: int, roles: dict[str, Any], told: Told
) -> dict[str, Any]:
    from signals.services import channels

    kind = action["kind"]
    title = f"{rule.name}: {subject.label}"[:200]
    # The action as it was (its role, channel, task or field), so the log names it after the rule changes.
    said = {key: action[key] for key in (*engine.ACTION_KINDS[kind][1], "due_days") if key in action}
    result: dict[str, Any] = {"kind": kind, **said, "ok": True, "detail": ""}
    try:
        with transaction.atomic():  # one failing action (a refused field change) leaves the others and the log
            if kind in ("notify_owner", "notify_manager", "notify_role"):
                if kind in ("notify_owner", "notify_manager"):
                    someone = subject.owner_id if kind == "notify_owner" else subject.manager_id
                    # Only the active are told (a leaver's manager link may linger): the log says who will be.
                    # One query per evaluation, kept beside the role lists, not one per subject.
                    if ACTIVE_KEY not in roles:
                        roles[ACTIVE_KEY] = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
                    recipients = [someone] if someone is not None and someone in roles[ACTIVE_KEY] else []
                else:
                    if action["role"] not in roles:
                        roles[action["role"]] = _role_people(action["role"])
                    recipients = roles[action["role"]]
                    if action["role"] == "manager" and subject.owner_id:
                        recipients = _managers_seeing(subject.owner_id, recipients, roles)
                    elif action["role"] == "manager" and subject.kind == RuleSubject.KPI:
                        recipients = _managers_seeing_all(subject.figure_owner_ids or (), recipients, roles)
                if not recipients:
                    result.update(ok=True, detail="nobody to notify")
                else:
                    # Told after every subject of this evaluation is known: one notification per person (_notify).
                    for person in recipients:
                        told.setdefault(person, {})[subject.subject_id] = (subject, episode_id)
                    result["detail"] = f"{len(recipients)} to notify"
            elif kind == "channel":
                delivery = channels.channel_send(
                    channel_id=action["channel_id"],
                    subject=title,
                    text=subject.text,
                    url=subject.url,
                    data={
                        "rule": rule.pk,
                        "rule_name": rule.name,
                        "subject": subject.kind,
                        "subject_id": subject.subject_id,
                    },
                    source=f"rule:{rule.pk}",
                )
                result["detail"] = f"delivery {delivery} queued"
            elif kind == "create_task":
                from pipeline.services import activity_create

                deal = pipeline_rules.deal_for_service(subject.subject_id)
                if deal is None:
                    raise DomainError("The deal no longer exists.")
                due = timezone.localdate() + dt.timedelta(days=int(action.get("due_days") or 0))
                activity = activity_create(
                    actor=rule.created_by,
                    kind="task",
                    subject=action["subject"],
                    deal=deal,
                    owner=deal.owner,
                    due_date=due,
                    notes=f"Created by the rule {rule.name}.",
                )
                result["detail"] = f"task {activity.pk} for {deal.owner.display_name}"
            elif kind == "set_field":
                from pipeline.services import deal_set_category_override, deal_update

                deal = pipeline_rules.deal_for_service(subject.subject_id)
                if deal is None:
                    raise DomainError("The deal no longer exists.")
                if action["field"] == "category_override":
                    deal_set_category_override(actor=None, deal=deal, category=action["value"])
                else:
                    deal_update(actor=None, deal=deal, **{action["field"]: action["value"]})
                result["detail"] = f"{engine.SETTABLE_FIELDS[action['field']].lower()} set"
    except DomainError as error:
        result.update(ok=False, detail=str(error)[:300])
    except Exception as error:  # an action's failure is logged on the firing; the evaluation goes on
        log.exception("rule %s: action %s failed for %s %s", rule.pk, kind, subject.kind, subject.subject_id)
        result.update(ok=False, detail=f"failed: {type(error).__name__}")
    return result


def _notify(rule: Rule, told: Told) -> None:
    """One notification per person per evaluation: about the one subject that started matching, or, when a batch of
    changes started several at once (an import), one listing them, so nobody gets hundreds. People told about the
    same subjects are told in one call. The dedupe key names the first episode: a retried evaluation tells nobody
    twice."""
    from signals.services import notifications

    groups: dict[tuple[int, ...], list[int]] = {}
    for person, subjects in told.items():
        groups.setdefault(tuple(sorted(subjects)), []).append(person)
    for subject_ids, people in groups.items():
        entries = [told[people[0]][s] for s in subject_ids]
        first = entries[0][0]
        if len(entries) == 1:
            title, body, url = f"{rule.name}: {first.label}", first.text, first.url
        else:
            noun = {"deal": "deals", "lead": "leads"}.get(first.kind, "subjects")
            names = ", ".join(subject.label for subject, _ in entries[:DIGEST_NAMES])
            more = len(entries) - DIGEST_NAMES
            title = f"{rule.name}: {len(entries)} {noun}"
            body = f"{len(entries)} {noun} started matching the rule “{rule.name}”: {names}" + (
                f" and {more} more." if more > 0 else "."
            )
            url = f"{reverse('pipeline:deal_list')}?{rule.conditions}" if first.kind == "deal" else first.url
        notifications.notify(
            recipient_ids=people,
            kind=first.notify_kind,
            title=title[:200],
            body=body,
            url=url,
            dedupe_key=f"rule:{rule.pk}:episode:{min(e for _, e in entries)}",
        )


def _fire(rule: Rule, subjects: list[_Subject], episodes: dict[int, int], now: dt.datetime) -> int:
    roles: dict[str, Any] = {}
    told: Told = {}
    firings = []
    for subject in subjects:
        episode_id = episodes[subject.subject_id]
        results = [_run_action(rule, action, subject, episode_id, roles, told) for action in rule.actions]
        firings.append(
            RuleFiring(
                rule=rule,
                episode_id=episode_id,
                subject_kind=subject.kind,
                subject_id=subject.subject_id,
                subject_label=subject.label[:200],
                fired_at=now,
                results=results,
            )
        )
    RuleFiring.objects.bulk_create(firings, batch_size=1000)
    if told:
        try:
            with transaction.atomic():
                _notify(rule, told)
        except Exception:  # the firings stay logged; a notification lost is reported, never the evaluation undone
            log.exception("rule %s: notifying %s people failed", rule.pk, len(told))
    return len(firings)


def _apply(
    rule: Rule,
    *,
    kind: str,
    matching: set[int],
    evaluated: Iterable[int] | None,
    now: dt.datetime,
    close_only: bool = False,
) -> tuple[list[int], dict[int, int]]:
    """Close the episodes that stopped matching and open the new ones; ({subject ids started}, {subject: episode})."""
    open_episodes = RuleEpisode.objects.filter(rule=rule, subject_kind=kind, ended_at__isnull=True)
    scope = None if evaluated is None else set(evaluated)
    if scope is not None:
        open_episodes = open_episodes.filter(subject_id__in=list(scope))
    opened = dict(open_episodes.values_list("subject_id", "pk"))
    changes = engine.episode_changes(matching=matching, open_subjects=opened, evaluated=scope)
    if changes.end:
        RuleEpisode.objects.filter(pk__in=[opened[s] for s in changes.end]).update(ended_at=now)
    if close_only or not changes.start:
        return [], {}
    made = RuleEpisode.objects.bulk_create(
        [RuleEpisode(rule=rule, subject_kind=kind, subject_id=s, started_at=now) for s in changes.start],
        batch_size=2000,
    )
    return changes.start, {e.subject_id: e.pk for e in made}


def _deal_subjects(rule: Rule, ids: list[int]) -> list[_Subject]:
    deals = pipeline_rules.rule_deals(ids)
    subjects = []
    for pk in ids:
        deal = deals.get(pk)
        if deal is None:
            continue
        text = f"{deal.name} ({deal.stage_name}, owner {deal.owner_name}) matches the rule “{rule.name}”."
        subjects.append(
            _Subject(
                kind=RuleSubject.DEAL,
                subject_id=pk,
                label=deal.name,
                owner_id=deal.owner_id,
                manager_id=deal.manager_id,
                text=text,
                url=_deal_url(pk),
            )
        )
    return subjects


def rule_evaluate(
    *, rule: Rule, deal_ids: Iterable[int] | None = None, now: dt.datetime | None = None, close_only: bool = False
) -> int:
    """Evaluate one rule (over these deals, or every deal) and fire for the subjects that started matching.
    Returns how many firings. A rule switched off does nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        # One evaluation of a rule at a time (a second worker waits here, then sees the first one's episodes).
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        if not rule.is_live:
            return 0
        if rule_conditions_problems(rule):
            # Its conditions no longer hold (a person, stage or team they name changed): it evaluates nothing (a
            # KPI over no deal would read 0 and cross a "below" threshold) until sales ops correct it.
            log.warning("rule %s: its conditions no longer validate; not evaluated", rule.pk)
            return 0
        if rule.trigger == RuleTrigger.LEAD_SLA:
            fired = _evaluate_leads(rule, now)
        elif rule.trigger == RuleTrigger.KPI:
            fired = _evaluate_kpi(rule, now)
        else:
            ids = None if deal_ids is None else sorted(set(deal_ids))
            deals = matching_deals(rule.conditions)
            if ids is not None:
                deals = deals.filter(pk__in=ids)
            matching = pipeline_rules.deal_ids(deals)  # the one filtered query
            started, episodes = _apply(
                rule, kind=RuleSubject.DEAL, matching=matching, evaluated=ids, now=now, close_only=close_only
            )
            fired = _fire(rule, _deal_subjects(rule, started), episodes, now) if started else 0
        if deal_ids is None and not close_only:
            Rule.objects.filter(pk=rule.pk).update(last_run_at=now)
        if rule.failures and not close_only:
            # Evaluated again without an error: no longer failing (its last error stays shown). Not by the sweep's
            # re-check of open episodes, which fires nothing: a rule whose firing fails would look fixed within a
            # minute while every change still fails.
            Rule.objects.filter(pk=rule.pk).update(failures=0)
    return fired


def _evaluate_leads(rule: Rule, now: dt.datetime) -> int:
    """Lead SLA: every breached lead (signals.selectors.leads.breached_leads) is a subject; its episode closes once
    it is answered (no longer breached), so a lead is escalated once."""
    from signals.selectors.leads import breached_leads

    breached = {b.lead_id: b for b in breached_leads(now)}
    started, episodes = _apply(rule, kind=RuleSubject.LEAD, matching=set(breached), evaluated=None, now=now)
    subjects = []
    for lead_id in started:
        b = breached[lead_id]
        minutes = int((now - b.routed_at).total_seconds() // 60)
        text = (
            f"Lead {lead_id} ({b.source or 'no source'}) was routed {minutes} minutes ago and nobody has answered "
            f"it; it was due at {timezone.localtime(b.due_at):%H:%M}."
        )
        subjects.append(
            _Subject(
                kind=RuleSubject.LEAD,
                subject_id=lead_id,
                label=f"lead {lead_id} unanswered",
                owner_id=b.owner_id,
                manager_id=b.manager_id,
                text=text,
                url=_lead_url(lead_id),
                notify_kind="sla_breach",
            )
        )
    return _fire(rule, subjects, episodes, now) if subjects else 0


def _lead_url(lead_id: int) -> str:
    from django.urls import NoReverseMatch

    for name, args in (("pipeline:lead_detail", [lead_id]), ("pipeline:lead_list", [])):
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def current_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    period = fiscal.period_of(fiscal_calendar().fiscal_year_start_month, "quarter", today)
    return period.start, period.end


def kpi_value(rule: Rule, *, now: dt.datetime | None = None) -> Decimal:
    """The KPI a rule watches, now, over its conditions and scope."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    values = pipeline_rules.kpi_values(
        rule.kpi,
        matching_deals(rule.conditions),
        scope=rule.kpi_scope or "company",
        today=today,
        now=now,
        quarter=current_quarter(today),
    )
    return values.get(rule.kpi_scope_id or 0, Decimal(0))


def _evaluate_kpi(rule: Rule, now: dt.datetime) -> int:
    """A KPI rule's subject is its scope (0 for the company): it fires when the KPI crosses the threshold and again
    only after it went back and crossed anew."""
    value = kpi_value(rule, now=now)
    scope_id = rule.kpi_scope_id or 0
    crossed = engine.kpi_crossed(value, direction=rule.kpi_direction, threshold=rule.kpi_threshold or Decimal(0))
    started, episodes = _apply(
        rule, kind=RuleSubject.KPI, matching={scope_id} if crossed else set(), evaluated=None, now=now
    )
    if not started:
        return 0
    label, unit = engine.KPIS[rule.kpi]
    shown = f"{value:,.2f}" if unit == "money" else f"{int(value):,}"
    where = _scope_name(rule)
    text = f"{label} for {where} is {shown}, {rule.kpi_direction} {rule.kpi_threshold:,.2f}."
    subject = _Subject(
        kind=RuleSubject.KPI,
        subject_id=scope_id,
        label=f"{label} {rule.kpi_direction} threshold",
        owner_id=None,
        manager_id=None,
        text=text,
        url=reverse("signals:rule_detail", args=[rule.pk]),
        figure_owner_ids=_figure_owners(rule, now) if _tells_managers(rule) else None,
    )
    return _fire(rule, [subject], episodes, now)


def _tells_managers(rule: Rule) -> bool:
    return any(a.get("kind") == "notify_role" and a.get("role") == "manager" for a in rule.actions or [])


def _scope_name(rule: Rule) -> str:
    """The company, or the team's or region's name, as a notification says it."""
    if not rule.kpi_scope_id or rule.kpi_scope not in ("team", "region"):
        return "the company"
    model = Team if rule.kpi_scope == "team" else Region
    name = model.objects.filter(pk=rule.kpi_scope_id).values_list("name", flat=True).first()
    return f"the {rule.kpi_scope} {name}" if name else f"a {rule.kpi_scope} since removed"


def _figure_owners(rule: Rule, now: dt.datetime) -> tuple[int, ...]:
    """Whose figures a KPI rule's figure adds up: the owners of the deals it is made of (its KPI over its conditions,
    in its scope) and the active reps of its team, region or the company, whose zeros are in it too. "Notify
    managers" tells only the managers above all of them (or who see everyone): a team's figure reaches the
    managers above that team, the company's the top of the tree."""
    scope = rule.kpi_scope or "company"
    today = timezone.localdate(now)
    owners = pipeline_rules.kpi_owner_ids(
        rule.kpi,
        matching_deals(rule.conditions),
        scope=scope,
        scope_id=rule.kpi_scope_id,
        today=today,
        now=now,
        quarter=current_quarter(today),
    )
    reps = User.objects.filter(is_active=True, is_rep=True)
    if scope in ("team", "region"):
        reps = reps.filter(**{f"{scope}_id": rule.kpi_scope_id})
    owners |= set(reps.values_list("pk", flat=True))
    return tuple(sorted(owners))


def any_live_rule(*, trigger: str) -> bool:
    return Rule.objects.filter(is_live=True, trigger=trigger).exists()


def live_rules(*, trigger: str) -> list[Rule]:
    return list(Rule.objects.filter(is_live=True, trigger=trigger).order_by("pk"))


class RulesFailed(Exception):
    """Some rules' evaluations raised. Every other rule was evaluated and what it fired stands; `failed` names the
    rules that failed ({id: name}), so a retry evaluates those only. Made by `of`; built from its message alone (as
    Celery's result backend rebuilds an exception) it names no rule."""

    fired: int = 0
    failed: dict[int, str]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.failed = {}

    @classmethod
    def of(cls, *, fired: int, failed: dict[int, str]) -> RulesFailed:
        names = "; ".join(f"{pk} “{name}”" for pk, name in sorted(failed.items()))
        error = cls(f"{len(failed)} rule(s) failed: {names} (the others fired {fired})")
        error.fired, error.failed = fired, dict(failed)
        return error


ERROR_KEPT = 1000  # characters of a failure's text kept on the rule


def _evaluate_apart(rule: Rule, failed: dict[int, str], **kwargs: Any) -> int:
    """`rule_evaluate`, with a failure kept to this rule: its evaluation's transaction is rolled back (no episode,
    firing or notification of it stays), the error is logged with the rule's id and name and kept on the rule
    (`last_error`, `failures`) for sales ops to see, and the caller goes on with the next rule. A task out of time
    stops here: the rules not reached wait for the next run."""
    try:
        return rule_evaluate(rule=rule, **kwargs)
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:
        log.exception("rule %s “%s”: its evaluation failed; the other rules go on", rule.pk, rule.name)
        text = f"{type(error).__name__}: {error}".strip()[:ERROR_KEPT]
        Rule.objects.filter(pk=rule.pk).update(
            last_error=text, last_error_at=timezone.now(), failures=F("failures") + 1
        )
        failed[rule.pk] = rule.name
        return 0


def rules_evaluate_changed(
    *, deal_ids: Iterable[int] | None, now: dt.datetime | None = None, rule_ids: Iterable[int] | None = None
) -> int:
    """Deals changed: every live deal-change rule (or those of `rule_ids`: a retry) evaluated over them, one
    filtered query each; None: a change too large to list, every deal. A rule that fails is kept to itself
    (`_evaluate_apart`): the others are still evaluated, then RulesFailed names the failed ones."""
    ids = None if deal_ids is None else sorted({int(i) for i in deal_ids})
    if ids is not None and not ids:
        return 0
    rules = live_rules(trigger=RuleTrigger.DEAL_CHANGE)
    if rule_ids is not None:
        wanted = {int(i) for i in rule_ids}
        rules = [rule for rule in rules if rule.pk in wanted]
    fired = 0
    failed: dict[int, str] = {}
    for rule in rules:
        fired += _evaluate_apart(rule, failed, deal_ids=ids, now=now)
    if failed:
        raise RulesFailed.of(fired=fired, failed=failed)
    return fired


def rules_run_due(*, now: dt.datetime | None = None) -> int:
    """The sweep (every minute): scheduled rules whose time has come over every deal, KPI and lead-SLA rules, and
    each deal-change rule's open episodes re-checked (a deal that got an activity or simply aged out of the
    conditions without a change closes its episode; nothing fires from this check).

    Each rule is evaluated on its own (`_evaluate_apart`): one that raises is rolled back, logged and kept on the
    rule, and every rule after it is still evaluated; then RulesFailed names the failed ones (the task fails, so
    the failure counts where the hub's health looks). The next sweep is their retry: a failed scheduled rule kept its
    `last_run_at`, so it is still due, and KPI and lead-SLA rules run every sweep; the others' firings stand (their
    episodes are open), so nothing fires twice."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    fired = 0
    failed: dict[int, str] = {}
    for rule in Rule.objects.filter(is_live=True).order_by("pk"):
        if rule.trigger == RuleTrigger.SCHEDULE:
            if engine.schedule_due(
                last_run_at=rule.last_run_at, now=local, every_minutes=rule.every_minutes, daily_hour=rule.daily_hour
            ):
                fired += _evaluate_apart(rule, failed, now=now)
        elif rule.trigger in (RuleTrigger.KPI, RuleTrigger.LEAD_SLA):
            fired += _evaluate_apart(rule, failed, now=now)
        else:
            open_ids = RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).values_list("subject_id", flat=True)
            ids = list(open_ids)
            if ids:
                _evaluate_apart(rule, failed, deal_ids=ids, now=now, close_only=True)
    if failed:
        raise RulesFailed.of(fired=fired, failed=failed)
    return fired


# ------------------------------------------------------------------------------------------------ dry run
def replay_conditions(conditions: str) -> engine.ReplayConditions:
    """The replayed part of a rule's conditions, from the FilterSet's cleaned values."""
    filterset = DealFilterSet(data=QueryDict(conditions or ""), queryset=pipeline_rules.deals_for_rules())
    if not filterset.is_valid():
        raise DomainError(" ".join(conditions_errors(conditions)), field="conditions")
    data = filterset.form.cleaned_data

    def pk(name: str) -> int | None:
        value = data.get(name)
        return value.pk if value is not None else None

    def number(name: str) -> Decimal | None:
        value = data.get(name)
        return Decimal(str(value)) if value is not None else None

    def days(name: str) -> int | None:
        value = data.get(name)
        return int(value) if value is not None else None

    return engine.ReplayConditions(
        status=data.get("status") or None,
        pipeline_id=pk("pipeline"),
        stage_id=pk("stage"),
        owner_id=pk("owner"),
        team_id=pk("team"),
        region_id=pk("region"),
        category=data.get("category") or None,
        close_after=data.get("close_after"),
        close_before=data.get("close_before"),
        min_amount=number("min_amount"),
        max_amount=number("max_amount"),
        stale=data.get("stale"),
        min_days_in_stage=days("min_days_in_stage"),
        min_days_idle=days("min_days_idle"),
    )


# Filters read as the deals are now (the history does not keep them): applied before the replay.
STATIC_FILTERS = ("q", "account", "deal_type", "no_next_step")


# The triggers whose conditions are the deal list's filters: the only rules a dry run can replay.
REPLAYABLE_TRIGGERS = (RuleTrigger.DEAL_CHANGE, RuleTrigger.SCHEDULE)


def rule_dry_run(*, rule: Rule, today: dt.date | None = None) -> engine.DryRun:
    """The rule's dry run (`dry_run` over its conditions), for the rule's page and the API alike. A KPI or lead-SLA
    rule watches a figure or the leads, not deals: its conditions are no deal conditions (often none, which would
    replay every deal), so it is refused rather than answered with a history it could never have had."""
    if rule.trigger not in REPLAYABLE_TRIGGERS:
        raise DomainError("The dry run replays deals; a KPI or lead-SLA rule has none to replay.")
    return dry_run(conditions=rule.conditions, today=today)


def dry_run(*, conditions: str, today: dt.date | None = None, days: int = DRY_RUN_DAYS) -> engine.DryRun:
    """How often a rule with these conditions would have fired over the last `days` days: each day from
    today − days to yesterday replayed at its end (company time) from the deal history (docs/signals-rules.md,
    "Dry run"). Deals matching at the end of the day before the window were already in an episode."""
    today = today or timezone.localdate()
    cond = replay_conditions(conditions)
    data = QueryDict(conditions or "")
    static = QueryDict(urlencode([(k, v) for k, vs in data.lists() if k in STATIC_FILTERS for v in vs]))
    base = DealFilterSet(data=static, queryset=pipeline_rules.deals_for_rules()).qs
    zone = timezone.get_current_timezone()
    day_ends = []
    for offset in range(days, -1, -1):  # the day before the window, then the window's days
        day = today - dt.timedelta(days=offset + 1)
        day_ends.append((day, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)))
    since = day_ends[0][1]
    idle = max(cond.min_days_idle or 0, engine.STALE_DAYS if cond.stale is not None else 0)
    # Activities before the window matter to "idle" (the last one before a day); read from idle days before it.
    stages = {pk: engine.StageFacts(*values) for pk, values in pipeline_rules.stage_facts().items()}
    # Conditions only an open deal meets: a deal closed before the window (and not moved since) is left out.
    wants_open = cond.status == "open" or (cond.stage_id in stages and stages[cond.stage_id].status == "open")
    facts = pipeline_rules.deal_replay_facts(
        base, since=since, activity_since=since - dt.timedelta(days=idle + 1), open_since=wants_open
    )
    teams: dict[int, tuple[int | None, int | None]] = {
        pk: (team, region) for pk, team, region in User.objects.values_list("pk", "team_id", "region_id")
    }
    return engine.replay(facts, cond, day_ends=day_ends, stages=stages, teams=teams)
