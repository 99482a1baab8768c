"""The SQL of every KPI: grouped aggregates for a filter set, one query per panel, GROUP BY in SQL.

A `Slice` is a filter set already resolved against the viewer's scope (`visible_people_q`): the people whose
numbers count (None: everyone), the days, and the pipeline and product. Each function returns plain numbers
(`kpis.Aggregate` and friends); the formulas are in `reporting.kpis`.

Where the numbers come from (docs/reporting.md): the facts tables (one row per deal, credit, stage stay and
close-date slip) answer any filter; for whole months the monthly rollups answer the same sums from far fewer
rows. `kpi_aggregates` picks per dimension, so both paths give the same numbers (tests/reporting check it).
Medians always come from the facts (percentile_cont): a median cannot be added up from months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from reporting.kpis import ZERO, Aggregate

DIMENSIONS = ("owner", "manager", "region", "team", "territory", "product", "pipeline", "month", "quarter")
ORG_DIMENSIONS = {"manager", "region", "team"}
TIME_DIMENSIONS = {"month", "quarter"}
# Dimensions of a deal (not of a person or a month): the person-month rollup lacks them; the company's months by
# product and by territory have rollups of their own, else the facts answer.
DEAL_DIMENSIONS = {"product", "territory"}
Key = Any  # a group's key: a person/region/team/territory/product/pipeline id, a month's first day, or None (total)

# A deal's territory is its account's in the active territory model: planning publishes the view
# `planning_account_territory` (account_id, territory_id, …) and every fact row carries its deal's account_id
# (joining the deal feed instead read the whole deal table for each territory panel: seconds at 1,000,000 deals).
# No active model (or an account not assigned): no territory, the group "No territory".
# The active territory model the territory-month rollup must have been built for: its id and when its accounts
# were last assigned (planning's view `planning_active_territory_model`), '' when no model is active. The "b" says
# built from the reports' copy of the assignments (reporting_territorybasis): a rollup recorded by a release that
# built it from planning's view directly never matches, and is built again whole with its copy.
TERRITORY_MODEL_VERSION = """COALESCE((SELECT 'b' || id::text || '@' || COALESCE(to_char(assigned_at AT TIME ZONE 'UTC',
                                                                        'YYYY-MM-DD"T"HH24:MI:SS.US'), '')
                                      FROM planning_active_territory_model ORDER BY id LIMIT 1), '')"""
TERRITORY_JOIN = " LEFT JOIN planning_account_territory tt ON tt.account_id = {account}"
TERRITORY_FILTER = "{account} IN (SELECT tt.account_id FROM planning_account_territory tt WHERE tt.territory_id = %s)"
# Territory 0: the deals of no territory (no account, or an account the active model does not assign).
NO_TERRITORY_FILTER = "NOT EXISTS (SELECT 1 FROM planning_account_territory tt WHERE tt.account_id = {account})"


def territory_condition(account: str, territory: int, params: list[Any]) -> str:
    """The condition keeping the deals of one territory (0: of none) through the deal's account column."""
    if territory == 0:
        return NO_TERRITORY_FILTER.format(account=account)
    params.append(territory)
    return TERRITORY_FILTER.format(account=account)


@dataclass(frozen=True)
class Slice:
    start: dt.date
    end: dt.date
    people: tuple[int, ...] | None = None  # None: everyone; () : nobody
    pipeline: int | None = None
    product: int | None = None  # 0: the deals of no product
    fiscal_start_month: int = 1
    territory: int | None = None  # the deals of accounts in this territory (of the active model) only; 0: of none
    territory_rollup: bool = False  # the territory rollup follows the active model (it may answer everyone)

    @property
    def month_aligned(self) -> bool:
        return self.start.day == 1 and (self.end + dt.timedelta(days=1)).day == 1


def _fetch(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -------------------------------------------------------------------------------------- SQL building
@dataclass(frozen=True)
class _Source:
    """Column names of one table for the dimensions (None: the table lacks that dimension)."""

    table: str
    alias: str
    person: str
    date: str
    pipeline: str
    product: str | None
    account: str | None = None  # the deal's account column (a territory is read through the deal's account)
    territory: str | None = None  # the territory column of a rollup by territory


DEALS = _Source(
    "reporting_dealfact", "f", "f.owner_id", "f.close_date", "f.pipeline_id", "f.product_id", "f.account_id"
)
CREDITS = _Source(
    "reporting_creditfact", "c", "c.person_id", "c.close_date", "c.pipeline_id", "c.product_id", "c.account_id"
)
PERSON_MONTHS = _Source("reporting_personmonth", "pm", "pm.person_id", "pm.month", "pm.pipeline_id", None)
PRODUCT_MONTHS = _Source("reporting_productmonth", "qm", "0", "qm.month", "qm.pipeline_id", "qm.product_id")
TERRITORY_MONTHS = _Source(
    "reporting_territorymonth", "tm", "0", "tm.month", "tm.pipeline_id", None, territory="tm.territory_id"
)


def _dim_sql(dim: str, src: _Source, params: list[Any], fiscal_start_month: int) -> str:
    if dim == "owner":
        return src.person
    if dim in ORG_DIMENSIONS:
        return {"manager": "u.manager_id", "region": "u.region_id", "team": "u.team_id"}[dim]
    if dim == "product":
        assert src.product is not None
        return src.product
    if dim == "territory":
        if src.territory is not None:
            return src.territory
        assert src.account is not None
        return "tt.territory_id"
    if dim == "pipeline":
        return src.pipeline
    if dim == "month":
        return f"date_trunc('month', {src.date})::date"
    if dim == "quarter":
        # The first day of the fiscal quarter: shift by the fiscal year's start, truncate, shift back.
        params += [fiscal_start_month - 1, fiscal_start_month - 1]
        return f"(date_trunc('quarter', {src.date} - make_interval(months => %s)) + make_interval(months => %s))::date"
    raise ValueError(f"unknown dimension {dim!r}")


def _period_sql(src: _Source, periods: Sequence[tuple[dt.date, dt.date]], params: list[Any]) -> str:
    if len(periods) == 1:
        return "0"
    whens = []
    for i, (start, end) in enumerate(periods):
        whens.append(f"WHEN {src.date} BETWEEN %s AND %s THEN {i}")
        params += [start, end]
    return f"CASE {' '.join(whens)} END"


def _where(src: _Source, slc: Slice, lo: dt.date, hi: dt.date, params: list[Any], extra: str = "") -> str:
    conditions = [f"{src.date} BETWEEN %s AND %s"]
    params += [lo, hi]
    if slc.people is not None:
        conditions.append(f"{src.person} = ANY(%s)")
        params.append(list(slc.people))
    if slc.pipeline:
        conditions.append(f"{src.pipeline} = %s")
        params.append(slc.pipeline)
    if slc.product is not None:
        assert src.product is not None
        conditions.append(f"{src.product} = %s")
        params.append(slc.product)
    if slc.territory is not None:
        assert src.account is not None
        conditions.append(territory_condition(src.account, slc.territory, params))
    if extra:
        conditions.append(extra)
    return " AND ".join(conditions)


def _select_dims(dims: Sequence[str], src: _Source, params: list[Any], slc: Slice) -> str:
    return "".join(f", {_dim_sql(d, src, params, slc.fiscal_start_month)} AS d{i}" for i, d in enumerate(dims))


def _join_people(dims: Sequence[str], src: _Source) -> str:
    """The joins the dimensions need: the person's org row, the deal's territory."""
    join = f" JOIN org_user u ON u.id = {src.person}" if ORG_DIMENSIONS & set(dims) else ""
    if "territory" in dims and src.territory is None:
        assert src.account is not None
        join += TERRITORY_JOIN.format(account=src.account)
    return join


def _grouping(dims: Sequence[str]) -> tuple[str, str]:
    """GROUP BY GROUPING SETS ((p, d0), (p, d1), …, (p)) and the GROUPING() bitmask naming each row's set."""
    sets = [f"(p, d{i})" for i in range(len(dims))] + ["(p)"]
    mask = f"GROUPING({', '.join(f'd{i}' for i in range(len(dims)))})" if dims else "0"
    return f"GROUP BY GROUPING SETS ({', '.join(sets)})", mask


def _set_of(mask: int, dims: Sequence[str]) -> tuple[int | None, str | None]:
    """Which dimension a GROUPING() bitmask row belongs to (all bits set: the total)."""
    n = len(dims)
    for i in range(n):
        if mask == ((1 << n) - 1) & ~(1 << (n - 1 - i)):
            return i, dims[i]
    return None, None


# ------------------------------------------------------------------------------------ the KPI sums
Table = dict[Key, Aggregate]
Result = dict[tuple[int, str | None], Table]  # (period index, dimension or None for the total) -> rows


def kpi_aggregates(
    slc: Slice,
    dims: Sequence[str],
    *,
    periods: Sequence[tuple[dt.date, dt.date]] | None = None,
    medians: bool | Sequence[str] = True,
    median_periods: Sequence[int] | None = None,
    facts_only: bool = False,
) -> Result:
    """The KPI sums (and cycle medians) of `slc` for the total and by each dimension in `dims`, for each
    period (default: the slice's own range; several periods must not overlap).

    `medians`: True for the total and every dimension, False for none, or the dimensions that get one (the
    total always does); `median_periods`: the period indexes that get medians (default: all). A median costs
    a pass over every won deal of its range, so a screen asks only for the ones it shows.

    Returns {(period index, dimension or None): {key: Aggregate}}; every period has a total row under key None.
    """
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r}")
    periods = list(periods or [(slc.start, slc.end)])
    aligned = all(s.day == 1 and (e + dt.timedelta(days=1)).day == 1 for s, e in periods)
    result: Result = {(i, d): {} for i in range(len(periods)) for d in [None, *dims]}
    if slc.people == ():
        for i in range(len(periods)):
            result[(i, None)][None] = Aggregate()
        return result
    median_dims = list(dims) if medians is True else [] if medians is False else [d for d in dims if d in medians]
    median_spans = [p for i, p in enumerate(periods) if median_periods is None or i in median_periods]
    person_dims = [d for d in dims if d not in DEAL_DIMENSIONS]
    # The rollups know people and months, not accounts: a territory filter reads the facts.
    rollup_ok = aligned and slc.product is None and slc.territory is None and not facts_only
    # The company's months by product are one small table; a person-level filter needs the facts.
    product_rollup_ok = rollup_ok and slc.people is None
    if rollup_ok:
        _merge(result, _rollup_sums(PERSON_MONTHS, slc, person_dims, periods))
        if "product" in dims:
            source = (
                _rollup_sums(PRODUCT_MONTHS, slc, ["product"], periods)
                if product_rollup_ok
                else _fact_sums(slc, ["product"], periods)
            )
            _merge(result, source, only="product")
        if "territory" in dims:
            # Everyone's months by territory are one small table while it follows the active model.
            source = (
                _rollup_sums(TERRITORY_MONTHS, slc, ["territory"], periods)
                if product_rollup_ok and slc.territory_rollup
                else _fact_sums(slc, ["territory"], periods)
            )
            _merge(result, source, only="territory")
    else:
        _merge(result, _fact_sums(slc, list(dims), periods))
    if medians is not False and median_spans:
        found = _fact_medians(slc, median_dims, median_spans)
        # Back to the caller's period indexes.
        indexes = [i for i, p in enumerate(periods) if p in median_spans]
        _merge_medians(result, {(indexes[i], dim): rows for (i, dim), rows in found.items()})
    for i in range(len(periods)):
        result[(i, None)].setdefault(None, Aggregate())
    return result


def _merge(result: Result, part: Result, only: str | None = None) -> None:
    for (i, dim), rows in part.items():
        if only is not None and dim != only:
            continue
        result.setdefault((i, dim), {}).update(rows)


def _merge_medians(result: Result, medians: dict[tuple[int, str | None], dict[Key, float | None]]) -> None:
    for (i, dim), rows in medians.items():
        table = result.setdefault((i, dim), {})
        for key, value in rows.items():
            current = table.get(key, Aggregate())
            table[key] = Aggregate(**{**current.__dict__, "cycle_days_median": value})


def _rows_to_result(rows: list[tuple[Any, ...]], dims: Sequence[str], has_median: bool) -> Result:
    result: Result = {}
    for row in rows:
        period, mask = row[0], row[1]
        keys = row[2 : 2 + len(dims)]
        values = row[2 + len(dims) :]
        index, dim = _set_of(mask, dims) if dims else (None, None)
        key = keys[index] if index is not None else None
        won, lost, credit, cycle_sum, cycle_count, median, open_count, open_amount, weighted = values
        result.setdefault((period, dim), {})[key] = Aggregate(
            won_count=int(won or 0),
            lost_count=int(lost or 0),
            bookings=Decimal(credit or ZERO),
            cycle_days_sum=int(cycle_sum or 0),
            cycle_count=int(cycle_count or 0),
            cycle_days_median=float(median) if has_median and median is not None else None,
            open_count=int(open_count or 0),
            open_amount=Decimal(open_amount or ZERO),
            weighted_amount=Decimal(weighted or ZERO),
        )
    return result


def _rollup_sums(src: _Source, slc: Slice, dims: Sequence[str], periods: Sequence[tuple[dt.date, dt.date]]) -> Result:
    params: list[Any] = []
    lo, hi = min(p[0] for p in periods), max(p[1] for p in periods)
    period = _period_sql(src, periods, params)
    select_dims = _select_dims(dims, src, params, slc)
    join = _join_people(dims, src)
    group_by, mask = _grouping(dims)
    where = _where(src, slc, lo, hi, params)
    sql = f"""
        SELECT p, {mask}, {", ".join(f"d{i}" for i in range(len(dims))) + ", " if dims else ""}
               SUM(won_count), SUM(lost_count), SUM(credited), SUM(cycle_days_sum), SUM(cycle_count), NULL,
               SUM(open_count), SUM(open_amount), SUM(weighted_amount)
        FROM (SELECT {period} AS p{select_dims}, {src.alias}.*
              FROM {src.table} {src.alias}{join} WHERE {where}) x
        WHERE p IS NOT NULL {group_by}
    """
    return _rows_to_result(_fetch(sql, params), dims, has_median=False)


def _fact_sums(slc: Slice, dims: Sequence[str], periods: Sequence[tuple[dt.date, dt.date]]) -> Result:
    """Sums straight from the facts: closed deals, open deals and credits in one pass."""
    params: list[Any] = []
    lo, hi = min(p[0] for p in periods), max(p[1] for p in periods)
    branches = []
    for src, status, columns in (
        (
            DEALS,
            "f.status IN ('won', 'lost')",
            "(f.status = 'won')::int, (f.status = 'lost')::int, NULL::numeric, f.cycle_days, 0, NULL::numeric, "
            "NULL::numeric",
        ),
        (DEALS, "f.status = 'open'", "0, 0, NULL::numeric, NULL::int, 1, f.amount, f.amount * f.probability / 100"),
        (CREDITS, "", "0, 0, c.credit, NULL::int, 0, NULL::numeric, NULL::numeric"),
    ):
        period = _period_sql(src, periods, params)
        select_dims = _select_dims(dims, src, params, slc)
        where = _where(src, slc, lo, hi, params, status)
        branches.append(
            f"SELECT {period} AS p{select_dims}, {columns} FROM {src.table} {src.alias}{_join_people(dims, src)} "
            f"WHERE {where}"
        )
    names = "won, lost, credit, cycle, open, open_amount, weighted"
    group_by, mask = _grouping(dims)
    sql = f"""
        SELECT p, {mask}, {", ".join(f"d{i}" for i in range(len(dims))) + ", " if dims else ""}
               SUM(won), SUM(lost), SUM(credit), SUM(cycle), COUNT(cycle), NULL, SUM(open), SUM(open_amount),
               SUM(weighted)
        FROM ({" UNION ALL ".join(branches)}) AS x (p{"".join(f", d{i}" for i in range(len(dims)))}, {names})
        WHERE p IS NOT NULL {group_by}
    """
    return _rows_to_result(_fetch(sql, params), dims, has_median=False)


def median_sql(histogram_sql: str, keys: Sequence[str]) -> str:
    """Exact medians (what percentile_cont(0.5) gives) per group from a histogram `(keys…, v, n)`: the values
    at the two middle positions, found with running counts. Counting first (a hash aggregate) and sorting only
    the distinct values is much cheaper than percentile_cont's sort of every row when groups are large."""
    k = ", ".join(keys)
    return f"""
        SELECT {k}, (MIN(v) FILTER (WHERE cum >= lo) + MIN(v) FILTER (WHERE cum >= hi)) / 2.0
        FROM (SELECT {k}, v, SUM(n) OVER (PARTITION BY {k} ORDER BY v) AS cum,
                     FLOOR((SUM(n) OVER (PARTITION BY {k}) - 1) / 2.0) + 1 AS lo,
                     CEIL((SUM(n) OVER (PARTITION BY {k}) - 1) / 2.0) + 1 AS hi
              FROM ({histogram_sql}) AS h) AS c
        GROUP BY {k}
    """


def _fact_medians(
    slc: Slice, dims: Sequence[str], periods: Sequence[tuple[dt.date, dt.date]]
) -> dict[tuple[int, str | None], dict[Key, float | None]]:
    params: list[Any] = []
    lo, hi = min(p[0] for p in periods), max(p[1] for p in periods)
    period = _period_sql(DEALS, periods, params)
    select_dims = _select_dims(dims, DEALS, params, slc)
    where = _where(DEALS, slc, lo, hi, params, "f.status = 'won' AND f.cycle_days IS NOT NULL")
    keys = ["p", "gs", *(f"d{i}" for i in range(len(dims)))]
    sets = [f"(p, d{i}, v)" for i in range(len(dims))] + ["(p, v)"]
    mask = f"GROUPING({', '.join(f'd{i}' for i in range(len(dims)))})" if dims else "0"
    histogram = f"""
        SELECT p, {mask} AS gs{"".join(f", d{i}" for i in range(len(dims)))}, v, COUNT(*) AS n
        FROM (SELECT {period} AS p{select_dims}, f.cycle_days AS v
              FROM reporting_dealfact f{_join_people(dims, DEALS)} WHERE {where}) x
        WHERE p IS NOT NULL
        GROUP BY GROUPING SETS ({", ".join(sets)})
    """
    out: dict[tuple[int, str | None], dict[Key, float | None]] = {}
    for row in _fetch(median_sql(histogram, keys), params):
        index, dim = _set_of(row[1], dims) if dims else (None, None)
        key = row[2 + index] if index is not None else None
        out.setdefault((row[0], dim), {})[key] = float(row[-1]) if row[-1] is not None else None
    return out


# ------------------------------------------------------------------------------------ stage history
@dataclass(frozen=True)
class StageFlow:
    stage_id: int
    entered: int  # deals that entered the stage in the range (a deal back in it again counts once)
    advanced: int  # … of which the deal later reached a further open stage or won
    left: int  # deals that left the stage in the range (a deal that left it twice counts once)
    median_days: float | None  # median whole days of the stays that ended in the range (each stay)
    mean_days: float | None  # … and their mean


def stage_flow(slc: Slice, *, facts_only: bool = False) -> dict[int, StageFlow]:
    """Funnel and time in stage per stage: the deals that entered it in the range (how many went further), the
    deals that left it in the range, and how long the stays that ended in it lasted. The company's whole months
    read the stage rollups.

    Every count is of deals, as the drill-down behind each cell lists them: a deal counts once per stage however
    often it entered or left it in the range. Its first entry in the range is the one counted (it went further if
    any later stay did), so a stay whose deal was already in the same stage earlier in the range
    (`prev_entered_on`) is left out; likewise a stay whose deal had already left the stage in the range
    (`prev_left_on`) adds no deal that left. The days in stage are every stay's: two stays are two durations."""
    if slc.people == ():
        return {}
    company = slc.people is None and slc.territory is None and slc.month_aligned and not facts_only
    params: list[Any] = []
    if company:
        counts_sql = _stage_counts_rollup(slc, params)
        if slc.product is not None:
            days_sql = _stage_days_facts(slc, params)
        else:
            conditions = ["d.month BETWEEN %s AND %s"]
            params += [slc.start, slc.end]
            if slc.pipeline:
                conditions.append("d.pipeline_id = %s")
                params.append(slc.pipeline)
            days_sql = (
                f"SELECT d.stage_id, d.days AS v, SUM(d.spells) AS n FROM reporting_stagedaysmonth d "
                f"WHERE {' AND '.join(conditions)} GROUP BY 1, 2"
            )
    else:
        counts_sql = _stage_counts_facts(slc, params)
        days_sql = _stage_days_facts(slc, params)
    sql = f"""
        SELECT COALESCE(c.stage_id, m.stage_id), c.entered, c.advanced, c.exits, c.stays, c.days_sum, m.median
        FROM ({counts_sql}) AS c (stage_id, entered, advanced, exits, stays, days_sum)
        FULL JOIN ({median_sql(days_sql, ["stage_id"])}) AS m (stage_id, median) ON m.stage_id = c.stage_id
    """
    flows = {}
    for stage_id, entered, advanced, exits, stays, days_sum, median in _fetch(sql, params):
        stays = int(stays or 0)
        flows[stage_id] = StageFlow(
            stage_id,
            int(entered or 0),
            int(advanced or 0),
            int(exits or 0),
            float(median) if median is not None else None,
            float(days_sum) / stays if stays else None,
        )
    return flows


def _spell_filters(slc: Slice, params: list[Any]) -> str:
    conditions = []
    if slc.people is not None:
        conditions.append("s.owner_id = ANY(%s)")
        params.append(list(slc.people))
    if slc.pipeline:
        conditions.append("s.pipeline_id = %s")
        params.append(slc.pipeline)
    if slc.product is not None:
        conditions.append("s.product_id = %s")
        params.append(slc.product)
    if slc.territory is not None:
        conditions.append(territory_condition("s.account_id", slc.territory, params))
    return "".join(f" AND {c}" for c in conditions)


def _stage_counts_facts(slc: Slice, params: list[Any]) -> str:
    params += [slc.start, slc.end, slc.start]
    entered = _spell_filters(slc, params)
    params += [slc.start, slc.start, slc.end]
    left = _spell_filters(slc, params)
    # Per stage: deals that entered (their first entry of the range), of those went further, deals that left (their
    # first exit of the range), and the stays that ended with their days (time in stage is every stay's).
    return f"""
        SELECT stage_id, SUM(entered), SUM(advanced), SUM(exits), SUM(stays), SUM(days) FROM (
            SELECT s.stage_id, 1 AS entered, s.advanced::int AS advanced, 0 AS exits, 0 AS stays, 0 AS days
            FROM reporting_stagespell s WHERE s.entered_on BETWEEN %s AND %s
              AND (s.prev_entered_on IS NULL OR s.prev_entered_on < %s){entered}
            UNION ALL
            SELECT s.stage_id, 0, 0, (s.prev_left_on IS NULL OR s.prev_left_on < %s)::int, 1, s.days
            FROM reporting_stagespell s WHERE s.left_on BETWEEN %s AND %s{left}
        ) x GROUP BY stage_id
    """


def _stage_counts_rollup(slc: Slice, params: list[Any]) -> str:
    filters: list[tuple[str, Any]] = []
    if slc.pipeline:
        filters.append(("pipeline_id = %s", slc.pipeline))
    if slc.product is not None:
        filters.append(("product_id = %s", slc.product))
    where = "".join(f" AND sm.{condition}" for condition, _ in filters)
    again = "".join(f" AND r.{condition}" for condition, _ in filters)
    # The months count every stay; the range's re-entries whose previous entry was in the range too come off,
    # so each deal counts once, from its first entry in the range; so do the repeated exits whose previous exit
    # was in the range too (each deal that left counts once). Time in stage keeps every stay.
    params += [slc.start, slc.end, *(value for _, value in filters)]
    params += [slc.start, slc.end, slc.start, *(value for _, value in filters)]
    params += [slc.start, slc.end, slc.start, *(value for _, value in filters)]
    return f"""
        SELECT stage_id, SUM(entered), SUM(advanced), SUM(exits), SUM(stays), SUM(days) FROM (
            SELECT sm.stage_id, SUM(sm.entered) AS entered, SUM(sm.advanced) AS advanced, SUM(sm."left") AS exits,
                   SUM(sm."left") AS stays, SUM(sm.days_sum) AS days
            FROM reporting_stagemonth sm WHERE sm.month BETWEEN %s AND %s{where} GROUP BY sm.stage_id
            UNION ALL
            SELECT r.stage_id, -SUM(r.entered), -SUM(r.advanced), 0, 0, 0 FROM reporting_stagereentrymonth r
            WHERE r.month BETWEEN %s AND %s AND r.prev_month >= %s{again} GROUP BY r.stage_id
            UNION ALL
            SELECT r.stage_id, 0, 0, -SUM(r."left"), 0, 0 FROM reporting_stagereexitmonth r
            WHERE r.month BETWEEN %s AND %s AND r.prev_month >= %s{again} GROUP BY r.stage_id
        ) x GROUP BY stage_id
    """


def _stage_days_facts(slc: Slice, params: list[Any]) -> str:
    params += [slc.start, slc.end]
    filters = _spell_filters(slc, params)
    return f"""
        SELECT s.stage_id, s.days AS v, COUNT(*) AS n FROM reporting_stagespell s
        WHERE s.left_on BETWEEN %s AND %s{filters} GROUP BY 1, 2
    """


# ------------------------------------------------------------------------------------------ deal lists
@dataclass(frozen=True)
class DealLine:
    deal_id: int
    name: str
    owner_id: int
    stage_id: int
    amount: Decimal | None
    close_date: dt.date | None
    detail: dict[str, Any]


def _fact_filters(slc: Slice, params: list[Any], alias: str = "f", person: str = "owner_id") -> str:
    conditions = []
    if slc.people is not None:
        conditions.append(f"{alias}.{person} = ANY(%s)")
        params.append(list(slc.people))
    if slc.pipeline:
        conditions.append(f"{alias}.pipeline_id = %s")
        params.append(slc.pipeline)
    if slc.product is not None:
        conditions.append(f"{alias}.product_id = %s")
        params.append(slc.product)
    if slc.territory is not None:
        conditions.append(territory_condition(f"{alias}.account_id", slc.territory, params))
    return "".join(f" AND {c}" for c in conditions)


def slipped_deals(slc: Slice, *, limit: int = 10) -> tuple[int, Decimal, list[DealLine]]:
    """Open deals whose close date was moved later at least once in the range: how many, their amount, and
    the largest ones (one query: the count rides along as a window total; names only for the shown rows)."""
    params: list[Any] = [slc.start, slc.end]
    filters = _fact_filters(slc, params, "p")
    params.append(limit)
    sql = f"""
        SELECT r.deal_id, d.name, d.owner_id, d.stage_id, r.amount, d.close_date, r.pushes, r.first_close, r.total,
               r.total_amount
        FROM (
            SELECT s.*, COUNT(*) OVER () AS total, SUM(s.amount) OVER () AS total_amount
            FROM (SELECT p.deal_id, MAX(p.amount) AS amount, COUNT(*) AS pushes, MIN(p.old_close_date) AS first_close
                  FROM reporting_closedatepush p
                  WHERE p.is_open AND p.pushed_on BETWEEN %s AND %s{filters} GROUP BY p.deal_id) s
            ORDER BY s.amount DESC NULLS LAST, s.deal_id
            LIMIT %s
        ) r
        JOIN pipeline_deal_feed d ON d.id = r.deal_id
        ORDER BY r.amount DESC NULLS LAST, r.deal_id
    """
    rows = _fetch(sql, params)
    count = int(rows[0][8]) if rows else 0
    amount = Decimal(rows[0][9] or 0) if rows else ZERO
    lines = [DealLine(r[0], r[1], r[2], r[3], r[4], r[5], {"pushes": r[6], "first_close": r[7]}) for r in rows]
    return count, amount, lines


def quiet_since(today: dt.date, quiet_days: int) -> dt.datetime:
    """The first moment of the day `quiet_days` before today, in the company's time zone: a deal whose last
    activity is earlier had none on that day or since (kpis.md: dates are the company's)."""
    return timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=quiet_days), dt.time.min))


def deals_at_risk(
    slc: Slice, *, today: dt.date, factor: float, quiet_days: int, limit: int = 10
) -> tuple[int, Decimal, list[DealLine]]:
    """Open deals closing in the range that sit in their stage more than `factor` × the stage's median and
    had no activity for `quiet_days`."""
    params = [today, today, factor, quiet_since(today, quiet_days), slc.start, slc.end]
    filters = _fact_filters(slc, params)
    params.append(limit)
    sql = f"""
        SELECT r.deal_id, d.name, r.owner_id, r.stage_id, r.amount, r.close_date, r.age, r.median_days,
               r.last_activity_at, r.total, r.total_amount
        FROM (
            SELECT f.deal_id, f.owner_id, f.stage_id, f.amount, f.close_date, f.last_activity_at,
                   %s - f.stage_entered_on AS age, m.median_days,
                   COUNT(*) OVER () AS total, SUM(f.amount) OVER () AS total_amount
            FROM reporting_dealfact f JOIN reporting_stagemedian m ON m.stage_id = f.stage_id
            WHERE f.status = 'open' AND %s - f.stage_entered_on > m.median_days * %s
              AND (f.last_activity_at IS NULL OR f.last_activity_at < %s)
              AND f.close_date BETWEEN %s AND %s{filters}
            ORDER BY f.amount DESC NULLS LAST, f.deal_id
            LIMIT %s
        ) r
        JOIN pipeline_deal_feed d ON d.id = r.deal_id
        ORDER BY r.amount DESC NULLS LAST, r.deal_id
    """
    rows = _fetch(sql, params)
    count = int(rows[0][9]) if rows else 0
    amount = Decimal(rows[0][10] or 0) if rows else ZERO
    lines = [
        DealLine(r[0], r[1], r[2], r[3], r[4], r[5], {"age": r[6], "median": r[7], "last_activity_at": r[8]})
        for r in rows
    ]
    return count, amount, lines


def open_by_stage_and_month(slc: Slice) -> list[tuple[int, dt.date, int, Decimal]]:
    """Open deals closing in the range: (stage, close month, count, amount)."""
    params: list[Any] = [slc.start, slc.end]
    filters = _fact_filters(slc, params)
    sql = f"""
        SELECT f.stage_id, date_trunc('month', f.close_date)::date, COUNT(*), COALESCE(SUM(f.amount), 0)
        FROM reporting_dealfact f
        WHERE f.status = 'open' AND f.close_date BETWEEN %s AND %s{filters}
        GROUP BY 1, 2 ORDER BY 2, 1
    """
    return [(r[0], r[1], int(r[2]), Decimal(r[3])) for r in _fetch(sql, params)]


# --------------------------------------------------------------------------------------- drill-down
MEASURES = {
    "bookings": "Won deals credited in the range (bookings)",
    "won": "Deals won in the range",
    "lost": "Deals lost in the range",
    "closed": "Deals won or lost in the range",
    "open": "Open deals closing in the range",
    "slipped": "Open deals whose close date was pushed in the range",
    "entered": "Deals that entered the stage in the range",
    "left": "Deals that left the stage in the range",
    "at_risk": "Open deals stuck in their stage with no recent activity",
}
DRILL_HEADER = [
    "deal id",
    "external id",
    "deal",
    "account",
    "owner",
    "pipeline",
    "stage",
    "status",
    "amount",
    "credited person",
    "credit",
    "close date",
    "created date",
    "product",
]


def drill_sql(
    slc: Slice,
    measure: str,
    *,
    stage: int | None = None,
    today: dt.date | None = None,
    factor: float = 3.0,
    quiet_days: int = 30,
) -> tuple[str, list[Any]]:
    """The deals behind a number, as (SQL, params) selecting the ids, owner, amounts and credit of each row
    (one row per deal; per credit for bookings), ordered for reading. Names are joined by `drill_rows`."""
    params: list[Any] = []
    if measure == "bookings":
        params += [slc.start, slc.end]
        filters = _fact_filters(slc, params, "c", "person_id")
        return (
            f"""SELECT c.deal_id, c.person_id, c.credit FROM reporting_creditfact c
                WHERE c.close_date BETWEEN %s AND %s{filters}""",
            params,
        )
    if measure in ("won", "lost", "closed", "open"):
        statuses = {"won": ["won"], "lost": ["lost"], "closed": ["won", "lost"], "open": ["open"]}[measure]
        params += [statuses, slc.start, slc.end]
        stage_filter = ""
        if stage:
            stage_filter = " AND f.stage_id = %s"
            params.append(stage)
        filters = _fact_filters(slc, params)
        return (
            f"""SELECT f.deal_id, NULL::int, NULL::numeric FROM reporting_dealfact f
                WHERE f.status = ANY(%s) AND f.close_date BETWEEN %s AND %s{stage_filter}{filters}""",
            params,
        )
    if measure == "slipped":
        params += [slc.start, slc.end]
        filters = _fact_filters(slc, params, "p")
        return (
            f"""SELECT DISTINCT p.deal_id, NULL::int, NULL::numeric FROM reporting_closedatepush p
                WHERE p.is_open AND p.pushed_on BETWEEN %s AND %s{filters}""",
            params,
        )
    if measure in ("entered", "left"):
        column = "entered_on" if measure == "entered" else "left_on"
        params += [slc.start, slc.end]
        stage_filter = ""
        if stage:
            stage_filter = " AND s.stage_id = %s"
            params.append(stage)
        filters = _fact_filters(slc, params, "s")
        return (
            f"""SELECT DISTINCT s.deal_id, NULL::int, NULL::numeric FROM reporting_stagespell s
                WHERE s.{column} BETWEEN %s AND %s{stage_filter}{filters}""",
            params,
        )
    if measure == "at_risk":
        day = today or timezone.localdate()  # the company's today, not the server's
        params += [day, factor, quiet_since(day, quiet_days), slc.start, slc.end]
        filters = _fact_filters(slc, params)
        return (
            f"""SELECT f.deal_id, NULL::int, NULL::numeric FROM reporting_dealfact f
                JOIN reporting_stagemedian m ON m.stage_id = f.stage_id
                WHERE f.status = 'open' AND %s - f.stage_entered_on > m.median_days * %s
                  AND (f.last_activity_at IS NULL OR f.last_activity_at < %s)
                  AND f.close_date BETWEEN %s AND %s{filters}""",
            params,
        )
    raise ValueError(f"unknown measure {measure!r}")


def drill_rows(
    base_sql: str, params: list[Any], *, limit: int | None = None, offset: int = 0, owners: list[int] | None = None
) -> tuple[str, list[Any]]:
    """The full drill-down SELECT around `drill_sql` (names of deal, account, owner, stage, product), and its
    parameters.

    `owners`: the people whose deals the viewer may open (None: everyone). A credit of the viewer's scope on a
    deal owned outside it (a split) shows what the commission statement shows of it: the deal's name, the
    credited person, the credit and its date; the deal's account, owner, pipeline, stage, amount, creation date
    and product stay empty (roles.md: a split holder sees their credit, not the deal)."""
    page = ""
    if limit is not None:
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}"
    if owners is None:
        seen, scope = "TRUE", ""
    else:
        seen, scope = "v.id IS NOT NULL", "LEFT JOIN (SELECT unnest(%s::bigint[]) AS id) v ON v.id = d.owner_id"
    sql = f"""
        SELECT d.id, CASE WHEN {seen} THEN d.external_id END, d.name, CASE WHEN {seen} THEN d.account_name END,
               CASE WHEN {seen} THEN TRIM(o.first_name || ' ' || o.last_name) END,
               CASE WHEN {seen} THEN d.pipeline_name END, CASE WHEN {seen} THEN d.stage_name END, d.status,
               CASE WHEN {seen} THEN d.amount END, TRIM(cp.first_name || ' ' || cp.last_name),
               b.credit, d.close_date, CASE WHEN {seen} THEN d.created_date END, CASE WHEN {seen} THEN pr.name END
        FROM ({base_sql}) AS b (deal_id, person_id, credit)
        JOIN pipeline_deal_feed d ON d.id = b.deal_id
        {scope}
        JOIN org_user o ON o.id = d.owner_id
        LEFT JOIN org_user cp ON cp.id = b.person_id
        LEFT JOIN reporting_dealfact f ON f.deal_id = d.id
        LEFT JOIN pipeline_product_feed pr ON pr.id = f.product_id
        ORDER BY d.close_date DESC NULLS LAST, d.id, b.person_id{page}
    """
    return sql, [*params, owners] if owners is not None else list(params)


def drill_count(base_sql: str, params: list[Any]) -> tuple[int, Decimal]:
    rows = _fetch(
        f"""SELECT COUNT(*), COALESCE(SUM(COALESCE(b.credit, f.amount)), 0)
            FROM ({base_sql}) AS b (deal_id, person_id, credit)
            LEFT JOIN reporting_dealfact f ON f.deal_id = b.deal_id""",
        params,
    )
    return int(rows[0][0]), Decimal(rows[0][1])
