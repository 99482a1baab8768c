"""The org chart's counts and the forecast breadcrumbs walk the reports-to tree with salesops.kernel.trees."""

from __future__ import annotations

from forecasting.selectors import breadcrumbs
from salesops.org.selectors import org_chart


def _below(nodes, found=None):
    found = {} if found is None else found
    for node in nodes:
        found[node.person.username] = (node.below, node.direct)
        _below(node.children, found)
    return found


def test_the_chart_counts_everyone_below_each_person(org):
    counts = _below(org_chart(org.ops))
    assert counts["director"] == (5, 2)
    assert counts["mgr_east"] == (2, 2) and counts["mgr_west"] == (1, 1)
    assert counts["rep_a"] == counts["fin"] == (0, 0)
    # a rep sees their own line: the managers above them, each counting the one below
    line = _below(org_chart(org.rep_b))
    assert line == {"director": (2, 1), "mgr_east": (1, 1), "rep_b": (0, 0)}


def test_breadcrumbs_walk_up_as_far_as_the_viewer_sees(org):
    assert breadcrumbs(org.ops, org.rep_a) == [org.director, org.manager_east, org.rep_a]
    assert breadcrumbs(org.manager_east, org.rep_a) == [org.manager_east, org.rep_a]
    assert breadcrumbs(org.rep_b, org.rep_b) == [org.rep_b]
    assert breadcrumbs(org.director, org.director) == [org.director]
