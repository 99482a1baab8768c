"""People waiting for a change's commission recompute (RecomputePending), and the recompute that takes them.

Each change's transaction writes one row with the people it touched (`pending_stage`, through
`tasks.queue_recompute`, widened by its later calls) and queues a task as before. Whichever change task runs first
takes every fresh row (`recompute_pending`), so a burst of a thousand changes is recomputed by its first task in
one go and the others find nothing left; a task dropped by its 60 s expiry (a backlog) loses nobody, because its
row stays until a recompute that took it has committed, and the minute's sweep (beat, `incentives.recompute_pending`)
takes whatever is left.

- Rows are only ever inserted by their own transaction (one per transaction): changes never wait for one another
  here, and a row is seen by a recompute only once its change committed.
- A recompute takes (claims) rows in a short transaction of its own, recomputes their people, and deletes the rows
  only after its recompute committed.
- A failure stays with the rows that cause it. When the recompute of several rows fails, each row is recomputed
  alone: the others succeed, and each row that fails again is released (`attempts` + 1, its error kept). Failed rows
  are retried one at a time by the minute's sweep, never with fresh ones; a claim older than PENDING_CLAIM_STALE
  (its worker died) is taken again by the sweep and counts as an attempt. After PENDING_ATTEMPTS a row is set
  aside, and the sweep fails every minute, naming it (so `/healthz/background` shows it), until a later recompute
  of its people, or the nightly full run, covers it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db import connection, transaction

from incentives.models import PENDING_ATTEMPTS, RecomputePending

logger = logging.getLogger(__name__)

PENDING_CLAIM_STALE = dt.timedelta(minutes=10)  # the change task's hard time limit is 6 minutes
PENDING_BATCH = 1000  # fresh rows (changes) one recompute takes at most: the rest, the next task or the sweep
RETRIES_PER_SWEEP = 20  # failed rows the minute's sweep retries (one at a time)
TABLE = RecomputePending._meta.db_table


class PendingRow(NamedTuple):
    id: int
    people: list[int]
    since: dt.date | None
    reason: str


class PendingSetAside(Exception):
    """Changes whose recompute failed PENDING_ATTEMPTS times: their people's pay is not up to date."""


def pending_stage(row: int | None, *, person_ids: Iterable[int], reason: str, since: dt.date | None) -> int:
    """This transaction's row of people pending, written or widened (`row`: the one it wrote before, if any; a row
    rolled back with a savepoint is written again). Returns the row's id."""
    ids = sorted({int(i) for i in person_ids})
    with connection.cursor() as cursor:
        if row is not None:
            cursor.execute(
                f"UPDATE {TABLE} SET person_ids = %s, reason = %s, since = %s WHERE id = %s RETURNING id",
                [ids, reason[:120], since, row],
            )
            if cursor.fetchone() is not None:
                return row
        cursor.execute(
            f"INSERT INTO {TABLE} (person_ids, reason, since, queued_at, attempts, last_error) "
            "VALUES (%s, %s, %s, now(), 0, '') RETURNING id",
            [ids, reason[:120], since],
        )
        return int(cursor.fetchone()[0])


def _claim(token: uuid.UUID, *, limit: int, retry: bool) -> list[PendingRow]:
    """Take rows for this recompute: fresh ones (never failed, not taken), or with `retry` the failed ones still to
    retry and those a dead recompute took (its claim stale: one more attempt)."""
    if retry:
        which = (
            "attempts < %s AND ((claim IS NULL AND attempts > 0) "
            "OR (claim IS NOT NULL AND claimed_at < now() - make_interval(secs => %s)))"
        )
        params: list[Any] = [PENDING_ATTEMPTS, PENDING_CLAIM_STALE.total_seconds()]
    else:
        which, params = "claim IS NULL AND attempts = 0", []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH taken AS (
                SELECT id FROM {TABLE} WHERE {which} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
            )
            UPDATE {TABLE} AS p
            SET claim = %s, claimed_at = now(),
                attempts = p.attempts + CASE WHEN p.claim IS NOT NULL THEN 1 ELSE 0 END
            FROM taken WHERE p.id = taken.id
            RETURNING p.id, p.person_ids, p.since, p.reason
            """,
            [*params, limit, token],
        )
        return [PendingRow(int(i), list(people), since, reason) for i, people, since, reason in cursor.fetchall()]


def _recompute(rows: list[PendingRow]) -> dict[str, Any]:
    """One change recompute of the rows' people; the rows, and older failed ones it covers, deleted after it
    committed."""
    from incentives.recompute import commission_recompute

    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        started = cursor.fetchone()[0]
    people = sorted({person for row in rows for person in row.people})
    dates = [row.since for row in rows if row.since is not None]
    reasons = sorted({part for row in rows for part in row.reason.split(",") if part})
    stats = commission_recompute(
        person_ids=people, triggered_by=f"change: {','.join(reasons)}"[:120], since=min(dates) if dates else None
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", [[row.id for row in rows]])
        # A failed row last tried before this recompute started, all of whose people it recomputed (from as far
        # back), is covered: its change had committed before that try.
        cursor.execute(
            f"DELETE FROM {TABLE} WHERE claim IS NULL AND attempts > 0 AND claimed_at <= %s"
            " AND person_ids <@ %s::bigint[] AND (since IS NULL OR since >= %s)",
            [started, people, min(dates) if dates else dt.date.max],
        )
    return stats


def _release(row: PendingRow, error: BaseException) -> None:
    """The row's recompute failed: free for a retry (by the sweep), one more attempt counted, its error kept."""
    text = f"{type(error).__name__}: {error}"[:300]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET claim = NULL, attempts = attempts + 1, last_error = %s WHERE id = %s",
            [text, row.id],
        )


def _recompute_rows(rows: list[PendingRow]) -> tuple[dict[str, Any], list[BaseException]]:
    """The rows' people in one recompute; when it fails, each row alone (a failure stays with the row causing it).
    The stats of what succeeded, and the failures."""
    try:
        return _recompute(rows), []
    except Exception as error:
        if len(rows) == 1:
            logger.exception("the recompute of pending row %s failed", rows[0].id)
            _release(rows[0], error)
            return {"people": 0}, [error]
        logger.warning("the recompute of %s pending rows failed; each is recomputed alone", len(rows), exc_info=True)
    failures: list[BaseException] = []
    done = 0
    for row in rows:
        try:
            done += _recompute([row]).get("payouts", 0)
        except Exception as error:
            logger.exception("the recompute of pending row %s failed", row.id)
            _release(row, error)
            failures.append(error)
    return {"people": len({p for row in rows for p in row.people}), "payouts": done, "split": len(rows)}, failures


def recompute_pending(*, limit: int = PENDING_BATCH, sweep: bool = False) -> dict[str, Any]:
    """Recompute the people of every fresh row (up to `limit` rows) in one change recompute; {"people": 0} when
    there is none. The sweep (`sweep`) then retries failed rows one at a time, and fails while any row is set aside
    (a full recompute deletes the failed rows it covers: `pending_covered`). Raises the first failure, after the
    rest was done."""
    token = uuid.uuid4()
    stats: dict[str, Any] = {"people": 0}
    failures: list[BaseException] = []
    fresh = _claim(token, limit=limit, retry=False)
    if fresh:
        stats, failures = _recompute_rows(fresh)
    if sweep:
        for row in _claim(token, limit=RETRIES_PER_SWEEP, retry=True):
            failures.extend(_recompute_rows([row])[1])
    if failures:
        raise failures[0]
    if sweep:
        _fail_while_set_aside()
    return stats


def pending_covered(*, before: dt.datetime | None = None) -> int:
    """A full recompute that read everything after `before` (default: its transaction's start, called inside it)
    covers every failed row last tried by then: their changes had committed before. Deleted; how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {TABLE} WHERE claim IS NULL AND attempts > 0 AND claimed_at <= COALESCE(%s, now())",
            [before],
        )
        return int(cursor.rowcount)


def _fail_while_set_aside() -> None:
    from incentives.selectors import set_aside

    found = set_aside()
    count, oldest, error = found.changes, found.since, found.error  # the latest error, as the register shows it
    if count and oldest is not None:
        raise PendingSetAside(
            f"{count} change(s) since {oldest:%Y-%m-%d %H:%M} UTC could not be recomputed after {PENDING_ATTEMPTS} "
            f"attempts ({error}); the nightly run recomputes everyone."
        )
