"""Incentives benchmarks on the generated company: the stored recompute of a fiscal year (against a naive
per-deal ORM loop), one deal change through Celery to its visible payout, a statement page, and the
payroll XLSX of a year's statement lines.

The generated company has no plans, quotas or assignments, so the first benchmark that runs adds them
(idempotent: only what is missing, kept in the database for later runs; `bench_data` truncates people,
which takes them away again):

- two plans through `incentives.services.plan_save_version`, effective from the start of the data: an
  Account Executive plan (quarterly, marginal tiers 5 / 8 / 12 % with a cap at 200 %, a bonus at 100 %, a
  spiff on one product in the second quarter, clawback 90 days) for every rep, and a Sales Manager team
  plan (retroactive 1 % / 1.5 % from 100 %) for managers and regional vice presidents. The CEO is on no
  plan, as in most companies; finance and sales ops are not paid commissions.
- assignments and quotas with `bulk_create`: everyone on a plan, quotas in every quarter of the measured
  fiscal year (a rep's from the year's average bookings per rep-quarter, ±30 %; a manager's the sum of
  their reports').
- The measured fiscal year is the current one (the generator's "today" lies in it, so its last quarter is
  in progress). Every quarter of the earlier fiscal years is locked (by the generator's finance user):
  `commission_recompute` recomputes open periods from the start of the fiscal year of the earliest open
  period, so the full recompute measured is exactly that fiscal year.

Everything a benchmark writes besides that setup is undone: the naive loop runs in a transaction that is
rolled back, and the deal changed through Celery is changed back (and recomputed back) afterwards. The
full recompute leaves what it computed, as the nightly run would; later benchmarks read it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import BenchContext, benchmark

AE_KEY, MANAGER_KEY = "bench-ae", "bench-manager"
SPIFF_PRODUCT = "Incentives Module"  # one of bench.generate.PRODUCTS
AE_TIERS = [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.08"}, {"from": "1.0", "rate": "0.12"}]
AE_CAP = Decimal("2.0")
NAIVE_SAMPLE = 20  # people timed through the naive per-deal loop


def _ae_plan(spiff_start: dt.date, spiff_end: dt.date) -> dict[str, Any]:
    return {
        "period": "quarter",
        "attainment_basis": "period",
        "clawback_days": 90,
        "components": [
            {"key": "commission", "type": "tiered_rate", "method": "marginal", "cap_attainment": str(AE_CAP),
             "tiers": AE_TIERS},
            {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"},
            {"key": "spiff", "type": "spiff", "product": SPIFF_PRODUCT, "start": spiff_start.isoformat(),
             "end": spiff_end.isoformat(), "amount_per_deal": "250"},
        ],
    }  # fmt: skip


MANAGER_PLAN: dict[str, Any] = {
    "period": "quarter",
    "credit_scope": "team",
    "components": [
        {"key": "override", "type": "tiered_rate", "method": "retroactive",
         "tiers": [{"from": "0", "rate": "0.01"}, {"from": "1.0", "rate": "0.015"}]},
    ],
}  # fmt: skip


@dataclass
class Setup:
    fiscal_year: int
    start: dt.date
    end: dt.date
    labels: list[str]  # the fiscal year's quarters
    completed: list[str]  # those that ended before today
    people_on_plans: int
    quotas: int
    won_all_time: int
    won_in_year: int
    created: list[str] = field(default_factory=list)  # what this run added


_SETUP: dict[str, Setup] = {}


# -------------------------------------------------------------------------------------------------- setup
def setup(ctx: BenchContext) -> Setup:
    """Plans, assignments, quotas and locks for the measured fiscal year (created once, when missing)."""
    database = connection.settings_dict["NAME"]
    if database in _SETUP:
        return _SETUP[database]
    from incentives import services
    from incentives.models import CompPlan, CompPlanVersion, Period, PlanAssignment, Quota, QuotaMeasure
    from pipeline.models import Deal, DealStatus
    from salesops.kernel.fiscal import fiscal_year_of, span_of
    from salesops.org.models import User
    from salesops.org.selectors import fiscal_calendar

    today = dt.date.fromisoformat(ctx.facts["today"])
    start_month = fiscal_calendar().fiscal_year_start_month
    year = fiscal_year_of(today, start_month)
    spans = [span_of(f"{year}-Q{q}", start_month) for q in range(1, 5)]
    first_year = min(int(y) for y in ctx.facts["fiscal_years"])
    data_start = span_of(f"{first_year}-Q1", start_month).start
    created: list[str] = []
    ops = User.objects.get(pk=ctx.facts["sales_ops_id"])
    finance = User.objects.get(pk=ctx.facts["finance_id"])

    with transaction.atomic():
        # Plans first: a version may not start inside a locked period.
        plans: dict[str, CompPlan] = {}
        for key, name, definition in (
            (AE_KEY, "Account Executive (bench)", _ae_plan(spans[1].start, spans[1].end)),
            (MANAGER_KEY, "Sales Manager (bench)", MANAGER_PLAN),
        ):
            version = CompPlanVersion.objects.filter(plan__key=key).select_related("plan").first()
            if version is None:
                locked = Period.objects.filter(is_locked=True, start__lte=data_start, end__gte=data_start).exists()
                effective = spans[0].start if locked else data_start
                version = services.plan_save_version(
                    actor=ops, key=key, name=name, definition=definition, effective_from=effective
                )
                created.append(f"plan {key}")
            plans[key] = version.plan

        sellers = list(User.objects.filter(is_rep=True).values_list("id", flat=True))
        leaders = list(User.objects.filter(is_manager=True, manager__isnull=False).values_list("id", flat=True))
        on_plan = {pid: plans[AE_KEY] for pid in sellers} | {pid: plans[MANAGER_KEY] for pid in leaders}
        assigned = set(PlanAssignment.objects.values_list("person_id", flat=True))
        missing = [pid for pid in on_plan if pid not in assigned]
        if missing:
            PlanAssignment.objects.bulk_create(
                [PlanAssignment(person_id=pid, plan=on_plan[pid], start=data_start) for pid in missing], batch_size=2000
            )
            created.append(f"{len(missing):,} assignments")

        periods = [services.period_get_or_create(span.label) for span in spans]
        have = set(Quota.objects.filter(period__in=periods).values_list("person_id", "period_id"))
        if len(have) < len(on_plan) * len(periods):
            quotas = _quotas(sellers, periods, today)
            rows = [
                Quota(person_id=pid, period_id=period_id, measure=QuotaMeasure.BOOKINGS, full_amount=amount,
                      amount=amount, is_team_sum=team)
                for (pid, period_id), (amount, team) in quotas.items()
                if (pid, period_id) not in have and pid in on_plan
            ]  # fmt: skip
            Quota.objects.bulk_create(rows, batch_size=5000)
            created.append(f"{len(rows):,} quotas")

        # Earlier fiscal years are closed: only this year's periods are open, so the window is this year.
        for earlier in range(first_year, year):
            for q in range(1, 5):
                services.period_get_or_create(f"{earlier}-Q{q}")
        for period in Period.objects.filter(is_locked=False, start__lt=spans[0].start):
            services.period_lock(actor=finance, period=period, reason="bench")
            created.append(f"locked {period.label}")

    won = Deal.objects.filter(status=DealStatus.WON, amount__isnull=False, close_date__isnull=False)
    result = Setup(
        fiscal_year=year,
        start=spans[0].start,
        end=spans[-1].end,
        labels=[s.label for s in spans],
        completed=[s.label for s in spans if s.end < today],
        people_on_plans=len(on_plan),
        quotas=Quota.objects.filter(period__in=periods).count(),
        won_all_time=won.count(),
        won_in_year=won.filter(close_date__range=(spans[0].start, spans[-1].end)).count(),
        created=created,
    )
    if created:
        print(f"[bench] incentives setup: {', '.join(created[:6])}{' …' if len(created) > 6 else ''}", flush=True)
    _SETUP[database] = result
    return result


def _quotas(sellers: list[int], periods: list[Any], today: dt.date) -> dict[tuple[int, int], tuple[Decimal, bool]]:
    """Every rep's quota in each quarter (the year's average bookings per rep-quarter so far, ±30 % by
    person, to the thousand), then managers' and vice presidents' as the sum of their reports'."""
    from pipeline.models import Deal, DealStatus
    from salesops.org.models import User

    done = [p for p in periods if p.end < today] or periods[:1]
    totals = Deal.objects.filter(status=DealStatus.WON, close_date__range=(done[0].start, done[-1].end))
    booked = sum((a or Decimal(0) for a in totals.values_list("amount", flat=True)), Decimal(0))
    per_rep_quarter = booked / max(1, len(sellers) * len(done))
    amounts: dict[tuple[int, int], tuple[Decimal, bool]] = {}
    for pid in sellers:
        factor = Decimal(70 + (pid * 2_654_435_761) % 61) / 100  # 0.70–1.30, fixed per person
        amount = max(Decimal(1000), (per_rep_quarter * factor / 1000).quantize(Decimal(1)) * 1000)
        for period in periods:
            amounts[pid, period.pk] = (amount, False)
    # Team sums bottom-up: managers over their reps, vice presidents over their managers.
    parents = dict(User.objects.values_list("id", "manager_id"))
    children: dict[int, list[int]] = defaultdict(list)
    for pid, parent in parents.items():
        if parent is not None:
            children[parent].append(pid)

    def depth(pid: int) -> int:
        parent = parents.get(pid)
        return 0 if parent is None else 1 + depth(parent)

    leaders = User.objects.filter(is_manager=True, manager__isnull=False).values_list("id", flat=True)
    for leader in sorted(leaders, key=depth, reverse=True):
        for period in periods:
            total = sum((amounts[c, period.pk][0] for c in children[leader] if (c, period.pk) in amounts), Decimal(0))
            if total > 0:
                amounts[leader, period.pk] = (total, True)
    return amounts


def computed(ctx: BenchContext) -> Setup:
    """The setup, and the year's payouts computed at least once (benchmarks that read them may run alone)."""
    from incentives.models import Payout
    from incentives.recompute import commission_recompute

    found = setup(ctx)
    if not Payout.objects.filter(period__label=found.labels[0]).exists():
        commission_recompute(triggered_by="bench setup")
    return found


# ----------------------------------------------------------------------------------- the full recompute
def _split(stats: dict[str, Any]) -> dict[str, float]:
    return {
        "load_s": round(stats["load_ms"] / 1000, 2),
        # credits, then statements computed, formatted and their lines COPYed as they come (under new keys)
        "engine_s": round(stats["engine_ms"] / 1000, 2),
        "copy_tail_s": round(stats["copy_ms"] / 1000, 2),  # the COPY finishing after the last statement
        "payouts_s": round(stats["payouts_ms"] / 1000, 2),  # payouts pointed at their new keys
        "retire_s": round(stats["retire_ms"] / 1000, 2),  # disputes relinked, old keys retired
        "purge_s": round(stats["purge_ms"] / 1000, 2),  # after the commit: the retired keys' lines deleted
    }


def _timed_recompute() -> tuple[float, dict[str, Any]]:
    from incentives.recompute import commission_recompute

    started = time.perf_counter()
    stats = commission_recompute(triggered_by="bench")
    return time.perf_counter() - started, stats


def _clear_open_payouts() -> None:
    """Take away the open periods' payouts (their statement lines go with them), then VACUUM, as the nightly
    autovacuum would: the next recompute computes and writes everything afresh."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM incentives_payout WHERE period_id IN (SELECT id FROM incentives_period WHERE NOT is_locked)"
        )
        cursor.execute("VACUUM (ANALYZE) incentives_statementline")
        cursor.execute("VACUUM (ANALYZE) incentives_payout")
        cursor.execute("VACUUM (ANALYZE) incentives_lineset")


@benchmark(
    name="incentives: full recompute of a fiscal year, every statement line written",
    unit="s",
    target=10,
    repeat=1,
    issue="full recompute of a fiscal year, statement lines included: ≤ 10 s, and ≥ 50× faster than a "
    "straightforward per-deal ORM loop measured in the same run",
    description="commission_recompute(triggered_by='bench') with only the current fiscal year open and none of "
    "its payouts stored (deleted, then VACUUM): load, engine, every payout and statement line written (lines "
    "COPYed under new keys while the statements are formatted), in one transaction. Beside it, the same "
    "recompute when every stored statement differs (digests cleared: the old keys are retired and their lines "
    "purged after the commit, purge_s), and a naive per-deal ORM loop "
    f"timed on {NAIVE_SAMPLE} reps and extrapolated to everyone on a plan.",
)
def full_recompute(ctx: BenchContext) -> dict[str, Any]:
    from incentives.models import Payout

    found = setup(ctx)
    _clear_open_payouts()
    seconds, stats = _timed_recompute()
    # Every statement differs from the stored one (as after a plan edit): lines deleted and written again.
    Payout.objects.filter(period__is_locked=False).update(lines_digest="")
    all_changed, changed_stats = _timed_recompute()
    naive = naive_loop(found, NAIVE_SAMPLE)
    extrapolated = naive["seconds_per_person"] * found.people_on_plans
    return {
        "value": round(seconds, 2),
        **_split(stats),
        "processes": stats["processes"],
        "all_changed_s": round(all_changed, 2),
        "all_changed_purge_s": round(changed_stats["purge_ms"] / 1000, 2),
        "fiscal_year": found.fiscal_year,
        "people_on_plans": found.people_on_plans,
        "quotas": found.quotas,
        "won_deals_all_time": found.won_all_time,
        "won_deals_in_year": found.won_in_year,
        "deals_loaded": stats["deals"],
        "payouts": stats["payouts"],
        "statement_lines": stats["lines"],
        "lines_written": stats["lines_written"],
        "errors": stats["errors"],
        "naive_sample_people": naive["people"],
        "naive_sample_deals": naive["deals"],
        "naive_sample_s": round(naive["seconds"], 2),
        "naive_extrapolated_s": round(extrapolated, 1),
        "speedup_x": round(extrapolated / seconds, 1),
        "speedup_all_changed_x": round(extrapolated / all_changed, 1),
        "speedup_50x_met": extrapolated / seconds >= 50,
    }


@benchmark(
    name="incentives: nightly full recompute of a fiscal year, a day's deals changed",
    unit="s",
    target=10,
    repeat=3,
    issue="full recompute of a fiscal year, statement lines included: ≤ 10 s",
    description="The nightly run: commission_recompute(triggered_by='bench') of the whole fiscal year after "
    "the amounts of the deals won on its latest day changed (+1.00 each). Every statement is computed and "
    "formatted; those whose lines differ from the stored ones (by digest) are written again. The amounts are "
    "put back (and recomputed, untimed) afterwards.",
)
def nightly_recompute(ctx: BenchContext) -> dict[str, Any]:
    from pipeline.models import Deal, DealStatus

    found = computed(ctx)
    latest = (
        Deal.objects.filter(status=DealStatus.WON, close_date__range=(found.start, found.end))
        .order_by("-close_date").values_list("close_date", flat=True).first()
    )  # fmt: skip
    changed = Deal.objects.filter(status=DealStatus.WON, close_date=latest, amount__isnull=False)
    ids = list(changed.values_list("id", flat=True))
    _timed_recompute()  # in step with the deals as they are
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pipeline_deal SET amount = amount + 1 WHERE id = ANY(%s)", [ids])
    try:
        seconds, stats = _timed_recompute()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE pipeline_deal SET amount = amount - 1 WHERE id = ANY(%s)", [ids])
        _timed_recompute()
    return {
        "value": round(seconds, 2),
        **_split(stats),
        "processes": stats["processes"],
        "deals_changed": len(ids),
        "changed_on": latest.isoformat() if latest else None,
        "statements": stats["payouts"],
        "payouts_written": stats["payouts_written"],
        "statements_written": stats["statements_written"],
        "statement_lines": stats["lines"],
        "lines_written": stats["lines_written"],
    }


# ------------------------------------------------------------------------- the full recompute on Celery
SHARDED_QUEUE = "bench-recompute"


def _workers(count: int, queue: str) -> list[subprocess.Popen[bytes]]:
    """`count` Celery workers of one process each (prefork, concurrency 1) on `queue`, with the runner's
    settings and database; answers once each has answered a ping."""
    from salesops.celery import app

    workers = []
    for n in range(count):
        command = [sys.executable, "-m", "celery", "-A", "salesops", "worker", "-Q", queue, "-c", "1", "-P",
                   "prefork", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning",
                   "-n", f"bench{n}-{os.getpid()}@%h"]  # fmt: skip
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "salesops.settings.bench"),
        }
        workers.append(subprocess.Popen(command, cwd=settings.BASE_DIR, env=env))  # noqa: S603 - our own code
    deadline = time.perf_counter() + 120
    names = {f"bench{n}-{os.getpid()}" for n in range(count)}
    while time.perf_counter() < deadline:
        answered = {name.split("@")[0] for reply in app.control.ping(timeout=1.0) or [] for name in reply}
        if names <= answered:
            return workers
        if any(w.poll() is not None for w in workers):
            break
    _stop(workers)
    raise RuntimeError(f"the {count} Celery worker(s) did not start")


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def _cpu_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of the machine's CPUs so far (/proc/stat; (0, 0) where there is none)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _sharded_recompute(workers: int) -> tuple[float, dict[str, Any]]:
    """A full recompute sharded on `workers` Celery workers (one shard each), every payout written afresh;
    seconds from queueing its chord to its run being done (the moment its results show)."""
    from incentives.models import CommissionRun
    from incentives.recompute import commission_recompute_start

    _clear_open_payouts()
    busy_before, all_before = _cpu_ticks()
    started = time.perf_counter()
    with transaction.atomic():
        run_id = commission_recompute_start(triggered_by="bench", shards=workers, queue=SHARDED_QUEUE)
    _wait_for(lambda: CommissionRun.objects.get(pk=run_id).status != "running", timeout=1800, every=0.05)
    seconds = time.perf_counter() - started
    busy_after, all_after = _cpu_ticks()
    # How much of the machine's CPUs the run kept busy (workers, Postgres, the runner's polling): with 1
    # worker near all of them, a second worker on the same machine has little left to win.
    ticks = all_after - all_before
    cpus_busy = (busy_after - busy_before) / ticks * (os.cpu_count() or 1) if ticks else 0.0
    run = CommissionRun.objects.get(pk=run_id)
    if run.status != "done":
        raise RuntimeError(f"the sharded run {run_id} {run.status}: {run.errors[-3:]}")
    # The swap purges the replaced lines after its commit (untimed here) and adds how long that took.
    _wait_for(lambda: "purge_ms" in (CommissionRun.objects.get(pk=run_id).stats or {}), timeout=600, every=0.05)
    return seconds, {**CommissionRun.objects.get(pk=run_id).stats, "cpus_busy": round(cpus_busy, 2)}


@benchmark(
    name="incentives: full recompute of a fiscal year on Celery, 1 worker and 2 workers",
    unit="s",
    target=None,
    repeat=1,
    issue="full fiscal-year recompute with 1 worker no slower than today's, with 2 workers of 1 process each "
    "at least 1.6× faster than with 1, measured in the same run (issue 14)",
    description="The full recompute as the nightly run shards it: commission_recompute_start(shards=N) queues a "
    "chord of N shard tasks and the swap on a queue of its own, consumed by N real Celery workers of one process "
    "each (subprocesses: `celery worker -c 1 -P prefork`), all payouts deleted first as in the full-recompute "
    "row; timed from queueing to the run's done. The value is 2 workers' time; 1 worker's is measured in the "
    "same call, before it, and the in-process full recompute beside them. Leaves what it computed, as the "
    "nightly run would; when a run fails, the year is recomputed in-process before the error is raised.",
)
def sharded_recompute(ctx: BenchContext) -> dict[str, Any]:
    from salesops.celery import app

    setup(ctx)
    app.control.purge()
    done = False
    try:
        _clear_open_payouts()
        inline, inline_stats = _timed_recompute()
        one_workers = _workers(1, SHARDED_QUEUE)
        try:
            one, one_stats = _sharded_recompute(1)
        finally:
            _stop(one_workers)
        two_workers = _workers(2, SHARDED_QUEUE)
        try:
            two, two_stats = _sharded_recompute(2)
        finally:
            _stop(two_workers)
        done = True
    finally:
        app.control.purge()
        if not done:  # the open periods' payouts were deleted: computed again here
            _timed_recompute()
    return {
        "value": round(two, 2),
        "one_worker_s": round(one, 2),
        "two_workers_s": round(two, 2),
        "in_process_s": round(inline, 2),
        "speedup_2_over_1_x": round(one / two, 2),
        "speedup_1_6_met": one / two >= 1.6,
        "one_worker_vs_in_process_x": round(inline / one, 2),
        "one_worker_load_s": round(one_stats["load_ms"] / 1000, 2),
        "one_worker_engine_s": round(one_stats["engine_ms"] / 1000, 2),
        "one_worker_swap_s": round(one_stats["swap_ms"] / 1000, 2),
        "one_worker_purge_s": round(one_stats["purge_ms"] / 1000, 2),
        "one_worker_cpus_busy": one_stats["cpus_busy"],
        "two_workers_cpus_busy": two_stats["cpus_busy"],
        "cpus": os.cpu_count(),
        "one_worker_copy_tail_s": round(one_stats["copy_ms"] / 1000, 2),
        "two_workers_load_s": round(two_stats["load_ms"] / 1000, 2),
        "two_workers_engine_s": round(two_stats["engine_ms"] / 1000, 2),
        "two_workers_swap_s": round(two_stats["swap_ms"] / 1000, 2),
        "two_workers_purge_s": round(two_stats["purge_ms"] / 1000, 2),
        "two_workers_deals_loaded": two_stats["deals_loaded"],
        "deals_in_year": inline_stats["deals"],
        "payouts": two_stats["payouts"],
        "statement_lines": two_stats["lines"],
    }


class _Undo(Exception):
    pass


def naive_loop(found: Setup, sample: int) -> dict[str, Any]:
    """The straightforward way: for each person, each won deal of theirs in the year, one query for the
    deal, one for its splits and one for the quota of its quarter; a marginal-tier commission on the
    credit; one `StatementLine.objects.create` per credit. Rolled back."""
    from incentives.models import Payout, Quota, StatementLine
    from pipeline.models import Deal, DealSplit, DealStatus
    from salesops.org.models import User

    reps = list(
        User.objects.filter(is_rep=True, plan_assignments__plan__key=AE_KEY).order_by("id").values_list("id", flat=True)
    )
    people = reps[:: max(1, len(reps) // sample)][:sample]
    tiers = [(Decimal(t["from"]), Decimal(t["rate"])) for t in AE_TIERS]
    deals_seen = 0
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for person_id in people:
                deal_ids = list(
                    Deal.objects.filter(Q(owner_id=person_id) | Q(splits__person_id=person_id), status=DealStatus.WON,
                                        close_date__range=(found.start, found.end))
                    .distinct().order_by("close_date", "id").values_list("id", flat=True)
                )  # fmt: skip
                credited: dict[int, Decimal] = defaultdict(Decimal)
                payouts: dict[int, Payout] = {}
                for deal_id in deal_ids:
                    deal = Deal.objects.get(pk=deal_id)
                    splits = list(DealSplit.objects.filter(deal_id=deal_id))
                    mine = [s for s in splits if s.person_id == person_id]
                    percent = mine[0].percent if mine else Decimal(100)
                    credit = (deal.amount or Decimal(0)) * percent / 100
                    quota = Quota.objects.select_related("period").get(
                        person_id=person_id, period__kind="quarter", period__start__lte=deal.close_date,
                        period__end__gte=deal.close_date,
                    )  # fmt: skip
                    period_id = quota.period_id
                    if period_id not in payouts:
                        payouts[period_id], _ = Payout.objects.get_or_create(
                            person_id=person_id, period_id=period_id,
                            defaults={"quota": quota.amount, "credited": 0, "attainment": 0, "earned": 0, "payout": 0},
                        )  # fmt: skip
                    before = credited[period_id]
                    # What this credit adds: the schedule after it minus the schedule before it.
                    amount = _schedule(before + credit, quota.amount, tiers) - _schedule(before, quota.amount, tiers)
                    credited[period_id] = before + credit
                    StatementLine.objects.create(
                        payout=payouts[period_id], component="commission", deal_id=deal.pk, deal_key=str(deal.pk),
                        credited_person_id=person_id, split_percent=percent, credit_date=deal.close_date,
                        credit=credit.quantize(Decimal("0.01")), amount=amount.quantize(Decimal("0.01")),
                    )  # fmt: skip
                    deals_seen += 1
            raise _Undo
    except _Undo:
        pass
    seconds = time.perf_counter() - started
    return {"people": len(people), "deals": deals_seen, "seconds": seconds,
            "seconds_per_person": seconds / max(1, len(people))}  # fmt: skip


def _schedule(credited: Decimal, quota: Decimal, tiers: list[tuple[Decimal, Decimal]]) -> Decimal:
    """The marginal commission on `credited` in a period: each band's part at its rate, nothing above the cap."""
    total, cap = Decimal(0), AE_CAP * quota
    for i, (start, rate) in enumerate(tiers):
        band_start = start * quota
        band_end = min(tiers[i + 1][0] * quota if i + 1 < len(tiers) else cap, cap)
        if credited > band_start:
            total += (min(credited, band_end) - band_start) * rate
    return total


# ------------------------------------------------------------------------------- a deal change, through Celery
@benchmark(
    name="incentives: one deal change to its recomputed, visible payout (Celery)",
    unit="s",
    target=2,
    repeat=3,
    issue="one deal change to its recomputed, visible payout: ≤ 2 s through Celery",
    description="A real Celery worker (solo pool, a thread of the runner) on the bench Redis; the amount of a "
    "won deal changed through pipeline.services.deal_update; timed until the owner's Payout shows it.",
)
def deal_change_through_celery(ctx: BenchContext) -> dict[str, Any]:
    from celery.contrib.testing.worker import start_worker

    from incentives.models import CommissionRun, Payout
    from pipeline.models import Deal, DealStatus
    from pipeline.services import deal_update
    from salesops.celery import app

    found = computed(ctx)
    label = (found.completed or found.labels)[-1]
    rep_id = ctx.facts["rep_id"]
    deal = (
        Deal.objects.filter(owner_id=rep_id, status=DealStatus.WON, cancelled_on__isnull=True, splits__isnull=True,
                            close_date__range=_bounds(label))
        .order_by("-close_date", "id").first()
    )  # fmt: skip
    if deal is None:
        raise RuntimeError(f"rep {rep_id} has no unsplit won deal in {label}")
    payout = Payout.objects.get(person_id=rep_id, period__label=label)
    original, before = deal.amount or Decimal(0), payout.credited
    delta = Decimal("1000.00")

    app.conf.task_always_eager = False
    app.control.purge()  # a task left by an earlier run is not this run's business
    # The change also queues a forecasting rollup refresh on the same queue, 5 s later (forecasting/tasks.py);
    # the solo worker runs it after the recompute, or hands it back when it stops.
    changed = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=60):
            try:
                started = time.perf_counter()
                deal_update(actor=None, deal=deal, amount=original + delta)
                changed = True
                _wait_for(lambda: Payout.objects.get(pk=payout.pk).credited == before + delta, timeout=120)
                seconds = time.perf_counter() - started
                # The run is marked done in the transaction that wrote the payout: seen together.
                run = CommissionRun.objects.filter(triggered_by="change: deal", status="done").order_by("-finished_at")[
                    0
                ]
            finally:
                if changed:  # put it back (and wait for that recompute too), even when the change timed out
                    deal_update(actor=None, deal=Deal.objects.get(pk=deal.pk), amount=original)
                    changed = not _waited(lambda: Payout.objects.get(pk=payout.pk).credited == before, timeout=120)
    finally:
        if changed:  # the worker never recomputed it back: here, in this process
            from incentives.recompute import commission_recompute

            commission_recompute(person_ids=[rep_id], triggered_by="bench restore")
        app.control.purge()  # forecasting refreshes handed back: nothing consumes this Redis database later
    stats = run.stats
    return {
        "value": round(seconds, 3),
        "recompute_s": round(stats["total_ms"] / 1000, 2),
        "load_s": round(stats["load_ms"] / 1000, 2),
        "engine_s": round(stats["engine_ms"] / 1000, 2),
        "write_s": round((stats["total_ms"] - stats["load_ms"] - stats["engine_ms"]) / 1000, 2),
        "deals_loaded": stats["deals"],
        "payouts_written": stats["payouts_written"],
        "lines": stats["lines"],
        "lines_written": stats["lines_written"],
        "people_in_scope": len(run.scope.get("people", [])),
    }


def _bounds(label: str) -> tuple[dt.date, dt.date]:
    from incentives.models import Period

    period = Period.objects.get(label=label)
    return period.start, period.end


def _waited(condition: Any, *, timeout: float) -> bool:
    try:
        _wait_for(condition, timeout=timeout)
    except TimeoutError:
        return False
    return True


def _wait_for(condition: Any, *, timeout: float, every: float = 0.02) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the payout did not change within {timeout:.0f} s (is the worker consuming?)")
        time.sleep(every)


# ----------------------------------------------------------------------------------------- statement page
@benchmark(
    name="incentives: a rep's statement page, payout with the most lines",
    unit="ms",
    target=150,
    repeat=7,
    issue="statement page ≤ 150 ms",
    description="GET /incentives/statements/<pk>/ as the rep (test client, force_login): the rep payout of "
    "the fiscal year with the most statement lines. A manager's statement (a line per team credit) beside it.",
)
def statement_page(ctx: BenchContext) -> dict[str, Any]:
    from incentives.models import Payout, StatementLine

    found = computed(ctx)
    in_year = StatementLine.objects.filter(payout__period__label__in=found.labels)
    by_payout = in_year.filter(payout__person__is_rep=True).values("payout_id").annotate(n=Count("id"))
    rep_payout_id = by_payout.order_by("-n", "payout_id")[0]["payout_id"]
    rep_payout = Payout.objects.select_related("person").get(pk=rep_payout_id)
    elapsed, queries, size, lines = _time_statement(rep_payout)
    manager_payout = (
        Payout.objects.filter(person_id=ctx.facts["manager_50_id"], period__label__in=found.completed or found.labels)
        .select_related("person").order_by("-period__start").first()
    )  # fmt: skip
    extra: dict[str, Any] = {}
    if manager_payout is not None:
        m_elapsed, m_queries, _, m_lines = _time_statement(manager_payout)
        extra = {"manager_ms": round(m_elapsed, 1), "manager_lines": m_lines, "manager_queries": m_queries}
    return {"value": elapsed, "lines": lines, "queries": queries, "html_kb": round(size / 1024), **extra}


def _time_statement(payout: Any) -> tuple[float, int, int, int]:
    client = Client()
    client.force_login(payout.person)
    url = reverse("incentives:statement", args=[payout.pk])
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed, len(queries), len(response.content), payout.lines.count()


# ------------------------------------------------------------------------------------ payroll XLSX of lines
# Run in a child, so its peak memory is its own: the register's line export of each quarter of the year,
# through the test client as finance, each file streamed to disk.
XLSX_CHILD = textwrap.dedent(
    """
    import json, os, resource, sys, tempfile, time

    from django.conf import settings

    settings.DATABASES["default"].update(json.loads(os.environ["BENCH_XLSX_DATABASE"]))
    import django

    django.setup()
    from django.test import Client
    from django.urls import reverse

    from salesops.org.models import User

    client = Client()
    client.force_login(User.objects.get(pk=int(sys.argv[1])))
    url = reverse("incentives:register")
    started = time.perf_counter()
    sizes = []
    for label in sys.argv[2:]:
        response = client.get(url, {"period": label, "export": "lines"})
        assert response.status_code == 200, response.status_code
        with tempfile.TemporaryFile() as handle:
            for chunk in response.streaming_content:
                handle.write(chunk)
            sizes.append(handle.tell())
        response.close()
    # VmHWM, the high-water mark of this process's own memory: ru_maxrss would start from the runner's
    # RSS at fork time on Linux (it survives exec), and the runner holds gigabytes after the recompute.
    try:
        status = open("/proc/self/status").read()
        peak_kb = int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_kb / 1024, "bytes": sum(sizes)}))
    """
)


@benchmark(
    name="incentives: payroll XLSX of a fiscal year's statement lines",
    unit="s",
    target=60,
    repeat=1,
    issue="payroll XLSX of a year's lines ≤ 60 s with peak memory ≤ 500 MB",
    description="The register's ?export=lines for each quarter of the fiscal year, one after another in a "
    "child process (times summed, peak RSS of the child), as finance through the test client.",
)
def payroll_lines_xlsx(ctx: BenchContext) -> dict[str, Any]:
    from incentives.models import StatementLine

    found = computed(ctx)
    lines = StatementLine.objects.filter(payout__period__label__in=found.labels).count()
    keys = ("NAME", "HOST", "PORT", "USER", "PASSWORD")
    env = {**os.environ, "BENCH_XLSX_DATABASE": json.dumps({k: connection.settings_dict[k] for k in keys})}
    env.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings.bench")
    child = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", XLSX_CHILD, str(ctx.facts["finance_id"]), *found.labels],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30 * 60,
    )
    if child.returncode != 0:
        raise RuntimeError(f"the export child failed ({child.returncode}): {child.stderr[-2000:]}")
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    return {
        "value": round(outcome["seconds"], 2),
        "peak_mb": round(outcome["peak_mb"], 1),
        "lines": lines,
        "files": len(found.labels),
        "xlsx_mb": round(outcome["bytes"] / 1024 / 1024, 1),
    }


# ------------------------------------------------------------------------------------- a large quota upload
QUOTA_FILE_MB = 50  # the issue's file: 26 s inside a gunicorn worker (30 s timeout) before it became a job
QUOTA_SAVE_ROWS = 200_000  # rows saved (in bulk: audited, team sums, one recompute queued), rolled back
_QUOTA_FILES: dict[str, bytes] = {}


def _quota_file(target_bytes: int) -> tuple[bytes, int]:
    """A quota CSV of about `target_bytes`: everyone with a username × the four measures × the months and
    quarters of the fiscal years after this one (never locked), as many years as the size needs. Unique
    (person, period, measure) rows, every one valid: the whole check runs and nothing is refused."""
    from incentives.models import QuotaMeasure
    from salesops.org.models import User

    people = list(User.objects.order_by("id").values_list("username", flat=True))
    measures = list(QuotaMeasure.values)
    lines = ["person,period,amount,measure"]
    size, year = len(lines[0]) + 1, dt.date.today().year + 2
    while size < target_bytes:
        for label in [f"{year}-{m:02d}" for m in range(1, 13)] + [f"{year}-Q{q}" for q in range(1, 5)]:
            for n, person in enumerate(people):
                for k, measure in enumerate(measures):
                    line = f"{person},{label},{50_000 + 1_000 * ((n + k) % 150)}.00,{measure}"
                    lines.append(line)
                    size += len(line) + 1
            if size >= target_bytes:
                break
        year += 1
    return ("\n".join(lines) + "\n").encode(), len(lines) - 1


def _run_quota_job(ops: Any, name: str, content: bytes, *, dry_run: bool) -> tuple[float, Any]:
    """Store a job as the upload does and run the Celery task's body on it (in this process), inside a
    transaction rolled back afterwards: nothing stays, and no recompute is queued."""
    from django.core.files.base import ContentFile

    from incentives.models import QuotaUploadJob
    from incentives.tasks import run_quota_upload

    with transaction.atomic():
        job = QuotaUploadJob(created_by=ops, file_name=name, dry_run=dry_run)
        job.file.save(name, ContentFile(content), save=False)
        job.save()
        try:
            started = time.perf_counter()
            run_quota_upload(job.pk)  # the task body, as a worker runs it
            seconds = time.perf_counter() - started
            job.refresh_from_db()
        finally:
            job.file.delete(save=False)
            transaction.set_rollback(True)
    return seconds, job


@benchmark(
    name=f"incentives: quota upload of a {QUOTA_FILE_MB} MB file, checked in its Celery job",
    unit="s",
    target=None,
    repeat=1,
    issue="a 50 MB quota upload ran 26 s inside a gunicorn worker (30 s timeout): run it as a job with progress",
    description=f"A {QUOTA_FILE_MB} MB quota CSV (every person × 4 measures × the months and quarters of future "
    "fiscal years) checked row by row (dry run) by the task incentives.run_quota_upload, run in the runner's "
    "process on a stored job. Beside it: the web request that uploads the file on the Quotas page as sales "
    f"ops (stores it, queues the job, redirects; test client, the multipart body encoded and parsed), and "
    f"the save of the file's first {QUOTA_SAVE_ROWS:,} rows through the same task (written in batches, an audit "
    "row each, team sums above them set again, one recompute queued). Everything is rolled back.",
)
def quota_upload_job(ctx: BenchContext) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incentives.models import QuotaUploadJob
    from salesops.org.models import User

    database = connection.settings_dict["NAME"]
    if database not in _QUOTA_FILES:
        _QUOTA_FILES[database] = _quota_file(QUOTA_FILE_MB * 1024 * 1024)[0]
    content = _QUOTA_FILES[database]
    ops = User.objects.get(pk=ctx.facts["sales_ops_id"])

    # The web request: it stores the file and queues the job (discarded with the rollback), then redirects.
    client = Client()
    client.force_login(ops)
    with transaction.atomic():
        upload = SimpleUploadedFile("quotas.csv", content, content_type="text/csv")
        started = time.perf_counter()
        response = client.post(reverse("incentives:quotas"), {"file": upload, "measure": "bookings",
                                                              "action": "dry"})  # fmt: skip
        request_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == 302, response.status_code
        for job in QuotaUploadJob.objects.all():
            job.file.delete(save=False)
        transaction.set_rollback(True)

    check_s, checked = _run_quota_job(ops, "quotas.csv", content, dry_run=True)
    if checked.status != "done":
        raise RuntimeError(f"the check failed: {checked.errors[:3]}")
    head = b"".join(content.splitlines(keepends=True)[: QUOTA_SAVE_ROWS + 1])
    save_s, saved = _run_quota_job(ops, "save.csv", head, dry_run=False)
    if saved.status != "done" or saved.result["created"] + saved.result["updated"] != QUOTA_SAVE_ROWS:
        raise RuntimeError(f"the save failed: {saved.result} {saved.errors[:3]}")
    return {
        "value": round(check_s, 2),
        "mb": round(len(content) / 1024 / 1024, 1),
        "rows": checked.rows_total,
        "check_rows_per_s": round(checked.rows_total / check_s),
        "request_ms": round(request_ms, 1),
        "save_rows": QUOTA_SAVE_ROWS,
        "save_s": round(save_s, 2),
        "save_rows_per_s": round(QUOTA_SAVE_ROWS / save_s),
    }
