"""People waiting for a change's commission recompute (RecomputePending), and the recompute that takes them.

Each change's transaction writes one row with the people it touched (`pending_stage`, through
`tasks.queue_recompute`, widened by its later calls) and queues a task as before. Whichever change task runs first
takes every row pending (`recompute_pending`), so a burst of a thousand changes is recomputed by its first task in
one go and the others find nothing left; a task dropped by its 60 s expiry (a backlog) loses nobody, because its
row stays until a recompute that took it has committed, and the minute's sweep (beat, `incentives.recompute_pending`)
takes whatever is left.

- Rows are only ever inserted by their own transaction (one per transaction): changes never wait for one another
  here, and a row is seen by a recompute only once its change committed.
- A recompute takes (claims) rows in a short transaction of its own, recomputes their people, and deletes the rows
  only after its recompute committed: a recompute that fails leaves them claimed, and a claim older than
  PENDING_CLAIM_STALE (past the task's hard time limit: its worker died) is taken again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

PENDING_CLAIM_STALE = dt.timedelta(minutes=10)  # the change task's hard time limit is 6 minutes
PENDING_BATCH = 1000  # rows (changes) one recompute takes at most: the rest, the next task or the minute's sweep
TABLE = "incentives_recomputepending"


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
            f"INSERT INTO {TABLE} (person_ids, reason, since, queued_at) VALUES (%s, %s, %s, now()) RETURNING id",
            [ids, reason[:120], since],
        )
        return int(cursor.fetchone()[0])


def _claim(token: uuid.UUID, *, limit: int) -> list[tuple[list[int], dt.date | None, str]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH taken AS (
                SELECT id FROM {TABLE}
                WHERE claim IS NULL OR claimed_at < now() - make_interval(secs => %s)
                ORDER BY id
                LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            UPDATE {TABLE} AS p SET claim = %s, claimed_at = now()
            FROM taken WHERE p.id = taken.id
            RETURNING p.person_ids, p.since, p.reason
            """,
            [PENDING_CLAIM_STALE.total_seconds(), limit, token],
        )
        return [(list(people), since, reason) for people, since, reason in cursor.fetchall()]


def recompute_pending(*, limit: int = PENDING_BATCH) -> dict[str, Any]:
    """Recompute the people of every row pending (up to `limit` rows) in one change recompute; {"people": 0} when
    none is. The claim commits before the recompute starts (in a transaction of its own when called outside one),
    and the rows are deleted after it committed."""
    from incentives.recompute import commission_recompute

    token = uuid.uuid4()
    claimed = _claim(token, limit=limit)
    if not claimed:
        return {"people": 0}
    people = sorted({person for ids, _, _ in claimed for person in ids})
    dates = [since for _, since, _ in claimed if since is not None]
    reasons = sorted({part for _, _, reason in claimed for part in reason.split(",") if part})
    stats = commission_recompute(
        person_ids=people, triggered_by=f"change: {','.join(reasons)}"[:120], since=min(dates) if dates else None
    )
    with connection.cursor() as cursor:  # only now: a failed recompute leaves them claimed, taken again later
        cursor.execute(f"DELETE FROM {TABLE} WHERE claim = %s", [token])
    return stats
