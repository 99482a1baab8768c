"""Ids coalesced per transaction and handed on once, when the transaction commits.

A change touches people (or deals) through many calls inside one transaction: a bulk upload makes hundreds.
`Coalescer.add` gathers their ids per thread (a threaded server runs several transactions at once) under a
reason, with the earliest date they reach back to, and registers `flush` with the on-commit registrar the
caller passes in (Django's `transaction.on_commit`: the kernel imports no Django). The first flush after a
commit hands the whole batch to `send` once; the others find nothing left. Registered on every call, so a
rolled-back savepoint never strands a batch (its ids ride along with the next: an extra run, never a
missed one). Outside a transaction the registrar runs `flush` at once, after the caller staged its work.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batch", "Coalescer"]


@dataclass
class Batch:
    """What one transaction gathered: ids by reason, the earliest date reached back to, and `token`, which
    the caller may set to what it staged for the batch (an outbox message id) and widen on later calls."""

    ids: dict[str, set[Hashable]] = field(default_factory=dict)
    since: dt.date | None = None
    token: Any = None

    def all_ids(self) -> list[Any]:
        return sorted({i for ids in self.ids.values() for i in ids})  # type: ignore[type-var]

    def reasons(self) -> list[str]:
        return sorted(self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids) or self.token is not None


class Coalescer:
    def __init__(self, *, on_commit: Callable[[Callable[[], None]], Any], send: Callable[[Batch], Any]) -> None:
        self._on_commit = on_commit
        self._send = send
        self._local = threading.local()

    def pending(self) -> Batch:
        """This thread's batch (empty when nothing is pending)."""
        batch: Batch | None = getattr(self._local, "batch", None)
        if batch is None:
            batch = self._local.batch = Batch()
        return batch

    def add(
        self,
        ids: Iterable[Hashable],
        *,
        reason: str = "",
        since: dt.date | None = None,
        stage: Callable[[Batch], Any] | None = None,
    ) -> Batch:
        """Add ids (and how far back they reach) to this transaction's batch, let `stage` record the widened
        batch (inside the transaction), then register the flush on commit. No ids: nothing happens."""
        wanted = set(ids)
        batch = self.pending()
        if not wanted:
            return batch
        batch.ids.setdefault(reason, set()).update(wanted)
        if since is not None:
            batch.since = since if batch.since is None else min(batch.since, since)
        if stage is not None:
            stage(batch)
        self._on_commit(self.flush)
        return batch

    def flush(self) -> None:
        """Hand the pending batch to `send` (once) and start a new one."""
        batch = self.pending()
        self._local.batch = Batch()
        if batch:
            self._send(batch)
