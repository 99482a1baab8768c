"""Every reference a request carries must be a record in the caller's scope (roles.md).

An id outside the caller's scope answers exactly as an id that does not exist: the same status and the same
message (the id aside), and nothing changes; the same request with an id in scope still works. Finance reads
the pipeline but creates no deals or leads; the people offered in a dropdown are those the caller may act for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from pipeline.models import Account, Activity, Contact, Deal, DealSplit, Lead
from salesops.org.models import User
from tests.factories import AccountFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

MISSING = 987_654_321  # an id no row has


@dataclass
class World:
    """rep_a's deal, account, contact and lead; rep_c's (another team's) deal, account and contact."""

    mine: Deal
    my_account: Account
    my_other_account: Account
    my_contact: Contact
    my_lead: Lead
    theirs: Deal
    their_account: Account
    their_contact: Contact


@pytest.fixture
def world(org) -> World:
    # Names that appear nowhere else on a page, so their absence from a dropdown means something.
    for person, (first, last) in {org.rep_b: ("Brunhilde", "Okonkwo"), org.rep_c: ("Zebulon", "Quartermain"),
                                  org.manager_west: ("Wilhelmina", "Westergaard")}.items():  # fmt: skip
        person.first_name, person.last_name = first, last
        person.save(update_fields=["first_name", "last_name"])
    my_account = AccountFactory.create(name="Initech", owner=org.rep_a)
    their_account = AccountFactory.create(name="Globex", owner=org.rep_c)
    return World(
        mine=DealFactory.create(name="Mine", owner=org.rep_a, account=my_account),
        my_account=my_account,
        my_other_account=AccountFactory.create(name="Initrode", owner=org.rep_a),
        my_contact=ContactFactory.create(account=my_account, owner=org.rep_a, email="peter@initech.example"),
        my_lead=Lead.objects.create(last_name="Bolton", company="Penetrode", owner=org.rep_a),
        theirs=DealFactory.create(name="Theirs", owner=org.rep_c, account=their_account),
        their_account=their_account,
        their_contact=ContactFactory.create(account=their_account, owner=org.rep_c, email="hank@globex.example"),
    )


def _snapshot() -> dict[str, Any]:
    """What a refused request must leave as it was."""
    return {
        "deals": list(Deal.objects.order_by("pk").values("pk", "account", "contact", "owner", "name")),
        "accounts": list(Account.objects.order_by("pk").values("pk", "parent", "owner", "name")),
        "contacts": list(Contact.objects.order_by("pk").values("pk", "account", "owner")),
        "activities": Activity.objects.count(),
        "splits": list(DealSplit.objects.order_by("pk").values("deal", "person", "percent")),
        "leads": list(Lead.objects.order_by("pk").values("pk", "status", "converted_account")),
    }


def _refused_like_missing(send: Callable[[int], Any], out_of_scope: int) -> None:
    """`send(id)` with an out-of-scope id answers as with a missing one, and changes nothing either way."""
    before = _snapshot()
    foreign, missing = send(out_of_scope), send(MISSING)
    assert foreign.status_code == missing.status_code == 400, (foreign.content, missing.content)
    said = foreign.content.decode().replace(str(out_of_scope), "<id>")
    assert said == missing.content.decode().replace(str(MISSING), "<id>")
    assert "does not exist" in said
    assert _snapshot() == before


# ---------------------------------------------------------------------------------------------------- API
def test_deal_patch_references(api_client_for, org, world):
    client = api_client_for(org.rep_a)
    url = f"/api/v1/deals/{world.mine.pk}/"

    def patch(**body: Any) -> Callable[[int], Any]:
        return lambda ref: client.patch(url, {k: ref if v is None else v for k, v in body.items()}, format="json")

    _refused_like_missing(patch(account=None), world.their_account.pk)
    _refused_like_missing(patch(account=None, contact=world.their_contact.pk), world.their_account.pk)
    _refused_like_missing(patch(contact=None), world.their_contact.pk)
    _refused_like_missing(patch(owner=None), org.rep_c.pk)
    _refused_like_missing(patch(owner=None), org.rep_b.pk)  # same team, still not the rep's to act for
    # The account and its contacts stay out of reach.
    assert client.get(f"/api/v1/accounts/{world.their_account.pk}/").status_code == 404
    assert client.get(f"/api/v1/contacts/{world.their_contact.pk}/").status_code == 404
    # In scope still works.
    response = client.patch(url, {"account": world.my_other_account.pk, "contact": None}, format="json")
    assert response.status_code == 200, response.json()
    response = client.patch(url, {"account": world.my_account.pk, "contact": world.my_contact.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["account"], response.json()["contact"]) == (world.my_account.pk, world.my_contact.pk)


def test_manager_hands_a_deal_within_the_subtree_only(api_client_for, org, world):
    client = api_client_for(org.manager_east)
    url = f"/api/v1/deals/{world.mine.pk}/"
    _refused_like_missing(lambda ref: client.patch(url, {"owner": ref}, format="json"), org.rep_c.pk)
    _refused_like_missing(lambda ref: client.patch(url, {"owner": ref}, format="json"), org.manager_west.pk)
    response = client.patch(url, {"owner": org.rep_b.pk}, format="json")
    assert response.status_code == 200 and response.json()["owner"] == org.rep_b.pk


def test_deal_create_references(api_client_for, org, world):
    client = api_client_for(org.rep_a)

    def post(field: str) -> Callable[[int], Any]:
        return lambda ref: client.post("/api/v1/deals/", {"name": "New", field: ref}, format="json")

    _refused_like_missing(post("account"), world.their_account.pk)
    _refused_like_missing(post("contact"), world.their_contact.pk)
    _refused_like_missing(post("owner"), org.rep_c.pk)
    _refused_like_missing(post("owner"), org.rep_b.pk)
    body = {"name": "New", "account": world.my_account.pk, "contact": world.my_contact.pk, "owner": org.rep_a.pk}
    response = client.post("/api/v1/deals/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["account"] == world.my_account.pk


def test_lead_convert_references(api_client_for, org, world):
    client = api_client_for(org.rep_a)
    url = f"/api/v1/leads/{world.my_lead.pk}/convert/"
    _refused_like_missing(lambda ref: client.post(url, {"account": ref}, format="json"), world.their_account.pk)
    response = client.post(url, {"account": world.my_account.pk, "deal_name": "Upsell"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["converted_account"] == world.my_account.pk


def test_contact_create_references(api_client_for, org, world):
    client = api_client_for(org.rep_a)

    def post(field: str) -> Callable[[int], Any]:
        return lambda ref: client.post("/api/v1/contacts/", {"last_name": "Smykowski", field: ref}, format="json")

    _refused_like_missing(post("account"), world.their_account.pk)
    _refused_like_missing(post("owner"), org.rep_c.pk)
    response = client.post(
        "/api/v1/contacts/", {"last_name": "Smykowski", "account": world.my_account.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == org.rep_a.pk


def test_activity_create_references(api_client_for, org, world):
    client = api_client_for(org.rep_a)

    def post(field: str) -> Callable[[int], Any]:
        def send(ref: int) -> Any:
            body = {"kind": "call", "subject": "Hi", "deal": world.mine.pk, field: ref}
            return client.post("/api/v1/activities/", body, format="json")

        return send

    _refused_like_missing(post("deal"), world.theirs.pk)
    _refused_like_missing(post("account"), world.their_account.pk)
    _refused_like_missing(post("contact"), world.their_contact.pk)
    body = {"kind": "call", "subject": "Hi", "deal": world.mine.pk, "contact": world.my_contact.pk}
    assert client.post("/api/v1/activities/", body, format="json").status_code == 201


def test_account_references(api_client_for, org, world):
    client = api_client_for(org.rep_a)

    def post(field: str) -> Callable[[int], Any]:
        return lambda ref: client.post("/api/v1/accounts/", {"name": "Acme", field: ref}, format="json")

    def patch(field: str) -> Callable[[int], Any]:
        url = f"/api/v1/accounts/{world.my_other_account.pk}/"
        return lambda ref: client.patch(url, {field: ref}, format="json")

    _refused_like_missing(post("parent"), world.their_account.pk)
    _refused_like_missing(post("owner"), org.rep_c.pk)
    _refused_like_missing(post("owner"), org.rep_b.pk)
    _refused_like_missing(patch("parent"), world.their_account.pk)
    _refused_like_missing(patch("owner"), org.rep_c.pk)
    response = client.post("/api/v1/accounts/", {"name": "Acme", "parent": world.my_account.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == org.rep_a.pk
    url = f"/api/v1/accounts/{world.my_other_account.pk}/"
    assert client.patch(url, {"parent": world.my_account.pk}, format="json").status_code == 200


def test_account_keeps_its_current_references(api_client_for, org, world):
    """An account the rep sees through their deal, owned by someone else: saving it as it is still works."""
    shared = AccountFactory.create(name="Vandelay", owner=org.rep_c, parent=world.their_account)
    DealFactory.create(owner=org.rep_a, account=shared)
    response = api_client_for(org.rep_a).patch(
        f"/api/v1/accounts/{shared.pk}/",
        {"name": "Vandelay Industries", "owner": org.rep_c.pk, "parent": world.their_account.pk},
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_split_holders(api_client_for, org, world):
    client = api_client_for(org.rep_a)
    url = f"/api/v1/deals/{world.mine.pk}/splits/"

    def put(ref: int) -> Any:
        return client.put(url, {"splits": [{"person": org.rep_a.pk, "percent": "50"},
                                           {"person": ref, "percent": "50"}]}, format="json")  # fmt: skip

    _refused_like_missing(put, org.rep_c.pk)
    manager = api_client_for(org.manager_east)
    _refused_like_missing(
        lambda ref: manager.put(
            url,
            {"splits": [{"person": org.rep_a.pk, "percent": "50"}, {"person": ref, "percent": "50"}]},
            format="json",
        ),
        org.rep_c.pk,
    )
    response = manager.put(url, {"splits": [{"person": org.rep_a.pk, "percent": "50"},
                                            {"person": org.rep_b.pk, "percent": "50"}]}, format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    # A holder the manager chose, out of the rep's own scope, stays when the rep saves the splits unchanged.
    assert client.put(url, {"splits": [{"person": org.rep_a.pk, "percent": "50"},
                                       {"person": org.rep_b.pk, "percent": "50"}]},
                      format="json").status_code == 200  # fmt: skip


# ---------------------------------------------------------------------------------------------- finance
def test_finance_creates_no_deals_or_leads(api_client_for, client_for, org, world):
    before = _snapshot()
    api = api_client_for(org.finance)
    assert api.post("/api/v1/deals/", {"name": "F"}, format="json").status_code == 403
    assert api.post("/api/v1/deals/", {"name": "F", "owner": org.rep_a.pk}, format="json").status_code == 403
    assert api.post("/api/v1/leads/", {"last_name": "F", "company": "F"}, format="json").status_code == 403
    client = client_for(org.finance)
    assert client.get(reverse("pipeline:deal_create")).status_code == 403
    assert client.post(reverse("pipeline:deal_create"), {"name": "F"}).status_code == 403
    assert client.post(reverse("pipeline:lead_add"), {"last_name": "F", "company": "F"}).status_code == 403
    assert _snapshot() == before
    assert reverse("pipeline:deal_create") not in client.get(reverse("pipeline:deal_list")).content.decode()
    assert reverse("pipeline:lead_add") not in client.get(reverse("pipeline:lead_list")).content.decode()
    # The rest still reads.
    assert api.get(f"/api/v1/deals/{world.theirs.pk}/").status_code == 200


# -------------------------------------------------------------------------------------------------- pages
@pytest.mark.parametrize("who", ["rep_a", "manager_east"])
def test_people_dropdowns_name_only_people_in_scope(client_for, org, world, who):
    user: User = getattr(org, who)
    client = client_for(user)
    out_of_scope = ["Zebulon", "Quartermain", "Wilhelmina"] + (["Brunhilde"] if who == "rep_a" else [])
    pages = [
        reverse("pipeline:deal_splits", args=[world.mine.pk]),
        reverse("pipeline:account_create"),
        reverse("pipeline:account_edit", args=[world.my_account.pk]),
        reverse("pipeline:deal_create"),
        reverse("pipeline:deal_field", args=[world.mine.pk, "owner"]) + "?edit=1",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert user.last_name in page, url
        for name in out_of_scope:
            assert name not in page, (url, name)
    if who == "manager_east":
        assert "Brunhilde" in client.get(reverse("pipeline:deal_splits", args=[world.mine.pk])).content.decode()


def _page_refused_like_missing(send: Callable[[int], Any], out_of_scope: int) -> None:
    before = _snapshot()
    foreign, missing = send(out_of_scope), send(MISSING)
    assert foreign.status_code == missing.status_code == 200
    for response in (foreign, missing):
        assert "Select a valid choice" in response.content.decode()
    assert _snapshot() == before


def test_page_forms_refuse_out_of_scope_references(client_for, org, world):
    client = client_for(org.rep_a)
    splits = reverse("pipeline:deal_splits", args=[world.mine.pk])
    _page_refused_like_missing(
        lambda ref: client.post(
            splits, {"person_0": org.rep_a.pk, "percent_0": "50", "person_1": ref, "percent_1": "50"}
        ),
        org.rep_c.pk,
    )
    _page_refused_like_missing(
        lambda ref: client.post(reverse("pipeline:account_create"), {"name": "Acme", "owner": ref}), org.rep_c.pk
    )
    _page_refused_like_missing(
        lambda ref: client.post(
            reverse("pipeline:account_edit", args=[world.my_account.pk]), {"name": "Initech", "owner": ref}
        ),
        org.rep_c.pk,
    )
    _page_refused_like_missing(
        lambda ref: client.post(
            reverse("pipeline:deal_create"), {"name": "New", "account": ref, "owner": org.rep_a.pk}
        ),
        world.their_account.pk,
    )
    _page_refused_like_missing(
        lambda ref: client.post(reverse("pipeline:deal_field", args=[world.mine.pk, "account"]), {"account": ref}),
        world.their_account.pk,
    )
    _page_refused_like_missing(
        lambda ref: client.post(reverse("pipeline:lead_convert", args=[world.my_lead.pk]), {"account": ref}),
        world.their_account.pk,
    )
    # In scope still works.
    response = client.post(reverse("pipeline:account_edit", args=[world.my_account.pk]),
                           {"name": "Initech", "owner": org.rep_a.pk})  # fmt: skip
    assert response.status_code == 302
