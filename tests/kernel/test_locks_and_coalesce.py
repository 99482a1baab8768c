"""salesops.kernel.locks and salesops.kernel.coalesce."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest

from salesops.kernel.coalesce import Batch, Coalescer
from salesops.kernel.locks import REGISTERED, lock_key, lock_pair


def test_registered_jobs_keep_their_keys():
    assert lock_key("incentives.recompute") == 74_260_001
    assert lock_key("reporting.refresh") == 7_301_946
    assert lock_key("pipeline.import") == 720_431
    assert lock_key("enablement.ramp") == 0x52414D50
    assert lock_pair("forecasting.rollup", "2026-Q1") == (74_260_101, zlib.crc32(b"2026-Q1") - 2**31)
    assert lock_pair("forecasting.snapshot", "") == (74_260_102, -(2**31))
    assert lock_pair("incentives.recompute.scope", 17) == (74_260_002, 17)


def test_hashed_keys_are_stable_signed_64_bit_and_scoped():
    keys = {lock_key("x"), lock_key("x", 1), lock_key("x", 2), lock_key("x", "1"), lock_key("y", 1)}
    assert lock_key("x", 1) == lock_key("x", 1)
    assert lock_key("x", 1) == lock_key("x", "1")  # a scope is its text
    assert len(keys) == 4
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert not keys & set(REGISTERED.values())
    assert lock_key("incentives.recompute", "region-1") != lock_key("incentives.recompute", "region-2")
    namespace, scope = lock_pair("new.job", 2**40)
    assert -(2**31) <= namespace < 2**31 and -(2**31) <= scope < 2**31
    with pytest.raises(ValueError):
        lock_key("")


class FakeTransaction:
    """Django's on_commit, as far as the coalescer sees it: inside a transaction callbacks wait for commit."""

    def __init__(self) -> None:
        self.open = False
        self.callbacks: list = []

    def on_commit(self, callback) -> None:
        if self.open:
            self.callbacks.append(callback)
        else:
            callback()

    def commit(self) -> None:
        self.open = False
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


def test_ids_of_one_transaction_are_sent_once_on_commit():
    tx, sent, staged = FakeTransaction(), [], []
    coalescer = Coalescer(on_commit=tx.on_commit, send=lambda batch: sent.append(batch))
    tx.open = True
    coalescer.add([1, 2], reason="quota", stage=lambda b: staged.append(b.all_ids()))
    coalescer.add([2, 3], reason="plan", since=dt.date(2025, 5, 1), stage=lambda b: staged.append(b.all_ids()))
    coalescer.add([4], reason="quota", since=dt.date(2025, 2, 1))
    coalescer.add([], reason="nothing")
    assert sent == [] and staged == [[1, 2], [1, 2, 3]]
    tx.commit()
    assert len(sent) == 1
    batch: Batch = sent[0]
    assert batch.all_ids() == [1, 2, 3, 4] and batch.reasons() == ["plan", "quota"]
    assert batch.since == dt.date(2025, 2, 1)
    assert not coalescer.pending()


def test_outside_a_transaction_each_call_is_sent_at_once_after_its_stage():
    tx, order = FakeTransaction(), []
    coalescer = Coalescer(on_commit=tx.on_commit, send=lambda batch: order.append(("send", batch.token)))

    def stage(batch):
        batch.token = "message"
        order.append(("stage", batch.all_ids()))

    coalescer.add([7], reason="r", stage=stage)
    assert order == [("stage", [7]), ("send", "message")]
