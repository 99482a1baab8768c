"""Walks of the reports-to tree, from a parent map (`{person: their manager or None}`) or a children map.

Iterative (no recursion limit) and safe on a cycle (a manager loop is never saved, but a walk must still end):
each person is visited once. Keys are any hashable ids (database ids, the engine's person keys).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)


def _itself(key: Any) -> Any:
    return key  # sorting by the ids themselves (ints, strings): comparable, though Hashable does not say so


__all__ = [
    "ancestors",
    "children_of",
    "depth_first",
    "descendants",
    "post_order",
    "reporting_line",
    "subtree",
    "subtree_parents",
]


def children_of(parents: Mapping[K, K | None], *, sort: bool = False) -> dict[K, list[K]]:
    """Each person of the map → their direct reports among the map (everyone has an entry, [] for none); in
    the map's order, or sorted with `sort`. A manager outside the map gets no entry."""
    children: dict[K, list[K]] = {pid: [] for pid in parents}
    for pid, parent in parents.items():
        if parent is not None and parent in children:
            children[parent].append(pid)
    if sort:
        for kids in children.values():
            kids.sort(key=_itself)
    return children


def descendants(children: Mapping[K, Sequence[K]], roots: Iterable[K]) -> set[K]:
    """The roots and everyone below them, walked over a children map."""
    found = set(roots)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def subtree(parents: Mapping[K, K | None], root: K) -> set[K]:
    """`root` and everyone below them in the parent map (root need not be in the map)."""
    children: dict[K, list[K]] = {}
    for pid, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    return descendants(children, [root])


def subtree_parents(parents: Mapping[K, K | None], root: K) -> dict[K, K | None]:
    """The part of the parent map under `root`, root's own manager cut off (root → None); root first, then
    in the order of the walk (sorted reports, last found walked first)."""
    children = children_of(parents, sort=True)
    out: dict[K, K | None] = {root: None}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out[child] = parents[child]
                stack.append(child)
    return out


def reporting_line(parents: Mapping[K, K | None], pid: K) -> list[K]:
    """`pid`, their manager, their manager's manager, … up to the top, nearest first (on a cycle, up to the
    first person met twice; pid need not be in the map)."""
    line = [pid]
    seen = {pid}
    cursor = parents.get(pid)
    while cursor is not None and cursor not in seen:
        line.append(cursor)
        seen.add(cursor)
        cursor = parents.get(cursor)
    return line


def ancestors(parents: Mapping[K, K | None], ids: Iterable[K]) -> set[K]:
    """The ids and everyone above them (their managers, their managers' managers, …)."""
    found = set(ids)
    for pid in list(found):
        found.update(reporting_line(parents, pid))
    return found


def depth_first(parents: Mapping[K, K | None]) -> list[K]:
    """Everyone, each manager before their reports and a team together (pre-order): roots (no manager, or a
    manager outside the map) in the map's order, reports in the map's order; people in a cycle at the end."""
    children = children_of(parents)
    roots = [pid for pid, parent in parents.items() if parent is None or parent not in parents]
    order: list[K] = []
    seen: set[K] = set()
    stack = list(reversed(roots))
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        order.append(pid)
        stack.extend(reversed(children[pid]))
    order += [pid for pid in parents if pid not in seen]
    return order


def post_order(parents: Mapping[K, K | None]) -> list[K]:
    """Every person, each after all of their reports (sorted ids among siblings and roots; cycles cut: the
    people of a cycle come after a second pass over everyone, in sorted order)."""
    children = children_of(parents, sort=True)
    roots = sorted((pid for pid, parent in parents.items() if parent is None or parent not in parents), key=_itself)
    order: list[K] = []
    seen: set[K] = set()
    for root in roots + sorted(parents, key=_itself):  # the second pass catches people in a cycle (never rooted)
        if root in seen:
            continue
        stack: list[tuple[K, bool]] = [(root, False)]
        while stack:
            pid, expanded = stack.pop()
            if expanded:
                order.append(pid)
                continue
            if pid in seen:
                continue
            seen.add(pid)
            stack.append((pid, True))
            stack.extend((child, False) for child in reversed(children.get(pid, [])) if child not in seen)
    return order
