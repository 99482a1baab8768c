"""Rules pages and API: sales ops create a rule from the form (a bad filter is a clear form error), preview how many
deals match, read firings and the dry run, switch a rule on; everybody else gets 403 on every rules URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time

from salesops.org.selectors import audit_history
from signals.models import Rule, RuleEpisode, RuleFiring
from signals.selectors import rules as selectors
from signals.services import rules as services
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db
FORM, JSON = "application/x-www-form-urlencoded", "application/json"


def _rule(org: Any) -> Rule:
    return services.rule_create(
        actor=org.ops,
        name="Quiet deals",
        trigger="schedule",
        every_minutes=60,
        conditions="status=open&min_days_idle=14",
        actions=[{"kind": "notify_owner"}],
    )


def test_sales_ops_create_a_rule_from_the_form(org: Any, client_for: Any) -> None:
    proposal = default_stages()["Proposal"]
    client = client_for(org.ops)
    assert client.get("/signals/rules/new/").status_code == 200
    response = client.post(
        "/signals/rules/new/",
        {
            "name": "Proposal rotting",
            "trigger": "schedule",
            "every_minutes": "60",
            "conditions": f"stage={proposal.pk}&min_days_in_stage=14&min_days_idle=14",
            "action_kind_0": "notify_owner",
            "action_kind_1": "notify_role",
            "action_role_1": "sales_ops",
        },
    )
    rule = Rule.objects.get(name="Proposal rotting")
    assert response.status_code == 302 and response["Location"] == f"/signals/rules/{rule.pk}/"
    assert rule.actions == [{"kind": "notify_owner"}, {"kind": "notify_role", "role": "sales_ops"}]
    assert not rule.is_live
    page = client.get(f"/signals/rules/{rule.pk}/").content.decode()
    assert "Proposal rotting" in page and "In its stage for at least (days): 14" in page and "Proposal" in page


def test_an_invalid_filter_is_a_clear_form_error(org: Any, client_for: Any) -> None:
    client = client_for(org.ops)
    response = client.post(
        "/signals/rules/new/",
        {
            "name": "Bad",
            "trigger": "deal_change",
            "conditions": "stage=999999&colour=red",
            "action_kind_0": "notify_owner",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "“colour” is not a filter of the deal list." in page and "Stage:" in page
    assert not Rule.objects.filter(name="Bad").exists()


def test_the_preview_counts_the_deals_matching_now(org: Any, client_for: Any) -> None:
    DealFactory.create(owner=org.rep_a)
    DealFactory.create(owner=org.rep_b, stage=default_stages()["Proposal"])
    client = client_for(org.ops)
    page = client.get("/signals/rules/preview/", {"conditions": "status=open"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<strong>2</strong> deals match" in page
    page = client.get("/signals/rules/preview/", {"conditions": "min_amount=abc"}).content.decode()
    assert "Amount at least" in page


def test_the_list_detail_dry_run_and_switch(org: Any, client_for: Any) -> None:
    rule = _rule(org)
    client = client_for(org.ops)
    assert "Quiet deals" in client.get("/signals/rules/").content.decode()
    dry = client.get(f"/signals/rules/{rule.pk}/dry-run/", HTTP_HX_REQUEST="true")
    assert dry.status_code == 200 and "would have fired" in dry.content.decode()
    assert client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "1"}).status_code == 302
    rule.refresh_from_db()
    assert rule.is_live


def test_everybody_but_sales_ops_gets_403(org: Any, client_for: Any, api_client_for: Any) -> None:
    rule = _rule(org)
    for person in (org.rep_a, org.manager_east, org.finance, org.director):
        client = client_for(person)
        for url in (
            "/signals/rules/",
            "/signals/rules/new/",
            f"/signals/rules/{rule.pk}/",
            "/signals/rules/999999/",
            f"/signals/rules/{rule.pk}/dry-run/",
            "/signals/rules/preview/",
        ):
            assert client.get(url).status_code == 403, (person, url)
        assert client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "1"}).status_code == 403
        api = api_client_for(person)
        assert api.get("/api/v1/signals/rules/").status_code == 403
        assert api.get(f"/api/v1/signals/rules/{rule.pk}/").status_code == 403
    rule.refresh_from_db()
    assert not rule.is_live


def test_the_api_creates_switches_and_reads_firings(org: Any, api_client_for: Any) -> None:
    api = api_client_for(org.ops)
    response = api.post(
        "/api/v1/signals/rules/",
        {
            "name": "API rule",
            "trigger": "deal_change",
            "conditions": "status=open",
            "actions": [{"kind": "notify_owner"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert api.post(f"/api/v1/signals/rules/{pk}/switch/", {"live": True}, format="json").json()["is_live"] is True
    assert api.get(f"/api/v1/signals/rules/{pk}/firings/").json() == []
    bad = api.post(
        "/api/v1/signals/rules/",
        {"name": "x", "conditions": "colour=red", "actions": [{"kind": "notify_owner"}]},
        format="json",
    )
    assert bad.status_code == 400 and "colour" in bad.content.decode()


@pytest.mark.parametrize(
    "extra",
    [
        {"trigger": "kpi", "kpi": "open_pipeline", "kpi_threshold": "1e30"},
        {"trigger": "kpi", "kpi": "open_pipeline", "kpi_threshold": "99999999999999999"},
        {"trigger": "schedule", "every_minutes": "99999999999999999999"},
        {"trigger": "kpi", "kpi": "open_pipeline", "kpi_scope": "team", "kpi_scope_id": "99999999999999999999"},
    ],
)
def test_out_of_range_numbers_on_the_form_are_form_errors_not_500(
    org: Any, client_for: Any, extra: dict[str, str]
) -> None:
    client = client_for(org.ops)
    response = client.post(
        "/signals/rules/new/",
        {"name": "Too big", "conditions": "status=open", "action_kind_0": "notify_owner", **extra},
    )
    assert response.status_code == 400
    assert not Rule.objects.filter(name="Too big").exists()


def test_the_switch_sends_htmx_only_to_a_page_of_the_hub(org: Any, client_for: Any) -> None:
    rule = _rule(org)
    client = client_for(org.ops)
    away = client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "1", "next": "https://evil.example/x"},
                       HTTP_HX_REQUEST="true")  # fmt: skip
    assert away.status_code == 204 and away["HX-Redirect"] == f"/signals/rules/{rule.pk}/"
    here = client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "0", "next": "/signals/rules/"},
                       HTTP_HX_REQUEST="true")  # fmt: skip
    assert here["HX-Redirect"] == "/signals/rules/"


@pytest.mark.parametrize(
    "extra",
    [
        {"name": "Quiet\x00"},
        {"description": "a\x00b"},
        {"action_kind_0": "create_task", "action_subject_0": "Call\x00"},
    ],
)
def test_a_nul_character_on_the_rule_form_is_a_form_error_not_500(
    org: Any, client_for: Any, extra: dict[str, str]
) -> None:
    values = {
        "name": "Nul rule",
        "trigger": "deal_change",
        "conditions": "status=open",
        "action_kind_0": "notify_owner",
    }
    response = client_for(org.ops).post("/signals/rules/new/", {**values, **extra})
    assert response.status_code == 400
    assert not Rule.objects.exists()


# ---------------------------------------------------------------------------------- the API as the pages answer
def test_each_rule_in_the_api_carries_the_rules_pages_numbers(org: Any, client_for: Any, api_client_for: Any) -> None:
    """Open episodes, firings in the last 30 days and the last firing: the same numbers as the rules list and the
    rule's page, in the list, the detail and the answer of a write (after it)."""
    rule, quiet = _rule(org), services.rule_create(
        actor=org.ops, name="Never fired", trigger="deal_change", conditions="status=open",
        actions=[{"kind": "notify_owner"}],
    )  # fmt: skip
    services.rule_set_live(actor=org.ops, rule=rule, live=True)
    now = timezone.now()
    ago = [now - dt.timedelta(days=days) for days in (45, 20, 10, 2)]
    deals = [DealFactory.create(owner=org.rep_a) for _ in range(3)]
    RuleEpisode.objects.create(rule=rule, subject_id=deals[0].pk, started_at=ago[0], ended_at=ago[1])  # closed
    open_ones = [RuleEpisode.objects.create(rule=rule, subject_id=d.pk, started_at=ago[1]) for d in deals[1:]]
    for when, deal in zip(ago, [deals[0], *deals], strict=True):  # one 45 days ago, three in the last 30 days
        RuleFiring.objects.create(rule=rule, subject_id=deal.pk, subject_label=deal.name, fired_at=when,
                                  episode=open_ones[0] if deal == deals[1] else None)  # fmt: skip

    api = api_client_for(org.ops)
    listed = {r["id"]: r for r in api.get("/api/v1/signals/rules/").json()}
    detail = api.get(f"/api/v1/signals/rules/{rule.pk}/").json()
    for answer in (listed[rule.pk], detail):
        assert (answer["open_episodes"], answer["firings_30d"]) == (2, 3)
        assert dt.datetime.fromisoformat(answer["last_fired"]) == ago[3]
    assert (listed[quiet.pk]["open_episodes"], listed[quiet.pk]["firings_30d"], listed[quiet.pk]["last_fired"]) == (
        0, 0, None,
    )  # fmt: skip
    # The pages' numbers: the rules list (rule_rows) and the rule's page (open_episode_count).
    row = next(r for r in selectors.rule_rows(now=now) if r.rule.pk == rule.pk)
    assert (row.open_episodes, row.firings_30d, row.last_fired) == (2, 3, ago[3])
    assert selectors.open_episode_count(rule) == 2
    page = client_for(org.ops)
    assert '<td class="num">2</td><td class="num">3</td>' in page.get("/signals/rules/").content.decode()
    assert "<dt>Matching now</dt><dd>2</dd>" in page.get(f"/signals/rules/{rule.pk}/").content.decode()
    # A write answers the rule as it is after it: switched off, its episodes closed; the firings stay.
    off = api.post(f"/api/v1/signals/rules/{rule.pk}/switch/", {"live": False}, format="json").json()
    assert (off["is_live"], off["open_episodes"], off["firings_30d"]) == (False, 0, 3)
    changed = api.patch(f"/api/v1/signals/rules/{rule.pk}/", {"description": "Quieter"}, format="json").json()
    assert (changed["description"], changed["open_episodes"], changed["firings_30d"]) == ("Quieter", 0, 3)


@pytest.mark.parametrize(
    ("body", "content_type", "live"),
    [
        ("live=false", FORM, False),
        ("live=0", FORM, False),
        ("live=true", FORM, True),
        ("live=1", FORM, True),
        ('{"live": "false"}', JSON, False),
        ('{"live": false}', JSON, False),
        ('{"live": 0}', JSON, False),
        ('{"live": "true"}', JSON, True),
        ('{"live": 1}', JSON, True),
        ("{}", JSON, True),  # left out: on, as before
    ],
)
def test_the_api_switch_reads_live_as_a_boolean(
    org: Any, api_client_for: Any, body: str, content_type: str, live: bool
) -> None:
    rule = _rule(org)
    services.rule_set_live(actor=org.ops, rule=rule, live=not live)  # the switch has something to do
    response = api_client_for(org.ops).post(f"/api/v1/signals/rules/{rule.pk}/switch/", body, content_type=content_type)
    assert response.status_code == 200, response.content
    assert response.json()["is_live"] is live
    rule.refresh_from_db()
    assert rule.is_live is live
    last = audit_history(entity="signals.rule", entity_id=rule.pk).order_by("-id").first()
    assert last is not None and last.actor == org.ops and last.changes == {"is_live": [str(not live), str(live)]}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("live=maybe", FORM),
        ("live=", FORM),
        ('{"live": "nope"}', JSON),
        ('{"live": null}', JSON),
        ('{"live": 2}', JSON),
        ('{"live": [true]}', JSON),
    ],
)
def test_an_api_switch_that_is_not_a_boolean_is_a_400_naming_live(
    org: Any, api_client_for: Any, body: str, content_type: str
) -> None:
    rule = _rule(org)
    response = api_client_for(org.ops).post(f"/api/v1/signals/rules/{rule.pk}/switch/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "live" in response.json()
    rule.refresh_from_db()
    assert not rule.is_live
    assert not audit_history(entity="signals.rule", entity_id=rule.pk).filter(action="update").exists()


def test_the_api_switch_is_sales_ops_alone(org: Any, api_client_for: Any) -> None:
    rule = _rule(org)
    for person in (org.rep_a, org.manager_east, org.finance, org.director):
        api = api_client_for(person)
        for pk in (rule.pk, 999999):
            assert api.post(f"/api/v1/signals/rules/{pk}/switch/", {"live": True}, format="json").status_code == 403
        assert api.post(f"/api/v1/signals/rules/{rule.pk}/switch/", "live=maybe", content_type=FORM).status_code == 403
    assert api_client_for(org.ops).post("/api/v1/signals/rules/999999/switch/", {"live": True},
                                        format="json").status_code == 404  # fmt: skip
    rule.refresh_from_db()
    assert not rule.is_live


@pytest.mark.parametrize(
    "values",
    [
        {
            "trigger": "kpi",
            "kpi": "open_pipeline",
            "kpi_scope": "company",
            "kpi_direction": "below",
            "kpi_threshold": "50000",
        },
        {"trigger": "lead_sla"},
    ],
)
def test_the_dry_run_of_a_kpi_or_lead_sla_rule_is_refused_by_the_api_as_by_its_page(
    org: Any, client_for: Any, api_client_for: Any, values: dict[str, str]
) -> None:
    DealFactory.create(owner=org.rep_a)  # a deal the replay would otherwise count
    rule = services.rule_create(actor=org.ops, name="Not about deals", actions=[{"kind": "notify_owner"}], **values)
    refusal = "The dry run replays deals; a KPI or lead-SLA rule has none to replay."
    response = api_client_for(org.ops).get(f"/api/v1/signals/rules/{rule.pk}/dry-run/")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == refusal and "starts" not in response.json()
    page = client_for(org.ops).get(f"/signals/rules/{rule.pk}/dry-run/", HTTP_HX_REQUEST="true").content.decode()
    assert refusal.replace("'", "&#x27;") in page and "would have fired" not in page
    assert api_client_for(org.rep_a).get(f"/api/v1/signals/rules/{rule.pk}/dry-run/").status_code == 403


@freeze_time("2026-11-30 09:00")
def test_the_dry_run_of_a_deal_rule_answers_the_replay(org: Any, api_client_for: Any) -> None:
    """Deal-change and scheduled rules are replayed through the API as on their page: a deal created on 5 October
    (inside the window) and matching since starts once, that day."""
    since = timezone.make_aware(dt.datetime(2026, 10, 5, 12))
    deal = DealFactory.create(owner=org.rep_a, name="Big one", stage=default_stages()["Proposal"], amount=90000,
                              created_at=since, stage_entered_at=since)  # fmt: skip
    for trigger, extra in (("deal_change", {}), ("schedule", {"every_minutes": 60})):
        rule = services.rule_create(actor=org.ops, name=f"Big {trigger}", trigger=trigger, **extra,
                                    conditions="status=open&min_amount=50000", actions=[{"kind": "notify_owner"}])  # fmt: skip
        response = api_client_for(org.ops).get(f"/api/v1/signals/rules/{rule.pk}/dry-run/")
        assert response.status_code == 200, response.content
        run = response.json()
        assert (run["first_day"], run["last_day"], run["starts"], run["deals"]) == ("2026-09-01", "2026-11-29", 1, 1)
        assert run["sample"] == [{"deal": deal.pk, "name": "Big one", "first_start": "2026-10-05"}]
        assert {w["week"]: w["starts"] for w in run["per_week"] if w["starts"]} == {"2026-10-05": 1}


def _rules_naming_every_kind(org: Any, count: int) -> None:
    """`count` more rules whose conditions name a pipeline, a stage, an owner, a team and a region (different ones
    from rule to rule); every fifth names the finance analyst as owner (no rep: its conditions no longer hold)."""
    stages, reps = list(default_stages().values()), [org.rep_a, org.rep_b, org.rep_c]
    start = Rule.objects.count()
    for i in range(start, start + count):
        stage, rep = stages[i % len(stages)], reps[i % len(reps)]
        owner = org.finance if i % 5 == 4 else rep
        Rule.objects.create(
            name=f"Rule {i}",
            trigger="schedule",
            every_minutes=60,
            created_by=org.ops,
            conditions=f"pipeline={stage.pipeline_id}&stage={stage.pk}&owner={owner.pk}&team={rep.team_id}"
            f"&region={rep.region_id}",
        )


@pytest.mark.parametrize("url", ["/signals/rules/", "/api/v1/signals/rules/"])
def test_the_rules_list_checks_every_rules_conditions_in_a_fixed_number_of_queries(
    org: Any, client_for: Any, url: str
) -> None:
    """The list says of each rule whether its conditions still hold: the people, stages, teams, pipelines and regions
    they name are read once for all the rules, not once per rule (100 queries for 20 rules naming all five)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(org.ops)
    _rules_naming_every_kind(org, 5)
    client.get(url)  # the session, the caches: read before counting
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200
    _rules_naming_every_kind(org, 15)
    with CaptureQueriesContext(connection) as twenty:
        listing = client.get(url).content.decode()
    assert listing.count("Rule ") == 20 and listing.count("Select a valid choice") == 4
    assert len(twenty.captured_queries) == len(five.captured_queries)


def test_the_rules_checked_together_have_the_problems_each_has_alone(org: Any) -> None:
    """The batch check (the lists) answers what each rule's own check answers, whatever its conditions name."""
    proposal = default_stages()["Proposal"]
    conditions = [
        f"stage={proposal.pk}&owner={org.rep_a.pk}&team={org.rep_a.team_id}&region={org.rep_a.region_id}",
        f"pipeline={proposal.pipeline_id}&stage=999999&owner={org.finance.pk}",
        "stage=abc&owner=1.0&team=&region=99999999999999999999999",
        f"stage=abc&stage={proposal.pk}&owner={org.rep_b.pk}&owner=x",
        f"stage= {proposal.pk} &team={org.rep_c.team_id}%00&colour=red&min_amount=lots",
        "account=12.0&status=nope",
        "",
    ]
    rules = [
        Rule.objects.create(name=f"Rule {i}", trigger="schedule", every_minutes=60, created_by=org.ops, conditions=c)
        for i, c in enumerate(conditions)
    ]
    rules.append(Rule.objects.create(name="Leads", trigger="lead_sla", created_by=org.ops, conditions="stage=999999"))
    together = services.rules_conditions_problems(rules)
    alone = {
        rule.pk: [] if rule.trigger == "lead_sla" else services.conditions_errors(rule.conditions) for rule in rules
    }
    assert together == alone
    assert together[rules[0].pk] == [] and len(together[rules[1].pk]) == 2 and together[rules[-1].pk] == []
    assert {rule.pk: services.rule_conditions_problems(rule) for rule in rules} == alone
