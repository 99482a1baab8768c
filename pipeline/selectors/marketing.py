"""Pipeline reads for signals' marketing area (campaigns and attribution, docs/signals-marketing.md).

- `deal_columns_for_attribution`: the facts attribution needs of the deals campaigns touched (amount, status,
  created and close dates), as columns, scoped by owner;
- `deal_picks`: deals a person may see, for the "add a touch" form and for naming deals on the campaign page;
- `people_by_email`: leads and contacts by e-mail address, for member imports;
- `lead_and_contact_labels`: names of campaign members for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower

from pipeline.models import Contact, Deal, Lead
from pipeline.selectors import _id_array, contacts_visible_to, deals_visible_to, leads_visible_to


@dataclass(frozen=True, slots=True)
class AttributionColumns:
    """`deals_for_attribution` as parallel columns for the attribution engine: amounts in cents, days as
    proleptic ordinals (Python's `date.toordinal()`; a deal without a close date: 0)."""

    ids: list[int]
    cents: list[int]
    statuses: list[str]
    created: list[int]
    close: list[int]


# Python's date ordinal of a day (1 January of year 1 is 1), computed by Postgres
_ORDINAL = "({} - DATE '0001-01-01' + 1)"


def deal_columns_for_attribution(
    deal_ids: Iterable[int], *, start: dt.date, end: dt.date, owner_ids: Iterable[int] | None = None
) -> AttributionColumns:
    """Of `deal_ids`, the deals with an amount that entered the pipeline in [start, end] or were won with a close
    date in [start, end]; `owner_ids` (None: everyone) keeps those owned by these people. A deal without a
    created date counts as created on the day its row was made. Columns, not objects: a fiscal year of a large
    company is a few hundred thousand deals."""
    ids = sorted({int(i) for i in deal_ids})
    if not ids:
        return AttributionColumns([], [], [], [], [])
    created = "COALESCE(d.created_date, d.created_at::date)"
    where = [
        "d.id = ANY(%s::bigint[])",
        "d.amount IS NOT NULL",
        f"({created} BETWEEN %s AND %s OR (d.status = 'won' AND d.close_date BETWEEN %s AND %s))",
    ]
    params: list[Any] = [_id_array(ids), start, end, start, end]
    if owner_ids is not None:
        where.append("d.owner_id = ANY(%s::bigint[])")
        params.append(_id_array(sorted(set(owner_ids))))
    sql = (
        f"SELECT d.id, (d.amount * 100)::bigint, d.status, {_ORDINAL.format(created)}, "
        f"COALESCE({_ORDINAL.format('d.close_date')}, 0) FROM pipeline_deal d WHERE {' AND '.join(where)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return AttributionColumns([], [], [], [], [])
    columns = list(zip(*rows, strict=True))
    return AttributionColumns(*(list(c) for c in columns))


def deal_picks(user: Any, *, query: str = "", limit: int = 50) -> list[tuple[int, str]]:
    """Deals `user` may see, by name or account name containing `query`, newest first: (id, "name · account")."""
    deals = deals_visible_to(user)
    query = query.strip()
    if query:
        deals = deals.filter(Q(name__icontains=query) | Q(account__name__icontains=query))
    rows = deals.order_by("-created_at", "-id").values_list("id", "name", "account__name")[:limit]
    return [(pk, f"{name} · {account}" if account else name) for pk, name, account in rows]


def deal_visible(user: Any, deal_id: int) -> bool:
    return deals_visible_to(user).filter(pk=deal_id).exists()


def deal_labels(deal_ids: Iterable[int]) -> dict[int, str]:
    """Deal names by id (the campaign page lists its touches to anyone who may read campaigns; a name is no
    amount, and the link to the deal answers by the pipeline's own scope)."""
    ids = {int(i) for i in deal_ids}
    if not ids:
        return {}
    return dict(Deal.objects.filter(pk__in=ids).values_list("id", "name"))


def contacts_of_deals(deal_ids: Iterable[int]) -> dict[int, int | None]:
    """Each deal's primary contact id (a touch added by hand defaults to it)."""
    ids = {int(i) for i in deal_ids}
    return dict(Deal.objects.filter(pk__in=ids).values_list("id", "contact_id")) if ids else {}


@dataclass(frozen=True, slots=True)
class PersonByEmail:
    kind: str  # "lead" or "contact"
    id: int
    name: str


def people_by_email(emails: Iterable[str]) -> dict[str, list[PersonByEmail]]:
    """Leads and contacts whose e-mail address (any case) is one of `emails`, by the lower-cased address; a
    contact before a lead, each kind oldest first (the import takes the first)."""
    keys = sorted({e.strip().lower() for e in emails if e and e.strip()})
    found: dict[str, list[PersonByEmail]] = {}
    if not keys:
        return found
    contacts = (
        Contact.objects.annotate(key=Lower("email"))
        .filter(key__in=keys)
        .order_by("id")
        .values_list("key", "id", "first_name", "last_name")
    )
    for key, pk, first, last in contacts:
        found.setdefault(key, []).append(PersonByEmail("contact", pk, f"{first} {last}".strip()))
    leads = (
        Lead.objects.annotate(key=Lower("email"))
        .filter(key__in=keys)
        .order_by("id")
        .values_list("key", "id", "first_name", "last_name")
    )
    for key, pk, first, last in leads:
        found.setdefault(key, []).append(PersonByEmail("lead", pk, f"{first} {last}".strip()))
    return found


def lead_and_contact_labels(
    lead_ids: Iterable[int], contact_ids: Iterable[int]
) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    """(name, e-mail) of these leads and of these contacts, by id."""
    leads = {
        pk: (f"{first} {last}".strip(), email)
        for pk, first, last, email in Lead.objects.filter(pk__in=set(lead_ids)).values_list(
            "id", "first_name", "last_name", "email"
        )
    }
    contacts = {
        pk: (f"{first} {last}".strip(), email)
        for pk, first, last, email in Contact.objects.filter(pk__in=set(contact_ids)).values_list(
            "id", "first_name", "last_name", "email"
        )
    }
    return leads, contacts


def lead_exists(lead_id: int) -> bool:
    return Lead.objects.filter(pk=lead_id).exists()


def contact_exists(contact_id: int) -> bool:
    return Contact.objects.filter(pk=contact_id).exists()


def leads_and_contacts_for_demo(limit: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Up to `limit` leads and contacts with an e-mail address, oldest first: (id, e-mail)."""
    leads = list(Lead.objects.exclude(email="").order_by("id").values_list("id", "email")[:limit])
    contacts = list(Contact.objects.exclude(email="").order_by("id").values_list("id", "email")[:limit])
    return leads, contacts


def deals_for_demo_touches() -> list[tuple[int, int | None, dt.date | None, dt.date | None, str]]:
    """Every deal with an amount: (id, contact_id, created_date, close_date, status), oldest first."""
    return list(
        Deal.objects.filter(amount__isnull=False)
        .order_by("id")
        .values_list("id", "contact_id", "created_date", "close_date", "status")
    )


def visible_leads_and_contacts(user: Any) -> tuple[Any, Any]:
    """The lead and contact querysets `user` may see (the member form offers these)."""
    return leads_visible_to(user), contacts_visible_to(user)


def visible_ids(user: Any) -> tuple[Any, Any, Any]:
    """Subqueries of the ids of the deals, leads and contacts `user` may see (campaign pages and the API list a
    campaign's touches and members only in the viewer's scope)."""
    return (
        deals_visible_to(user).values("id"),
        leads_visible_to(user).values("id"),
        contacts_visible_to(user).values("id"),
    )
