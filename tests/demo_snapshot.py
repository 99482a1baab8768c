"""The demo company, seeded once per test process and date, then restored from a copy of its rows.

Seeding the demo (`seed_demo`) takes some twenty seconds; a dozen test modules and every end-to-end test that
signs in as a demo login need it, each in an empty database. `load_demo()` runs the real command the first time a
process needs a given seed on a given day, copies every table's rows and every sequence's position, and the next
time writes those rows back (`COPY`) instead of seeding again: the same database the command would have left,
ids included, in a second or two.

Only what `seed_demo` itself produces is copied, so a test sees exactly the demo it would have seeded. The copy is
keyed by the seed and the (possibly frozen) day, because the demo is built relative to the day. Triggers are
switched off while the rows go back (`session_replication_role = replica`, which needs a superuser, as the test
databases have; without it the command simply runs again): the rows were written by the command with the
triggers on, and some of them (statement lines of a locked period) the triggers would now refuse.

The copy is shared by the test processes of one run (pytest-xdist's workers): tests/conftest.py makes a directory
for the run (SALESOPS_DEMO_SNAPSHOTS) and removes it at the end. The first process to need a seed and day seeds it
under a file lock and writes its copy there; the others wait for the lock and read the copy instead of seeding the
same company again beside it. Without that directory each process keeps its copies to itself.

tests/org/test_seed_demo.py keeps calling the command itself.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone


@dataclass(frozen=True)
class _Snapshot:
    tables: tuple[tuple[str, bytes], ...]  # (table, its rows as COPY … BINARY output)
    sequences: tuple[tuple[str, int, bool], ...]  # (sequence, last_value, is_called)
    said: str = ""  # what the command printed


# The seed every demo test loads unless it needs another: one seeding serves them all.
DEMO_SEED = 7

_SNAPSHOTS: dict[tuple[str, int, str], _Snapshot] = {}


def _tables(cursor) -> list[str]:  # type: ignore[no-untyped-def]
    cursor.execute(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename <> 'django_migrations' ORDER BY tablename"
    )
    return [row[0] for row in cursor.fetchall()]


def _sequences(cursor) -> list[tuple[str, int, bool]]:  # type: ignore[no-untyped-def]
    cursor.execute(
        "SELECT quote_ident(sequencename), COALESCE(last_value, start_value), last_value IS NOT NULL "
        "FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename"
    )
    return [(name, int(value), bool(called)) for name, value, called in cursor.fetchall()]


def _take(said: str) -> _Snapshot:
    tables: list[tuple[str, bytes]] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        for table in _tables(cursor):
            buffer = io.BytesIO()
            with raw.copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            tables.append((table, buffer.getvalue()))
        sequences = _sequences(cursor)
    return _Snapshot(tables=tuple(tables), sequences=tuple(sequences), said=said)


def _restore(snapshot: _Snapshot) -> bool:
    """Write the rows back into the (empty) database; False when triggers cannot be switched off here."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
        names = ", ".join(table for table, _ in snapshot.tables)
        cursor.execute(f"TRUNCATE {names}")
        raw = cursor.cursor
        for table, rows in snapshot.tables:
            with raw.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(rows)
        for name, value, called in snapshot.sequences:
            cursor.execute("SELECT setval(%s, %s, %s)", [name, value, called])
        # Inside a caller's transaction this block is a savepoint, and releasing it keeps a SET LOCAL until that
        # transaction ends: foreign keys and triggers would stay off for the caller's tests. Back on at once.
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    return True


SHARED_DIRECTORY = "SALESOPS_DEMO_SNAPSHOTS"


def _write(snapshot: _Snapshot, path: Path) -> None:
    """A header (JSON: what was said, the sequences, each table's name and size) then the tables' COPY output."""
    header = json.dumps(
        {
            "said": snapshot.said,
            "sequences": snapshot.sequences,
            "tables": [(table, len(rows)) for table, rows in snapshot.tables],
        }
    ).encode()
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as handle:
        handle.write(len(header).to_bytes(8, "big"))
        handle.write(header)
        for _, rows in snapshot.tables:
            handle.write(rows)
    partial.replace(path)


def _read(path: Path) -> _Snapshot:
    with open(path, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "big")))
        tables = tuple((table, handle.read(size)) for table, size in header["tables"])
    sequences = tuple((name, int(value), bool(called)) for name, value, called in header["sequences"])
    return _Snapshot(tables=tables, sequences=sequences, said=header["said"])


@contextmanager
def _shared(seed: int, day: str) -> Iterator[Path | None]:
    """The file holding this run's copy of the demo of `seed` on `day`, locked for this process meanwhile (None
    when the run shares no directory)."""
    directory = os.environ.get(SHARED_DIRECTORY)
    if not directory or not Path(directory).is_dir():
        yield None
        return
    path = Path(directory) / f"demo-{seed}-{day}.copy"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_demo(seed: int = DEMO_SEED) -> str:
    """The demo company of `seed` dated from today, in an empty database (as `seed_demo --seed N` leaves it);
    returns what the command printed."""
    day = timezone.localdate().isoformat()
    key = (connection.settings_dict["NAME"], seed, day)
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is not None and _restore(snapshot):
        return snapshot.said
    with _shared(seed, day) as path:
        if path is not None and path.exists():
            snapshot = _read(path)
            if _restore(snapshot):
                _SNAPSHOTS[key] = snapshot
                return snapshot.said
        out = io.StringIO()
        call_command("seed_demo", "--seed", str(seed), stdout=out)
        # The people the seeding left pending for a commission recompute (incentives.pending) are what a worker
        # takes as soon as the seed commits; a test's seed never commits, and left pending, everyone in the demo
        # was recomputed by the first deal a test changed, in its request (an end-to-end test's live server was
        # still writing statement lines when the test's teardown emptied the tables: a deadlock).
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM incentives_recomputepending")
        snapshot = _SNAPSHOTS[key] = _take(out.getvalue())
        if path is not None:
            _write(snapshot, path)
    return out.getvalue()
