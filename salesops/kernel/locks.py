"""Postgres advisory-lock keys: one place that hands them out, so no two jobs pick the same number.

Postgres has two key spaces that never meet: one bigint (`pg_advisory_xact_lock(key)`) and two ints
(`pg_advisory_xact_lock(namespace, key)`).
- `lock_key(name)`: a job's one-bigint key. The names below keep the constants they had before this module
  (runs, the bench and tests may hold them); any other name gets a stable 64-bit hash of its name.
- `lock_key(name, scope)`: a stable 64-bit key of one scope of a job (a region, a person, a period).
- `lock_pair(name, scope)`: the two-int form: the job's namespace (a 32-bit number) and the scope (an int id as
  it is, anything else by CRC-32), for jobs that lock many scopes of one kind (a period's rollups, a person's
  results). The namespace of a registered name is its constant.
"""

from __future__ import annotations

import hashlib
import zlib

__all__ = ["REGISTERED", "lock_key", "lock_pair"]

# Historical keys, by job name. A new job needs no entry: its name is hashed.
REGISTERED: dict[str, int] = {
    "incentives.recompute": 74_260_001,  # the commission recompute's stored results as a whole
    "incentives.recompute.scope": 74_260_002,  # namespace: a change recompute's people
    "forecasting.rollup": 74_260_101,  # namespace: one refresh of a period's rollups at a time
    "forecasting.snapshot": 74_260_102,
    "reporting.refresh": 7_301_946,  # every reporting refresh
    "pipeline.import": 720_431,  # every deal import
    "enablement.ramp": 0x52414D50,  # "RAMP": every ramp refresh
}

_INT32 = 2**31


def _hash64(text: str) -> int:
    """A signed 64-bit number of `text`, the same in every process and release (not Python's hash())."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_key(name: str, scope: object = None) -> int:
    """A one-bigint advisory-lock key for the job `name`, or for one `scope` of it (any value with a stable
    str(): an id, a label)."""
    if not name:
        raise ValueError("an advisory lock needs a name")
    if scope is None:
        if name in REGISTERED:
            return REGISTERED[name]
        key = _hash64(name)
    else:
        key = _hash64(f"{name}\x00{scope}")
    # A hashed key never lands on a registered one (astronomically rare; this makes it impossible).
    return key + 1 if key in REGISTERED.values() else key


def lock_pair(name: str, scope: object) -> tuple[int, int]:
    """A two-int advisory-lock key: (the job's namespace, the scope). An int scope inside 32 bits is used as
    it is; anything else (a label, a large id) by its CRC-32, shifted into the signed range."""
    namespace = REGISTERED.get(name)
    if namespace is None:
        namespace = zlib.crc32(name.encode()) - _INT32
    if isinstance(scope, int) and not isinstance(scope, bool) and -_INT32 <= scope < _INT32:
        return namespace, scope
    return namespace, zlib.crc32(str(scope).encode()) - _INT32
