"""Stress tests end to end: created by sales ops, run by the task, the stored result equal to the engine's, and
who sees what on the pages and the API. (The engine itself: tests/planning/test_stress_engine.py.)"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from incentives import services as pay
from planning.engine import stress
from planning.models import QuotaScenario, ScenarioQuota, StressTest
from planning.services.stress import stress_input, stress_test_create
from planning.tasks import run_stress_test
from salesops.api import DomainError, Forbidden
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db

Q = "2027-Q1"
PLAN = {
    "key": "ae", "period": "quarter", "components": [
        {"key": "commission", "type": "tiered_rate", "cap_attainment": 2,
         "tiers": [{"from": 0, "rate": "0.08"}, {"from": 1, "rate": "0.12"}]}]}  # fmt: skip


@pytest.fixture
def world(org):
    """Three reps on the live plan with quotas for 2027-Q1, deals won in it and open deals closing in it."""
    version = pay.plan_save_version(actor=org.ops, key="ae", name="AE", definition=PLAN,
                                    effective_from=dt.date(2027, 1, 1))  # fmt: skip
    period = pay.period_get_or_create(Q)
    stages = default_stages()
    for rep, quota in ((org.rep_a, 50_000), (org.rep_b, 40_000), (org.rep_c, 30_000)):
        pay.plan_assign(actor=org.ops, person=rep, plan=version.plan, start=dt.date(2027, 1, 1))
        pay.quota_set(actor=org.ops, person=rep, period=period, amount=quota)
        DealFactory.create(owner=rep, stage=stages["Closed Won"], amount=Decimal(quota) / 2,
                           close_date=dt.date(2027, 1, 20))  # fmt: skip
        for i, (name, amount) in enumerate((("Negotiation", 20_000), ("Prospecting", 15_000), ("Negotiation", 9_000))):
            DealFactory.create(owner=rep, stage=stages[name], amount=Decimal(amount) + i,
                               close_date=dt.date(2027, 3, 10))  # fmt: skip
    DealFactory.create(owner=org.rep_a, stage=stages["Negotiation"], amount=99_999, close_date=dt.date(2027, 4, 2))
    return org


def _run(org, **kwargs) -> StressTest:
    given = {"name": "Draft FY27", "plan_definition": PLAN, "period": Q, "outcomes": 200, "seed": 5, **kwargs}
    test = stress_test_create(actor=org.ops, **given)
    run_stress_test(test.pk)
    test.refresh_from_db()
    return test


def test_the_task_stores_the_engine_result(world) -> None:
    test = _run(world)
    assert test.status == StressTest.Status.DONE, test.error
    result = test.result
    assert result["outcomes"] == 200 and result["open_deals"] == 9  # the April deal is outside the period
    assert result["people"] == 3 and result["reps"] == 3
    assert sum(result["histogram"]["counts"]) == 200
    # The stored figures are the engine's: the same input run again gives the same payouts.
    data = stress_input(test)
    again = stress.summarise(stress.run(data), weighted=stress.reference_payouts(data, stress.weighted_amounts(data)))
    assert again["cost"] == result["cost"] and again["by_person"] == result["by_person"]
    # Everyone already has half their quota won: at least 8 % of it is paid in every outcome.
    by_person = {int(row["person"]): row for row in result["by_person"]}
    assert Decimal(by_person[world.rep_a.pk]["p10"]) >= Decimal("2000.00")
    # The weighted forecast: rep_c has 15,000 won, open 20,000 × 0.6 + 15,001 × 0.1 + 9,002 × 0.6 (stage chances)
    stages = default_stages()
    expected = (
        Decimal(15_000)
        + 20_000 * stages["Negotiation"].probability / 100
        + 15_001 * stages["Prospecting"].probability / 100
        + 9_002 * stages["Negotiation"].probability / 100
    )
    assert Decimal(by_person[world.rep_c.pk]["weighted"]) == pay_at(expected, Decimal(30_000))


def pay_at(credited: Decimal, quota: Decimal) -> Decimal:
    """The plan by hand: 8 % up to quota, 12 % above, nothing above twice the quota."""
    below = min(credited, quota) * Decimal("0.08")
    above = max(min(credited, 2 * quota) - quota, Decimal(0)) * Decimal("0.12")
    return (below + above).quantize(Decimal("0.01"))


def test_a_scenario_replaces_the_quotas_of_the_people_it_lists(world) -> None:
    scenario = QuotaScenario.objects.create(name="Stretch", fiscal_year=2027, created_by=world.ops)
    ScenarioQuota.objects.create(scenario=scenario, person=world.rep_c, period=Q, amount=Decimal("1000.00"))
    test = _run(world, scenario_id=scenario.pk)
    assert test.status == StressTest.Status.DONE, test.error
    by_person = {int(row["person"]): row for row in test.result["by_person"]}
    assert by_person[world.rep_c.pk]["quota"] == "1000.00"
    assert by_person[world.rep_c.pk]["at_quota"] == "1.0000"  # 15,000 won against 1,000
    assert by_person[world.rep_a.pk]["quota"] == "50000.00"


def test_a_failure_is_stored_with_its_message(world) -> None:
    test = _run(world, plan_definition=dict(PLAN, attainment_basis="ytd"))
    # The ytd basis needs a quota in every earlier quarter of the fiscal year: 2027-Q1 is the first, so it runs.
    assert test.status == StressTest.Status.DONE
    test = stress_test_create(actor=world.ops, name="Broken", plan_definition=PLAN, period=Q, outcomes=10)
    StressTest.objects.filter(pk=test.pk).update(plan_definition={"key": "x", "period": "quarter", "components": 3})
    run_stress_test(test.pk)
    test.refresh_from_db()
    assert test.status == StressTest.Status.FAILED and "components" in test.error
    run_stress_test(test.pk)  # a second delivery does nothing
    test.refresh_from_db()
    assert test.status == StressTest.Status.FAILED


def test_a_copy_of_the_task_leaves_a_live_run_alone_and_takes_over_one_whose_worker_was_killed(
    world, monkeypatch
) -> None:
    """A worker process killed mid-run has its task handed back to the broker at once (acks_late,
    reject_on_worker_lost). That copy used to find the test "running", younger than 15 minutes, and do nothing: the
    test stayed "running" for good. The runner lock tells a dead worker (its database session ended) from a live
    one (a second copy of a live run still does nothing)."""
    from celery.exceptions import Retry
    from django.db import connections

    from planning.services.stress import STRESS_RUNNER
    from salesops import job_runner
    from salesops.kernel.locks import lock_pair

    monkeypatch.setattr(job_runner, "RUNNER_WAIT", 0.5)  # how long a copy waits for a dying session's lock

    test = stress_test_create(actor=world.ops, name="Draft FY27", plan_definition=PLAN, period=Q, outcomes=50, seed=5)
    StressTest.objects.filter(pk=test.pk).update(status=StressTest.Status.RUNNING)  # the first copy runs
    first_worker = connections.create_connection("default")
    try:
        with first_worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock_pair(STRESS_RUNNER, test.pk)))
        with pytest.raises(Retry):  # a second copy while the first is alive: nothing now, a look again later
            run_stress_test(test.pk)
        test.refresh_from_db()
        assert (test.status, test.result) == (StressTest.Status.RUNNING, {})
    finally:
        first_worker.close()  # the first worker's process is killed
    run_stress_test(test.pk)  # the copy the broker hands out again
    test.refresh_from_db()
    assert test.status == StressTest.Status.DONE, test.error
    assert test.result["outcomes"] == 50


def test_a_run_still_running_past_its_time_is_taken_over_whatever_the_lock_says(world, monkeypatch) -> None:
    """A test "running" longer than STALE_AFTER since a worker claimed it lost that worker (the task's hard limit is
    shorter): a copy takes it over even while a session still holds its runner lock. A younger run it leaves alone,
    however long the test waited in the queue before (a worker outage): that one a live worker runs."""
    from django.db import connections
    from django.utils import timezone

    from planning.services.stress import STALE_AFTER, STRESS_RUNNER, stress_test_execute
    from salesops import job_runner
    from salesops.kernel.locks import lock_pair

    monkeypatch.setattr(job_runner, "RUNNER_WAIT", 0.5)
    test = stress_test_create(actor=world.ops, name="Draft FY27", plan_definition=PLAN, period=Q, outcomes=50, seed=5)
    now = timezone.now()
    queued, started = now - STALE_AFTER - dt.timedelta(hours=2), now - STALE_AFTER + dt.timedelta(minutes=1)
    StressTest.objects.filter(pk=test.pk).update(
        status=StressTest.Status.RUNNING, created_at=queued, started_at=started, error="x"
    )
    lingering = connections.create_connection("default")
    try:
        with lingering.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock_pair(STRESS_RUNNER, test.pk)))
        assert stress_test_execute(test_id=test.pk) is None  # claimed under STALE_AFTER ago: a live run, left alone
        test.refresh_from_db()
        assert (test.status, test.error) == (StressTest.Status.RUNNING, "x")
        StressTest.objects.filter(pk=test.pk).update(started_at=started - dt.timedelta(minutes=2))
        taken = stress_test_execute(test_id=test.pk)
    finally:
        lingering.close()
    assert taken is not None and (taken.status, taken.error) == (StressTest.Status.DONE, ""), taken and taken.error
    assert taken.result["outcomes"] == 50
    assert taken.created_at == queued  # its queueing is kept; its start is the take-over's
    assert taken.started_at is not None and taken.started_at > started


def test_create_refuses_bad_input_and_non_sales_ops(world) -> None:
    with pytest.raises(Forbidden):
        stress_test_create(actor=world.finance, name="x", plan_definition=PLAN, period=Q)
    with pytest.raises(DomainError, match="per quarter"):
        stress_test_create(actor=world.ops, name="x", plan_definition=PLAN, period="2027-02")
    with pytest.raises(DomainError, match="not a period"):
        stress_test_create(actor=world.ops, name="x", plan_definition=PLAN, period="Q1")
    with pytest.raises(DomainError, match="outcomes"):
        stress_test_create(actor=world.ops, name="x", plan_definition=PLAN, period=Q, outcomes=0)
    bad = {**PLAN, "components": [{"key": "c", "type": "tiered_rate", "tiers": []}]}
    with pytest.raises(DomainError, match="tier"):
        stress_test_create(actor=world.ops, name="x", plan_definition=bad, period=Q)


def test_the_form_offers_the_plans_of_the_companys_quarter_not_the_servers(world, client_for, settings) -> None:
    """Past midnight in the company's time zone (UTC+14) while the server's clock (UTC) is still on 31 March, the
    form offered the plans of the quarter of the server's day (it read date.today())."""
    from freezegun import freeze_time

    from tests.factories import UserFactory

    settings.TIME_ZONE = "Pacific/Kiritimati"
    q2 = pay.plan_save_version(actor=world.ops, key="ae-q2", name="AE from Q2", definition={**PLAN, "key": "ae-q2"},
                               effective_from=dt.date(2027, 4, 1))  # fmt: skip
    hire = UserFactory.create(username="q2_hire", manager=world.manager_east)
    pay.plan_assign(actor=world.ops, person=hire, plan=q2.plan, start=dt.date(2027, 4, 1))
    with freeze_time("2027-03-31 11:00"):  # 1 April, 01:00 company time
        page = client_for(world.ops).get(reverse("planning:stress_test_new"))
    assert page.status_code == 200
    assert "AE from Q2 v1" in page.content.decode()


def test_pages_by_role(world, client_for) -> None:
    test = _run(world)
    detail = reverse("planning:stress_test", args=[test.pk])
    listing = reverse("planning:stress_tests")
    new = reverse("planning:stress_test_new")
    for rep in (world.rep_a, world.rep_c):
        client = client_for(rep)
        assert client.get(listing).status_code == 403  # a forbidden action
        assert client.get(detail).status_code == 404  # a record out of scope
        assert client.get(new).status_code == 403
    finance = client_for(world.finance)
    page = finance.get(detail)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="stress-totals"' in text and f'data-person="{world.rep_c.pk}"' in text
    assert finance.get(new).status_code == 403
    assert finance.post(new, {"name": "x", "plan_json": json.dumps(PLAN), "period": Q}).status_code == 403
    manager = client_for(world.manager_east).get(detail).content.decode()
    assert f'data-person="{world.rep_a.pk}"' in manager and f'data-person="{world.rep_c.pk}"' not in manager
    assert 'data-testid="stress-totals"' not in manager
    ops = client_for(world.ops)
    assert ops.get(new).status_code == 200
    answer = ops.post(new, {"name": "From the form", "plan_json": json.dumps(PLAN), "period": Q, "outcomes": "50",
                            "seed": "2"})  # fmt: skip
    assert answer.status_code == 302
    created = StressTest.objects.get(name="From the form")
    assert created.status == StressTest.Status.QUEUED and created.outcomes == 50
    assert ops.post(new, {"name": "Bad", "plan_json": "{", "period": Q}).status_code == 400
    # While it runs, the page polls its status fragment.
    running = ops.get(reverse("planning:stress_test", args=[created.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert ops.get(listing).status_code == 200


def test_api_by_role(world, api_client_for) -> None:
    test = _run(world)
    url = f"/api/v1/planning/stress-tests/{test.pk}/"
    assert api_client_for(world.rep_a).get(url).status_code == 404
    assert api_client_for(world.rep_a).get("/api/v1/planning/stress-tests/").status_code == 403
    body = api_client_for(world.manager_west).get(url).json()
    assert [row["person"] for row in body["result"]["by_person"]] == [str(world.rep_c.pk)]
    assert "cost" not in body["result"]
    full = api_client_for(world.finance).get(url).json()
    assert full["status"] == "done" and len(full["result"]["by_person"]) == 3 and "cost" in full["result"]
    new = {"name": "API", "plan_definition": PLAN, "period": Q, "outcomes": 20}
    assert api_client_for(world.finance).post("/api/v1/planning/stress-tests/", new, format="json").status_code == 403
    made = api_client_for(world.ops).post("/api/v1/planning/stress-tests/", new, format="json")
    assert made.status_code == 201 and made.json()["status"] == "queued"


def test_a_run_whose_worker_was_killed_at_the_hard_time_limit_is_failed_by_the_sweep(world, api_client_for) -> None:
    """A worker killed at the task's hard time limit (11 minutes) has its task acknowledged, never handed out again:
    no copy came, and the test said "running" for good. The beat's sweep fails one 5 minutes past the limit whose
    runner lock nobody holds, with the message of the soft limit; one whose lock a session holds, and one within the
    limit and its margin, stay "running"."""
    from django.db import connections
    from django.utils import timezone

    from planning.selectors.stress import progress_key
    from planning.services.stress import STRESS_RUNNER, stale_stress_tests_fail
    from salesops import softcache
    from salesops.kernel.locks import lock_pair
    from salesops.tasks import fail_stale_jobs

    def running_since(minutes: float) -> int:
        test = stress_test_create(actor=world.ops, name="Draft FY27", plan_definition=PLAN, period=Q, outcomes=50)
        StressTest.objects.filter(pk=test.pk).update(status=StressTest.Status.RUNNING,
                                                     started_at=timezone.now() - dt.timedelta(minutes=minutes))  # fmt: skip
        softcache.progress_reporter(progress_key(test.pk))(10, 50, "paying")
        return test.pk

    dead, live, young = running_since(17), running_since(30), running_since(15)
    api = api_client_for(world.ops)
    worker = connections.create_connection("default")
    try:
        with worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock_pair(STRESS_RUNNER, live)))
        assert fail_stale_jobs()["stress tests"] == 1  # the beat's task
        shown = api.get(f"/api/v1/planning/stress-tests/{dead}/").json()
        assert (shown["status"], shown["error"]) == ("failed", "The run took longer than its time limit: try fewer "
                                                               "outcomes.")  # fmt: skip
        assert StressTest.objects.get(pk=dead).finished_at is not None
        assert softcache.get(progress_key(dead)) is None
        for pk in (live, young):
            assert api.get(f"/api/v1/planning/stress-tests/{pk}/").json()["status"] == "running"
        with worker.cursor() as cursor:  # the lock let go at once (a closed session frees it a moment later)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(lock_pair(STRESS_RUNNER, live)))
        assert stale_stress_tests_fail() == [live]
    finally:
        worker.close()
    assert StressTest.objects.get(pk=young).status == StressTest.Status.RUNNING
