"""The permission matrix's signals routes and records: rules (see tests/signals/matrix_common.py).

Every rules URL is sales ops' alone (roles.md): anybody else gets 403 whatever the id. One shared rule is made by
sales ops; the writes post a valid form, so sales ops' answer is a redirect, everybody else's 403."""

from __future__ import annotations

from typing import Any

from tests.signals.matrix_common import OPS, POST

RULE_FORM = {
    "name": "Matrix rule",
    "trigger": "deal_change",
    "conditions": "status=open",
    "action_kind_0": "notify_owner",
}

ROUTES: dict[str, dict[str, Any]] = {
    "signals/rules/": {"only": OPS},
    "signals/rules/new/": {"writes": POST, "only": OPS, "body": RULE_FORM},
    "signals/rules/preview/": {"only": OPS},
    "signals/rules/<int:pk>/": {"ids": "rule", "only": OPS},
    "signals/rules/<int:pk>/edit/": {"ids": "rule", "writes": POST, "only": OPS, "body": RULE_FORM},
    "signals/rules/<int:pk>/dry-run/": {"ids": "rule", "only": OPS},
    "signals/rules/<int:pk>/switch/": {"ids": "rule", "writes": POST, "only": OPS, "body": {"live": "0"}},
    "api/v1/signals/rules/": {
        "writes": POST,
        "only": OPS,
        "body": {
            "name": "Matrix rule (API)",
            "trigger": "deal_change",
            "conditions": "status=open",
            "actions": [{"kind": "notify_owner"}],
        },
    },
    "api/v1/signals/rules/<pk>/": {"ids": "rule", "writes": ("PATCH",), "only": OPS, "body": {"description": "Matrix"}},
    "api/v1/signals/rules/<pk>/firings/": {"ids": "rule", "only": OPS},
    "api/v1/signals/rules/<pk>/dry-run/": {"ids": "rule", "only": OPS},
    "api/v1/signals/rules/<pk>/switch/": {"ids": "rule", "writes": POST, "only": OPS, "body": {"live": False}},
}
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from signals.services import rules as services

    rule = services.rule_create(
        actor=people["ops"],
        name="MARK-shared-rule",
        trigger="deal_change",
        conditions="status=open",
        actions=[{"kind": "notify_owner"}],
    )
    shared["rule"] = rule.pk
