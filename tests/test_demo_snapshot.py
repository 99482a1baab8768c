"""The demo company's copy (tests/demo_snapshot.py) goes back with foreign keys and triggers off, and leaves them
on for the tests that follow: the restore runs inside their transaction, where a SET LOCAL would outlive it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from tests.demo_snapshot import _read, _restore, _take, _write


@pytest.mark.django_db
def test_a_restored_copy_leaves_foreign_keys_and_triggers_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    snapshot = _take("said")
    path = tmp_path / "demo.copy"
    _write(snapshot, path)
    assert _read(path) == snapshot
    with transaction.atomic():  # a module fixture's transaction
        assert _restore(_read(path))
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone() == ("origin",)
