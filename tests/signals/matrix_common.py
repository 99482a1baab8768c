"""Names the signals areas' permission-matrix modules share (tests/signals/matrix_<area>.py).

Each area module defines (the same shape as tests/enablement/matrix_<area>.py):
- ``ROUTES: dict[str, dict]``: route pattern (as Django's resolver prints it, e.g. "signals/rules/<int:pk>/")
  -> keyword arguments of tests.test_permission_matrix.Route (ids, writes, only, writers, body, query, ...);
- ``OWNED_KINDS: set[str]``: path-id kinds it fills per owner (world.owned[owner][kind]);
- ``world(people, owned, shared) -> None``: makes its records (through signals' services where they exist),
  naming each after its owner's marker ``MARK-<owner>-<kind>``, and fills ``owned[owner][kind]`` / ``shared[kind]``.
"""

from __future__ import annotations

POST = ("POST",)
OPS = frozenset({"ops"})
FINANCE_OPS = frozenset({"finance", "ops"})
PAGE_ROLES_MANAGERS = frozenset({"manager_east", "manager_west", "finance", "ops"})
MANAGERS = frozenset({"manager_east", "manager_west"})
