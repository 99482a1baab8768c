"""Reads of forecasting: periods, the tree, deal sums by credited person (one GROUP BY), quotas, calls, the
grid, its drill-downs, trend, waterfall and accuracy. Scoped by the org's one rule (`visible_people_q`).

Deal sums are read with SQL over the pipeline's published views (deals and their credits): one aggregate per
period instead of a queryset per person (the issue's rule).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from django.db import connection
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from forecasting import math as fm
from forecasting.models import (
    NUMBERS_FIELDS,
    DealSnapshot,
    ForecastAdjustment,
    ForecastSubmission,
    Rollup,
    RollupSnapshot,
    StageWinRate,
    TimeSeriesForecast,
)
from incentives import selectors as incentives_selectors
from pipeline import selectors as pipeline_selectors
from pipeline.selectors import DealStatus
from salesops.api import DomainError
from salesops.kernel import trees
from salesops.kernel.fiscal import PeriodSpan, period_label, span_of
from salesops.kernel.ids import is_id
from salesops.limits import parse_period
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar, sees_everyone, subtree_ids, visible_people_q

NUMBERS = NUMBERS_FIELDS


# ------------------------------------------------------------------------------------------------ periods
def fiscal_start_month() -> int:
    return fiscal_calendar().fiscal_year_start_month


def period_span(label: str) -> PeriodSpan:
    """A period label from a request (pages and API alike); DomainError (400) naming it when malformed."""
    try:
        return parse_period(label, fiscal_start_month())
    except ValueError as exc:
        raise DomainError(str(exc), field="period") from exc


def current_period(kind: str = "quarter", today: dt.date | None = None) -> str:
    return period_label(today or timezone.localdate(), kind, fiscal_start_month())


def refreshed_periods(today: dt.date) -> list[str]:
    """The periods the scheduled refresh keeps current: this and next month, this and next quarter."""
    start = fiscal_start_month()
    month = span_of(period_label(today, "month", start), start)
    quarter = span_of(period_label(today, "quarter", start), start)
    nxt = dt.timedelta(days=1)
    return [month.label, period_label(month.end + nxt, "month", start), quarter.label,
            period_label(quarter.end + nxt, "quarter", start)]  # fmt: skip


def period_choices(today: dt.date | None = None, back: int = 6, ahead: int = 2) -> list[str]:
    """Quarters and months around today, for the period picker (newest first)."""
    today = today or timezone.localdate()
    start = fiscal_start_month()
    labels: list[str] = []
    for kind, step_days in (("quarter", 92), ("month", 31)):
        day = today + dt.timedelta(days=step_days * ahead)
        for _ in range(back + ahead + 1):
            label = period_label(day, kind, start)
            if label not in labels:
                labels.append(label)
            day = span_of(label, start).start - dt.timedelta(days=1)
    return labels


def period_is_closed(label: str, today: dt.date | None = None) -> bool:
    """Closed for calls: it ended before today, or incentives locked it, or (a month) the quarter holding it.

    A locked quarter freezes the bookings of its months as well (no deal dated in it is won or leaves won any
    more, pipeline.services), so a call for one of its months would forecast numbers that no longer change."""
    today = today or timezone.localdate()
    span = period_span(label)
    if span.end < today:
        return True
    if span.kind == "month":  # the month itself or its quarter: every locked period holding its first day holds it
        return incentives_selectors.locked_period_holding(span.start) is not None
    return incentives_selectors.period_is_locked(span.label)


# --------------------------------------------------------------------------------------------------- tree
def tree() -> dict[int, int | None]:
    """Every person's manager: the reports-to tree in one query."""
    return dict(User.objects.values_list("id", "manager_id"))


def subtree_of(parents: dict[int, int | None], root: int) -> dict[int, int | None]:
    """The part of the tree under `root` (root's own manager cut off)."""
    return trees.subtree_parents(parents, root)


def sees_reports(user: Any) -> bool:
    """Whether the user's forecast views list the rows of the people below: a rep sees their own row only, even
    if someone happens to report to them (roles.md); the manager role, finance and sales ops see the rows."""
    return bool(sees_everyone(user) or user.is_manager)


def own_only(user: Any, person: User) -> bool:
    """Whether the user sees only the person's own numbers where the person's rollup covers people below: a
    rep who happens to have someone reporting to them (roles.md: a rep sees their own data only)."""
    return not sees_reports(user) and any(parent == person.pk for parent in tree().values())


def person_for_read(user: Any, pk: Any) -> User:
    """A person the user may see, else 404 (roles.md). Only digits are an id: int() would read "1_0" as 10."""
    if not is_id(pk):
        raise Http404("No such person")
    try:
        return User.objects.select_related("manager").get(visible_people_q(user), pk=int(pk))
    except User.DoesNotExist as exc:
        raise Http404("No such person") from exc


def default_person(user: User) -> User:
    """Whose grid a user opens first: their own; finance and sales ops outside the tree open the top."""
    if sees_everyone(user) and not (user.is_manager or user.is_rep):
        top = User.objects.filter(manager__isnull=True, direct_reports__isnull=False).distinct().order_by("id").first()
        if top is not None:
            return top
    return user


def breadcrumbs(user: User, person: User) -> list[User]:
    """From the highest person the user may see down to `person`."""
    visible = None if sees_everyone(user) else (set(subtree_ids(user)) if user.is_manager else {user.pk})
    above: list[int] = []  # the managers shown, nearest first
    for pid in trees.reporting_line(tree(), person.pk)[1:]:
        if visible is not None and pid not in visible:
            break
        above.append(pid)
    managers = User.objects.in_bulk(above)
    return [*(managers[pid] for pid in reversed(above)), person]


# ---------------------------------------------------------------------------------------------- deal sums
# The deals credited to each person (forecasting.md: the rollup is over the deals credited to the subtree), by the
# pipeline's crediting rule (pipeline_deal_credit_feed: the revenue splits, else the owner at 100 %; overlays credit
# nobody here): each credit counts its share of the deal's amount, so a split deal adds up to its amount once.
OWN_GROUPS_SQL = """
    SELECT d.person_id, d.forecast_category AS category, d.status, d.stage_id,
           CASE WHEN d.status <> 'open' THEN 0
                WHEN %(now)s - d.stage_entered_at >= interval '90 days' THEN 90
                WHEN %(now)s - d.stage_entered_at >= interval '30 days' THEN 30 ELSE 0 END AS band,
           d.stage_probability,
           SUM(COALESCE(d.amount, 0) * d.share / 100),
           SUM(COALESCE(d.amount, 0) * d.share / 100 * d.probability / 100)
    FROM pipeline_deal_credit_feed d
    WHERE d.close_date BETWEEN %(first)s AND %(last)s AND d.status IN ('open', 'won') {owners}
    GROUP BY 1, 2, 3, 4, 5, 6
"""


@dataclass(frozen=True)
class OwnGroup:
    owner_id: int  # the credited person (the owner, unless the deal has revenue splits)
    category: str
    status: str
    stage_id: int
    band: int
    stage_probability: Decimal
    amount: Decimal
    weighted: Decimal


def own_groups(span: PeriodSpan, *, now: dt.datetime, owner_ids: Iterable[int] | None = None) -> list[OwnGroup]:
    owners = ""
    params: dict[str, Any] = {"now": now, "first": span.start, "last": span.end}
    if owner_ids is not None:
        owners = "AND d.person_id = ANY(%(owners)s)"
        params["owners"] = sorted(owner_ids)
    with connection.cursor() as cursor:
        cursor.execute(OWN_GROUPS_SQL.format(owners=owners), params)
        return [OwnGroup(*row) for row in cursor.fetchall()]


def bucket(status: str, category: str) -> str | None:
    """The own number a credited deal adds its amount to (forecasting.md): `closed` when won, else its open
    category (`pipeline` for any other); None for a lost deal. The grid's numbers and the deals behind each
    number both classify with this."""
    if status == DealStatus.WON:
        return "closed"
    if status != DealStatus.OPEN:
        return None
    return category if category in ("commit", "best_case") else "pipeline"


def own_from_groups(groups: Iterable[OwnGroup], rates: fm.WinRates) -> dict[int, fm.Own]:
    """Per owner: closed (won), open amounts by category, Σ open amount × probability and × p̂."""
    own: dict[int, fm.Own] = defaultdict(fm.Own)
    with localcontext(fm.SUM_CONTEXT):  # a sum wider than Python's default 28 digits (forecasting.models)
        for g in groups:
            mine, kind = own[g.owner_id], bucket(g.status, g.category)
            if kind is None:
                continue
            setattr(mine, kind, getattr(mine, kind) + g.amount)
            if kind == "closed":
                continue
            mine.weighted_open += g.weighted
            mine.model_open += g.amount * rates.rate(g.stage_id, g.band, g.stage_probability)
    return dict(own)


def own_numbers(label: str, owner_ids: Iterable[int], *, now: dt.datetime | None = None) -> fm.Own:
    """Σ over the deals credited to these people with close date in the period: closed (won) and the open amounts by
    forecast category, as the grid's own numbers add them up (live, not from the stored rollups)."""
    groups = own_groups(period_span(label), now=now or timezone.now(), owner_ids=owner_ids)
    total = fm.Own()
    for own in own_from_groups(groups, fm.WinRates({}, {})).values():
        total.add(own)
    return total


def win_rates() -> fm.WinRates:
    return fm.learn_win_rates(
        StageWinRate.objects.values_list("stage_id", "band_days", "deals", "won"), min_deals=fm.MIN_DEALS
    )


def quotas_for(span: PeriodSpan) -> dict[int, Decimal]:
    """Bookings quotas of the period; for a quarter without its own row, the sum of its months' rows."""
    quotas = dict(incentives_selectors.bookings_quotas_of_period(span.label))
    if span.kind == "quarter":
        months: dict[int, Decimal] = defaultdict(Decimal)
        for person_id, amount in incentives_selectors.bookings_quotas_of_months_within(span.start, span.end):
            months[person_id] += amount
        for person_id, amount in months.items():
            quotas.setdefault(person_id, amount)
    return quotas


def latest_calls(period: str, *, person_ids: Iterable[int] | None = None, at: dt.datetime | None = None
                 ) -> dict[int, ForecastSubmission]:  # fmt: skip
    calls = ForecastSubmission.objects.filter(period=period)
    if person_ids is not None:
        calls = calls.filter(person_id__in=list(person_ids))
    if at is not None:
        calls = calls.filter(created_at__lte=at)
    latest = calls.order_by("person_id", "-created_at", "-id").distinct("person_id")
    return {c.person_id: c for c in latest}


def latest_adjustments(period: str, parents: dict[int, int | None], *, at: dt.datetime | None = None
                       ) -> dict[int, ForecastAdjustment]:  # fmt: skip
    """Each person's latest adjustment by their current manager (an earlier manager's no longer counts)."""
    rows = ForecastAdjustment.objects.filter(period=period, person_id__in=list(parents)).select_related("manager")
    if at is not None:
        rows = rows.filter(created_at__lte=at)
    latest = rows.order_by("person_id", "manager_id", "-created_at", "-id").distinct("person_id", "manager_id")
    return {a.person_id: a for a in latest if parents.get(a.person_id) == a.manager_id}


def as_calls(rows: dict[int, Any]) -> dict[int, fm.Call]:
    return {pid: fm.Call(r.commit, r.best_case) for pid, r in rows.items()}


# ------------------------------------------------------------------------------------------------- the grid
@dataclass
class GridRow:
    person: User
    rollup: Rollup
    is_self: bool
    reports: int
    call: ForecastSubmission | None = None
    adjustment: ForecastAdjustment | None = None
    call_commit: Decimal = fm.ZERO
    call_best_case: Decimal = fm.ZERO

    @property
    def commit_forecast(self) -> Decimal:
        return fm.total(self.rollup.closed, self.rollup.commit)

    @property
    def best_case_forecast(self) -> Decimal:
        return fm.total(self.rollup.closed, self.rollup.commit, self.rollup.best_case)

    @property
    def open_pipeline(self) -> Decimal:
        return fm.total(self.rollup.commit, self.rollup.best_case, self.rollup.pipeline)

    @property
    def attainment(self) -> Decimal | None:
        return fm.attainment(self.rollup.closed, self.rollup.quota)

    @property
    def coverage(self) -> Decimal | None:
        return fm.coverage(self.open_pipeline, self.rollup.quota, self.rollup.closed)


@dataclass
class Grid:
    person: User
    period: PeriodSpan
    rows: list[GridRow]
    computed_at: dt.datetime | None
    closed: bool
    ts_model: str = ""
    children: dict[int, int] = field(default_factory=dict)
    # False when the period's rollups were computed for this read because none were stored: the caller queues
    # the refresh that stores them (and keeps them fresh from then on: docs/forecasting.md, Freshness).
    stored: bool = True


def booking_shares(parents: dict[int, int | None], *, before: dt.date) -> dict[int, Decimal]:
    """Each person's subtree share of the company's won bookings in the 12 months before `before`: how the
    company's time-series forecast is split top-down (the 'average historical proportions' method)."""
    first = dt.date(before.year - 1, before.month, 1)
    span = PeriodSpan("trailing", "month", first.year, first, before - dt.timedelta(days=1))
    groups = own_groups(span, now=timezone.now())
    own = own_from_groups((g for g in groups if g.status == "won"), fm.WinRates({}, {}))
    total = sum((o.closed for o in own.values()), fm.ZERO)
    if total <= 0:
        return {}
    rows = fm.rollup_tree(parents=parents, own=own, quotas={})
    return {pid: row.closed / total for pid, row in rows.items()}


def compose_rollups(
    *, label: str, parents: dict[int, int | None], own: dict[int, fm.Own], quotas: dict[int, Decimal],
    calls: dict[int, fm.Call], adjustments: dict[int, fm.Call], ts_total: tuple[Decimal, Decimal, Decimal] | None,
    shares: dict[int, Decimal], computed_at: dt.datetime,
) -> list[Rollup]:  # fmt: skip
    """Rollup rows (unsaved) of everyone for one period, from plain inputs (the demo's backdated snapshots
    use it with reconstructed deals)."""
    rows = fm.rollup_tree(parents=parents, own=own, quotas=quotas, calls=calls, adjustments=adjustments)
    out = []
    for pid, r in rows.items():
        share = shares.get(pid)
        point = low = high = None
        if ts_total is not None and share is not None:
            point, low, high = (fm.money(v * share) for v in ts_total)
        out.append(
            Rollup(
                person_id=pid, period=label, closed=fm.money(r.closed), commit=fm.money(r.commit),
                best_case=fm.money(r.best_case), pipeline=fm.money(r.pipeline), weighted=fm.money(r.weighted),
                pipeline_model=fm.money(r.pipeline_model), quota=None if r.quota is None else fm.money(r.quota),
                own_closed=fm.money(r.own_closed), own_commit=fm.money(r.own_commit),
                own_best_case=fm.money(r.own_best_case), call_commit=fm.money(r.call_commit),
                call_best_case=fm.money(r.call_best_case), ts_point=point, ts_low=low, ts_high=high,
                computed_at=computed_at,
            )
        )  # fmt: skip
    return out


def ts_total_for(label: str, on: dt.date) -> tuple[Decimal, Decimal, Decimal] | None:
    found = TimeSeriesForecast.objects.filter(period=label, as_of__lte=on).order_by("-as_of").first()
    return (found.point, found.low, found.high) if found else None


def rollup_rows(label: str, *, now: dt.datetime) -> list[Rollup]:
    """Everyone's rollups of one period computed from the deals, quotas, calls and adjustments as they are now,
    unsaved: what `services.rollup_refresh` stores, and what the grid shows where nothing is stored yet."""
    span = period_span(label)
    parents = tree()
    own = own_from_groups(own_groups(span, now=now), win_rates())
    today = timezone.localdate(now)
    return compose_rollups(
        label=label, parents=parents, own=own, quotas=quotas_for(span), calls=as_calls(latest_calls(label)),
        adjustments=as_calls(latest_adjustments(label, parents)), ts_total=ts_total_for(label, today),
        shares=booking_shares(parents, before=today.replace(day=1)), computed_at=now,
    )  # fmt: skip


def rollups_for(period: str, person_ids: list[int]) -> dict[int, Rollup]:
    return {r.person_id: r for r in Rollup.objects.filter(period=period, person_id__in=person_ids)}


def grid(user: User, person: User, label: str) -> Grid:
    """The person's row and one per direct report. Deal numbers come from the stored rollups (computed now
    when the period has none); the call chain is recomputed live from the stored own numbers, so a call
    shows at once."""
    span = period_span(label)
    parents = tree()
    sub = subtree_of(parents, person.pk)
    direct = [pid for pid, parent in sub.items() if parent == person.pk] if sees_reports(user) else []
    if own_only(user, person):
        # A rep sees their own numbers only, even with someone reporting to them (roles.md): their row is
        # computed from their own deals, not read from the stored rollup of their subtree.
        sub, now = {person.pk: None}, timezone.now()
        own_deals = own_from_groups(own_groups(span, now=now, owner_ids=[person.pk]), win_rates())
        alone = compose_rollups(
            label=label, parents=sub, own=own_deals, quotas={p: q for p, q in quotas_for(span).items() if p in sub},
            calls=as_calls(latest_calls(label, person_ids=sub)), adjustments={}, ts_total=None, shares={},
            computed_at=now,
        )  # fmt: skip
        stored = {row.person_id: row for row in alone}
    else:
        stored = rollups_for(label, list(sub))
    live = len(stored) < len(sub)
    if live:
        # Nothing stored yet for someone here (a period nobody opened, a person added since the last refresh):
        # the rows are computed now and shown, not stored (a read never writes); the page asks for the refresh
        # that stores them (`Grid.stored`).
        stored = {r.person_id: r for r in rollup_rows(label, now=timezone.now()) if r.person_id in sub}
    calls = latest_calls(label, person_ids=sub)
    adjustments = latest_adjustments(label, sub)
    own = {
        pid: fm.Own(closed=r.own_closed, commit=r.own_commit, best_case=r.own_best_case) for pid, r in stored.items()
    }
    chain = fm.rollup_tree(parents=sub, own=own, quotas={}, calls=as_calls(calls), adjustments=as_calls(adjustments))
    people = {u.pk: u for u in User.objects.filter(pk__in=[person.pk, *direct]).order_by("last_name", "first_name")}
    children = fm.children_of(sub)
    rows: list[GridRow] = []
    for pid in [person.pk, *sorted(direct, key=lambda p: (people[p].last_name, people[p].first_name, p))]:
        rows.append(
            GridRow(
                person=people[pid],
                rollup=stored.get(pid) or Rollup(person_id=pid, period=label),
                is_self=pid == person.pk,
                reports=len(children.get(pid, [])),
                call=calls.get(pid),
                adjustment=adjustments.get(pid) if pid != person.pk else None,
                call_commit=chain[pid].call_commit,
                call_best_case=chain[pid].call_best_case,
            )
        )
    computed = min((r.rollup.computed_at for r in rows if r.rollup.pk or live), default=None)
    ts = TimeSeriesForecast.objects.filter(period=label).order_by("-as_of").first()
    return Grid(
        person=person,
        period=span,
        rows=rows,
        computed_at=computed,
        closed=period_is_closed(label),
        ts_model=ts.model_name if ts else "",
        children={pid: len(k) for pid, k in children.items()},
        stored=not live,
    )


# ------------------------------------------------------------------------------------------- drill-downs
# Which deals each number of the grid sums: the buckets (`bucket()`) it adds up.
_OPEN = frozenset({"commit", "best_case", "pipeline"})
NUMBER_BUCKETS: dict[str, frozenset[str]] = {
    "closed": frozenset({"closed"}),
    "commit": frozenset({"closed", "commit"}),
    "best_case": frozenset({"closed", "commit", "best_case"}),
    "pipeline": _OPEN,
    "open_commit": frozenset({"commit"}),
    "open_best_case": frozenset({"best_case"}),
    "open_pipeline": frozenset({"pipeline"}),
    "weighted": _OPEN | {"closed"},
    "pipeline_model": _OPEN | {"closed"},
}
NUMBER_LABELS = {"closed": "Closed", "commit": "Commit forecast (closed + commit)",
                 "best_case": "Best-case forecast (closed + commit + best case)", "pipeline": "Open pipeline",
                 "open_commit": "Open in commit", "open_best_case": "Open in best case",
                 "open_pipeline": "Open in pipeline", "weighted": "Weighted (closed + open × probability)",
                 "pipeline_model": "Pipeline model (closed + open × learned win rate)"}  # fmt: skip

# The open and won deals credited to these people with close date in the period, with the share credited to them
# (percent: 100 unless part of a deal is credited to someone else) and the deal's status and effective category.
CREDITED_DEALS_SQL = """
    SELECT d.id, d.name, d.status, d.forecast_category, d.amount, SUM(d.share)
    FROM pipeline_deal_credit_feed d
    WHERE d.person_id = ANY(%(people)s) AND d.close_date BETWEEN %(first)s AND %(last)s
      AND d.status IN ('open', 'won')
    GROUP BY d.id, d.name, d.status, d.forecast_category, d.amount
"""


def _credited_deals(user: User, person: User, label: str, deal: int | None = None) -> list[tuple[Any, ...]]:
    """CREDITED_DEALS_SQL's rows for the person's subtree (their own credits only for a rep with someone
    reporting to them, as their grid row counts: roles.md), of one deal when `deal` is given."""
    span = period_span(label)
    people = [person.pk] if own_only(user, person) else sorted(subtree_ids(person))
    sql = CREDITED_DEALS_SQL if deal is None else CREDITED_DEALS_SQL.replace("WHERE ", "WHERE d.id = %(deal)s AND ")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"people": people, "first": span.start, "last": span.end, "deal": deal})
        return cursor.fetchall()


def credited_share(user: User, person: User, label: str, deal: int) -> Decimal | None:
    """The percent of the deal credited to the person's subtree in the period, as the deals behind a number list
    it (None when nothing of it is credited there)."""
    rows = _credited_deals(user, person, label, deal)
    return rows[0][5] if rows else None


@dataclass(frozen=True)
class CreditOnly:
    """A deal credited in part to the subtree but owned outside the viewer's scope: its name and credit only
    (roles.md: a split holder sees their credit, not the deal)."""

    pk: int
    name: str
    status: str
    credit: Decimal


@dataclass(frozen=True)
class NumberDeals:
    """The deals behind one number: those the viewer may open (`deals`, each with `category`, `share`, the
    percent credited to the subtree, and `credit`), the credits on deals they may not (`credit_only`), and how
    many there are in all (`count`; the lists hold the largest ones)."""

    deals: list[Any]
    credit_only: list[CreditOnly]
    count: int


def deals_for_number(user: User, person: User, label: str, number: str, *, limit: int = 200) -> NumberDeals:
    """The deals behind one number of the grid: those credited to the person's subtree (forecasting.md), close
    date in the period, the largest `limit` of each kind. Only what the viewer may open is shown as a deal."""
    from django.db.models import Case, CharField, F, When

    wanted = NUMBER_BUCKETS.get(number)
    if wanted is None:
        raise Http404("No such number")
    rows = [row for row in _credited_deals(user, person, label) if bucket(row[2], row[3]) in wanted]
    shares = {row[0]: row[5] for row in rows}
    category = Case(When(category_override="", then=F("stage__forecast_category")), default=F("category_override"),
                    output_field=CharField())  # fmt: skip
    visible = list(
        pipeline_selectors.deals_visible_to(user)
        .filter(pk__in=list(shares))
        .annotate(category=category)
        .select_related("owner", "account", "stage")
        .order_by(F("amount").desc(nulls_last=True), "id")
    )
    for deal in visible:
        share = shares[deal.pk]
        deal.share = share  # type: ignore[attr-defined]
        deal.credit = fm.money((deal.amount or fm.ZERO) * share / 100)  # type: ignore[attr-defined]
    seen = {deal.pk for deal in visible}
    hidden = sorted(
        (CreditOnly(pk, name, status, fm.money((amount or fm.ZERO) * share / 100))
         for pk, name, status, _, amount, share in rows if pk not in seen),
        key=lambda c: (-c.credit, c.pk),
    )  # fmt: skip
    shown = visible[:limit]
    return NumberDeals(shown, hidden[: limit - len(shown)], len(visible) + len(hidden))


# ------------------------------------------------------------------------------------------------- trend
TREND_SERIES = {
    "closed": "Closed",
    "commit_forecast": "Commit forecast",
    "best_case_forecast": "Best-case forecast",
    "open_pipeline": "Open pipeline",
    "weighted": "Weighted",
    "pipeline_model": "Pipeline model",
    "call_commit": "Called (commit)",
    "call_best_case": "Called (best case)",
    "ts_point": "Time series",
    "quota": "Quota",
}


def trend(person: User, label: str, *, own_only: bool = False) -> list[dict[str, Any]]:
    """Each number of the person's rollup as it stood on every snapshot date (oldest first).

    `own_only` (a viewer who sees the person's own numbers only, `own_only()`): the snapshots hold the person's
    subtree, so only what they keep of the person's own deals is shown (closed, the commit and best-case
    forecasts, their call chain's start); the rest is left empty rather than reveal the people below.
    The time series comes with its 80 % interval (`ts_low`, `ts_high`), as the grid shows it."""
    out = []
    snapshots = RollupSnapshot.objects.filter(person_id=person.pk, period=label).order_by("snapshot_date")
    if own_only:
        quota = quotas_for(period_span(label)).get(person.pk)
        for s in snapshots:
            own_commit = fm.total(s.own_closed, s.own_commit)
            out.append({
                "date": s.snapshot_date, "closed": s.own_closed, "commit_forecast": own_commit,
                "best_case_forecast": fm.total(own_commit, s.own_best_case), "open_pipeline": None, "weighted": None,
                "pipeline_model": None, "call_commit": own_commit,
                "call_best_case": fm.total(own_commit, s.own_best_case), "ts_point": None, "ts_low": None,
                "ts_high": None, "quota": quota, "computed_at": s.computed_at,
            })  # fmt: skip
        return out
    for s in snapshots:
        out.append({
            "date": s.snapshot_date,
            "closed": s.closed,
            "commit_forecast": fm.total(s.closed, s.commit),
            "best_case_forecast": fm.total(s.closed, s.commit, s.best_case),
            "open_pipeline": fm.total(s.commit, s.best_case, s.pipeline),
            "weighted": s.weighted,
            "pipeline_model": s.pipeline_model,
            "call_commit": s.call_commit,
            "call_best_case": s.call_best_case,
            "ts_point": s.ts_point,
            "ts_low": s.ts_low,
            "ts_high": s.ts_high,
            "quota": s.quota,
            "computed_at": s.computed_at,
        })  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------- waterfall
def snapshot_dates(limit: int = 400) -> list[dt.date]:
    dates = RollupSnapshot.objects.values_list("snapshot_date", flat=True).distinct().order_by("-snapshot_date")
    deal_dates = DealSnapshot.objects.aggregate(last=Max("snapshot_date"))["last"]
    found = list(dates[:limit])
    if deal_dates and deal_dates not in found:
        found.insert(0, deal_dates)
    return sorted(found)


def deal_snapshot_dates() -> list[dt.date]:
    with connection.cursor() as cursor:
        # A loose index scan: the distinct dates of a large table without reading every row.
        cursor.execute(
            """
            WITH RECURSIVE d(day) AS (
                SELECT MIN(snapshot_date) FROM forecasting_dealsnapshot
                UNION ALL
                SELECT (SELECT MIN(snapshot_date) FROM forecasting_dealsnapshot WHERE snapshot_date > d.day)
                FROM d WHERE d.day IS NOT NULL
            )
            SELECT day FROM d WHERE day IS NOT NULL
            """
        )
        return [row[0] for row in cursor.fetchall()]


WATERFALL_SQL = """
    WITH scope AS (SELECT unnest(%(owners)s::bigint[]) AS id),
    ids AS (
        SELECT deal_id FROM forecasting_dealsnapshot
        WHERE snapshot_date = %(t0)s AND close_date BETWEEN %(first)s AND %(last)s {scope}
        UNION
        SELECT deal_id FROM forecasting_dealsnapshot
        WHERE snapshot_date = %(t1)s AND close_date BETWEEN %(first)s AND %(last)s {scope}
    ),
    joined AS MATERIALIZED (
        SELECT ids.deal_id,
               a.deal_id IS NOT NULL AS was_open, a.amount AS a0, a.close_date AS c0, {a_in} AS s0,
               b.deal_id IS NOT NULL AS is_open, b.amount AS a1, b.close_date AS c1, {b_in} AS s1
        FROM ids
        LEFT JOIN forecasting_dealsnapshot a ON a.snapshot_date = %(t0)s AND a.deal_id = ids.deal_id
        LEFT JOIN forecasting_dealsnapshot b ON b.snapshot_date = %(t1)s AND b.deal_id = ids.deal_id
    ),
    flagged AS (
        SELECT j.*, COALESCE(was_open AND is_open AND s0 AND s1 AND c0 BETWEEN %(first)s AND %(last)s
                             AND c1 BETWEEN %(first)s AND %(last)s AND a0 IS NOT DISTINCT FROM a1, FALSE) AS same
        FROM joined j
    )
    SELECT deal_id, was_open, a0, c0, s0, is_open, a1, c1, s1, NULL
    FROM flagged WHERE NOT same AND was_open AND is_open
    UNION ALL
    SELECT f.deal_id, was_open, a0, c0, s0, is_open, a1, c1, s1,
           d.status || ' ' || COALESCE(d.created_date, (d.created_at AT TIME ZONE %(tz)s)::date)::text
    FROM flagged f LEFT JOIN pipeline_deal_feed d ON d.id = f.deal_id
    WHERE NOT (was_open AND is_open)
    UNION ALL
    SELECT NULL, TRUE, SUM(COALESCE(a0, 0)), NULL, TRUE, TRUE, COUNT(*), NULL, TRUE, NULL FROM flagged WHERE same
"""


@dataclass
class WaterfallRows:
    moves: list[fm.DealMove]
    unchanged_total: Decimal
    unchanged_count: int


def waterfall_moves(person_ids: list[int] | None, span: PeriodSpan, t0: dt.date, t1: dt.date) -> WaterfallRows:
    """The deals of the waterfall, as plain data for `math.waterfall`.

    Candidates are the deals open at t0 or t1 with close date in the period and owner in scope; both sides
    of each are then looked up by (date, deal), so a deal whose close date or owner left the scope still
    shows as pushed. Deals in the period and scope at both dates with the same amount (most of them, a
    month apart) are only counted and summed in SQL: they are in start and end alike and move nothing.
    `person_ids` None means everyone. A deal open at t0 but not at t1 is won or lost as its status says now
    (its outcome at t1 unless reopened since); a deal not open at t0 was created after t0 when its created
    date (else creation day) is t0 or later (the snapshot dated t0 is taken at the start of that day), else it
    was pulled in (or reopened)."""
    # The scope as a hashed set (`IN (SELECT …)`), or, when it holds most people, as the short list of those
    # outside it: `= ANY(array)` compares element by element, slow at 2,000 owners × 90,000 rows.
    owners, test = person_ids or [], "IN"
    if person_ids is not None:
        everyone = list(User.objects.values_list("id", flat=True))
        if len(person_ids) > len(everyone) // 2:
            inside = set(person_ids)
            owners, test = [pid for pid in everyone if pid not in inside], "NOT IN"
    if person_ids is None:
        sql = WATERFALL_SQL.format(scope="", a_in="TRUE", b_in="TRUE")
    else:
        sql = WATERFALL_SQL.format(
            scope=f"AND owner_id {test} (SELECT id FROM scope)",
            a_in=f"a.owner_id {test} (SELECT id FROM scope)",
            b_in=f"b.owner_id {test} (SELECT id FROM scope)",
        )
    params: dict[str, Any] = {"owners": owners, "t0": t0, "t1": t1, "first": span.start, "last": span.end,
                              "tz": timezone.get_current_timezone_name()}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    moves = []
    unchanged_total, unchanged_count = fm.ZERO, 0
    for deal_id, was_open, a0, c0, s0, is_open, a1, c1, s1, deal in rows:
        if deal_id is None:  # the summary row of unchanged deals
            unchanged_total, unchanged_count = a0 or fm.ZERO, int(a1 or 0)
            continue
        status, _, created = (deal or "").partition(" ")
        moves.append(
            fm.DealMove(
                deal_id=deal_id,
                t0=fm.DealState(a0, c0, bool(s0)) if was_open else None,
                t1=fm.DealState(a1, c1, bool(s1)) if is_open else None,
                outcome=status if status in (DealStatus.WON, DealStatus.LOST) else None,
                # Created on t0 itself counts as created: the snapshot dated t0 is taken at the start of that day.
                created_after_t0=not was_open and bool(created) and dt.date.fromisoformat(created) >= t0,
            )
        )
    return WaterfallRows(moves, unchanged_total, unchanged_count)


def person_ids_for_scope(person: User) -> list[int] | None:
    """The person's subtree, or None (everyone) when it is the whole company (cheaper SQL)."""
    ids = sorted(subtree_ids(person))
    return None if len(ids) >= User.objects.count() else ids


# ---------------------------------------------------------------------------------------------- accuracy
SOURCES = {
    "rep_call": "Own call",
    "manager_call": "Manager's call",
    "weighted": "Weighted pipeline",
    "pipeline_model": "Pipeline model",
    "time_series": "Time series",
}


def actual_bookings(span: PeriodSpan, parents: dict[int, int | None]) -> dict[int, Decimal]:
    """Closed (won) amount with close date in the period, per person's subtree, as of now."""
    groups = own_groups(span, now=timezone.now(), owner_ids=list(parents))
    own = own_from_groups((g for g in groups if g.status == DealStatus.WON), fm.WinRates({}, {}))
    rows = fm.rollup_tree(parents=parents, own=own, quotas={})
    return {pid: row.closed for pid, row in rows.items()}


def end_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


@dataclass
class WaterfallView:
    span: PeriodSpan
    t0: dt.date
    t1: dt.date
    result: fm.Waterfall
    dates: list[dt.date]

    def bars(self) -> list[tuple[str, str, Decimal]]:
        """(key, label, amount) in the order drawn: start, the movements, end."""
        bars = [("start", fm.MOVEMENT_LABELS["start"], self.result.start)]
        bars += [(m, fm.MOVEMENT_LABELS[m], self.result.movements[m]) for m in fm.MOVEMENTS]
        bars.append(("end", fm.MOVEMENT_LABELS["end"], self.result.end))
        return bars


def waterfall_for(
    person: User, label: str, t0: dt.date | None, t1: dt.date | None, *, own_only: bool = False
) -> WaterfallView | None:
    """The waterfall of the person's subtree (of the person's own deals with `own_only`) for a period between
    two deal-snapshot dates (defaults: the last snapshot on or before the period's start, else the first one,
    and the latest). None without two snapshot dates."""
    span = period_span(label)
    dates = deal_snapshot_dates()
    if len(dates) < 2:
        return None
    if t1 is None or t1 not in dates:
        t1 = dates[-1]
    if t0 is None or t0 not in dates:
        before = [d for d in dates if d <= span.start and d < t1]
        t0 = before[-1] if before else dates[0]
    if t0 >= t1:
        raise DomainError("The start date must be before the end date.", field="from")
    rows = waterfall_moves([person.pk] if own_only else person_ids_for_scope(person), span, t0, t1)
    result = fm.waterfall(rows.moves, span.start, span.end, unchanged_total=rows.unchanged_total,
                          unchanged_count=rows.unchanged_count)  # fmt: skip
    return WaterfallView(span=span, t0=t0, t1=t1, result=result, dates=dates)


@dataclass
class AccuracyCell:
    forecast: Decimal | None
    accuracy: float | None


@dataclass
class AccuracyPeriod:
    label: str
    actual: Decimal
    cells: dict[str, dict[str, AccuracyCell]]  # source → as-of point → cell


@dataclass
class AccuracyRow:
    person: User
    periods: list[AccuracyPeriod]
    mape: dict[str, dict[str, float | None]]  # source → as-of point → MAPE over the periods


# How many closed periods the accuracy back-test covers: the first is the default (docs/forecasting.md).
ACCURACY_SPANS = {"month": (6, 12, 24), "quarter": (4, 8, 12)}


def accuracy_span(kind: str, raw: Any) -> int | None:
    """The number of closed periods asked for (`?periods=`): the default when not given, None when not offered."""
    choices = ACCURACY_SPANS[kind]
    if raw in (None, ""):
        return choices[0]
    text = str(raw)
    return int(text) if text in {str(choice) for choice in choices} else None


def closed_periods(kind: str, today: dt.date, count: int) -> list[PeriodSpan]:
    start = fiscal_start_month()
    out: list[PeriodSpan] = []
    day = span_of(period_label(today, kind, start), start).start - dt.timedelta(days=1)
    while len(out) < count:
        span = span_of(period_label(day, kind, start), start)
        out.insert(0, span)
        day = span.start - dt.timedelta(days=1)
    return out


def accuracy(
    person: User, kind: str = "month", *, count: int = 6, today: dt.date | None = None, with_reports: bool = True
) -> list[AccuracyRow]:
    """For the person and each direct report, every source as it stood at the start, middle and one week
    before the end of each of the last `count` closed periods, against the actual bookings (kpis.md's
    forecast_accuracy), and the MAPE over those periods. Sources: the person's own call, their manager's
    adjustment, and weighted pipeline, pipeline model and time series from the rollup snapshots."""
    today = today or timezone.localdate()
    parents = tree()
    sub = subtree_of(parents, person.pk)
    reports = sorted(pid for pid, parent in sub.items() if parent == person.pk) if with_reports else []
    # Without the reports' rows the person's own numbers stand alone: their own bookings, and no snapshot
    # source (a snapshot holds the whole subtree), so nothing of the people below shows (roles.md).
    alone = not with_reports and len(sub) > 1
    if alone:
        sub = {person.pk: None}
    ids = [person.pk, *reports]
    people = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    spans = [s for s in closed_periods(kind, today, count)]
    per_person: dict[int, list[AccuracyPeriod]] = {pid: [] for pid in ids}
    chain = {pid: parents.get(pid) for pid in ids}
    for span in spans:
        actual = actual_bookings(span, sub)
        points = fm.as_of_points(span.start, span.end)
        cells: dict[int, dict[str, dict[str, AccuracyCell]]] = {pid: {s: {} for s in SOURCES} for pid in ids}
        for point, day in points.items():
            at = end_of_day(day)
            calls = latest_calls(span.label, person_ids=ids, at=at)
            adjustments = latest_adjustments(span.label, chain, at=at)
            snaps = (
                {
                    s.person_id: s
                    for s in RollupSnapshot.objects.filter(period=span.label, person_id__in=ids, snapshot_date__lte=day)
                    .order_by("person_id", "-snapshot_date")
                    .distinct("person_id")
                }
                if not alone
                else {}
            )
            for pid in ids:
                snap = snaps.get(pid)
                values: dict[str, Decimal | None] = {
                    "rep_call": calls[pid].commit if pid in calls else None,
                    "manager_call": adjustments[pid].commit if pid in adjustments else None,
                    "weighted": snap.weighted if snap else None,
                    "pipeline_model": snap.pipeline_model if snap else None,
                    "time_series": snap.ts_point if snap else None,
                }
                for source, value in values.items():
                    cells[pid][source][point] = AccuracyCell(
                        value, fm.forecast_accuracy(value, actual.get(pid, fm.ZERO))
                    )
        for pid in ids:
            per_person[pid].append(AccuracyPeriod(span.label, actual.get(pid, fm.ZERO), cells[pid]))
    rows = []
    for pid in ids:
        mape = {
            source: {
                point: fm.mape([(p.cells[source][point].forecast, p.actual) for p in per_person[pid]])
                for point in ("start", "middle", "week_before_end")
            }
            for source in SOURCES
        }
        rows.append(AccuracyRow(person=people[pid], periods=per_person[pid], mape=mape))
    return rows


ACCURACY_CALLS_SQL = """
    WITH m(label, cutoff) AS (SELECT * FROM unnest(%(labels)s::text[], %(cutoffs)s::timestamptz[]))
    SELECT 'own_call', person_id, period, commit FROM (
        SELECT DISTINCT ON (s.person_id, s.period) s.person_id, s.period, s.commit
        FROM forecasting_forecastsubmission s JOIN m ON m.label = s.period
        WHERE s.person_id = ANY(%(ids)s) AND s.created_at <= m.cutoff
        ORDER BY s.person_id, s.period, s.created_at DESC, s.id DESC) own
    UNION ALL
    SELECT 'manager_call', person_id, period, commit FROM (
        SELECT DISTINCT ON (a.person_id, a.period) a.person_id, a.period, a.commit
        FROM forecasting_forecastadjustment a JOIN m ON m.label = a.period
        -- only the person's current manager's adjustments count, as on the grid and the accuracy page
        JOIN org_user u ON u.id = a.person_id AND u.manager_id = a.manager_id
        WHERE a.person_id = ANY(%(ids)s) AND a.created_at <= m.cutoff
        ORDER BY a.person_id, a.period, a.created_at DESC, a.id DESC) adjusted
"""

ACCURACY_ACTUALS_SQL = """
    WITH RECURSIVE sub(root, id) AS (
        SELECT id, id FROM org_user WHERE id = ANY(%(ids)s)
        UNION
        SELECT sub.root, u.id FROM org_user u JOIN sub ON u.manager_id = sub.id
    )
    SELECT sub.root, to_char(d.close_date, 'YYYY-MM'), SUM(d.amount * d.share / 100)
    FROM pipeline_deal_credit_feed d JOIN sub ON d.person_id = sub.id
    WHERE d.status = 'won' AND d.close_date BETWEEN %(first)s AND %(last)s
    GROUP BY 1, 2
"""


def accuracy_by_person(*, people: Iterable[int], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The dashboards' forecast-accuracy panel, in two queries: for each person in view and each closed month
    in [start, end], their own call and their manager's call as they stood one week before the month's end,
    against the actual bookings of their subtree (kpis.md's forecast_accuracy). The accuracy page has the
    full view (every source, three as-of points)."""
    today = timezone.localdate()
    months: list[PeriodSpan] = []
    day = start.replace(day=1)
    while day <= end:
        # A month's label is its calendar one whatever the fiscal year, so no calendar lookup is needed.
        span = span_of(f"{day.year:04d}-{day.month:02d}", 1)
        day = span.end + dt.timedelta(days=1)
        if span.end < today:
            months.append(span)
    ids = sorted(set(people))
    if not months or not ids:
        return []
    cutoffs = [end_of_day(fm.as_of_points(s.start, s.end)["week_before_end"]) for s in months]
    with connection.cursor() as cursor:
        cursor.execute(ACCURACY_CALLS_SQL, {"labels": [s.label for s in months], "cutoffs": cutoffs, "ids": ids})
        calls: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(dict)
        for source, person_id, period, commit in cursor.fetchall():
            calls[(person_id, period)][source] = commit
        if not calls:
            return []
        with_calls = sorted({pid for pid, _ in calls})
        cursor.execute(ACCURACY_ACTUALS_SQL, {"ids": with_calls, "first": months[0].start, "last": months[-1].end})
        actuals = {(root, month): total for root, month, total in cursor.fetchall()}
    rows = []
    for (pid, period), sources in sorted(calls.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        actual = actuals.get((pid, period), fm.ZERO)
        own, manager = sources.get("own_call"), sources.get("manager_call")
        rows.append({
            "person_id": pid, "period": period, "actual": actual,
            "own_call": own, "own_call_accuracy": fm.forecast_accuracy(own, actual),
            "manager_call": manager, "manager_call_accuracy": fm.forecast_accuracy(manager, actual),
        })  # fmt: skip
    return rows
