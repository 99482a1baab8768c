"""salesops.kernel.trees: the reports-to walks against brute force."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from salesops.kernel import trees


@st.composite
def forests(draw, *, cycles: bool = False) -> dict[int, int | None]:
    """A parent map over people 1..n: each person's manager is an earlier person (a forest), or with
    `cycles` anyone (a manager loop is never saved, but the walks must end)."""
    n = draw(st.integers(min_value=1, max_value=40))
    parents: dict[int, int | None] = {}
    for pid in range(1, n + 1):
        choices = range(1, n + 1) if cycles else range(1, pid)
        parents[pid] = draw(st.one_of(st.none(), st.sampled_from(choices))) if choices else None
    return parents


def _chain(parents, pid):
    """pid and its managers, by following the links (stops at a repeat)."""
    seen = [pid]
    while parents.get(seen[-1]) is not None and parents[seen[-1]] not in seen:
        seen.append(parents[seen[-1]])
    return seen


@given(parents=forests(cycles=True), data=st.data())
def test_subtree_and_ancestors_equal_brute_force(parents, data):
    root = data.draw(st.sampled_from(sorted(parents)))
    assert trees.subtree(parents, root) == {pid for pid in parents if root in _chain(parents, pid)}
    assert trees.ancestors(parents, {root}) == set(_chain(parents, root))
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    assert trees.descendants(children, {root}) == trees.subtree(parents, root)
    below = trees.subtree_parents(parents, root)
    assert set(below) == trees.subtree(parents, root) and below[root] is None


@given(parents=forests())
def test_orders_put_managers_before_or_after_their_reports(parents):
    pre, post = trees.depth_first(parents), trees.post_order(parents)
    assert sorted(pre) == sorted(post) == sorted(parents)
    for pid, parent in parents.items():
        if parent is not None:
            assert pre.index(parent) < pre.index(pid)
            assert post.index(parent) > post.index(pid)
    # depth first: a subtree is one run of the order
    for root in parents:
        members = trees.subtree(parents, root)
        at = pre.index(root)
        assert set(pre[at : at + len(members)]) == members


@given(parents=forests(cycles=True))
def test_every_walk_ends_and_loses_nobody_in_a_cycle(parents):
    assert sorted(trees.depth_first(parents)) == sorted(parents)
    assert sorted(trees.post_order(parents)) == sorted(parents)


def test_children_of_sorted_and_in_map_order():
    parents = {3: None, 2: 3, 1: 3, 9: 42}
    assert trees.children_of(parents) == {3: [2, 1], 2: [], 1: [], 9: []}
    assert trees.children_of(parents, sort=True)[3] == [1, 2]


@given(parents=forests(cycles=True), data=st.data())
def test_the_reporting_line_is_the_chain_of_managers_nearest_first(parents, data):
    pid = data.draw(st.sampled_from(sorted(parents)))
    assert trees.reporting_line(parents, pid) == _chain(parents, pid)


def test_the_reporting_line_of_a_person_outside_the_map_or_in_a_loop():
    assert trees.reporting_line({1: None, 2: 1}, 7) == [7]
    assert trees.reporting_line({1: None, 2: 1, 3: 2}, 3) == [3, 2, 1]
    assert trees.reporting_line({1: 2, 2: 3, 3: 2}, 1) == [1, 2, 3]
