"""The permission matrix's enablement routes and records: adoption (see tests/enablement/matrix_common.py).

The scorecard is everyone's (their scope); a person's page takes a person id (404 outside the scope). Roll-outs are
read by managers, finance and sales ops and written by sales ops; the delete route works on a spare roll-out so
the shared one stays for the other routes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.enablement.matrix_common import OPS, PAGE_ROLES_MANAGERS, POST

ROLLOUT_BODY = {
    "name": "Matrix roll-out",
    "go_live": "2026-11-02",
    "metric": "active",
    "threshold": "1",
    "target_share": "0.8",
}
ROLLOUT_PATCH = {"description": "Matrix"}

ROUTES: dict[str, dict[str, Any]] = {
    "enablement/adoption/": {},
    "enablement/adoption/people/<int:pk>/": {"ids": "person"},
    "enablement/rollouts/": {
        "writes": POST,
        "only": PAGE_ROLES_MANAGERS,
        "writers": OPS,
        "body": {**ROLLOUT_BODY, "name": "Matrix roll-out (page)"},
    },
    "enablement/rollouts/<int:pk>/": {
        "ids": "rollout",
        "writes": POST,
        "only": PAGE_ROLES_MANAGERS,
        "writers": OPS,
        "body": ROLLOUT_BODY,
    },
    "enablement/rollouts/<int:pk>/delete/": {
        "ids": "rollout_spare",
        "writes": POST,
        "only": PAGE_ROLES_MANAGERS,
        "writers": OPS,
    },
    "api/v1/enablement/adoption/scorecard/": {},
    "api/v1/enablement/adoption/scorecard/<pk>/": {"ids": "person"},
    "api/v1/enablement/adoption/scorecard/trend/": {},
    "api/v1/enablement/adoption/scorecard/<pk>/history/": {"ids": "person"},
    "api/v1/enablement/adoption/rollouts/": {
        "writes": POST,
        "only": PAGE_ROLES_MANAGERS,
        "writers": OPS,
        "body": {**ROLLOUT_BODY, "name": "Matrix roll-out (API)"},
    },
    "api/v1/enablement/adoption/rollouts/<pk>/": {
        "ids": "rollout",
        "writes": ("PATCH",),
        "only": PAGE_ROLES_MANAGERS,
        "writers": OPS,
        "body": ROLLOUT_PATCH,
    },
    "api/v1/enablement/adoption/rollouts/<pk>/curve/": {"ids": "rollout", "only": PAGE_ROLES_MANAGERS},
}
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from enablement.services import adoption as services

    ops = people["ops"]
    shared["rollout"] = services.rollout_create(actor=ops, **ROLLOUT_BODY).pk
    spare = {**ROLLOUT_BODY, "name": "Matrix spare roll-out", "go_live": dt.date(2026, 10, 5)}
    shared["rollout_spare"] = services.rollout_create(actor=ops, **spare).pk
