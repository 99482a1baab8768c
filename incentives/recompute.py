"""The stored commission recompute: load plain data, run the pure engine, swap the results in.

- Locks per scope: a change's recompute locks the paid people it writes (advisory keys), so changes in
  different regions are recomputed side by side, and two touching the same person one after the other (the
  second recomputes what the first wrote); a full run excludes them while it writes (see "Locks" below).
- All or nothing: payouts and statement lines of the people in scope are replaced inside one transaction,
  with the run's `done`; readers see the previous run until it commits. A statement's new lines are filed
  under a new key (`Payout.lines_key`) that no payout points at yet; the write points the payouts at their
  new keys and retires the old ones, whose lines are deleted after the commit (`purge_retired_lines`). A full
  run may be sharded on Celery (see "shards" below): its shards file their lines themselves, side by side,
  and one short transaction swaps the payouts in.
- Locked periods never change: a result that differs from what a locked period stored becomes a signed
  `Adjustment` in the next open period, with a trace of its cause; a second recompute adds nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import pickle
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from incentives import engine
from incentives.models import (
    Adjustment,
    CommissionRun,
    CompPlanVersion,
    Dispute,
    LineSet,
    Payout,
    Period,
    PlanAssignment,
    Quota,
    QuotaMeasure,
    RecomputeStage,
)
from incentives.pending import pending_covered
from incentives.plans import parse_plan
from pipeline.selectors import won_deals_for_commissions
from salesops.job_runner import advisory_xact_lock, try_advisory_xact_lock
from salesops.kernel import trees
from salesops.kernel.locks import lock_key, lock_pair
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar
from salesops.org.services import audit_record

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the commission recompute (any constant unique to this job).
RECOMPUTE_LOCK = lock_key("incentives.recompute")
# Taken while a sharded full run is checked for and created (commission_recompute_start).
START_LOCK = lock_key("incentives.recompute.start")


def _deal_key(deal_id: int) -> str:
    # Zero-padded so the engine's "then deal key" order is the deals' id order.
    return f"{deal_id:012d}"


def _plan_key(version: CompPlanVersion) -> str:
    return f"{version.plan.key}@v{version.version}"


class _Loaded:
    def __init__(self) -> None:
        self.versions: dict[str, CompPlanVersion] = {}
        self.periods: dict[str, Period] = {}
        self.window_start: dt.date | None = None
        self.calendar: engine.Calendar | None = None
        self.currency = "USD"


def build_input(
    *,
    person_ids: set[int] | None,
    today: dt.date | None = None,
    since: dt.date | None = None,
    shard_ids: set[int] | None = None,
) -> tuple[engine.EngineInput, _Loaded, set[int] | None]:
    """Everything the engine needs, as plain data. Returns the input, lookups for writing, and the ids of
    the people whose results are to be written (None: everyone). `since` reaches the window back to that
    date's fiscal year (a change to a locked period of an earlier year becomes an adjustment). `shard_ids`: one
    shard of a full run, whose results are exactly these people's (their deals, and those of everyone below a
    team plan they hold, are loaded)."""
    loaded = _Loaded()
    calendar = fiscal_calendar()
    cal = engine.Calendar(calendar.fiscal_year_start_month)
    loaded.calendar, loaded.currency = cal, calendar.currency

    # The window: from the start of the fiscal year of the earliest open period that has anything in it.
    first_open = Period.objects.filter(is_locked=False).order_by("start").first()
    if first_open is not None:
        fiscal_year = cal.period_of("month", first_open.start).fiscal_year
        if since is not None:
            fiscal_year = min(fiscal_year, cal.period_of("month", since).fiscal_year)
        loaded.window_start = cal.period_at("month", fiscal_year, 0).start

    people = list(User.objects.values_list("id", "manager_id"))
    parents: dict[int, int | None] = dict(people)
    children: dict[int, list[int]] = defaultdict(list)
    for pid, manager in people:
        if manager is not None:
            children[manager].append(pid)

    # Plans: every version of every plan, split into dated pieces along each person's assignments.
    versions_by_plan: dict[int, list[CompPlanVersion]] = defaultdict(list)
    for version in CompPlanVersion.objects.select_related("plan").order_by("plan_id", "effective_from"):
        versions_by_plan[version.plan_id].append(version)
        loaded.versions[_plan_key(version)] = version
    plans = []
    team_plan_keys: set[str] = set()
    for key, version in loaded.versions.items():
        plan = parse_plan(version.definition, key=key)
        plans.append(plan)
        if plan.credit_scope == "team":
            team_plan_keys.add(key)

    assignments: dict[int, list[engine.PlanAssignment]] = defaultdict(list)
    for a in PlanAssignment.objects.order_by("person_id", "start"):
        chain = versions_by_plan.get(a.plan_id, [])
        for i, version in enumerate(chain):
            next_start = chain[i + 1].effective_from if i + 1 < len(chain) else None
            start = max(a.start, version.effective_from)
            end_candidates = [d for d in (a.end, next_start - dt.timedelta(days=1) if next_start else None) if d]
            end = min(end_candidates) if end_candidates else None
            if end is None or end >= start:
                assignments[a.person_id].append(engine.PlanAssignment(_plan_key(version), start, end))

    write_ids: set[int] | None = None
    credit_ids: set[int] | None = None
    if shard_ids is not None:
        write_ids = set(shard_ids)
    elif person_ids is not None:
        # Whoever's pay depends on these people: themselves and everyone above them (team plans).
        write_ids = trees.ancestors(parents, set(person_ids))
    if write_ids is not None:
        team_holders = {pid for pid in write_ids if any(a.plan in team_plan_keys for a in assignments.get(pid, ()))}
        credit_ids = trees.descendants(children, team_holders) | write_ids
        if len(credit_ids) >= len(parents):
            credit_ids = None  # everyone (a run of one shard): one scan of the year, not a lookup per person

    # Everyone, with or without a plan: a split or a deal may credit anyone, and a team plan counts the
    # credits of everyone below its holder, whatever plan they hold. People without one are paid nothing,
    # and their credits are not errors here (an overlay engineer, a hire whose plan is not assigned yet);
    # the scenario format, where everyone is listed on purpose, keeps them as errors.
    engine_people = [
        engine.Person(str(pid), tuple(assignments.get(pid, ())), str(manager) if manager else None)
        for pid, manager in people
    ]

    quotas_qs = Quota.objects.filter(measure=QuotaMeasure.BOOKINGS)
    if loaded.window_start:
        quotas_qs = quotas_qs.filter(period__end__gte=loaded.window_start)
    periods_by_id = {p.pk: p for p in Period.objects.filter(pk__in=quotas_qs.values("period_id").distinct())}
    quotas = []
    for person_id, period_id, amount in quotas_qs.values_list("person_id", "period_id", "amount"):
        if credit_ids is None or person_id in credit_ids:
            period = periods_by_id[period_id]
            quotas.append(engine.Quota(str(person_id), period.label, amount))
            loaded.periods[period.label] = period

    deals = []
    key_of = {pid: str(pid) for pid, _ in people}
    new, deal_type, split_type = tuple.__new__, engine.Deal, engine.Split  # 150,000 deals: no Python __new__
    for deal_id, owner, amount, close_date, cancelled_on, product, splits in won_deals_for_commissions(
        person_ids=credit_ids, since=loaded.window_start
    ):
        shares = tuple(new(split_type, (key_of[p], pct, overlay)) for p, pct, overlay in splits) if splits else ()
        row = (_deal_key(deal_id), key_of[owner], amount, close_date, "won", product, cancelled_on, shares)
        deals.append(new(deal_type, row))

    locked = frozenset(Period.objects.filter(is_locked=True).values_list("label", flat=True))
    opening: dict[str, Decimal] = {}
    if loaded.window_start:
        # Recoverable draw balances carry across fiscal years: start from what the person's last computed
        # statement before the window left, also when that is zero (a balance recovered in full stays
        # recovered). Rows kept only to pay adjustments were not computed (no plan) and carry no balance.
        for person_id, balance in (
            Payout.objects.filter(period__end__lt=loaded.window_start, plan_version__isnull=False)
            .order_by("person_id", "-period__end", "-period__start")
            .distinct("person_id")
            .values_list("person_id", "draw_balance")
        ):
            if balance > 0:
                opening[str(person_id)] = balance
    data = engine.EngineInput(
        plans=plans, people=engine_people, quotas=quotas, deals=deals, calendar=cal, locked_periods=locked,
        opening_draw_balances=opening,
    )  # fmt: skip
    return data, loaded, write_ids


def _period(loaded: _Loaded, result: engine.PersonPeriodResult) -> Period:
    period = loaded.periods.get(result.period)
    if period is None:
        period, _ = Period.objects.get_or_create(
            label=result.period,
            defaults={"kind": "quarter" if "Q" in result.period else "month", "fiscal_year": result.fiscal_year,
                      "start": result.period_start, "end": result.period_end},
        )  # fmt: skip
        loaded.periods[result.period] = period
    return period


class _LineFormatter:
    """Statement lines as rows of COPY's text format (tab-separated, \\N for NULL), less the payout id.

    Built by hand: at a fiscal year's half a million lines, json.dumps and per-value adaptation cost seconds.
    Every value here is digits, a decimal, a date or a component key (a slug), so nothing needs escaping.
    A credit shows on several statements (its owner's, and each team plan's above), so its columns are
    formatted once; so is the start of each band's JSON.
    """

    EMPTY = "\\N\t\t\\N\t\\N\tf\t\\N\t0.00"  # deal_id to credit, for a line without a credit

    def __init__(self) -> None:
        self.credits: dict[int, tuple[engine.Credit, str, str]] = {}
        self.heads: dict[tuple[int | None, Any, Any], str] = {}

    def credit(self, credit: engine.Credit) -> tuple[engine.Credit, str, str]:
        """The credit, its columns (deal_id to credit), and its amount in cents."""
        deal_id = int(credit.deal)
        cents = str(credit.amount.quantize(engine.CENT))
        columns = (f"{deal_id}\t{deal_id}\t{credit.person}\t{credit.percent}\t{'t' if credit.overlay else 'f'}\t"
                   f"{credit.date.isoformat()}\t{cents}")  # fmt: skip
        cached = self.credits[id(credit)] = (credit, columns, cents)
        return cached

    def head(self, tier: int | None, band_from: Any, rate: Any) -> str:
        """A band's JSON up to its credit."""
        tier_text = "null" if tier is None else str(tier)
        head = self.heads[tier, band_from, rate] = (
            f'{{"tier":{tier_text},"from":"{band_from}","rate":"{rate}","credit":"'
        )
        return head

    def statement(self, lines: Iterable[engine.StatementLine]) -> str:
        """A statement's rows, each without its first column (the payout id: see `_with_payout_id`).

        The hot loop of a recompute's write (once per line): lines are unpacked rather than read attribute
        by attribute, and a one-band line (the common case) is one f-string. A line's amount is in cents
        already (the engine rounds every line)."""
        credits, heads = self.credits.get, self.heads.get
        out: list[str] = []
        append = out.append
        for component, kind, credit, amount, tier, band_from, rate, portions in lines:
            if credit is None:
                append(f'{component}\t{self.EMPTY}\t{amount}\t{{"kind":"{kind}"}}\n')
                continue
            cached = credits(id(credit))
            if cached is None or cached[0] is not credit:
                cached = self.credit(credit)
            if portions:
                bands = ",".join(
                    [f'{heads((b.tier, b.attainment_from, b.rate)) or self.head(b.tier, b.attainment_from, b.rate)}'
                     f'{b.credit.quantize(engine.CENT)}","amount":"{b.amount.quantize(engine.CENT)}"}}'
                     for b in portions]
                )  # fmt: skip
                trace = f'{{"kind":"{kind}","bands":[{bands}]'
            elif rate is not None:
                head = heads((tier, band_from, rate)) or self.head(tier, band_from, rate)
                trace = f'{{"kind":"{kind}","bands":[{head}{cached[2]}","amount":"{amount}"}}]'
            else:
                trace = f'{{"kind":"{kind}"'
            if credit.clawback:
                trace += f',"close_date":"{credit.close_date.isoformat()}"'
            append(f"{component}\t{cached[1]}\t{amount}\t{trace}}}\n")
        return "".join(out)


def _with_payout_id(lines_key: int, rows: str) -> str:
    """Rows of `_LineFormatter.statement` with the statement's lines key in front of each."""
    prefix = f"{lines_key}\t"
    return prefix + rows[:-1].replace("\n", "\n" + prefix) + "\n"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _locked_bookings(statements: list[_Statement]) -> dict[tuple[int, str], list[Adjustment]]:
    """What earlier runs booked for the statements' person-periods while they were locked (one query), oldest
    first: a locked one's difference is computed net of them, a reopened one's are reversed."""
    return locked_bookings({(int(s.result.person), s.result.period) for s in statements})


def locked_bookings(keys: set[tuple[int, str]]) -> dict[tuple[int, str], list[Adjustment]]:
    """The `locked_change` adjustments booked so far for these (person id, period label) pairs, oldest first
    (the recompute's write, and the earnings estimator that says what the recompute will book)."""
    booked: dict[tuple[int, str], list[Adjustment]] = defaultdict(list)
    if not keys:
        return booked
    for a in Adjustment.objects.filter(
        source=Adjustment.Source.LOCKED_CHANGE, person_id__in={p for p, _ in keys},
        cause__period__in=sorted({label for _, label in keys}),
    ).select_related("period").order_by("created_at", "id"):  # fmt: skip
        key = (a.person_id, a.cause["period"])
        if key in keys:
            booked[key].append(a)
    return booked


def _book_locked_difference(
    run: CommissionRun,
    loaded: _Loaded,
    result: engine.PersonPeriodResult,
    stored: dict[tuple[int, int], Payout],
    earlier: dict[tuple[int, str], list[Adjustment]],
    rows: set[tuple[int, int]],
) -> Adjustment | None:
    period = _period(loaded, result)
    person_id = int(result.person)
    before = stored.get((person_id, period.pk))
    stored_amount = before.payout if before else Decimal("0.00")
    booked = sum((a.amount for a in earlier.get((person_id, period.label), ())), Decimal("0.00"))
    difference = result.payout - stored_amount - booked
    if difference == 0:
        return None
    from incentives.services import next_open_period

    return _book(
        run, rows, person_id, next_open_period(period), difference,
        reason=f"Recomputed {period.label} (locked): {result.payout} instead of {stored_amount + booked}",
        cause={"period": period.label, "run": run.pk, "recomputed_payout": str(result.payout),
               "stored_payout": str(stored_amount), "earlier_adjustments": str(booked)},
    )  # fmt: skip


def _book(run: CommissionRun, rows: set[tuple[int, int]], person_id: int, target: Period, amount: Decimal, *,
          reason: str, cause: dict[str, Any]) -> Adjustment:  # fmt: skip
    """A signed adjustment booked by the recompute (for a locked period's change), audited like a manual one.
    `rows` collects the person-periods that need a payout row for it: made after this run's payouts are
    written (the run may compute one there itself)."""
    adjustment = Adjustment.objects.create(
        person_id=person_id, period=target, amount=amount, reason=reason, source=Adjustment.Source.LOCKED_CHANGE,
        cause=cause,
    )  # fmt: skip
    rows.add((person_id, target.pk))
    audit_record(actor=None, instance=adjustment, action="create",
                 changes={"amount": (None, amount), "period": (None, target.label), "person": (None, person_id)},
                 reason=f"commission run {run.pk}: {reason}")  # fmt: skip
    return adjustment


def _reverse_reopened(
    run: CommissionRun,
    statements: list[_Statement],
    earlier: dict[tuple[int, str], list[Adjustment]],
    rows: set[tuple[int, int]],
) -> int:
    """Undo what was booked for a period while it was locked, now that it is open and its payout is written
    again: the recomputed payout includes the change itself, so the earlier adjustments would pay it twice.
    The reversal goes where the adjustment went if that period is still open, else to the next open one."""
    from incentives.services import next_open_period

    open_keys = {(int(s.result.person), s.result.period) for s in statements if not s.result.locked}
    reversed_ = 0
    for (person_id, label), adjustments in sorted(earlier.items()):
        if (person_id, label) not in open_keys:
            continue
        net = sum((a.amount for a in adjustments), Decimal("0.00"))
        if net == 0:
            continue
        last = adjustments[-1].period
        target = last if not last.is_locked else next_open_period(last)
        _book(
            run, rows, person_id, target, -net,
            reason=f"{label} was reopened and recomputed: its payout now includes the {net} booked while it was "
                   "locked",
            cause={"period": label, "run": run.pk, "reverses": [a.pk for a in adjustments]},
        )  # fmt: skip
        reversed_ += 1
    return reversed_


# Locks: transaction-level Postgres advisory locks.
# - RECOMPUTE_LOCK (the one-bigint key space) guards the stored results as a whole. A sharded run's swap holds
#   it exclusively for the short transaction that writes its results (an unsharded full run, for its whole
#   transaction); a change's recompute holds it shared, so changes' recomputes run side by side, a swap waits
#   for those running and they wait for the swap (seconds).
# - Scope keys (`scope_lock_keys`: the two-int key space, one per person): before it reads, a change's
#   recompute takes the key of each person it writes who holds a plan, in id order (no deadlock). A change in
#   one region does not wait behind another region's; two whose results share a paid person (a team plan above
#   both) run one after the other, as they must: the later one reads what the earlier wrote.
# - A period lock tries RECOMPUTE_LOCK exclusively once and never waits (`running_recompute_note` says why).


def scope_lock_keys(person_ids: Iterable[int]) -> list[tuple[int, int]]:
    """The advisory-lock keys of a change recompute writing these people, in the order they are taken."""
    return [lock_pair("incentives.recompute.scope", pid) for pid in sorted(set(person_ids))]


def _lock_change_scope(person_ids: Iterable[int]) -> None:
    """Shared RECOMPUTE_LOCK, then the scope keys of the paid people a change's recompute writes."""
    people = list(User.objects.values_list("id", "manager_id"))
    written = trees.ancestors(dict(people), set(person_ids))
    paid = PlanAssignment.objects.filter(person_id__in=written).values_list("person_id", flat=True).distinct()
    advisory_xact_lock(RECOMPUTE_LOCK, shared=True)
    for key in scope_lock_keys(paid):
        advisory_xact_lock(key)


def _run_create(
    *, person_ids: list[int] | None, triggered_by: str, since: dt.date | None, shards: int, session: bool
) -> CommissionRun:
    scope: dict[str, Any] = {"people": sorted(person_ids)} if person_ids is not None else {"people": "all"}
    if since is not None:
        scope["since"] = since.isoformat()
    if triggered_by == "nightly":
        from pipeline.selectors import last_deal_change_id
        from salesops.org.models import AuditEvent

        scope["changes_through"] = last_deal_change_id()  # the next nightly run reaches back past these
        scope["audit_through"] = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    stats: dict[str, Any] = {"shards": shards}
    if session:
        with connection.cursor() as cursor:
            # Whose run this is: if this database session ends while the run is `running`, its worker died
            # (`stale_runs_fail`); the number is replaced by the stats when the run finishes. A run sharded on
            # Celery has no such session (its tasks' time limits bound it instead).
            cursor.execute("SELECT pg_backend_pid()")
            stats["backend_pid"] = int(cursor.fetchone()[0])
    return CommissionRun.objects.create(scope=scope, triggered_by=triggered_by[:120], stats=stats)


def _finish(run: CommissionRun, stats: dict[str, Any], errors: list[engine.EngineError]) -> None:
    """Mark the run done: called inside the transaction that wrote its results, so whoever sees its payouts
    sees it done."""
    run.status, run.finished_at, run.stats = CommissionRun.Status.DONE, timezone.now(), stats
    run.errors = [{"person": e.person, "period": e.period, "error": e.error} for e in errors[:500]]
    run.save(update_fields=["status", "finished_at", "stats", "errors"])


def describe_failure(exc: BaseException) -> str:
    """A failed run's reason as its errors list it: a result that does not fit says whose, anything else its
    kind and message."""
    return exc.described() if isinstance(exc, ResultOutOfRange) else f"{type(exc).__name__}: {exc}"


def run_failed(*, run_id: int, note: str = "") -> bool:
    """Mark a running run failed (with why) and drop what its shards staged; its stored results are untouched.
    False when it was not running any more (done, or failed already)."""
    with transaction.atomic():
        run = CommissionRun.objects.select_for_update().filter(pk=run_id, status=CommissionRun.Status.RUNNING).first()
        if run is None:
            return False
        run.status, run.finished_at = CommissionRun.Status.FAILED, timezone.now()
        if note:
            run.errors = [*(run.errors or []), {"person": None, "period": None, "error": note[:1000]}]
        run.save(update_fields=["status", "finished_at", "errors"])
        _drop_staged(run_id)
    purge_retired_lines()
    return True


def _drop_staged(run_id: int) -> None:
    """What a failed run's shards staged: their rows, and the lines they filed (no payout points at them)."""
    RecomputeStage.objects.filter(run_id=run_id).delete()
    LineSet.objects.filter(run_id=run_id, retired=False).exclude(
        id__in=Payout.objects.filter(run_id=run_id).values("lines_key")
    ).update(retired=True)


def commission_recompute(
    *, person_ids: list[int] | None = None, triggered_by: str = "", since: dt.date | None = None, shards: int = 1
) -> dict[str, Any]:
    """Recompute commissions of these people (and everyone whose pay depends on them), or of everyone; with
    `since`, from that date's fiscal year on (else from the fiscal year of the first open period).

    In this process. A change's recompute (and an unsharded full run) reads, computes and writes in one
    transaction; a full run with `shards` > 1 computes and stages shard after shard, then swaps them in as a
    run sharded on Celery does (`commission_recompute_start`)."""
    if person_ids is None and shards > 1:
        run = _run_create(person_ids=None, triggered_by=triggered_by, since=since, shards=shards, session=True)
        try:
            for shard, people in enumerate(_partition(shards)):
                recompute_shard_stage(run_id=run.pk, shard=shard, people=people, since=since)
        except Exception as exc:
            logger.exception("commission recompute %s failed", run.pk)
            run_failed(run_id=run.pk, note=f"a shard failed: {describe_failure(exc)}")
            raise
        return recompute_swap(run_id=run.pk)
    run = _run_create(person_ids=person_ids, triggered_by=triggered_by, since=since, shards=1, session=True)
    started = time.perf_counter()
    try:
        with engine.collector_paused(), transaction.atomic():
            if person_ids is None:
                advisory_xact_lock(RECOMPUTE_LOCK)
                pending_covered()  # failed changes last tried before this run read everything (incentives.pending)
            else:
                _lock_change_scope(person_ids)
            data, loaded, write_ids = build_input(
                person_ids=set(person_ids) if person_ids is not None else None, since=since
            )
            existing = _stored_payouts(loaded, write_ids)
            loaded_at = time.perf_counter()
            statements, engine_errors, copy_ms = _compute(data, loaded, write_ids, existing, run_id=run.pk)
            computed_at = time.perf_counter()
            stats: dict[str, Any] = _write(run, loaded, statements, existing)
            planless = {p.key for p in data.people if not p.plans}
            errors = _errors_in_scope([e for e in engine_errors if e.person not in planless], loaded, write_ids)
            stats.update(
                errors=len(errors),
                load_ms=round((loaded_at - started) * 1000),
                engine_ms=round((computed_at - loaded_at) * 1000),
                copy_ms=copy_ms,
                total_ms=round((time.perf_counter() - started) * 1000),
                deals=len(data.deals),
                processes=1,
                shards=1,
            )
            _finish(run, stats, errors)
    except Exception as exc:
        logger.exception("commission recompute %s failed", run.pk)
        run_failed(run_id=run.pk, note=describe_failure(exc))
        raise
    _purged(run, stats)
    return stats


def _purged(run: CommissionRun, stats: dict[str, Any]) -> None:
    """Purge the retired lines after a run committed, and note how long it took in the run's stats."""
    started = time.perf_counter()
    purge_retired_lines()
    stats["purge_ms"] = round((time.perf_counter() - started) * 1000)
    CommissionRun.objects.filter(pk=run.pk).update(stats=stats)


def commission_recompute_open_periods(*, triggered_by: str, since: dt.date | None) -> dict[str, Any]:
    """A full run of the open periods: sharded on Celery when settings.COMMISSION_RECOMPUTE_SHARDS > 1 (and
    tasks are not run eagerly), else here in one transaction. Sharded, it answers with the run's id at once."""
    from celery import current_app
    from django.conf import settings

    shards = int(getattr(settings, "COMMISSION_RECOMPUTE_SHARDS", 1))
    if shards > 1 and not current_app.conf.task_always_eager:
        return {"run": commission_recompute_start(triggered_by=triggered_by, since=since, shards=shards)}
    return commission_recompute(person_ids=None, triggered_by=triggered_by, since=since)


# ------------------------------------------------------------------------------------------------ shards
# A full run sharded on Celery: `commission_recompute_start` cuts everyone into shards (`_partition`) and
# queues a chord on the recompute queue: one `incentives.recompute_shard` task per shard, then
# `incentives.recompute_swap`. Each shard loads its own people's share from Postgres (their deals, and those
# of the people below a team plan's holder), runs the engine for them, and stages its statements in
# RecomputeStage (its own short transaction; a retried shard replaces its row). The swap reads every shard's
# row and writes the run's results, marks the run done and drops the staged rows in one transaction under
# RECOMPUTE_LOCK: nobody sees half a run. A shard that fails fails the run (`run_failed`: stored results
# untouched); a shard whose worker is killed is delivered again (acks_late, reject_on_worker_lost); a run
# whose tasks are lost altogether is failed by `stale_runs_fail` past STALE_RUN_MAX_AGE and queued again.
#
# The shards read at slightly different moments, without a lock, while changes' recomputes go on. The
# swap keeps what is newer: a person whose stored payouts changed between their shard's reading and the
# swap (a change's recompute wrote them) is left as stored and recomputed again after the swap; a period
# locked or reopened meanwhile fails the run, and the run is queued again.
class _ShardResult(NamedTuple):
    people: list[int]
    window_start: dt.date | None
    locked: frozenset[str]
    currency: str
    versions: dict[str, int]  # plan key -> CompPlanVersion id
    seen: dict[tuple[int, int], tuple[Any, ...]]  # the stored payouts it read (see `_fingerprints`)
    statements: list[_Statement]
    errors: list[engine.EngineError]
    deals: int
    load_ms: int
    engine_ms: int
    copy_ms: int = 0


def _fingerprints(
    existing: dict[tuple[int, int], Payout], people: Iterable[int] | None
) -> dict[tuple[int, int], tuple[Any, ...]]:
    """What the swap compares: each stored payout's run, lines and amount, and, under (person, 0), the newest
    adjustment of each of `people` (None: everyone). A change's recompute that booked a locked period's
    difference after a shard read leaves the payouts as they were but adds an adjustment: the person has
    moved, and the shard's stale difference must not be booked against it."""
    prints: dict[tuple[int, int], tuple[Any, ...]] = {
        key: (p.run_id, p.lines_digest, p.payout) for key, p in existing.items()
    }
    adjustments = Adjustment.objects.all()
    if people is not None:
        adjustments = adjustments.filter(person_id__in=list(people))
    for person_id, newest in (
        adjustments.values("person_id").annotate(newest=Max("id")).values_list("person_id", "newest")
    ):
        prints[(person_id, 0)] = ("adjustment", newest)
    return prints


def _partition(shards: int) -> list[list[int]]:
    """Everyone, in `shards` shards of about equal size, cut from the people in depth-first order of the org
    tree: a team is mostly in one shard, so a manager's team plan reads credits its shard loads anyway."""
    order = trees.depth_first(dict(User.objects.order_by("id").values_list("id", "manager_id")))
    size = -(-len(order) // shards) if order else 0
    return [order[i * size : (i + 1) * size] for i in range(shards)]


def commission_recompute_start(
    *, triggered_by: str = "", since: dt.date | None = None, shards: int = 2, queue: str = ""
) -> int:
    """Start a full run sharded on Celery (see above) once the current transaction commits; its run's id (or
    the id of the sharded full run already running). Its tasks go to the recompute queue (or `queue`: a test's
    or a benchmark's own)."""
    from celery import chord

    from incentives.tasks import recompute_shard, recompute_swap
    from salesops.celery import QUEUE_RECOMPUTE

    queue = queue or QUEUE_RECOMPUTE
    with transaction.atomic():
        # Check and create under one lock (held until the caller's transaction commits, when the new run
        # becomes visible): two starts at once (the nightly run and "Recompute now") make one run, not two.
        advisory_xact_lock(START_LOCK)
        # A second full run while one is computing would only find, at its swap, that everyone moved: it joins
        # the running one instead (a dead one is failed by `stale_runs_fail`, which queues it again), unless it
        # reaches further back than that one does (a change to a locked period of an earlier fiscal year).
        for run_id, scope in (
            CommissionRun.objects.filter(status=CommissionRun.Status.RUNNING, scope__people="all", stats__shards__gt=1)
            .order_by("started_at")
            .values_list("id", "scope")
        ):
            reaches = (scope or {}).get("since")
            if since is None or (reaches is not None and dt.date.fromisoformat(reaches) <= since):
                return int(run_id)
        run = _run_create(person_ids=None, triggered_by=triggered_by, since=since, shards=shards, session=False)
        day = since.isoformat() if since else None
        header = [
            recompute_shard.si(run.pk, shard, people, day).set(queue=queue)
            for shard, people in enumerate(_partition(shards))
        ]
        callback = recompute_swap.si(run.pk).set(queue=queue)
        transaction.on_commit(lambda: chord(header)(callback))
    return run.pk


def recompute_shard_stage(*, run_id: int, shard: int, people: list[int], since: dt.date | None) -> int:
    """Compute one shard of a sharded run and stage its statements (see above); how many it staged. A shard
    of a run that is no longer running (failed meanwhile, or a late copy of a finished run's task) does nothing."""
    if not CommissionRun.objects.filter(pk=run_id, status=CommissionRun.Status.RUNNING).exists():
        return 0
    started = time.perf_counter()
    with engine.collector_paused():
        data, loaded, write_ids = build_input(person_ids=None, since=since, shard_ids=set(people))
        existing = _stored_payouts(loaded, write_ids)
        seen = _fingerprints(existing, write_ids)
        loaded_at = time.perf_counter()
        with transaction.atomic():
            # A retried shard replaces what an earlier try filed.
            LineSet.objects.filter(run_id=run_id, shard=shard, retired=False).update(retired=True)
            statements, engine_errors, copy_ms = _compute(data, loaded, write_ids, existing, run_id=run_id, shard=shard)
            computed_at = time.perf_counter()
            # Staged only for a run still running, checked under a share lock on its row (shards stage side by
            # side; the swap and a failure wait for them): a shard that finishes after another failed the run
            # (or after the swap) retires the lines it filed and stages nothing.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM incentives_commissionrun WHERE id = %s AND status = %s FOR SHARE",
                    [run_id, CommissionRun.Status.RUNNING],
                )
                running = cursor.fetchone() is not None
            if running:
                planless = {p.key for p in data.people if not p.plans}
                errors = _errors_in_scope([e for e in engine_errors if e.person not in planless], loaded, write_ids)
                result = _ShardResult(
                    people=list(people), window_start=loaded.window_start, locked=data.locked_periods,
                    currency=loaded.currency, versions={key: v.pk for key, v in loaded.versions.items()},
                    seen=seen, statements=statements, errors=errors, deals=len(data.deals),
                    load_ms=round((loaded_at - started) * 1000), engine_ms=round((computed_at - loaded_at) * 1000),
                    copy_ms=copy_ms,
                )  # fmt: skip
                payload = zlib.compress(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), 1)
                RecomputeStage.objects.update_or_create(run_id=run_id, shard=shard, defaults={"payload": payload})
            else:
                LineSet.objects.filter(run_id=run_id, shard=shard, retired=False).update(retired=True)
    if not running:
        purge_retired_lines()
        return 0
    return len(statements)


class RecomputeOutdated(Exception):
    """What a sharded run read is out of date by the time of its swap (a period was locked or reopened)."""


def recompute_swap(*, run_id: int) -> dict[str, Any]:
    """Swap a sharded run's staged results in (see above), in one transaction with its `done`; its stats. A run
    that is not running any more is left alone (a late copy of the task). A swap that fails fails the run
    (a period locked or reopened meanwhile: the run is queued again)."""
    started = time.perf_counter()
    try:
        with engine.collector_paused(), transaction.atomic():
            advisory_xact_lock(RECOMPUTE_LOCK)
            run = CommissionRun.objects.select_for_update().get(pk=run_id)
            if run.status != CommissionRun.Status.RUNNING:
                return dict(run.stats or {})
            shards = int((run.stats or {}).get("shards") or 1)
            rows = list(RecomputeStage.objects.filter(run=run).order_by("shard").values_list("payload", flat=True))
            if len(rows) != shards:
                raise RuntimeError(f"commission run {run_id}: {len(rows)} of {shards} shards staged")
            # Our own shards' rows, written by our own tasks to our own database.
            parts: list[_ShardResult] = [pickle.loads(zlib.decompress(bytes(row))) for row in rows]  # noqa: S301
            stats = _swap(run, parts, started)
            pending_covered(before=run.started_at)  # its shards read everything after the run started
    except RecomputeOutdated as exc:
        if run_failed(run_id=run_id, note=f"{exc}; its recompute queued again"):
            from incentives.tasks import queue_recompute_open_periods

            queue_recompute_open_periods()
        raise
    except Exception as exc:
        logger.exception("commission recompute %s failed", run_id)
        run_failed(run_id=run_id, note=f"the swap failed: {type(exc).__name__}: {exc}")
        raise
    _purged(run, stats)
    return stats


def _swap(run: CommissionRun, parts: list[_ShardResult], started: float) -> dict[str, Any]:
    first = parts[0]
    locked_now = frozenset(Period.objects.filter(is_locked=True).values_list("label", flat=True))
    if any(p.locked != locked_now or p.window_start != first.window_start for p in parts):
        raise RecomputeOutdated("a period was locked or reopened while the run computed")
    loaded = _Loaded()
    loaded.window_start, loaded.currency = first.window_start, first.currency
    version_ids = {key: pk for p in parts for key, pk in p.versions.items()}
    versions = CompPlanVersion.objects.select_related("plan").in_bulk(set(version_ids.values()))
    loaded.versions = {key: versions[pk] for key, pk in version_ids.items() if pk in versions}
    write_ids = {pid for p in parts for pid in p.people}
    existing = _stored_payouts(loaded, write_ids)
    seen = {key: value for p in parts for key, value in p.seen.items()}
    now = _fingerprints(existing, write_ids)
    moved = {key[0] for key in seen.keys() | now.keys() if seen.get(key) != now.get(key)}
    statements = [s for p in parts for s in p.statements if int(s.result.person) not in moved]
    _retire(s.key for p in parts for s in p.statements if int(s.result.person) in moved and s.key is not None)
    statements.sort(key=lambda s: (s.result.person, s.result.period_start))
    labels = {s.result.period for s in statements}
    loaded.periods = {p.label: p for p in Period.objects.filter(label__in=labels)}
    stats: dict[str, Any] = _write(run, loaded, statements, {k: p for k, p in existing.items() if k[0] not in moved})
    errors = sorted(
        (e for p in parts for e in p.errors if int(e.person) not in moved), key=lambda e: (e.person, e.period)
    )
    stats.update(
        errors=len(errors),
        load_ms=max(p.load_ms for p in parts),
        engine_ms=max(p.engine_ms for p in parts),
        copy_ms=max(p.copy_ms for p in parts),
        swap_ms=round((time.perf_counter() - started) * 1000),
        total_ms=round((timezone.now() - run.started_at).total_seconds() * 1000),
        deals=max(p.deals for p in parts),
        deals_loaded=sum(p.deals for p in parts),
        processes=len(parts),
        shards=len(parts),
        moved_meanwhile=len(moved),
    )
    _finish(run, stats, errors)
    RecomputeStage.objects.filter(run=run).delete()
    if moved:
        from incentives.tasks import queue_recompute

        queue_recompute(person_ids=sorted(moved), reason="changed while a full run computed")
    return stats


def running_recompute_note() -> str:
    """What recompute is running and when to try again, for whoever found RECOMPUTE_LOCK taken."""
    run = CommissionRun.objects.filter(status=CommissionRun.Status.RUNNING).order_by("started_at").first()
    if run is None:
        return "the commission recompute that is running is finishing; try again in a few seconds"
    everyone = (run.scope or {}).get("people") == "all"
    what = "of everyone" if everyone else f"of {len((run.scope or {}).get('people') or [])} people"
    # How long the last finished run of the same kind took, less what this one has run already.
    kind = Q(scope__people="all") if everyone else ~Q(scope__people="all")
    last = (
        CommissionRun.objects.filter(kind, status=CommissionRun.Status.DONE, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")
        .first()
    )
    elapsed = (timezone.now() - run.started_at).total_seconds()
    left = (last[1] - last[0]).total_seconds() - elapsed if last and last[1] else 60
    seconds = max(5, round(left))
    return (
        f"the commission recompute that is running (run {run.pk}, {what}, started "
        f"{timezone.localtime(run.started_at):%H:%M:%S}); try again in about {seconds} seconds"
    )


# A run is left `running` when its worker dies: killed, out of memory, or past its Celery hard time limit (the
# process is killed). Its transaction is rolled back with the database session, so nothing half-written stays,
# and the advisory lock it held is freed; only the run row still says `running`. `stale_runs_fail` (every two
# minutes, by beat) marks such a run failed and queues its recompute again. A run is stale when it started over
# STALE_RUN_GRACE ago and: the database session that started it has ended; or, for a run that recorded no session,
# nobody holds the recompute lock (a live run holds it, or waits for another that does); or it started longer ago
# than the longest hard time limit of a recompute task (a worker cut off from the database).
STALE_RUN_GRACE = dt.timedelta(minutes=2)
STALE_RUN_MAX_AGE = dt.timedelta(seconds=1900 + 300)  # incentives.tasks.recompute_open_periods' time_limit, + margin
STALE_RUN_RETRY = "stale-run"


def stale_runs_fail(*, now: dt.datetime | None = None) -> list[CommissionRun]:
    """Mark failed every `running` run whose worker is gone (see above), with the reason in its errors, and
    queue a recompute of what it covered (once: a retry that dies too is left to the nightly run)."""
    from incentives.tasks import queue_recompute, queue_recompute_open_periods

    now = now or timezone.now()
    failed: list[CommissionRun] = []
    purge_retired_lines()  # also what a worker that died between a run's commit and its purge left
    with transaction.atomic():
        candidates = list(
            CommissionRun.objects.select_for_update(skip_locked=True)
            .filter(status=CommissionRun.Status.RUNNING, started_at__lte=now - STALE_RUN_GRACE)
            .order_by("started_at", "id")
        )
        if not candidates:
            return []
        pids = [int(pid) for run in candidates if (pid := (run.stats or {}).get("backend_pid"))]
        lock_free = try_advisory_xact_lock(RECOMPUTE_LOCK)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            sessions: dict[int, dt.datetime | None] = {int(pid): start for pid, start in cursor.fetchall()}
        for run in candidates:
            reason = _stale_reason(run, now=now, lock_free=lock_free, sessions=sessions)
            if reason is None:
                continue
            retry = STALE_RUN_RETRY not in run.triggered_by
            note = f"{reason}; marked failed at {now:%Y-%m-%d %H:%M:%S %Z}" + (
                ", its recompute queued again" if retry else ", left to the nightly run (it was a retry)"
            )
            run.status, run.finished_at = CommissionRun.Status.FAILED, now
            run.errors = [*(run.errors or []), {"person": None, "period": None, "error": note}]
            run.save(update_fields=["status", "finished_at", "errors"])
            _drop_staged(run.pk)  # what its shards staged goes with it
            logger.error("commission recompute %s: %s", run.pk, note)
            failed.append(run)
            if not retry:
                continue
            people = (run.scope or {}).get("people")
            since = (run.scope or {}).get("since")
            if isinstance(people, list):
                queue_recompute(
                    person_ids=people, reason=STALE_RUN_RETRY, since=dt.date.fromisoformat(since) if since else None
                )
            else:
                queue_recompute_open_periods()
    purge_retired_lines()
    return failed


def _stale_reason(
    run: CommissionRun, *, now: dt.datetime, lock_free: bool, sessions: dict[int, dt.datetime | None]
) -> str | None:
    pid = (run.stats or {}).get("backend_pid")
    if pid:
        # Gone, or its number now taken by a session that started after the run (a start hidden from this
        # database user reads as None: the session is taken to be the run's).
        session_start = sessions.get(int(pid))
        if int(pid) not in sessions or (session_start is not None and session_start > run.started_at):
            return "its worker died: the database session that ran it has ended"
    elif lock_free and int((run.stats or {}).get("shards") or 1) <= 1:
        # (A run sharded on Celery holds no lock while its shards compute: only its age tells.)
        return "its worker died: no recompute holds the recompute lock"
    if now - run.started_at > STALE_RUN_MAX_AGE:
        return f"still running after {int(STALE_RUN_MAX_AGE.total_seconds() // 60)} minutes, past the hard time limit"
    return None


def nightly_reach_back() -> dt.date | None:
    """How far back the nightly run reaches: to the earliest date touched by deal changes since the last
    nightly run started (a change whose own run expired or failed is caught up, locked earlier years included)."""
    from pipeline.selectors import earliest_commission_date_changed_since

    last = (
        CommissionRun.objects.filter(triggered_by="nightly", status=CommissionRun.Status.DONE)
        .order_by("-started_at")
        .first()
    )
    if last is None:
        return None
    # History ids past the last run's watermarks, or stamped up to an hour before it started (a change is
    # stamped, and given its id, before its transaction commits: a long import may commit late).
    moment = last.started_at - dt.timedelta(hours=NIGHTLY_OVERLAP_HOURS)
    dates = [
        earliest_commission_date_changed_since(last.scope.get("changes_through"), moment),
        _earliest_setup_date_changed_since(last.scope.get("audit_through"), moment),
    ]
    return min((d for d in dates if d is not None), default=None)


def _earliest_setup_date_changed_since(after_id: int | None, moment: dt.datetime) -> dt.date | None:
    """The earliest date touched by plan versions, assignments and quotas changed since (their audit rows):
    effective dates, assignment starts and ends (old and new), a quota's period start."""
    from salesops.org.models import AuditEvent

    recent = Q(at__gte=moment) | (Q(id__gt=after_id) if after_id is not None else Q(pk__in=[]))
    events = AuditEvent.objects.filter(recent, entity__in=["incentives.compplanversion", "incentives.planassignment",
                                                           "incentives.quota"])  # fmt: skip
    dates: list[dt.date] = []
    quota_ids: list[int] = []
    for entity, entity_id, changes in events.values_list("entity", "entity_id", "changes"):
        if entity == "incentives.quota":
            quota_ids.append(int(entity_id))
            continue
        for field in ("effective_from", "start", "end"):
            for value in (changes or {}).get(field) or ():
                if isinstance(value, str) and len(value) == 10:
                    try:
                        dates.append(dt.date.fromisoformat(value))
                    except ValueError:
                        continue
    if quota_ids:
        dates += Quota.objects.filter(pk__in=quota_ids).values_list("period__start", flat=True)
    return min(dates, default=None)


NIGHTLY_OVERLAP_HOURS = 1


def _stored_payouts(loaded: _Loaded, write_ids: set[int] | None) -> dict[tuple[int, int], Payout]:
    """The stored payouts a run may replace: open periods inside the window, of the people written."""
    scope = Q(period__is_locked=False)
    if loaded.window_start:
        scope &= Q(period__end__gte=loaded.window_start)
    if write_ids is not None:
        scope &= Q(person_id__in=write_ids)
    return {(p.person_id, p.period_id): p for p in Payout.objects.filter(scope)}


class _Statement(NamedTuple):
    """One person-period as computed: the engine's result without its lines, how many lines it has, their
    digest, and the key its lines were filed under when they differ from what is stored (else None)."""

    result: engine.PersonPeriodResult
    lines: int
    digest: str
    key: int | None = None


def _new_keys(count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('incentives_lines_key_seq') FROM generate_series(1, %s)", [count])
        return [int(k) for (k,) in cursor.fetchall()]


class _LinesFiler:
    """Files statements' lines under new keys while the run formats them, in the caller's transaction: one
    COPY stays open, so Postgres stores a statement's lines (on another core) while Python computes the
    next. Nobody sees these lines until a payout points at their key (`_write`).

    Keys are drawn for every statement up front (the COPY's check wants them filed before it ends); the
    ones not used (statements unchanged) are dropped when the COPY closes."""

    COLUMNS = ("payout_id, component, deal_id, deal_key, credited_person_id, split_percent, is_overlay, "
               "credit_date, credit, amount, trace")  # fmt: skip

    def __init__(self, run_id: int, shard: int | None, count: int) -> None:
        self.keys = _new_keys(count)
        self.used: list[int] = []
        self.ms = 0
        if self.keys:
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO incentives_lineset (id, run_id, shard, retired, created_at) "
                    "SELECT k, %s, %s, false, now() FROM unnest(%s::bigint[]) AS k",
                    [run_id, shard, self.keys],
                )
        self._cursor = connection.cursor()
        raw = self._cursor.cursor
        # The queued writer sends from its own thread (libpq releases the GIL), so formatting and sending overlap.
        self._copy_cm = raw.copy(
            f"COPY incentives_statementline ({self.COLUMNS}) FROM STDIN", writer=QueuedLibpqWriter(raw)
        )
        self._copy = self._copy_cm.__enter__()

    def file(self, text: str) -> int:
        key = self.keys[len(self.used)]
        self.used.append(key)
        if text:
            self._copy.write(_with_payout_id(key, text))
        return key

    def close(self, error: BaseException | None = None) -> None:
        started = time.perf_counter()
        self._copy_cm.__exit__(type(error) if error else None, error, None)
        self._cursor.close()
        if error is None:
            unused = self.keys[len(self.used) :]
            if unused:
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM incentives_lineset WHERE id = ANY(%s::bigint[])", [unused])
        self.ms = round((time.perf_counter() - started) * 1000)


def _retire(keys: Iterable[int]) -> None:
    """Retire these lines keys (their lines go in `purge_retired_lines`); a key nobody filed gets a row."""
    keys = sorted(set(keys))
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incentives_lineset (id, retired, created_at) SELECT k, true, now() "
            "FROM unnest(%s::bigint[]) AS k ON CONFLICT (id) DO UPDATE SET retired = true",
            [keys],
        )


PURGE_BATCH = 2000  # keys per DELETE: a fiscal year's statements are about 8,000


def purge_retired_lines() -> int:
    """Delete the lines of retired keys (and the keys), a batch per transaction; how many keys went. Safe at
    any time: a retired key is never pointed at again."""
    purged = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM incentives_lineset WHERE id IN (SELECT id FROM incentives_lineset WHERE retired "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)",
                [PURGE_BATCH],
            )
            count = cursor.rowcount
        purged += count
        if count < PURGE_BATCH:
            return purged


def _compute(
    data: engine.EngineInput,
    loaded: _Loaded,
    write_ids: set[int] | None,
    existing: dict[tuple[int, int], Payout],
    *,
    run_id: int,
    shard: int | None = None,
) -> tuple[list[_Statement], list[engine.EngineError], int]:
    """Run the engine for the people written (a shard's share, in a sharded run), format their statements and
    file the lines of those that differ from what is stored (`_LinesFiler`); also how many milliseconds the
    COPY took to finish after the last statement was formatted."""
    labels = dict(Period.objects.values_list("id", "label"))
    stored = {(str(person_id), labels[period_id]): p.lines_digest for (person_id, period_id), p in existing.items()}
    window = loaded.window_start
    keys = frozenset(p.key for p in data.people if write_ids is None or int(p.key) in write_ids)
    formatter = _LineFormatter()
    statements: list[_Statement] = []
    with engine.prepare(data, lines=True) as prepared:
        result = prepared.finish(keys)
        filer = _LinesFiler(run_id, shard, len(result.results))
        try:
            for r in result.results:
                if window is not None and r.period_end < window:
                    continue  # before the window: not recomputed (and its stored rows are not in `existing`)
                _check_fits(r)
                bare = dataclasses.replace(r, lines=())
                if r.locked:
                    statements.append(_Statement(bare, len(r.lines), ""))
                    continue
                text = formatter.statement(r.lines)
                digest = _digest(text)
                same = stored.get((r.person, r.period)) == digest
                statements.append(_Statement(bare, len(r.lines), digest, None if same else filer.file(text)))
        except BaseException as exc:
            filer.close(exc)
            raise
        filer.close()
        errors = list(result.errors)
    statements.sort(key=lambda s: (s.result.person, s.result.period_start))
    errors.sort(key=lambda e: (e.person, e.period))
    return statements, errors, filer.ms


# What the stored columns hold: amounts have 14 digits (2 of them cents), attainment 20 (4 decimals); a line adds
# to its component's amount, so the amounts are checked, not each line (a credit is a deal's share). A result
# beyond them (a quota of a few cents, say) fails the run naming the person and period, before anything is
# written, instead of an error from the database that names nobody.
MONEY_LIMIT = Decimal(10) ** 12
ATTAINMENT_LIMIT = Decimal(10) ** 16


class ResultOutOfRange(ValueError):
    """A person-period's result does not fit the stored columns. Raised while the lines' COPY is open, so it
    names the person by id; `described()` (after the COPY) names them as people know them."""

    def __init__(self, person: str, period: str, what: str, value: Decimal) -> None:
        super().__init__(f"person {person}, {period}: the {what} {value:,} is too large to store")
        self.person, self.period, self.what, self.value = person, period, what, value

    def described(self) -> str:
        who = User.objects.filter(pk=int(self.person)).first()
        return (
            f"{who.display_name if who else f'person {self.person}'}, {self.period}: the {self.what} {self.value:,} "
            f"is too large to store (amounts below {MONEY_LIMIT:,}): check this person's quota and plan for the "
            "period."
        )


def _check_fits(r: engine.PersonPeriodResult) -> None:
    amounts = {"quota": r.quota, "credited": r.credited, "earned": r.earned, "payout": r.payout,
               "draw balance": r.draw_balance, **{f"component {k}": v for k, v in r.components.items()}}  # fmt: skip
    for what, value in amounts.items():
        if value is not None and abs(value) >= MONEY_LIMIT:
            raise ResultOutOfRange(r.person, r.period, what, value)
    if r.attainment is not None and abs(r.attainment) >= ATTAINMENT_LIMIT:
        raise ResultOutOfRange(r.person, r.period, "attainment", r.attainment)


def _write(
    run: CommissionRun, loaded: _Loaded, statements: list[_Statement], existing: dict[tuple[int, int], Payout]
) -> dict[str, int]:
    started = time.perf_counter()
    locked_people = {int(s.result.person) for s in statements if s.result.locked}
    locked_stored = {
        (p.person_id, p.period_id): p
        for p in Payout.objects.filter(period__is_locked=True, person_id__in=locked_people)
    }

    adjusted_rows: set[tuple[int, int]] = set()  # person-periods given an adjustment by this run
    earlier = _locked_bookings(statements)
    adjustments = _reverse_reopened(run, statements, earlier, adjusted_rows)
    to_create: list[Payout] = []
    to_update: list[Payout] = []
    replaced: list[int] = []  # the lines keys of statements whose lines are replaced
    keep: set[tuple[int, int]] = set()
    counts = {"lines": 0, "written": 0, "statements": 0}
    now = timezone.now()
    for statement in statements:
        r = statement.result
        if r.locked:
            adjustments += _book_locked_difference(run, loaded, r, locked_stored, earlier, adjusted_rows) is not None
            continue
        period = _period(loaded, r)
        version = loaded.versions.get(r.plan)
        values: dict[str, Any] = {
            "run": run, "plan_version": version, "quota": r.quota, "credited": r.credited,
            "attainment": r.attainment, "components": {k: str(v) for k, v in r.components.items()},
            "earned": r.earned, "draw_balance": r.draw_balance, "payout": r.payout, "computed_at": now,
            "lines_digest": statement.digest, "currency": loaded.currency,
        }  # fmt: skip
        if statement.key is not None:
            values["lines_key"] = statement.key
        key = (int(r.person), period.pk)
        keep.add(key)
        payout = existing.get(key)
        if payout is None:
            payout = Payout(person_id=key[0], period=period, **values)
            to_create.append(payout)
        elif statement.key is not None or _differs(payout, values):
            if statement.key is not None:
                replaced.append(payout.lines_key)
            for name, value in values.items():
                setattr(payout, name, value)
            to_update.append(payout)
        # else: the same numbers and lines as stored; the row keeps its run and computed_at (when last written)
        counts["lines"] += statement.lines
        if statement.key is not None:
            counts["written"] += statement.lines
            counts["statements"] += 1

    # Stale payouts (nothing computed for them any more) go, or, when disputed or adjusted, stay at zero
    # without lines (a dispute still points somewhere; the adjustments are still paid through the row).
    stale = [p for k, p in existing.items() if k not in keep]
    disputed = set(Dispute.objects.filter(payout__in=[p.pk for p in stale]).values_list("payout_id", flat=True))
    stale_people, stale_periods = {p.person_id for p in stale}, {p.period_id for p in stale}
    adjusted = set(
        Adjustment.objects.filter(person_id__in=stale_people, period_id__in=stale_periods)
        .values_list("person_id", "period_id")
        .distinct()
    )
    disputed |= {p.pk for p in stale if (p.person_id, p.period_id) in adjusted}
    Payout.objects.filter(pk__in=[p.pk for p in stale if p.pk not in disputed]).delete()  # lines go with them
    emptied = [p for p in stale if p.pk in disputed]
    for p, empty_key in zip(emptied, _new_keys(len(emptied)), strict=True):
        replaced.append(p.lines_key)
        p.credited = p.earned = p.payout = p.attainment = Decimal(0)
        p.components, p.run, p.lines_digest, p.lines_key = {}, run, "", empty_key
        to_update.append(p)
    _insert_payouts(to_create)
    fields = ["run", "plan_version", "quota", "credited", "attainment", "components", "earned", "draw_balance",
              "payout", "computed_at", "lines_digest", "currency", "lines_key"]  # fmt: skip
    _update_payouts(to_update, fields)
    from incentives.services import payout_row_for_adjustments

    missing = sorted(adjusted_rows - keep - existing.keys())
    periods = Period.objects.in_bulk({period_id for _, period_id in missing})
    for person_id, period_id in missing:
        payout_row_for_adjustments(person_id, periods[period_id])

    payouts_at = time.perf_counter()
    if replaced:
        with connection.cursor() as cursor:
            # Each dispute on a replaced statement's line follows to the same deal's line of the same component
            # in the new statement (none if the credit is gone); disputes keep their deal key.
            cursor.execute(
                "UPDATE incentives_dispute d SET line_id = (SELECT l.id FROM incentives_statementline l "
                "JOIN incentives_payout p ON p.lines_key = l.payout_id WHERE p.id = d.payout_id "
                "AND l.deal_key = d.deal_key AND l.component = o.component ORDER BY l.id LIMIT 1) "
                "FROM incentives_statementline o WHERE o.id = d.line_id AND o.payout_id = ANY(%s::bigint[])",
                [replaced],
            )
        _retire(replaced)
    done = time.perf_counter()
    return {"payouts": len(keep), "payouts_written": len(to_create) + len(to_update), "lines": counts["lines"],
            "lines_written": counts["written"],
            "statements_written": counts["statements"], "adjustments": adjustments,
            "payouts_ms": round((payouts_at - started) * 1000),
            "retire_ms": round((done - payouts_at) * 1000)}  # fmt: skip


def _differs(payout: Payout, values: dict[str, Any]) -> bool:
    """Whether a stored payout's numbers differ from a recompute's (its run and computed_at aside)."""
    for name, value in values.items():
        if name in ("run", "computed_at"):
            continue
        stored = payout.plan_version_id if name == "plan_version" else getattr(payout, name)
        if (value.pk if name == "plan_version" and value is not None else value) != stored:
            return True
    return False


def _copy_payouts(cursor: Any, table: str, payouts: list[Payout], fields: list[Any]) -> None:
    """COPY these fields of the payouts into `table` (JSON fields as JSON text)."""
    columns = ", ".join(f.column for f in fields)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for payout in payouts:
            copy.write_row(
                [json.dumps(value) if isinstance(value, dict) else value
                 for value in (getattr(payout, f.attname) for f in fields)]
            )  # fmt: skip


def _insert_payouts(payouts: list[Payout]) -> None:
    """Insert new payouts by COPY, their ids drawn from the table's sequence first: bulk_create's INSERTs
    took seconds for a fiscal year's 8,000 payouts."""
    if not payouts:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('incentives_payout', 'id')) FROM generate_series(1, %s)",
            [len(payouts)],
        )
        for payout, (pk,) in zip(payouts, cursor.fetchall(), strict=True):
            payout.pk = pk
            payout._state.adding, payout._state.db = False, connection.alias
        keyless = [p for p in payouts if not isinstance(p.lines_key, int)]  # no lines filed: an empty statement
        for payout, key in zip(keyless, _new_keys(len(keyless)), strict=True):
            payout.lines_key = key
        _copy_payouts(cursor, "incentives_payout", payouts, list(Payout._meta.concrete_fields))


def _update_payouts(payouts: list[Payout], names: list[str]) -> None:
    """bulk_update's CASE WHEN per field and row costs seconds at thousands of rows: COPY the new values into a
    temporary table and update from it in one statement."""
    if not payouts:
        return
    fields: list[Any] = [Payout._meta.get_field(name) for name in ["id", *names]]
    columns = [str(f.column) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS incentives_payout_new")
        cursor.execute(
            f"CREATE TEMP TABLE incentives_payout_new ON COMMIT DROP AS "
            f"SELECT {', '.join(columns)} FROM incentives_payout WITH NO DATA"
        )
        _copy_payouts(cursor, "incentives_payout_new", payouts, fields)
        assignments = ", ".join(f"{c} = n.{c}" for c in columns[1:])
        cursor.execute(f"UPDATE incentives_payout p SET {assignments} FROM incentives_payout_new n WHERE p.id = n.id")


def _errors_in_scope(
    errors: Iterable[engine.EngineError], loaded: _Loaded, write_ids: set[int] | None
) -> list[engine.EngineError]:
    """Errors of the people written, in periods inside the window (a deal closed before the window and
    cancelled inside it credits a period before it, which the window does not recompute)."""

    def inside(label: str) -> bool:
        if loaded.window_start is None or loaded.calendar is None:
            return True
        try:
            return loaded.calendar.parse(label).end >= loaded.window_start
        except (ValueError, engine.EngineInputError):
            return dt.date.fromisoformat(label) >= loaded.window_start

    return [e for e in errors if (write_ids is None or int(e.person) in write_ids) and inside(e.period)]
