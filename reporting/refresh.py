"""How the reporting facts are built from the pipeline: per changed deal (incrementally) or all at once.

Every run takes one Postgres advisory lock and writes in one transaction, so two runs never interleave and a
reader sees either the facts before a run or after it, never half of one. Running the same refresh twice
gives the same rows (each deal's facts are deleted and rebuilt from the pipeline as it is).

The monthly rollup (PersonMonth) is recomputed only for the (person, month) buckets the changed deals
touched before or after the change, so one deal's change rewrites a handful of rollup rows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from reporting.models import OPEN_SPELL_END, MonthSums, RefreshState
from reporting.queries import TERRITORY_MODEL_VERSION
from salesops.job_runner import advisory_xact_lock
from salesops.kernel.locks import lock_key

# Every reporting refresh takes this advisory lock: one refresh at a time, a second run waits for the first and then
# finds little left to do.
LOCK_KEY = lock_key("reporting.refresh")
ANALYZE_AFTER = 1_000  # deals in one batch of facts before reporting_dealfact is analyzed in the transaction
CHUNK = 20_000  # deals per incremental batch: bounded statements, one transaction for the whole run
# Rows that commit out of id or timestamp order are caught by reading a little behind the watermarks.
ID_OVERLAP = 5_000
TIME_OVERLAP = dt.timedelta(minutes=15)
FACT_TABLES = ("reporting_dealfact", "reporting_creditfact", "reporting_stagespell", "reporting_closedatepush")


def _tz() -> str:
    return str(settings.TIME_ZONE)


# ------------------------------------------------------------------------------------------------ SQL
# `{where}` is either "TRUE" (everything) or "d.id = ANY(%(ids)s)"; values are always bound parameters.
DEAL_FACTS_SQL = """
INSERT INTO reporting_dealfact (deal_id, owner_id, pipeline_id, stage_id, product_id, account_id, status, amount,
                                probability, close_date, created_date, cycle_days, stage_entered_on, last_activity_at)
SELECT d.id, d.owner_id, d.pipeline_id, d.stage_id, COALESCE(d.product_id, 0), d.account_id,
       d.status, d.amount, d.probability, d.close_date, d.created_date,
       CASE WHEN d.status = 'won' THEN d.close_date - d.created_date END,
       (d.stage_entered_at AT TIME ZONE %(tz)s)::date, d.last_activity_at
FROM pipeline_deal_feed d
WHERE {where}
"""

# Who is credited with what share is the pipeline's crediting rule (pipeline_credit_feed: revenue splits, else
# the owner in full). The deal facts are already written, so the credit reads them (one place for "won, with
# a date").
CREDIT_FACTS_SQL = """
INSERT INTO reporting_creditfact (deal_id, person_id, credit, close_date, pipeline_id, product_id, account_id)
SELECT f.deal_id, cr.person_id, f.amount * cr.share / 100, f.close_date, f.pipeline_id, f.product_id, f.account_id
FROM reporting_dealfact f
JOIN pipeline_credit_feed cr ON cr.deal_id = f.deal_id
WHERE f.status = 'won' AND f.amount IS NOT NULL AND f.close_date IS NOT NULL AND {where}
"""

# A spell per stage entry of the history ("created" gives the first stage, "stage" each move). It ends on the
# day of the next entry; `advanced` says a later entry was a won stage or an open stage further along;
# `prev_entered_on` is the day the deal last entered the same stage before (a re-entry), else NULL, and
# `prev_left_on` the day that previous stay in the stage ended (the deal left it before), else NULL.
# Won and lost stages are where deals end, not stages they pass through, so they have no spells.
STAGE_SPELLS_SQL = """
INSERT INTO reporting_stagespell (deal_id, stage_id, owner_id, pipeline_id, product_id, account_id, entered_on,
                                  left_on, days, advanced, prev_entered_on, prev_left_on)
SELECT h.deal_id, h.stage_id, f.owner_id, f.pipeline_id, f.product_id, f.account_id, h.entered_on,
       COALESCE(h.left_on, %(open_end)s::date), h.left_on - h.entered_on, COALESCE(h.best_later > h.position, FALSE),
       h.prev_entered_on,
       LAG(h.left_on) OVER (PARTITION BY h.deal_id, h.stage_id ORDER BY h.changed_at, h.change_id)
FROM (
    SELECT c.deal_id, c.stage_id, st.position, st.is_won, st.is_lost, c.changed_at, c.id AS change_id,
           (c.changed_at AT TIME ZONE %(tz)s)::date AS entered_on,
           LEAD((c.changed_at AT TIME ZONE %(tz)s)::date) OVER w AS left_on,
           LAG((c.changed_at AT TIME ZONE %(tz)s)::date)
               OVER (PARTITION BY c.deal_id, c.stage_id ORDER BY c.changed_at, c.id) AS prev_entered_on,
           MAX(CASE WHEN st.is_won THEN 32767 WHEN st.is_lost THEN -1 ELSE st.position END)
               OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS best_later
    FROM pipeline_deal_change_feed c
    JOIN pipeline_stage_feed st ON st.id = c.stage_id
    WHERE c.stage_id IS NOT NULL AND {where_c}
    WINDOW w AS (PARTITION BY c.deal_id ORDER BY c.changed_at, c.id)
) h
JOIN reporting_dealfact f ON f.deal_id = h.deal_id
WHERE NOT h.is_won AND NOT h.is_lost
"""

# A close-date change to a later day is a slip (a change from or to no date is none).
CLOSE_PUSHES_SQL = """
INSERT INTO reporting_closedatepush (deal_id, owner_id, pipeline_id, product_id, account_id, pushed_on,
                                     old_close_date, new_close_date, is_open, amount)
SELECT c.deal_id, f.owner_id, f.pipeline_id, f.product_id, f.account_id, (c.changed_at AT TIME ZONE %(tz)s)::date,
       c.old_close_date, c.new_close_date, f.status = 'open', f.amount
FROM pipeline_deal_change_feed c
JOIN reporting_dealfact f ON f.deal_id = c.deal_id
WHERE c.field = 'close_date' AND c.new_close_date > c.old_close_date AND {where_c}
"""

# The rollup rows of the buckets joined in `{join_f}`/`{join_c}` (a (key, month) list), or of everything.
# PersonMonth is keyed by the person (owner for deals, credited person for credits), ProductMonth by product.
ROLLUP_SQL = """
INSERT INTO {table} (month, {key}, pipeline_id, won_count, lost_count, won_amount, cycle_days_sum, cycle_count,
                     credited, open_count, open_amount, weighted_amount)
SELECT month, k, pipeline_id, SUM(won), SUM(lost), COALESCE(SUM(won_amount), 0), COALESCE(SUM(cycle), 0),
       COUNT(cycle), COALESCE(SUM(credit), 0), SUM(open), COALESCE(SUM(open_amount), 0), COALESCE(SUM(weighted), 0)
FROM (
    SELECT date_trunc('month', f.close_date)::date AS month, {key_f} AS k, f.pipeline_id,
           (f.status = 'won')::int AS won, (f.status = 'lost')::int AS lost,
           CASE WHEN f.status = 'won' THEN f.amount END AS won_amount, f.cycle_days AS cycle, NULL::numeric AS credit,
           (f.status = 'open')::int AS open, CASE WHEN f.status = 'open' THEN f.amount END AS open_amount,
           CASE WHEN f.status = 'open' THEN f.amount * f.probability / 100 END AS weighted
    FROM reporting_dealfact f {join_f}
    WHERE f.close_date IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', c.close_date)::date, {key_c}, c.pipeline_id, 0, 0, NULL, NULL, c.credit, 0, NULL, NULL
    FROM reporting_creditfact c {join_c}
) x
GROUP BY month, k, pipeline_id
"""


@dataclass(frozen=True)
class Rollup:
    table: str
    key: str  # the rollup's key column
    key_f: str  # … in the deal facts
    key_c: str  # … in the credit facts


PERSON_MONTHS = Rollup("reporting_personmonth", "person_id", "f.owner_id", "c.person_id")
PRODUCT_MONTHS = Rollup("reporting_productmonth", "product_id", "f.product_id", "c.product_id")
ROLLUPS = (PERSON_MONTHS, PRODUCT_MONTHS)
BUCKETS = "unnest(%(keys)s::int[], %(months)s::date[]) AS b(k, month)"


def _bucket_join(column: str, date: str) -> str:
    return f"JOIN {BUCKETS} ON {column} = b.k AND {date} >= b.month AND {date} < b.month + interval '1 month'"


BUCKETS_OF_DEALS_SQL = """
SELECT DISTINCT {key_f}, date_trunc('month', close_date)::date FROM reporting_dealfact f
 WHERE deal_id = ANY(%(ids)s) AND close_date IS NOT NULL
UNION
SELECT DISTINCT {key_c}, date_trunc('month', close_date)::date FROM reporting_creditfact c WHERE deal_id = ANY(%(ids)s)
"""

# The company's stage flow for the months in %(months)s (or all): entries by the month they began, exits
# (with days) by the month they ended; and the histogram of days by month of exit.
MONTHS = "unnest(%(months)s::date[]) AS b(month)"
STAGE_MONTH_SQL = """
INSERT INTO reporting_stagemonth (month, pipeline_id, stage_id, product_id, entered, advanced, "left", days_sum)
SELECT month, pipeline_id, stage_id, product_id, SUM(entered), SUM(advanced), SUM(exits), COALESCE(SUM(days), 0)
FROM (
    SELECT date_trunc('month', s.entered_on)::date AS month, s.pipeline_id, s.stage_id, s.product_id, 1 AS entered,
           s.advanced::int AS advanced, 0 AS exits, NULL::int AS days
    FROM reporting_stagespell s {join_entered}
    UNION ALL
    SELECT date_trunc('month', s.left_on)::date, s.pipeline_id, s.stage_id, s.product_id, 0, 0, 1, s.days
    FROM reporting_stagespell s {join_left} WHERE s.days IS NOT NULL
) x
GROUP BY month, pipeline_id, stage_id, product_id
"""
# Re-entries by the month they began and the month of the deal's previous entry into the same stage.
STAGE_REENTRY_SQL = """
INSERT INTO reporting_stagereentrymonth (month, prev_month, pipeline_id, stage_id, product_id, entered, advanced)
SELECT date_trunc('month', s.entered_on)::date, date_trunc('month', s.prev_entered_on)::date, s.pipeline_id,
       s.stage_id, s.product_id, COUNT(*), SUM(s.advanced::int)
FROM reporting_stagespell s {join_entered} WHERE s.prev_entered_on IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
"""
# Repeated exits by the month they ended and the month the deal's previous stay in the same stage ended.
STAGE_REEXIT_SQL = """
INSERT INTO reporting_stagereexitmonth (month, prev_month, pipeline_id, stage_id, product_id, "left")
SELECT date_trunc('month', s.left_on)::date, date_trunc('month', s.prev_left_on)::date, s.pipeline_id, s.stage_id,
       s.product_id, COUNT(*)
FROM reporting_stagespell s {join_left} WHERE s.prev_left_on IS NOT NULL AND s.days IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
"""
STAGE_DAYS_SQL = """
INSERT INTO reporting_stagedaysmonth (month, pipeline_id, stage_id, days, spells)
SELECT date_trunc('month', s.left_on)::date, s.pipeline_id, s.stage_id, s.days, COUNT(*)
FROM reporting_stagespell s {join_left} WHERE s.days IS NOT NULL
GROUP BY 1, 2, 3, 4
"""
JOIN_ENTERED = f"JOIN {MONTHS} ON s.entered_on >= b.month AND s.entered_on < b.month + interval '1 month'"
JOIN_LEFT = f"JOIN {MONTHS} ON s.left_on >= b.month AND s.left_on < b.month + interval '1 month'"
SPELLS_OF_DEALS_SQL = """
SELECT pipeline_id, stage_id, product_id, entered_on, left_on, days, advanced, prev_entered_on, prev_left_on
FROM reporting_stagespell WHERE deal_id = ANY(%s)
"""


STAGE_MEDIANS_SQL = """
INSERT INTO reporting_stagemedian (stage_id, median_days, spells, computed_at)
SELECT stage_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY days), COUNT(*), now()
FROM reporting_stagespell WHERE days IS NOT NULL GROUP BY stage_id
"""


# Closed deals, open deals and credits summed per close month, account and pipeline, each read from its covering
# index (which holds the account); {range_f} and {range_c} narrow the deals and the credits.
SUMS_BY_ACCOUNT = """
    SELECT date_trunc('month', f.close_date)::date AS month, f.account_id, f.pipeline_id,
           SUM((f.status = 'won')::int) AS won, SUM((f.status = 'lost')::int) AS lost,
           SUM(CASE WHEN f.status = 'won' THEN f.amount END) AS won_amount, SUM(f.cycle_days) AS cycle,
           COUNT(f.cycle_days) AS cycles, NULL::numeric AS credit, 0 AS open, NULL::numeric AS open_amount,
           NULL::numeric AS weighted
    FROM reporting_dealfact f WHERE f.status IN ('won', 'lost') {range_f}
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT date_trunc('month', f.close_date)::date, f.account_id, f.pipeline_id, 0, 0, NULL, NULL, 0, NULL,
           COUNT(*), SUM(f.amount), SUM(f.amount * f.probability / 100)
    FROM reporting_dealfact f WHERE f.status = 'open' {range_f}
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT date_trunc('month', c.close_date)::date, c.account_id, c.pipeline_id, 0, 0, NULL, NULL, 0, SUM(c.credit),
           0, NULL, NULL
    FROM reporting_creditfact c WHERE TRUE {range_c}
    GROUP BY 1, 2, 3
"""
TERRITORY_MONTH_SUMS = tuple(field.name for field in MonthSums._meta.get_fields())  # every one a sum or a count
TERRITORY_MONTH_COLUMNS = ", ".join(("month", "territory_id", "pipeline_id", *TERRITORY_MONTH_SUMS))
# The company's sums per month, territory (of the active model, as copied into reporting_territorybasis from
# planning's published view) and pipeline, for one month (or all): summed by account first, then joined to the
# accounts' territories. The month bucket is the whole company's: a change of a deal rebuilds every territory of
# its months, so nothing depends on which territory the deal was in before.
TERRITORY_MONTH_SQL = (
    f"INSERT INTO reporting_territorymonth ({TERRITORY_MONTH_COLUMNS}) "
    "SELECT x.month, tt.territory_id, x.pipeline_id, SUM(won), SUM(lost), COALESCE(SUM(won_amount), 0), "
    "COALESCE(SUM(cycle), 0), SUM(cycles), COALESCE(SUM(credit), 0), SUM(open), COALESCE(SUM(open_amount), 0), "
    "COALESCE(SUM(weighted), 0) "
    f"FROM ({SUMS_BY_ACCOUNT}) x "
    "LEFT JOIN reporting_territorybasis tt ON tt.account_id = x.account_id "
    "WHERE x.month IS NOT NULL "
    "GROUP BY x.month, tt.territory_id, x.pipeline_id"
)
# Accounts that changed territory (%(accounts)s, from %(old)s to %(new)s; None: no territory): their sums taken
# out of the old territory's rows and added to the new one's, every month but %(skip)s (rebuilt whole anyway).
# Every column is a sum or a count, so moving an account's share is exact.
TERRITORY_MOVE_SQL = (
    f"INSERT INTO reporting_territorymonth AS t ({TERRITORY_MONTH_COLUMNS}) "
    "SELECT x.month, m.territory_id, x.pipeline_id, SUM(m.sign * won), SUM(m.sign * lost), "
    "COALESCE(SUM(m.sign * won_amount), 0), COALESCE(SUM(m.sign * cycle), 0), SUM(m.sign * cycles), "
    "COALESCE(SUM(m.sign * credit), 0), SUM(m.sign * open), COALESCE(SUM(m.sign * open_amount), 0), "
    "COALESCE(SUM(m.sign * weighted), 0) "
    "FROM ({sums}) x "
    "JOIN (SELECT a, o, -1 FROM unnest(%(accounts)s::bigint[], %(old)s::bigint[]) AS u(a, o) "
    "      UNION ALL SELECT a, n, 1 FROM unnest(%(accounts)s::bigint[], %(new)s::bigint[]) AS u(a, n)"
    ") m (account_id, territory_id, sign) ON m.account_id = x.account_id "
    "WHERE x.month IS NOT NULL AND x.month <> ALL(%(skip)s::date[]) "
    "GROUP BY x.month, m.territory_id, x.pipeline_id "
    "ON CONFLICT (month, territory_id, pipeline_id) DO UPDATE SET "
    + ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in TERRITORY_MONTH_SUMS)
    + " RETURNING month"
).format(
    sums=SUMS_BY_ACCOUNT.format(
        range_f="AND f.account_id = ANY(%(accounts)s)", range_c="AND c.account_id = ANY(%(accounts)s)"
    )
)
# What a move leaves empty is gone, as a rebuild would not have it.
TERRITORY_EMPTY_SQL = "DELETE FROM reporting_territorymonth WHERE month = ANY(%s) AND " + " AND ".join(
    f"{c} = 0" for c in TERRITORY_MONTH_SUMS
)
# One month of the territory sums (`TERRITORY_MONTH_SQL`'s ranges; empty for all months).
MONTH_OF_DEAL = "AND f.close_date >= %(start)s AND f.close_date < %(end)s"
MONTH_OF_CREDIT = "AND c.close_date >= %(start)s AND c.close_date < %(end)s"
# The active model the territory sums follow: its id and when its accounts were last assigned ('' when none).
TERRITORY_MODEL_SQL = f"SELECT {TERRITORY_MODEL_VERSION}"
# Enough hash memory for a month's sums by account (raised for the rest of the refresh's transaction only, and
# never lowered below what the connection has).
RAISE_WORK_MEM = (
    "SELECT set_config('work_mem', '64MB', true) WHERE pg_size_bytes(current_setting('work_mem')) < 64 * 1024 * 1024"
)


def territory_model_version(cursor: Any) -> str:
    cursor.execute(TERRITORY_MODEL_SQL)
    return str(cursor.fetchone()[0])


# The basis taken afresh from planning's view (after the version was read: a later assignment only moves the
# version again, and the next refresh finds nothing left to move).
BASIS_COPY_SQL = (
    "INSERT INTO reporting_territorybasis (account_id, territory_id) "
    "SELECT account_id, territory_id FROM planning_account_territory"
)
# The accounts whose territory differs between the basis and planning's view (placed, moved or taken out): their
# territory before and now (None: in none). At most BASIS_MOVES_MAX + 1 rows are read.
BASIS_MOVES_SQL = """
SELECT COALESCE(v.account_id, b.account_id), b.territory_id, v.territory_id
FROM reporting_territorybasis b FULL JOIN planning_account_territory v ON v.account_id = b.account_id
WHERE b.territory_id IS DISTINCT FROM v.territory_id
LIMIT %s
"""
# Beyond this many accounts moved at once (a new set of rules), building the rollup whole is cheaper.
BASIS_MOVES_MAX = 5_000
# Beyond this many months at once, one pass over every month beats a query per month.
TERRITORY_MONTHS_MAX = 12


def _model_of(version: str) -> str:
    """The model part of a territory rollup version ("b<id>@<assigned at>")."""
    return version.partition("@")[0]


def _follow_assignments(cursor: Any, rebuilt: Sequence[dt.date]) -> bool:
    """Bring the basis up to the active model's current assignments, and move the sums of the accounts that moved
    to their new territory in every month but `rebuilt` (built whole afterwards); nothing to do for an account
    without deals. False, with nothing changed, when so many moved that the rollup is better built whole."""
    cursor.execute(BASIS_MOVES_SQL, [BASIS_MOVES_MAX + 1])
    moves = cursor.fetchall()
    if len(moves) > BASIS_MOVES_MAX:
        return False
    if not moves:
        return True
    accounts = [account for account, _, _ in moves]
    cursor.execute(
        TERRITORY_MOVE_SQL,
        {
            "accounts": accounts,
            "old": [old for _, old, _ in moves],
            "new": [new for _, _, new in moves],
            "skip": list(rebuilt),
        },
    )
    touched = sorted({row[0] for row in cursor.fetchall()})
    if touched:
        cursor.execute(TERRITORY_EMPTY_SQL, [touched])
    gone = [account for account, _, new in moves if new is None]
    if gone:
        cursor.execute("DELETE FROM reporting_territorybasis WHERE account_id = ANY(%s)", [gone])
    placed = [(account, new) for account, _, new in moves if new is not None]
    if placed:
        cursor.execute(
            "INSERT INTO reporting_territorybasis (account_id, territory_id) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) "
            "ON CONFLICT (account_id) DO UPDATE SET territory_id = EXCLUDED.territory_id",
            [[a for a, _ in placed], [t for _, t in placed]],
        )
    return True


def _rebuild_territory_months(cursor: Any, state: RefreshState, months: Sequence[dt.date]) -> None:
    """Keep the territory rollup the active model's: built whole (with its basis) for another model, or when there
    is none any more; for the active model's new assignments, the moved accounts' sums moved to their territory;
    and these months (of changed deals), every territory."""
    version = territory_model_version(cursor)
    built_for = state.territory_rollup_for
    if built_for == version and (not version or not months):
        return
    cursor.execute(RAISE_WORK_MEM)
    rebuilt = sorted(set(months))
    whole = len(rebuilt) > TERRITORY_MONTHS_MAX
    if built_for != version:
        state.territory_rollup_for = version
        if not version:
            cursor.execute("DELETE FROM reporting_territorybasis")
            cursor.execute("DELETE FROM reporting_territorymonth")
            return
        same_model = bool(built_for) and _model_of(built_for) == _model_of(version)
        if whole or not same_model or not _follow_assignments(cursor, rebuilt):
            cursor.execute("DELETE FROM reporting_territorybasis")
            cursor.execute(BASIS_COPY_SQL)
            _build_territory_months(cursor, None)
            return
    if rebuilt:
        _build_territory_months(cursor, None if whole else rebuilt)


def _build_territory_months(cursor: Any, months: list[dt.date] | None) -> None:
    """The rollup's sums for these months (None: all), every territory, from the facts and the basis (the active
    model's; a model holding no account puts everything in no territory)."""
    if months is not None:
        cursor.execute("DELETE FROM reporting_territorymonth WHERE month = ANY(%s)", [months])
        for month in months:
            params = {"start": month, "end": (month + dt.timedelta(days=32)).replace(day=1)}
            cursor.execute(TERRITORY_MONTH_SQL.format(range_f=MONTH_OF_DEAL, range_c=MONTH_OF_CREDIT), params)
        return
    cursor.execute("DELETE FROM reporting_territorymonth")  # a small table; readers are not blocked
    cursor.execute(TERRITORY_MONTH_SQL.format(range_f="", range_c=""))


# ------------------------------------------------------------------------------------------- helpers
def _state() -> RefreshState:
    state, _ = RefreshState.objects.select_for_update().get_or_create(pk=1)
    return state


def _delete_facts(cursor: Any, ids: list[int]) -> None:
    for table in FACT_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE deal_id = ANY(%s)", [ids])


def _insert_facts(cursor: Any, ids: list[int] | None) -> None:
    params: dict[str, Any] = {"tz": _tz(), "open_end": OPEN_SPELL_END, "ids": ids}
    where = "TRUE" if ids is None else "d.id = ANY(%(ids)s)"
    where_f = "TRUE" if ids is None else "f.deal_id = ANY(%(ids)s)"
    where_c = "TRUE" if ids is None else "c.deal_id = ANY(%(ids)s)"
    cursor.execute(DEAL_FACTS_SQL.format(where=where), params)
    if ids is None or len(ids) >= ANALYZE_AFTER:
        # The facts just written are read back at once (credits, spells, pushes): planner statistics from before a
        # large batch can turn those joins into minutes, and autovacuum sees the rows only after the commit.
        cursor.execute("ANALYZE reporting_dealfact")
    cursor.execute(CREDIT_FACTS_SQL.format(where=where_f), params)
    cursor.execute(STAGE_SPELLS_SQL.format(where_c=where_c), params)
    cursor.execute(CLOSE_PUSHES_SQL.format(where_c=where_c), params)


Buckets = dict[str, set[tuple[int, dt.date]]]
STAGE_MONTHS = "stage months"


def _buckets(cursor: Any, ids: list[int], into: Buckets) -> None:
    for rollup in ROLLUPS:
        cursor.execute(BUCKETS_OF_DEALS_SQL.format(key_f=rollup.key_f, key_c=rollup.key_c), {"ids": ids})
        into.setdefault(rollup.table, set()).update((row[0], row[1]) for row in cursor.fetchall())


def _spells(cursor: Any, ids: list[int]) -> set[tuple[Any, ...]]:
    cursor.execute(SPELLS_OF_DEALS_SQL, [ids])
    return set(cursor.fetchall())


def _spell_months(changed: set[tuple[Any, ...]]) -> set[tuple[int, dt.date]]:
    """The months whose stage rollups a change of these stays alters (entry months, and exit months)."""
    months: set[tuple[int, dt.date]] = set()
    for _, _, _, entered_on, left_on, days, _, _, _ in changed:
        months.add((0, entered_on.replace(day=1)))
        if days is not None:
            months.add((0, left_on.replace(day=1)))
    return months


def _rebuild_stage_months(cursor: Any, months: list[dt.date] | None) -> None:
    if months is None:
        cursor.execute(STAGE_MONTH_SQL.format(join_entered="", join_left=""))
        cursor.execute(STAGE_REENTRY_SQL.format(join_entered=""))
        cursor.execute(STAGE_REEXIT_SQL.format(join_left=""))
        cursor.execute(STAGE_DAYS_SQL.format(join_left=""))
        return
    params = {"months": months}
    cursor.execute("DELETE FROM reporting_stagemonth WHERE month = ANY(%(months)s)", params)
    cursor.execute("DELETE FROM reporting_stagereentrymonth WHERE month = ANY(%(months)s)", params)
    cursor.execute("DELETE FROM reporting_stagereexitmonth WHERE month = ANY(%(months)s)", params)
    cursor.execute("DELETE FROM reporting_stagedaysmonth WHERE month = ANY(%(months)s)", params)
    cursor.execute(STAGE_MONTH_SQL.format(join_entered=JOIN_ENTERED, join_left=JOIN_LEFT), params)
    cursor.execute(STAGE_REENTRY_SQL.format(join_entered=JOIN_ENTERED), params)
    cursor.execute(STAGE_REEXIT_SQL.format(join_left=JOIN_LEFT), params)
    cursor.execute(STAGE_DAYS_SQL.format(join_left=JOIN_LEFT), params)


def _rebuild_buckets(cursor: Any, buckets: Buckets) -> None:
    months = sorted(m for _, m in buckets.get(STAGE_MONTHS, set()))
    if months:
        _rebuild_stage_months(cursor, months)
    for rollup in ROLLUPS:
        chosen = buckets.get(rollup.table)
        if not chosen:
            continue
        ordered = sorted(chosen)
        params = {"keys": [b[0] for b in ordered], "months": [b[1] for b in ordered]}
        cursor.execute(
            f"DELETE FROM {rollup.table} r USING {BUCKETS} WHERE r.{rollup.key} = b.k AND r.month = b.month",
            params,
        )
        cursor.execute(
            ROLLUP_SQL.format(
                table=rollup.table,
                key=rollup.key,
                key_f=rollup.key_f,
                key_c=rollup.key_c,
                join_f=_bucket_join(rollup.key_f, "f.close_date"),
                join_c=_bucket_join(rollup.key_c, "c.close_date"),
            ),
            params,
        )


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


# ----------------------------------------------------------------------------------------- the runs
def refresh_deals(deal_ids: Iterable[int], *, medians: bool = False) -> dict[str, Any]:
    """Rebuild the facts of these deals (deleted deals lose theirs) and the rollup buckets they touch."""
    ids = sorted({int(i) for i in deal_ids})
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        advisory_xact_lock(LOCK_KEY)
        state = _state()
        buckets = _refresh_ids(cursor, ids, state)
        if medians or state.medians_at is None:
            _refresh_medians(cursor, state)
        state.refreshed_at = timezone.now()
        state.last_run = {
            "kind": "deals",
            "deals": len(ids),
            "buckets": buckets,
            "seconds": round(time.perf_counter() - started, 3),
        }
        state.save()
    return dict(state.last_run)


PEOPLE_OF_DEALS_SQL = """
SELECT owner_id FROM reporting_dealfact WHERE deal_id = ANY(%(ids)s)
UNION SELECT person_id FROM reporting_creditfact WHERE deal_id = ANY(%(ids)s)
"""
PEOPLE_OF_ALL_SQL = (
    "SELECT DISTINCT owner_id FROM reporting_dealfact UNION SELECT DISTINCT person_id FROM reporting_creditfact"
)


def _people(cursor: Any, ids: list[int] | None) -> set[int]:
    if ids is None:
        cursor.execute(PEOPLE_OF_ALL_SQL)
    else:
        cursor.execute(PEOPLE_OF_DEALS_SQL, {"ids": ids})
    return {row[0] for row in cursor.fetchall()}


def _refresh_ids(cursor: Any, ids: list[int], state: RefreshState) -> int:
    buckets: Buckets = {}
    people = set(state.people_with_facts or [])
    for chunk in _chunks(ids):
        _buckets(cursor, chunk, buckets)
        before = _spells(cursor, chunk)
        _delete_facts(cursor, chunk)
        _insert_facts(cursor, chunk)
        _buckets(cursor, chunk, buckets)
        buckets.setdefault(STAGE_MONTHS, set()).update(_spell_months(before ^ _spells(cursor, chunk)))
        people |= _people(cursor, chunk)
    _rebuild_buckets(cursor, buckets)
    # The months of the changed deals' facts, before and after (and the moved accounts' sums, when the active
    # model's assignments moved: see _rebuild_territory_months).
    _rebuild_territory_months(cursor, state, sorted({month for _, month in buckets.get(PERSON_MONTHS.table, set())}))
    state.people_with_facts = sorted(people)
    return sum(len(b) for b in buckets.values())


def _refresh_medians(cursor: Any, state: RefreshState) -> None:
    cursor.execute("DELETE FROM reporting_stagemedian")
    cursor.execute(STAGE_MEDIANS_SQL)
    state.medians_at = timezone.now()


def changed_deal_ids(cursor: Any, state: RefreshState) -> tuple[set[int], dict[str, Any]]:
    """Deals changed since the watermarks (read a little behind them), and the watermarks to keep next."""
    cursor.execute("SELECT now(), COALESCE(MAX(id), 0) FROM pipeline_deal_change_feed")
    now, max_change = cursor.fetchone()
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM pipeline_activity_feed")
    max_activity = cursor.fetchone()[0]
    ids: set[int] = set()
    since = (state.deals_updated_after - TIME_OVERLAP) if state.deals_updated_after else None
    if since is None:
        cursor.execute("SELECT id FROM pipeline_deal_feed")
    else:
        cursor.execute("SELECT id FROM pipeline_deal_feed WHERE updated_at > %s", [since])
    ids.update(row[0] for row in cursor.fetchall())
    changes, change_gaps = _feed_deals(
        cursor, "pipeline_deal_change_feed", state.last_change_id, state.change_gaps, max_change
    )
    # Logging an activity moves the deal's last activity without touching the deal row's updated_at.
    activities, activity_gaps = _feed_deals(
        cursor, "pipeline_activity_feed", state.last_activity_id, state.activity_gaps, max_activity
    )
    ids |= changes | activities
    # Deals deleted from the pipeline keep no facts.
    cursor.execute(
        "SELECT f.deal_id FROM reporting_dealfact f "
        "WHERE NOT EXISTS (SELECT 1 FROM pipeline_deal_feed d WHERE d.id = f.deal_id)"
    )
    ids.update(row[0] for row in cursor.fetchall())
    marks = {
        "deals_updated_after": now,
        "last_change_id": max_change,
        "last_activity_id": max_activity,
        "change_gaps": change_gaps,
        "activity_gaps": activity_gaps,
    }
    return ids, marks


# The deals of a feed's rows this sweep has not read: those after the last sweep's watermark, and the ids the last
# sweep found missing below it (`gaps`: a transaction still in flight then, or rolled back); with the ids present
# in the window below the new watermark, read in the same statement (one snapshot), for the gaps of this sweep.
FEED_ROWS_SQL = """
SELECT DISTINCT deal_id, NULL::bigint FROM {feed} WHERE id > %(last)s AND id <= %(max)s AND deal_id IS NOT NULL
UNION ALL
SELECT deal_id, id FROM {feed} WHERE (id > %(low)s AND id <= %(max)s) OR id = ANY(%(gaps)s)
"""


def _feed_deals(
    cursor: Any, feed: str, last_id: int, gaps: list[int] | None, max_id: int
) -> tuple[set[int], list[int]]:
    """The deals of `feed`'s rows not read yet (see FEED_ROWS_SQL), and the ids missing from its last ID_OVERLAP
    ids now, for the next sweep to read should they appear. Without gaps on record (the first sweep after a full
    build, which could not know them), the last ID_OVERLAP ids below the watermark are read again instead."""
    if gaps is None:
        gaps = list(range(max(0, last_id - ID_OVERLAP) + 1, last_id + 1))
    low = max(0, max_id - ID_OVERLAP)
    cursor.execute(FEED_ROWS_SQL.format(feed=feed), {"last": last_id, "max": max_id, "low": low, "gaps": gaps})
    missing = set(gaps)
    deals: set[int] = set()
    present: set[int] = set()
    for deal_id, row_id in cursor.fetchall():
        if row_id is None:
            deals.add(deal_id)
        else:
            present.add(row_id)
            if row_id in missing and deal_id is not None:
                deals.add(deal_id)
    return deals, [i for i in range(low + 1, max_id + 1) if i not in present]


def refresh_changed(*, medians_max_age: dt.timedelta = dt.timedelta(hours=24)) -> dict[str, Any]:
    """The incremental sweep: every deal changed since the last sweep (whatever the way it changed)."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        advisory_xact_lock(LOCK_KEY)
        state = _state()
        if state.full_rebuild_at is None:
            # Nothing built yet: the first sweep is a full build.
            return _rebuild_all(cursor, state, started)
        ids, marks = changed_deal_ids(cursor, state)
        buckets = _refresh_ids(cursor, sorted(ids), state)
        for key, value in marks.items():
            setattr(state, key, value)
        if ids or state.medians_at is None or timezone.now() - state.medians_at > medians_max_age:
            _refresh_medians(cursor, state)
        state.refreshed_at = timezone.now()
        state.last_run = {
            "kind": "sweep",
            "deals": len(ids),
            "buckets": buckets,
            "seconds": round(time.perf_counter() - started, 3),
        }
        state.save()
    return dict(state.last_run)


def rebuild_all() -> dict[str, Any]:
    """Everything from scratch, in one transaction (readers of the reporting tables wait until it commits)."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        advisory_xact_lock(LOCK_KEY)
        return _rebuild_all(cursor, _state(), started)


def _rebuild_all(cursor: Any, state: RefreshState, started: float) -> dict[str, Any]:
    cursor.execute("SELECT now(), COALESCE(MAX(id), 0) FROM pipeline_deal_change_feed")
    now, max_change = cursor.fetchone()
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM pipeline_activity_feed")
    max_activity = cursor.fetchone()[0]
    cursor.execute(
        "TRUNCATE reporting_dealfact, reporting_creditfact, reporting_stagespell, reporting_closedatepush, "
        "reporting_personmonth, reporting_productmonth, reporting_stagemonth, reporting_stagereentrymonth, "
        "reporting_stagereexitmonth, reporting_stagedaysmonth, "
        "reporting_territorymonth, reporting_territorybasis"
    )
    _insert_facts(cursor, None)
    for rollup in ROLLUPS:
        cursor.execute(
            ROLLUP_SQL.format(
                table=rollup.table, key=rollup.key, key_f=rollup.key_f, key_c=rollup.key_c, join_f="", join_c=""
            )
        )
    state.territory_rollup_for = ""  # emptied above: built whole for the active model, if there is one
    _rebuild_territory_months(cursor, state, [])
    _rebuild_stage_months(cursor, None)
    _refresh_medians(cursor, state)
    state.people_with_facts = sorted(_people(cursor, None))
    cursor.execute("SELECT COUNT(*) FROM reporting_dealfact")
    deals = cursor.fetchone()[0]
    state.deals_updated_after, state.last_change_id, state.last_activity_id = now, max_change, max_activity
    state.change_gaps = state.activity_gaps = None  # not known: the next sweep reads the last ids again
    state.refreshed_at = state.full_rebuild_at = timezone.now()
    state.last_run = {"kind": "full", "deals": deals, "seconds": round(time.perf_counter() - started, 3)}
    state.save()
    return dict(state.last_run)


def analyze() -> None:
    """Fresh planner statistics and visibility maps after a large build (outside a transaction block): the
    KPI queries are index-only scans, which read the heap for every row of a page not yet marked all-visible."""
    with connection.cursor() as cursor:
        stages_and_territories = (
            "reporting_stagemonth", "reporting_stagereentrymonth", "reporting_stagereexitmonth",
            "reporting_stagedaysmonth",
            "reporting_territorymonth", "reporting_territorybasis",
        )  # fmt: skip
        for table in (*FACT_TABLES, *(r.table for r in ROLLUPS), *stages_and_territories):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
