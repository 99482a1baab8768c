"""Pipeline reads for signals' win/loss analysis and the product-gap export (docs/signals-winloss.md): closed deals
of a period summed per dimension in the database, the lost deals with their product gap, and the gaps in use
(suggestions on the lost form). Plain rows out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Trim

from pipeline.models import Deal, DealStatus, DealType
from salesops.org.selectors import visible_people_q

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)
ZERO = Value(Decimal(0), output_field=MONEY)
# The dimensions a closed deal is summed by (signals' win/loss page); "segment" is the account's size band.
DIMENSIONS = ("reason", "competitor", "source", "deal_type", "segment", "industry", "rep")


def deal_type_labels() -> dict[str, str]:
    return dict(DealType.choices)


def closed_totals(deals: QuerySet[Deal]) -> GroupRow:
    """Won and lost counts and amounts of `deals` in one aggregate."""
    amount = Coalesce(F("amount"), ZERO)
    row = deals.aggregate(
        won=Count("id", filter=Q(status=DealStatus.WON)),
        lost=Count("id", filter=Q(status=DealStatus.LOST)),
        won_amount=Coalesce(Sum(amount, filter=Q(status=DealStatus.WON)), ZERO),
        lost_amount=Coalesce(Sum(amount, filter=Q(status=DealStatus.LOST)), ZERO),
    )
    return GroupRow("", row["won"], row["lost"], row["won_amount"], row["lost_amount"])


def product_gaps_in_use(user: Any, limit: int = 200) -> list[str]:
    """The product gaps the lost deals `user` sees carry, most used first: suggestions on the lost form, so people
    reuse a tag instead of inventing a spelling (scoped like the deals: a tag may name a customer's need)."""
    rows = (
        Deal.objects.filter(visible_people_q(user, "owner"))
        .exclude(product_gap="")
        .values("product_gap")
        .annotate(n=Count("id"))
        .order_by("-n", "product_gap")[:limit]
    )
    return [row["product_gap"] for row in rows]


def closed_deals_in(user: Any, *, start: dt.date, end: dt.date, owner_ids: Sequence[int] | None = None
                    ) -> QuerySet[Deal]:  # fmt: skip
    """Won and lost deals with a close date in [start, end] that `user` may see (roles.md: through the owner)."""
    qs = Deal.objects.filter(
        visible_people_q(user, "owner"),
        status__in=(DealStatus.WON, DealStatus.LOST),
        close_date__gte=start,
        close_date__lte=end,
    )
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=owner_ids)
    return qs


def _segment(bands: Sequence[tuple[int, str]], unknown: str) -> Case:
    """The account's size band by employees: `bands` are (lowest employees, name), ascending."""
    whens = [When(account__employees__gte=lowest, then=Value(name)) for lowest, name in sorted(bands, reverse=True)]
    return Case(*whens, default=Value(unknown), output_field=CharField())


@dataclass(frozen=True)
class GroupRow:
    """One value of a dimension: won and lost counts and amounts (amounts as stored; none counts as 0)."""

    key: str
    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal


def winloss_groups(deals: QuerySet[Deal], dimension: str, *, bands: Sequence[tuple[int, str]], unknown: str
                   ) -> list[GroupRow]:  # fmt: skip
    """`deals` (closed, scoped) summed by one dimension in the database. Reason and competitor are a lost deal's
    answers (a won deal has none): only lost deals are grouped there, so their counts sum to the lost total."""
    expressions: dict[str, Any] = {
        "reason": Trim("lost_reason"),
        "competitor": Trim("lost_competitor"),
        "source": Trim("source"),
        "deal_type": F("deal_type"),
        "segment": _segment(bands, unknown),
        "industry": Coalesce(Trim("account__sector"), Value("")),
        "rep": F("owner_id"),
    }
    if dimension not in expressions:
        raise ValueError(f"Unknown dimension {dimension!r}")
    qs = deals.filter(status=DealStatus.LOST) if dimension in ("reason", "competitor") else deals
    amount = Coalesce(F("amount"), ZERO)
    rows = (
        qs.annotate(group_key=expressions[dimension])
        .values("group_key")
        .annotate(
            won=Count("id", filter=Q(status=DealStatus.WON)),
            lost=Count("id", filter=Q(status=DealStatus.LOST)),
            won_amount=Coalesce(Sum(amount, filter=Q(status=DealStatus.WON)), ZERO),
            lost_amount=Coalesce(Sum(amount, filter=Q(status=DealStatus.LOST)), ZERO),
        )
        .order_by("group_key")
    )
    return [
        GroupRow(
            str(r["group_key"] if r["group_key"] is not None else ""),
            r["won"],
            r["lost"],
            r["won_amount"],
            r["lost_amount"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class LostDealRow:
    deal_id: int
    name: str
    account: str
    owner_id: int
    owner_name: str
    close_date: dt.date | None
    amount: Decimal | None
    currency: str
    lost_reason: str
    lost_competitor: str
    product_gap: str


def lost_deals_with_gap(deals: QuerySet[Deal]) -> list[LostDealRow]:
    """The lost deals of `deals` that name a product gap, by gap then close date (the export's deals sheet)."""
    rows = (
        deals.filter(status=DealStatus.LOST)
        .exclude(product_gap="")
        .annotate(owner_name=Trim(Concat("owner__first_name", Value(" "), "owner__last_name")))
        .order_by("product_gap", "close_date", "id")
        .values_list(
            "id",
            "name",
            "account__name",
            "owner_id",
            "owner_name",
            "close_date",
            "amount",
            "currency",
            "lost_reason",
            "lost_competitor",
            "product_gap",
        )
    )
    return [LostDealRow(r[0], r[1], r[2] or "", *r[3:]) for r in rows]


__all__ = [
    "DIMENSIONS",
    "GroupRow",
    "LostDealRow",
    "closed_deals_in",
    "closed_totals",
    "deal_type_labels",
    "lost_deals_with_gap",
    "product_gaps_in_use",
    "winloss_groups",
]
