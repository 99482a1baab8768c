"""The one scoping function: whose people (and so whose data) each role sees."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from salesops.org.selectors import people_visible_to, person_is_in_subtree, subtree_ids
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def usernames(user) -> set[str]:
    return set(people_visible_to(user).values_list("username", flat=True))


def test_rep_sees_only_themselves(org):
    assert usernames(org.rep_a) == {"rep_a"}


def test_manager_sees_own_subtree_and_not_a_peer_team(org):
    assert usernames(org.manager_east) == {"mgr_east", "rep_a", "rep_b"}
    assert usernames(org.manager_west) == {"mgr_west", "rep_c"}


def test_director_sees_whole_tree_below_but_not_staff_outside_it(org):
    assert usernames(org.director) == {"director", "mgr_east", "mgr_west", "rep_a", "rep_b", "rep_c"}


def test_finance_and_sales_ops_see_everyone(org):
    everyone = {"director", "mgr_east", "mgr_west", "rep_a", "rep_b", "rep_c", "fin", "ops_admin"}
    assert usernames(org.finance) == everyone
    assert usernames(org.ops) == everyone


def test_anonymous_sees_nobody(org):
    assert usernames(AnonymousUser()) == set()


def test_deep_tree_and_inactive_people_are_in_the_subtree(org):
    # Four levels below the director, one of them inactive: history of leavers stays visible.
    lead = UserFactory.create(username="lead", manager=org.rep_a, is_manager=True)
    leaver = UserFactory.create(username="leaver", manager=lead, is_active=False)
    assert {"lead", "leaver"} <= usernames(org.director)
    assert subtree_ids(org.manager_east) == {org.manager_east.pk, org.rep_a.pk, org.rep_b.pk, lead.pk, leaver.pk}
    assert person_is_in_subtree(root=org.manager_east, person_id=leaver.pk)
    assert not person_is_in_subtree(root=org.manager_west, person_id=leaver.pk)


def test_combined_roles_take_the_widest_view(org):
    org.manager_east.is_finance = True
    org.manager_east.save()
    assert "rep_c" in usernames(org.manager_east)
