"""Rules: a rule fires once per episode, its actions notify, deliver, create a task and set a field, a deal change
evaluates the deal-change rules through the event, an SLA breach is escalated exactly once, and conditions are
the deal list's filters (invalid ones refused with words)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time

from pipeline import services as pipeline_services
from pipeline.models import Activity, Deal, Lead
from salesops.api import DomainError, Forbidden
from signals.models import Notification, RuleEpisode, RuleFiring
from signals.services import rules as services
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _urls_loaded() -> None:
    """Load the URLconf (and pandas, which the forecasting pages import) before any clock is frozen: pandas imported
    under freezegun crashes the interpreter."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


START = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)


def _rotting_rule(org: Any, **extra: Any) -> Any:
    proposal = default_stages()["Proposal"]
    values = {
        "name": "14 days in Proposal with no activity",
        "trigger": "schedule",
        "every_minutes": 60,
        "conditions": f"stage={proposal.pk}&min_days_in_stage=14&min_days_idle=14",
        "actions": [{"kind": "notify_owner"}],
        "is_live": True,
    }
    values.update(extra)
    return services.rule_create(actor=org.ops, **values)


def _deal_in_proposal(org: Any, *, at: dt.datetime) -> Deal:
    return DealFactory.create(
        owner=org.rep_a, stage=default_stages()["Proposal"], created_at=at, stage_entered_at=at, next_step="Call"
    )


def _told(person: Any) -> int:
    return Notification.objects.filter(recipient=person, kind="rule_fired").count()


def test_rotting_rule_fires_once_per_episode(org: Any) -> None:
    with freeze_time(START):
        deal = _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(org)
    # 13 days in: not yet.
    with freeze_time(START + dt.timedelta(days=13)):
        assert services.rule_evaluate(rule=rule) == 0
    # 15 days in Proposal, nothing logged: it fires, the owner is told.
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
        assert _told(org.rep_a) == 1
    # The next evaluation (still matching) fires nothing.
    with freeze_time(START + dt.timedelta(days=16)):
        assert services.rule_evaluate(rule=rule) == 0
        assert services.rules_run_due() == 0
    assert RuleFiring.objects.filter(rule=rule, subject_id=deal.pk).count() == 1
    assert _told(org.rep_a) == 1
    # The deal moves out (the episode ends) and back (it has been in Proposal for no time): nothing fires.
    stages = default_stages()
    with freeze_time(START + dt.timedelta(days=17)):
        pipeline_services.deal_move_stage(actor=org.rep_a, deal=deal, stage=stages["Prospecting"])
        assert services.rule_evaluate(rule=rule) == 0
        assert not RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).exists()
        pipeline_services.deal_move_stage(actor=org.rep_a, deal=Deal.objects.get(pk=deal.pk), stage=stages["Proposal"])
        assert services.rule_evaluate(rule=rule) == 0
    # ... and waits 14 days more with nothing logged: a new episode, it fires again.
    with freeze_time(START + dt.timedelta(days=32)):
        assert services.rule_evaluate(rule=rule) == 1
    assert RuleFiring.objects.filter(rule=rule, subject_id=deal.pk).count() == 2
    assert RuleEpisode.objects.filter(rule=rule, subject_id=deal.pk).count() == 2
    assert _told(org.rep_a) == 2


def test_an_activity_ends_the_episode_at_the_next_sweep(org: Any) -> None:
    with freeze_time(START):
        deal = _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(org)
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
    with freeze_time(START + dt.timedelta(days=16)):
        pipeline_services.activity_create(actor=org.rep_a, kind="call", subject="Checked in", deal=deal)
        services.rules_run_due()  # the rule ran within the hour, so only the evaluation of its episodes closes
        rule.refresh_from_db()
        assert services.rule_evaluate(rule=rule) == 0
        assert not RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).exists()
    with freeze_time(START + dt.timedelta(days=31)):  # 15 quiet days after the call: fires again
        assert services.rule_evaluate(rule=rule) == 1
    assert _told(org.rep_a) == 2


def test_each_action_does_what_it_says(org: Any) -> None:
    from signals.models import Delivery
    from signals.services.channels import channel_create

    hook = channel_create(
        actor=org.ops, kind="webhook", name="Ops hook", url="http://127.0.0.1:9/hook", secret="a-signing-secret-16plus"
    )
    with freeze_time(START):
        deal = _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(
            org,
            actions=[
                {"kind": "notify_owner"},
                {"kind": "notify_manager"},
                {"kind": "notify_role", "role": "finance"},
                {"kind": "channel", "channel_id": hook.pk},
                {"kind": "create_task", "subject": "Revive the proposal", "due_days": 2},
                {"kind": "set_field", "field": "next_step", "value": "Ask for a decision date"},
            ],
        )
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
    assert _told(org.rep_a) == 1 and _told(org.manager_east) == 1 and _told(org.finance) == 1
    delivery = Delivery.objects.get(channel=hook)
    assert delivery.source == f"rule:{rule.pk}" and deal.name in str(delivery.payload)
    task = Activity.objects.get(deal=deal, kind="task")
    assert task.subject == "Revive the proposal" and task.owner == org.rep_a and not task.done
    assert task.due_date == dt.date(2026, 10, 18)
    deal.refresh_from_db()
    assert deal.next_step == "Ask for a decision date"
    firing = RuleFiring.objects.get(rule=rule)
    assert [r["kind"] for r in firing.results] == [a["kind"] for a in rule.actions]
    assert all(r["ok"] for r in firing.results), firing.results


def test_a_refused_action_is_logged_and_the_others_still_run(org: Any) -> None:
    with freeze_time(START):
        deal = _deal_in_proposal(org, at=timezone.now())
        Deal.objects.filter(pk=deal.pk).update(status="won", stage=default_stages()["Closed Won"])
        won = default_stages()["Closed Won"]
        rule = _rotting_rule(
            org,
            conditions=f"stage={won.pk}",
            actions=[{"kind": "set_field", "field": "category_override", "value": "commit"}, {"kind": "notify_owner"}],
        )
    with freeze_time(START + dt.timedelta(days=1)):
        assert services.rule_evaluate(rule=rule) == 1
    firing = RuleFiring.objects.get(rule=rule)
    assert firing.results[0]["ok"] is False and "closed" in firing.results[0]["detail"]
    assert firing.results[1]["ok"] is True and _told(org.rep_a) == 1


def test_a_deal_change_evaluates_deal_change_rules_through_the_event(
    org: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    rule = services.rule_create(
        actor=org.ops,
        name="Big deal without a next step",
        trigger="deal_change",
        conditions="status=open&no_next_step=true&min_amount=50000",
        actions=[{"kind": "notify_manager"}],
        is_live=True,
    )
    deal = DealFactory.create(owner=org.rep_a, amount=20000, next_step="")
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.deal_update(actor=org.rep_a, deal=deal, amount=60000)
    assert _told(org.manager_east) == 1
    assert RuleFiring.objects.filter(rule=rule, subject_id=deal.pk).count() == 1
    with django_capture_on_commit_callbacks(execute=True):  # still matching: no second firing
        pipeline_services.deal_update(actor=org.rep_a, deal=Deal.objects.get(pk=deal.pk), amount=70000)
    assert RuleFiring.objects.filter(rule=rule).count() == 1
    assert _told(org.manager_east) == 1


def test_one_open_episode_per_rule_and_subject_is_guarded_by_the_database(org: Any) -> None:
    from django.db import IntegrityError, transaction

    rule = _rotting_rule(org)
    RuleEpisode.objects.create(rule=rule, subject_kind="deal", subject_id=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleEpisode.objects.create(rule=rule, subject_kind="deal", subject_id=1)


def test_sla_breach_is_escalated_to_the_manager_exactly_once(org: Any) -> None:
    from signals.models import ResponseSla

    ResponseSla.objects.update_or_create(source="", defaults={"minutes": 60, "is_active": True})
    rule = services.rule_create(
        actor=org.ops, name="Lead SLA", trigger="lead_sla", actions=[{"kind": "notify_manager"}], is_live=True
    )
    with freeze_time(START):
        lead = Lead.objects.create(last_name="Quick", company="Acme", owner=org.rep_a, source="web", routed_at=START)
    with freeze_time(START + dt.timedelta(minutes=30)):  # within the SLA
        services.rules_run_due()
    assert Notification.objects.filter(kind="sla_breach").count() == 0
    for minutes in (61, 62, 120):  # breached: one escalation, however many sweeps
        with freeze_time(START + dt.timedelta(minutes=minutes)):
            services.rules_run_due()
    escalations = Notification.objects.filter(kind="sla_breach")
    assert [n.recipient_id for n in escalations] == [org.manager_east.pk]
    assert RuleFiring.objects.filter(rule=rule, subject_kind="lead", subject_id=lead.pk).count() == 1
    # Answered: the episode ends and nothing more is sent.
    Lead.objects.filter(pk=lead.pk).update(first_response_at=START + dt.timedelta(minutes=130))
    with freeze_time(START + dt.timedelta(minutes=140)):
        services.rules_run_due()
    assert not RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).exists()
    assert Notification.objects.filter(kind="sla_breach").count() == 1


def test_kpi_rule_fires_when_the_threshold_is_crossed_and_again_only_after_it_went_back(org: Any) -> None:
    services.rule_create(
        actor=org.ops,
        name="Open pipeline under 50k",
        trigger="kpi",
        kpi="open_pipeline",
        kpi_scope="team",
        kpi_scope_id=org.manager_east.team_id,
        kpi_direction="below",
        kpi_threshold="50000",
        actions=[{"kind": "notify_role", "role": "sales_ops"}],
        is_live=True,
    )
    deal = DealFactory.create(owner=org.rep_a, amount=40000)
    assert services.rules_run_due() == 1
    assert services.rules_run_due() == 0
    Deal.objects.filter(pk=deal.pk).update(amount=90000)
    assert services.rules_run_due() == 0  # back above: the episode ends
    Deal.objects.filter(pk=deal.pk).update(amount=10000)
    assert services.rules_run_due() == 1
    assert Notification.objects.filter(recipient=org.ops, kind="rule_fired").count() == 2


def test_a_kpi_rule_tells_managers_only_the_figures_of_their_own_people(org: Any) -> None:
    """roles.md: a manager sees their subtree. A team's figure goes to the managers above that team, the company's
    to those who see everyone; the notification names the team, not its id."""
    east_team = org.manager_east.team
    for name, scope, scope_id in (("East", "team", east_team.pk), ("Company", "", None)):
        services.rule_create(
            actor=org.ops,
            name=f"{name} open pipeline under 50k",
            trigger="kpi",
            kpi="open_pipeline",
            kpi_scope=scope,
            kpi_scope_id=scope_id,
            kpi_direction="below",
            kpi_threshold="50000",
            actions=[{"kind": "notify_role", "role": "manager"}],
            is_live=True,
        )
    DealFactory.create(owner=org.rep_a, amount=20000)
    DealFactory.create(owner=org.rep_c, amount=10000)
    assert services.rules_run_due() == 2
    told = {
        person.username: sorted(
            t.split(":")[0] for t in Notification.objects.filter(recipient=person).values_list("title", flat=True)
        )
        for person in (org.manager_east, org.manager_west, org.director)
    }
    assert told["mgr_east"] == ["East open pipeline under 50k"]
    assert told["mgr_west"] == []  # another team's figure, and the company's
    assert told["director"] == ["Company open pipeline under 50k", "East open pipeline under 50k"]
    body = Notification.objects.get(recipient=org.manager_east).body
    assert f"for the team {east_team.name} is 20,000.00" in body


def test_a_kpi_figure_goes_only_to_managers_above_the_deals_it_adds_up(org: Any) -> None:
    """Deals outside the figure (lost, of someone gone) do not keep the director from it; a team's figure, even over
    no deal, goes to the managers above the team's reps, and the company's to the top of the tree only."""
    from salesops.org.models import User

    def rule(name: str, **scope: Any) -> None:
        services.rule_create(
            actor=org.ops,
            name=name,
            trigger="kpi",
            kpi="open_pipeline",
            kpi_direction="below",
            kpi_threshold="50000",
            actions=[{"kind": "notify_role", "role": "manager"}],
            is_live=True,
            **scope,
        )

    gone = User.objects.create(username="gone", is_active=False, is_rep=True)  # no manager
    DealFactory.create(owner=gone, amount=5000, status="lost")
    DealFactory.create(owner=org.rep_c, amount=20000)
    orphan = User.objects.create(username="orphan", is_manager=True)  # a manager nobody set a manager for
    rule("Company")
    rule("West", kpi_scope="team", kpi_scope_id=org.manager_west.team_id)
    rule("East", kpi_scope="team", kpi_scope_id=org.manager_east.team_id)  # no open deal in East: its reps' zero
    assert services.rules_run_due() == 3

    def told(person: Any) -> list[str]:
        titles = Notification.objects.filter(recipient=person).values_list("title", flat=True)
        return sorted(t.split(":")[0] for t in titles)

    assert told(org.director) == ["Company", "East", "West"]
    assert told(org.manager_west) == ["West"]
    assert told(org.manager_east) == ["East"]
    assert told(orphan) == []


def test_conditions_are_the_deal_lists_filters_and_invalid_ones_are_refused_in_words(org: Any) -> None:
    with pytest.raises(DomainError, match="“colour” is not a filter"):
        services.conditions_clean("colour=red")
    with pytest.raises(DomainError, match="Stage"):
        services.conditions_clean("stage=999999")
    with pytest.raises(DomainError, match="at least"):
        services.conditions_clean("min_days_idle=-3")
    assert (
        services.conditions_clean("?status=open&owner=&ordering=amount&min_days_idle=7")
        == "status=open&min_days_idle=7"
    )
    DealFactory.create(owner=org.rep_a)
    DealFactory.create(owner=org.rep_b, stage=default_stages()["Proposal"])
    assert services.matching_count(f"stage={default_stages()['Proposal'].pk}") == 1
    assert services.matching_count("status=open") == 2


def test_only_sales_ops_write_rules(org: Any) -> None:
    for person in (org.rep_a, org.manager_east, org.finance, org.director):
        with pytest.raises(Forbidden):
            services.rule_create(actor=person, name="x", actions=[{"kind": "notify_owner"}])


def test_a_rule_needs_an_action_and_a_schedule(org: Any) -> None:
    with pytest.raises(DomainError, match="at least one action"):
        services.rule_create(actor=org.ops, name="x", actions=[])
    with pytest.raises(DomainError, match="every N minutes or daily"):
        services.rule_create(actor=org.ops, name="x", trigger="schedule", actions=[{"kind": "notify_owner"}])
    with pytest.raises(DomainError, match="acts on a deal"):
        services.rule_create(
            actor=org.ops, name="x", trigger="lead_sla", actions=[{"kind": "create_task", "subject": "x"}]
        )


def test_switching_a_rule_off_closes_its_episodes(org: Any) -> None:
    with freeze_time(START):
        _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(org)
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
        services.rule_set_live(actor=org.ops, rule=rule, live=False)
        assert services.rule_evaluate(rule=rule) == 0
        assert not RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).exists()


def test_the_demo_has_two_live_rules_with_firings(org: Any) -> None:
    from types import SimpleNamespace

    from signals import demo_rules
    from signals.models import Rule

    now = timezone.now()
    quiet = DealFactory.create(
        owner=org.rep_a,
        stage=default_stages()["Proposal"],
        next_step="Call",
        created_at=now - dt.timedelta(days=40),
        stage_entered_at=now - dt.timedelta(days=20),
    )
    big = DealFactory.create(owner=org.rep_b, amount=80000, category_override="commit")
    counts = demo_rules.seed(org=SimpleNamespace(ops=org.ops), seed=1, today=timezone.localdate())
    assert counts == {"rules": 2, "rule_firings": 2}
    assert Rule.objects.filter(is_live=True).count() == 2
    assert set(RuleFiring.objects.values_list("subject_id", flat=True)) == {quiet.pk, big.pk}
    assert _told(org.rep_a) == 1 and _told(org.manager_east) == 2 and _told(org.finance) == 1


def test_a_batch_that_starts_many_episodes_tells_each_person_once(org: Any) -> None:
    with freeze_time(START):
        first = _deal_in_proposal(org, at=timezone.now())
        second = _deal_in_proposal(org, at=timezone.now())
        other = DealFactory.create(
            owner=org.rep_b,
            stage=default_stages()["Proposal"],
            next_step="x",
            created_at=timezone.now(),
            stage_entered_at=timezone.now(),
        )
        rule = _rotting_rule(org, actions=[{"kind": "notify_owner"}, {"kind": "notify_manager"}])
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 3  # three episodes, three firings logged
    mine = Notification.objects.get(recipient=org.rep_a, kind="rule_fired")
    assert mine.title == f"{rule.name}: 2 deals" and first.name in mine.body and second.name in mine.body
    assert mine.url.startswith("/pipeline/deals/?stage=")
    assert Notification.objects.get(recipient=org.rep_b, kind="rule_fired").title == f"{rule.name}: {other.name}"
    manager = Notification.objects.get(recipient=org.manager_east, kind="rule_fired")  # rep_a's and rep_b's manager
    assert manager.title == f"{rule.name}: 3 deals"
    assert RuleFiring.objects.filter(rule=rule).count() == 3


def test_switching_off_through_the_form_closes_the_episodes_too(org: Any) -> None:
    with freeze_time(START):
        _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(org)
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
        services.rule_update(actor=org.ops, rule=rule, is_live=False)
    assert not RuleEpisode.objects.filter(rule=rule, ended_at__isnull=True).exists()
    with freeze_time(START + dt.timedelta(days=16)):
        services.rule_update(actor=org.ops, rule=rule, is_live=True)
        assert services.rule_evaluate(rule=rule) == 1  # a new episode of the rule's life


def test_notifying_the_managers_tells_only_those_who_see_the_deal(org: Any) -> None:
    """roles.md: a manager sees their subtree's deals. A rule notifying "managers" must not tell the west manager the
    name, stage and owner of an east rep's deal (the director above both is told)."""
    with freeze_time(START):
        deal = _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(org, actions=[{"kind": "notify_role", "role": "manager"}])
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
    assert _told(org.manager_east) == 1
    assert _told(org.director) == 1
    assert _told(org.manager_west) == 0
    assert not Notification.objects.filter(recipient=org.manager_west, body__contains=deal.name).exists()


def test_a_rule_whose_condition_no_longer_validates_matches_no_deal_not_every_deal(org: Any) -> None:
    """django-filter drops an invalid filter from `.qs`: a rule for one owner's deals, once that owner is no longer a
    rep (the filter's choices), matched every deal of everyone and fired on all of them."""
    rule = services.rule_create(
        actor=org.ops,
        name="Rep A's open deals",
        trigger="deal_change",
        conditions=f"owner={org.rep_a.pk}&status=open",
        actions=[{"kind": "notify_owner"}],
        is_live=True,
    )
    type(org.rep_a).objects.filter(pk=org.rep_a.pk).update(is_rep=False, is_manager=True)
    other = DealFactory.create(owner=org.rep_b)
    assert services.rule_evaluate(rule=rule, deal_ids=[other.pk]) == 0
    assert services.rule_evaluate(rule=rule) == 0
    assert _told(org.rep_b) == 0


def test_the_firing_log_names_the_role_channel_and_task(org: Any, client_for: Any) -> None:
    """Not "Notify everyone with a role (1 to notify)": the rule's page names whom (Finance), as the action was when
    it fired, after the rule changes too; a firing logged with the kind alone takes the unchanged rule's words."""
    from signals.services.channels import channel_create

    hook = channel_create(
        actor=org.ops, kind="webhook", name="Ops hook", url="http://127.0.0.1:9/hook", secret="a-signing-secret-16plus"
    )
    with freeze_time(START):
        _deal_in_proposal(org, at=timezone.now())
        rule = _rotting_rule(org, actions=[
            {"kind": "notify_role", "role": "finance"},
            {"kind": "channel", "channel_id": hook.pk},
            {"kind": "create_task", "subject": "Revive the proposal", "due_days": 2},
        ])  # fmt: skip
    with freeze_time(START + dt.timedelta(days=15)):
        assert services.rule_evaluate(rule=rule) == 1
    client = client_for(org.ops)

    def page() -> str:
        return client.get(f"/signals/rules/{rule.pk}/").content.decode()

    body = page()
    assert "done: Notify everyone with a role: Finance (1 to notify)" in body
    assert (
        "done: Send to Ops hook (Webhook) (delivery" in body
        and "done: Create a task “Revive the proposal”, due in 2" in body
    )
    # a firing logged before the role was (its kind alone), the rule unchanged since: the rule's role
    firing = RuleFiring.objects.get(rule=rule)
    RuleFiring.objects.filter(pk=firing.pk).update(
        results=[{"kind": r["kind"], "ok": r["ok"], "detail": r["detail"]} for r in firing.results]
    )
    assert "done: Notify everyone with a role: Finance (1 to notify)" in page()
    RuleFiring.objects.filter(pk=firing.pk).update(results=firing.results)
    # the rule now notifies sales ops: the firing still says whom it told then
    with freeze_time(START + dt.timedelta(days=16)):
        services.rule_update(actor=org.ops, rule=rule, actions=[{"kind": "notify_role", "role": "sales_ops"}])
    body = page()
    assert "Notify everyone with a role: Finance (1 to notify)" in body and "role: Sales ops (" not in body
    # the channel switched off since: the firing still names it (it read "Send to channel 7")
    from signals.services.channels import channel_update

    channel_update(actor=org.ops, channel_id=hook.pk, is_active=False)
    assert "done: Send to Ops hook (Webhook) (delivery" in page()
