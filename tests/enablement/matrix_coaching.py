"""The permission matrix's enablement routes and records: coaching (see tests/enablement/matrix_common.py).

A 1:1 is its manager's and its report's alone, whoever else sees their other records: the matrix's SCOPE (a
manager's subtree, everyone for finance and sales ops) is wider than a 1:1's, so the records are chosen so that the
matrix's expectations hold exactly:

- each owner's "one_on_one" (and its "action_item") is a 1:1 the owner takes part in, with the manager above them:
  rep_a's and rep_b's with manager_east, rep_c's with manager_west, the two managers' with the director; the
  director's and rep_sub's is one between the director and rep_sub (no actor of the matrix takes part in it);
- the routes are for the people who hold 1:1s (`PARTICIPANTS`): finance and sales ops get the answer of a missing
  1:1 (404) everywhere, as the privacy rule wants;
- the records hold NO "MARK-" marker: the leak rule would expect finance and sales ops to see rep_a's markers.
  tests/enablement/test_coaching_privacy.py proves that the notes and action items show nowhere else.

Only managers schedule 1:1s (`writers`), and only with a direct report: anyone else scheduling one is refused
(403, before anything is looked up, so the answer is the same for any person id).

The API list's `manager=` filter is not walked here: a report filtering their own 1:1s by their own manager (a
person outside a rep's SCOPE) rightly finds them. test_coaching_privacy.py filters by it as every third person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from enablement.models import ActionItem, OneOnOne
from enablement.services import coaching as services
from tests.enablement.matrix_common import MANAGERS, POST

PARTICIPANTS = frozenset({"rep_a", "rep_b", "rep_c", "manager_east", "manager_west"})
PATCH = ("PATCH",)
DAY = "2027-01-15"
HELD_ON = dt.date(2026, 11, 2)

ROUTES: dict[str, dict[str, Any]] = {
    "enablement/one-on-ones/": {},
    "enablement/one-on-ones/<int:pk>/": {
        "ids": "person", "writes": POST, "only": PARTICIPANTS, "writers": MANAGERS, "body": {"held_on": DAY},
    },
    "enablement/one-on-ones/meetings/<int:pk>/": {"ids": "one_on_one", "only": PARTICIPANTS},
    "enablement/one-on-ones/meetings/<int:pk>/notes/": {
        "ids": "one_on_one", "writes": POST, "only": PARTICIPANTS, "body": {"notes": "Matrix"},
    },
    "enablement/one-on-ones/meetings/<int:pk>/save/": {"ids": "one_on_one", "writes": POST, "only": PARTICIPANTS},
    "enablement/one-on-ones/meetings/<int:pk>/actions/": {
        "ids": "one_on_one", "writes": POST, "only": PARTICIPANTS, "body": {"text": "Matrix", "owner": "report"},
    },
    "enablement/one-on-ones/actions/<int:pk>/done/": {
        "ids": "action_item", "writes": POST, "only": PARTICIPANTS, "body": {"done": "1"},
    },
    "api/v1/enablement/one-on-ones/": {
        "writes": POST, "writers": MANAGERS, "body": {"report": "@report", "held_on": DAY},
        "query": ("report=@person",),
    },
    "api/v1/enablement/one-on-ones/<pk>/": {
        "ids": "one_on_one", "writes": PATCH, "only": PARTICIPANTS, "body": {"notes": "Matrix"},
    },
    "api/v1/enablement/one-on-ones/<pk>/save/": {"ids": "one_on_one", "writes": POST, "only": PARTICIPANTS},
    "api/v1/enablement/one-on-ones/<pk>/action-items/": {
        "ids": "one_on_one", "writes": POST, "only": PARTICIPANTS, "body": {"text": "Matrix"},
    },
    "api/v1/enablement/action-items/": {"query": ("one_on_one=@one_on_one", "open=true")},
    "api/v1/enablement/action-items/<pk>/": {
        "ids": "action_item", "writes": PATCH, "only": PARTICIPANTS, "body": {"done": True},
    },
}  # fmt: skip
OWNED_KINDS: set[str] = {"one_on_one", "action_item"}


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    pairs = {
        "rep_a": ("manager_east", "rep_a"),
        "rep_b": ("manager_east", "rep_b"),
        "rep_c": ("manager_west", "rep_c"),
        "manager_east": ("director", "manager_east"),
        "manager_west": ("director", "manager_west"),
    }
    for owner, (manager, report) in pairs.items():
        meeting = services.one_on_one_create(actor=people[manager], report_id=people[report].pk,
                                             held_on=HELD_ON)  # fmt: skip
        item = services.action_item_add(actor=people[manager], one_on_one=meeting, text="Matrix action")
        owned[owner].update(one_on_one=meeting.pk, action_item=item.pk)
    # rep_sub reports to rep_a (a rep, no manager role): no actor of the matrix takes part in this one.
    outside = OneOnOne.objects.create(manager=people["director"], report=people["rep_sub"],
                                      held_on=HELD_ON)  # fmt: skip
    item = ActionItem.objects.create(one_on_one=outside, text="Matrix action", owner=people["rep_sub"])
    for owner in ("director", "rep_sub"):
        owned[owner].update(one_on_one=outside.pk, action_item=item.pk)
