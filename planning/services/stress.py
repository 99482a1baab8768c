"""Stress tests: created by sales ops, queued, run in Celery, their result stored (docs/planning-stress.md)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from incentives import engine
from incentives.plans import PlanError, parse_plan
from planning.engine import stress
from planning.models import QuotaScenario, StressTest
from planning.selectors import stress as selectors
from salesops import softcache
from salesops.api import DomainError, Forbidden
from salesops.celery import QUEUE_DEFAULT
from salesops.job_runner import claim_job, job_runner, stale_jobs_fail
from salesops.org.models import User

logger = logging.getLogger(__name__)

DRAFT_KEY = "draft"
HUNDRED = Decimal(100)


@transaction.atomic
def stress_test_create(
    *,
    actor: User,
    name: str,
    plan_definition: Any,
    period: str,
    outcomes: int = 1000,
    seed: int = 1,
    scenario_id: int | None = None,
) -> StressTest:
    """Check and store a stress test, and queue its run once this transaction commits."""
    if not selectors.may_run_stress_tests(actor):
        raise Forbidden("Only sales ops run stress tests.")
    name = (name or "").strip()
    if not name:
        raise DomainError("A stress test needs a name.")
    try:
        plan = parse_plan(plan_definition, key=DRAFT_KEY)
    except PlanError as error:
        raise DomainError(f"Stress test {name}: {error}") from None
    try:
        parsed = selectors.fiscal_calendar_engine().parse(period.strip())
    except (ValueError, AttributeError):
        raise DomainError(f"Stress test {name}: {period!r} is not a period (2027-Q1 or 2027-03).") from None
    if plan.period != parsed.kind:
        raise DomainError(
            f"Stress test {name}: the plan pays per {plan.period}; pick a {plan.period}, not {parsed.label}."
        )
    if not 1 <= outcomes <= selectors.OUTCOMES_MAX:
        raise DomainError(f"Stress test {name}: outcomes must be between 1 and {selectors.OUTCOMES_MAX}.")
    if seed < 0:
        raise DomainError(f"Stress test {name}: the seed must not be negative.")
    scenario = None
    if scenario_id is not None:
        scenario = QuotaScenario.objects.filter(pk=scenario_id).first()
        if scenario is None:
            raise DomainError(f"Stress test {name}: no scenario {scenario_id}.")
        # A scenario without quotas for the period would leave the live quotas in place without a word.
        problem = selectors.scenario_coverage_problem(scenario, parsed.label)
        if problem is not None:
            raise DomainError(f"Stress test {name}: {problem}.")
    test = StressTest.objects.create(
        name=name, scenario=scenario, plan_definition=plan_definition, period=parsed.label, outcomes=outcomes,
        seed=seed, created_by=actor,
    )  # fmt: skip
    _queue(test.pk)
    return test


def _queue(test_id: int) -> None:
    """Run the test in Celery once the transaction that stored it commits: written to the outbox with the test,
    so a broker that is down delays the run, never loses it."""
    from salesops.outbox import services as outbox

    outbox.enqueue("planning.run_stress_test", args=[test_id], queue=QUEUE_DEFAULT)


def stress_input(test: StressTest) -> stress.StressInput:
    """The engine's input for a test: everyone, the draft plan held by the people on a plan in the period,
    the quotas (the scenario's over the live ones, ramped as publishing would), what is won this fiscal year
    and the period's open deals. A scenario without quotas for the period raises ScenarioDoesNotCover (a
    ValueError: the run fails with its message)."""
    try:
        facts = selectors.stress_facts(period_label=test.period, scenario_id=test.scenario_id)
    except selectors.ScenarioDoesNotCover as problem:  # the message the creation gives, the run fails with it
        raise selectors.ScenarioDoesNotCover(f"Stress test {test.name}: {problem}.") from None
    plan = parse_plan(test.plan_definition, key=DRAFT_KEY)
    key = str
    people = [engine.Person(key(pid), (), key(manager) if manager else None) for pid, manager in facts.people]
    quotas = [engine.Quota(key(pid), label, amount) for (pid, label), amount in sorted(facts.quotas.items())]
    deals = []
    for deal_id, owner, amount, close, cancelled, product, splits in facts.won:
        shares = tuple(engine.Split(key(p), pct, overlay) for p, pct, overlay in splits)
        deals.append(engine.Deal(f"d{deal_id}", key(owner), amount, close, "won", product, cancelled, shares))
    open_deals = [
        stress.OpenDeal(
            f"d{deal_id}",
            key(owner),
            amount,
            close,
            Decimal(chance) / HUNDRED,
            product,
            tuple(engine.Split(key(p), pct, overlay) for p, pct, overlay in splits),
        )
        for deal_id, owner, amount, close, chance, product, splits in facts.open
    ]
    base = engine.EngineInput(plans=[plan], people=people, quotas=quotas, deals=deals, calendar=facts.calendar)
    base = stress.with_plan(base, plan, {key(pid) for pid in facts.holders})
    return stress.StressInput(base=base, open_deals=open_deals, period=facts.period.label, outcomes=test.outcomes,
                              seed=test.seed)  # fmt: skip


def stress_result(data: stress.StressInput, progress: stress.ProgressFn | None = None) -> dict[str, Any]:
    """Run the outcomes and the weighted forecast, and summarise them as the stored result."""
    result = stress.run(data, progress=progress)
    weighted = stress.reference_payouts(data, stress.weighted_amounts(data))
    summary = stress.summarise(result, weighted=weighted)
    open_amount = sum((d.amount for d in data.open_deals), Decimal(0))
    weighted_amount = sum((d.amount * d.probability for d in data.open_deals), Decimal(0))
    summary.update(
        period=data.period,
        open_deals=len(data.open_deals),
        open_amount=str(engine.round_cents(open_amount)),
        weighted_amount=str(engine.round_cents(weighted_amount)),
        seed=data.seed,
    )
    return summary


# A run still "running" this long after a worker claimed it lost that worker (the task's hard limit is shorter): taken
# over even if a session still holds its runner lock.
STALE_AFTER = dt.timedelta(minutes=15)
STRESS_RUNNER = "planning.stress_test"  # the runner lock of one stress test (salesops.job_runner)
# What a run that ran out of time says (its soft time limit, or the sweep of one whose worker was killed at the hard
# limit).
STRESS_TIMED_OUT = "The run took longer than its time limit: try fewer outcomes."


def stress_test_execute(*, test_id: int) -> StressTest | None:
    """Run a queued stress test and store its result (or why it failed), holding the test's runner lock
    (salesops.job_runner) from the claim to the result. A second copy of the task finds the lock held and does
    nothing while the first runs; a copy that finds the test "running" with nobody holding the lock (its worker was
    killed) takes it over at once. Returns the test, or None when not claimed."""
    with job_runner(STRESS_RUNNER, test_id) as only_runner:
        return _execute(test_id, only_runner=only_runner)


def stress_test_running(*, test_id: int) -> bool:
    """Whether the test still says "running" (a copy of its task that found it run elsewhere looks again later)."""
    return StressTest.objects.filter(pk=test_id, status=StressTest.Status.RUNNING).exists()


def _execute(test_id: int, *, only_runner: bool) -> StressTest | None:
    claimed = claim_job(StressTest.objects.filter(pk=test_id), only_runner=only_runner, queued=StressTest.Status.QUEUED,
                        running=StressTest.Status.RUNNING, time_limit=STALE_AFTER, error="")  # fmt: skip
    if not claimed:
        logger.info("stress test %s: not queued, this copy of the task does nothing", test_id)
        return None
    test = StressTest.objects.get(pk=test_id)
    report = softcache.progress_reporter(selectors.progress_key(test_id))
    try:
        report(0, 0, "loading")
        result = stress_result(stress_input(test), progress=report)
    except (stress.StressError, PlanError, engine.EngineInputError, ValueError) as error:
        test.status, test.error, test.result = StressTest.Status.FAILED, str(error)[:2000], {}
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        logger.exception("stress test %s stopped", test_id)
        test.status, test.result = StressTest.Status.FAILED, {}
        test.error = (
            STRESS_TIMED_OUT
            if isinstance(error, SoftTimeLimitExceeded)
            else f"The run stopped unexpectedly (stress test {test_id}, in the server's log)."
        )
    else:
        test.status, test.result = StressTest.Status.DONE, result
    test.finished_at = timezone.now()
    test.save(update_fields=["status", "result", "error", "finished_at"])
    softcache.delete(selectors.progress_key(test_id))
    return test


def stale_stress_tests_fail(*, now: dt.datetime | None = None) -> list[int]:
    """Fail every stress test still "running" past its task's hard time limit (and a margin) that nobody runs: its
    worker was killed at the limit, and Celery does not deliver such a task again, so its page would say "running"
    for good. It says what a run stopped at its soft time limit says (STRESS_TIMED_OUT); a test whose runner lock a
    session holds is left alone (salesops.job_runner.stale_jobs_fail). Run by the beat's sweep
    (salesops.tasks.fail_stale_jobs). Returns the ids failed."""
    from planning.tasks import STRESS_TIME_LIMIT

    def fail(test: StressTest) -> None:
        test.status, test.result, test.error = StressTest.Status.FAILED, {}, STRESS_TIMED_OUT
        test.finished_at = timezone.now()
        test.save(update_fields=["status", "result", "error", "finished_at"])
        softcache.delete(selectors.progress_key(test.pk))

    return stale_jobs_fail(StressTest.objects.all(), runner=STRESS_RUNNER, running=StressTest.Status.RUNNING,
                           time_limit=dt.timedelta(seconds=STRESS_TIME_LIMIT), fail=fail, now=now)  # fmt: skip
