"""Reads of stress tests: who sees which, their progress while running, the rows of a result a person may see,
and the inputs a run starts from (docs/planning-stress.md)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from incentives import engine
from incentives import selectors as incentives_selectors
from pipeline import selectors as pipeline_selectors
from planning.models import QuotaScenario, ScenarioQuota, StressTest
from salesops import formats, softcache
from salesops.kernel import fiscal
from salesops.kernel.ids import is_id
from salesops.kernel.money import CENT
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar, person_names, sees_everyone, subtree_ids

OUTCOMES_MAX = 5000


# ------------------------------------------------------------------------------------------------ scope
def may_run_stress_tests(user: Any) -> bool:
    """Sales ops create stress tests; finance and managers read them."""
    return may_manage_setup(user)


def may_read_stress_tests(user: Any) -> bool:
    return bool(user.is_authenticated and (sees_everyone(user) or user.is_manager or may_manage_setup(user)))


def stress_tests_visible_to(user: Any) -> QuerySet[StressTest]:
    """Every stress test for sales ops, finance and managers (a manager reads only their subtree's rows of a
    result); none for reps."""
    tests = StressTest.objects.select_related("created_by", "scenario").defer("result")
    if not may_read_stress_tests(user):
        return tests.none()
    return tests


def stress_test_for(user: Any, pk: int) -> StressTest:
    """The stress test `pk` if `user` may open it, else 404."""
    test = stress_tests_visible_to(user).defer(None).filter(pk=pk).first()
    if test is None:
        raise Http404("No such stress test.")
    return test


def people_in_scope(user: Any) -> set[int] | None:
    """Whose rows of a result `user` sees: None = everyone (sales ops, finance), a manager their subtree."""
    if sees_everyone(user) or may_manage_setup(user):
        return None
    return subtree_ids(user)


@dataclass(frozen=True)
class PersonRow:
    person_id: int
    name: str
    quota: Decimal
    rep: bool
    p10: Decimal
    p50: Decimal
    p90: Decimal
    at_quota: Decimal  # share of outcomes at or above quota, 0–1
    weighted: Decimal | None  # payout on the weighted forecast


def result_rows(user: Any, test: StressTest) -> list[PersonRow]:
    """The per-person rows of a finished test that `user` may see, named, highest median payout first."""
    rows = test.result.get("by_person", []) if test.result else []
    scope = people_in_scope(user)
    if scope is not None:
        rows = [row for row in rows if int(row["person"]) in scope]
    names = person_names({int(row["person"]) for row in rows})
    out = [
        PersonRow(
            person_id=int(row["person"]),
            name=names.get(int(row["person"]), row["person"]),
            quota=Decimal(row["quota"]),
            rep=bool(row["rep"]),
            p10=Decimal(row["p10"]),
            p50=Decimal(row["p50"]),
            p90=Decimal(row["p90"]),
            at_quota=Decimal(row["at_quota"]),
            weighted=Decimal(row["weighted"]) if "weighted" in row else None,
        )
        for row in rows
    ]
    out.sort(key=lambda r: (-r.p50, r.name))
    return out


@dataclass(frozen=True)
class ErrorRow:
    name: str
    period: str
    error: str


_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _days_in_words(text: str) -> str:
    """The engine's messages name days as 2026-03-22; people read 22 Mar 2026."""

    def word(found: re.Match[str]) -> str:
        try:
            return formats.day(dt.date(int(found[1]), int(found[2]), int(found[3])))
        except ValueError:
            return found[0]

    return _ISO_DAY.sub(word, text)


def result_errors(test: StressTest) -> list[ErrorRow]:
    """What the engine could not pay in a finished test, with people's names and days in words."""
    rows = test.result.get("errors", []) if test.result else []
    names = person_names({int(r["person"]) for r in rows if is_id(r.get("person", ""))})
    return [
        ErrorRow(
            name=names.get(int(r["person"]), str(r["person"])) if is_id(r.get("person", "")) else str(r["person"]),
            period=_days_in_words(str(r.get("period", ""))),
            error=_days_in_words(str(r.get("error", ""))),
        )
        for r in rows
    ]


def shows_totals(user: Any) -> bool:
    """Company-wide figures (cost of sales, exposure, share at quota) are for those who see everyone."""
    return people_in_scope(user) is None


# ------------------------------------------------------------------------------------------------ progress
def progress_key(test_id: int) -> str:
    return f"planning:stress:{test_id}:progress"


@dataclass(frozen=True)
class StressProgress:
    done: int
    total: int
    phase: str  # waiting, loading, paying, done, failed

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def stress_progress(test: StressTest) -> StressProgress:
    """People paid of people to pay, reported through the cache while the run goes on."""
    if test.status in (StressTest.Status.QUEUED, StressTest.Status.RUNNING):
        cached = softcache.get(progress_key(test.pk))
        if cached:
            return StressProgress(int(cached["rows_done"]), int(cached["rows_total"]), str(cached["phase"]))
        return StressProgress(0, 0, "waiting" if test.status == StressTest.Status.QUEUED else "loading")
    return StressProgress(1, 1, test.status)


# ------------------------------------------------------------------------------------------------ choices
def scenarios_to_try() -> QuerySet[QuotaScenario]:
    return QuotaScenario.objects.order_by("-fiscal_year", "name")


def scenario_quotas(scenario_id: int, labels: list[str]) -> dict[tuple[int, str], Decimal]:
    """A scenario's quotas of these periods: (person id, period label) → amount (as stored: full amounts for a
    top-down scenario, before any ramp)."""
    rows = ScenarioQuota.objects.filter(scenario_id=scenario_id, period__in=labels)
    return {(p, label): amount for p, label, amount in rows.values_list("person_id", "period", "amount")}


class ScenarioDoesNotCover(ValueError):
    """A stress test's scenario has no quotas for the test's period (another fiscal year, or months against a
    scenario of quarters): the run would silently fall back to the live quotas, so it is refused."""


def scenario_coverage_problem(scenario: QuotaScenario, period_label: str) -> str | None:
    """Why `scenario` cannot stand in for the live quotas of `period_label` (it has no quota for that period),
    or None when it can. The same sentence refuses the test at creation and fails it at run time."""
    if ScenarioQuota.objects.filter(scenario=scenario, period=period_label).exists():
        return None
    return (
        f"scenario {scenario.name!r} (FY{scenario.fiscal_year}) has no quotas for {period_label}; "
        f"pick a scenario of that period's fiscal year and quarters, or the live quotas"
    )


def scenario_quotas_as_published(
    scenario: QuotaScenario, periods: list[engine.Period], starts: dict[int, dt.date | None]
) -> dict[tuple[int, str], Decimal]:
    """A scenario's quotas of these periods as publishing would write them: a top-down scenario's amounts are
    full, so each person's ramp (incentives.selectors.ramps_by_person, the ramp publishing passes) scales them
    to cents; a bottom-up scenario's come from capacity, which already counts the ramp, so they stay as they
    are (planning.services.scenarios.scenario_publish decides the same)."""
    quotas = scenario_quotas(scenario.pk, [p.label for p in periods])
    if scenario.method != QuotaScenario.Method.TOP_DOWN or not quotas:
        return quotas
    ramps = incentives_selectors.ramps_by_person({pid for pid, _ in quotas})
    by_label = {p.label: p for p in periods}
    out: dict[tuple[int, str], Decimal] = {}
    for (pid, label), full in quotas.items():
        if pid not in ramps:
            out[pid, label] = full
            continue
        share = fiscal.ramp_share(ramps[pid][1], starts.get(pid), by_label[label].start, by_label[label].end)
        # Publishing rounds with Decimal's default context (half even); the same here, so the numbers agree.
        out[pid, label] = (full * share).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return out


def plans_to_copy(day: dt.date) -> list[incentives_selectors.PlanInEffect]:
    """The live plan versions of the period around `day` (the form's choice of a plan to copy)."""
    period = fiscal_calendar_engine().period_of("quarter", day)
    return incentives_selectors.plans_in_effect(period.start, period.end)


def fiscal_calendar_engine() -> engine.Calendar:
    return engine.Calendar(fiscal_calendar().fiscal_year_start_month)


# ------------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class StressFacts:
    """What a run loads, as plain rows (planning.services.stress turns them into the engine's input)."""

    calendar: engine.Calendar
    period: engine.Period
    people: list[tuple[int, int | None]]  # (id, manager id)
    holders: set[int]  # people on a plan in the period
    quotas: dict[tuple[int, str], Decimal]  # (person, label) → amount: the live ones, the scenario's over them
    won: list[tuple[Any, ...]]  # pipeline.selectors.won_deals_for_commissions rows
    open: list[tuple[Any, ...]]  # pipeline.selectors.open_deals_closing_between rows


def stress_facts(*, period_label: str, scenario_id: int | None) -> StressFacts:
    """The people, plan holders, quotas from the start of the fiscal year to the period (the year-to-date basis
    needs them), deals won since the fiscal year started, and the period's open deals. A scenario's quotas
    replace the live ones as publishing would write them (ramps applied to top-down amounts); a scenario with
    no quota for the period raises ScenarioDoesNotCover rather than falling back to the live quotas."""
    calendar = fiscal_calendar_engine()
    period = calendar.parse(period_label)  # ValueError for a malformed label
    periods = [calendar.period_at(period.kind, period.fiscal_year, i) for i in range(period.index + 1)]
    quotas: dict[tuple[int, str], Decimal] = {}
    for label in [p.label for p in periods]:
        for person_id, amount in incentives_selectors.bookings_quotas_of_period(label):
            quotas[person_id, label] = amount
    people = list(User.objects.order_by("id").values_list("id", "manager_id", "start_date"))
    if scenario_id is not None:
        scenario = QuotaScenario.objects.filter(pk=scenario_id).first()
        if scenario is None:
            raise ScenarioDoesNotCover(f"scenario {scenario_id} no longer exists")
        problem = scenario_coverage_problem(scenario, period.label)
        if problem is not None:
            raise ScenarioDoesNotCover(problem)
        starts = {pid: start for pid, _, start in people}
        quotas.update(scenario_quotas_as_published(scenario, periods, starts))
    holders: set[int] = set()
    for plan in incentives_selectors.plans_in_effect(period.start, period.end):
        holders |= plan.holders
    year_start = periods[0].start
    return StressFacts(
        calendar=calendar,
        period=period,
        people=[(pid, manager) for pid, manager, _ in people],
        holders=holders,
        quotas=quotas,
        won=pipeline_selectors.won_deals_for_commissions(since=year_start, until=period.end),
        open=pipeline_selectors.open_deals_closing_between(period.start, period.end),
    )


def names_of(ids: set[int]) -> dict[int, str]:
    return person_names(ids)


__all__ = ["OUTCOMES_MAX", "PersonRow", "ScenarioDoesNotCover", "StressFacts", "StressProgress"]
