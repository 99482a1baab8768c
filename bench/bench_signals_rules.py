"""Signals benchmarks: rules (issue 17). Two rows:

- every live rule after a batch of 1,000 deal changes (≤ 2 s): five live deal-change rules of the kinds sales ops
  write (big deals without a next step, commit deals past their close date, quiet big deals, large early-stage
  deals, large won deals), evaluated over 1,000 changed deals by `rules_evaluate_changed`, the listener's task: one
  filtered query per rule over the changed ids, episodes read and written in bulk, the firings' notifications (one
  per person per evaluation; what their e-mail/Slack/Teams deliveries cost to queue after the commit is reported
  beside it);
- a scheduled rule over every open deal (≤ 5 s; 140,000 open deals at enterprise scale): "open, in its stage for
  60 days, nothing logged for 30" evaluated by `rule_evaluate` over every deal. Its first run, which opens an
  episode for every deal matching already, is primed beforehand; then 1 % of those episodes are closed, as a day's
  churn would, so the timed run is the daily one: the one filtered query over every deal, the open episodes read,
  and the 1 % fired anew (each telling its owner).

Every rule, episode, firing and notification made is removed afterwards, even on failure.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from bench.harness import BenchContext, benchmark

CHANGED = 1000


def _author() -> Any:
    from django.db.models import Q

    from salesops.org.models import User

    author = User.objects.filter(Q(is_sales_ops=True) | Q(is_superuser=True)).first() or User.objects.first()
    assert author is not None, "the bench database has no people"
    return author


def _cleanup(rule_ids: list[int]) -> None:
    from signals.models import Notification, Rule

    for pk in rule_ids:
        Notification.objects.filter(dedupe_key__startswith=f"rule:{pk}:").delete()
    Rule.objects.filter(pk__in=rule_ids).delete()


@benchmark(
    name="signals: every live rule after a batch of 1,000 deal changes",
    unit="s",
    target=2,
    repeat=3,
    issue="17",
    description="signals.services.rules.rules_evaluate_changed over 1,000 changed deals with five live deal-change "
    "rules (one filtered query each over the ids, episodes in bulk, the firings' notifications).",
)
def rules_after_a_batch(ctx: BenchContext) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from pipeline.models import Deal, DealStatus
    from signals.models import Notification, RuleFiring
    from signals.services import rules as services

    author = _author()
    today = timezone.localdate()
    tag = uuid.uuid4().hex[:6]
    specs = [
        ("status=open&no_next_step=true&min_amount=100000", [{"kind": "notify_manager"}]),
        (f"status=open&category=commit&close_before={today - dt.timedelta(days=1)}", [{"kind": "notify_owner"}]),
        ("status=open&min_days_idle=30&min_amount=50000", [{"kind": "notify_owner"}]),
        ("status=open&min_amount=250000&min_days_in_stage=30", [{"kind": "notify_role", "role": "sales_ops"}]),
        ("status=won&min_amount=500000", [{"kind": "notify_role", "role": "finance"}]),
    ]
    made: list[int] = []
    try:
        for i, (conditions, actions) in enumerate(specs):
            rule = services.rule_create(
                actor=author,
                name=f"bench rules {tag} {i}",
                trigger="deal_change",
                conditions=conditions,
                actions=actions,
                is_live=True,
            )
            made.append(rule.pk)
        # The batch: 1,000 deals spread over the table (every 7th open deal from a point), as an import touches them.
        ids = list(
            Deal.objects.filter(status=DealStatus.OPEN).order_by("id").values_list("id", flat=True)[: CHANGED * 7 : 7]
        )
        # Timed in one transaction, so what runs after its commit (the e-mail/Slack/Teams deliveries the
        # notifications queue, one outbox message each: the channels area's cost) is reported apart.
        started = time.perf_counter()
        with transaction.atomic():
            fired = services.rules_evaluate_changed(deal_ids=ids)
            before_commit = time.perf_counter() - started
        value = time.perf_counter() - started
        again = time.perf_counter()
        services.rules_evaluate_changed(deal_ids=ids)  # the same batch again: nothing new fires
        second = time.perf_counter() - again
        return {
            "value": value,
            "rules": len(made),
            "changed_deals": len(ids),
            "fired": fired,
            "firings_logged": RuleFiring.objects.filter(rule_id__in=made).count(),
            "same_batch_again_s": round(second, 3),
            "until_commit_s": round(before_commit, 3),
            "after_commit_deliveries_s": round(value - before_commit, 3),
            "notifications": Notification.objects.filter(dedupe_key__startswith="rule:")
            .filter(dedupe_key__regex=rf"^rule:({'|'.join(map(str, made))}):")
            .count(),
        }
    finally:
        _cleanup(made)


@benchmark(
    name="signals: a scheduled rule over every open deal",
    unit="s",
    target=5,
    repeat=3,
    issue="17",
    description="signals.services.rules.rule_evaluate of 'open, 60 days in its stage, nothing logged for 30' over "
    "every deal (140,000 open at enterprise), its episodes primed and 1 % closed, so 1 % fire anew.",
)
def scheduled_rule(ctx: BenchContext) -> dict[str, Any]:
    from django.utils import timezone

    from signals.models import RuleEpisode, RuleSubject
    from signals.services import rules as services

    author = _author()
    rule = services.rule_create(
        actor=author,
        name=f"bench scheduled {uuid.uuid4().hex[:6]}",
        trigger="schedule",
        every_minutes=60,
        conditions="status=open&min_days_in_stage=60&min_days_idle=30",
        actions=[{"kind": "notify_owner"}],
        is_live=True,
    )
    try:
        now = timezone.now()
        open_deals = services.matching_count("status=open")
        matching = services.pipeline_rules.deal_ids(services.matching_deals(rule.conditions))
        # Primed: the rule's first run, as if it had fired for all of these before (not timed, no actions).
        RuleEpisode.objects.bulk_create(
            [RuleEpisode(rule=rule, subject_kind=RuleSubject.DEAL, subject_id=pk, started_at=now) for pk in matching],
            batch_size=5000,
        )
        churn = sorted(matching)[::100]
        RuleEpisode.objects.filter(rule=rule, subject_id__in=churn).update(ended_at=now)
        started = time.perf_counter()
        fired = services.rule_evaluate(rule=rule)
        value = time.perf_counter() - started
        return {"value": value, "open_deals": open_deals, "matching": len(matching), "fired": fired}
    finally:
        _cleanup([rule.pk])
