"""Reads of signals' marketing area: campaigns (everyone reads), their members and touches, and the attribution
report (managers over their subtree's deals, finance and sales ops over every deal; reps none).

docs/signals-marketing.md describes every number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from pipeline.selectors import marketing as pipeline_reads
from salesops.kernel.fiscal import period_label, periods_between, year_bounds
from salesops.org.selectors import fiscal_calendar, sees_everyone, subtree_ids
from signals.engine import marketing as engine
from signals.models import Campaign, CampaignMember, CampaignTouch

MODELS = engine.MODELS
MODEL_LABELS = engine.MODEL_LABELS


# ------------------------------------------------------------------------------------------------ scope
def may_read_attribution(user: Any) -> bool:
    """docs/roles.md: managers (their subtree's deals), finance and sales ops (every deal); reps: no."""
    return bool(user.is_authenticated and (sees_everyone(user) or user.is_manager))


def attribution_owner_ids(user: Any) -> set[int] | None:
    """Whose deals the user's attribution counts: None for everyone (finance, sales ops)."""
    if sees_everyone(user):
        return None
    return subtree_ids(user)


# ------------------------------------------------------------------------------------------------ campaigns
def _count_of(model: Any) -> Subquery:
    rows = model.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign").annotate(n=Count("id"))
    return Coalesce(Subquery(rows.values("n")), 0)  # type: ignore[return-value]


def campaigns() -> QuerySet[Campaign]:
    """Every campaign with its member and touch counts (one query; each count a subquery, so a campaign with
    thousands of members and touches is not joined row by row)."""
    return (
        Campaign.objects.select_related("owner")
        .annotate(member_count=_count_of(CampaignMember), touch_count=_count_of(CampaignTouch))
        .order_by("-start_date", "name")
    )


def campaign_choices() -> list[tuple[int, str]]:
    return list(Campaign.objects.order_by("name").values_list("id", "name"))


@dataclass
class MemberRow:
    member: CampaignMember
    kind: str  # "Lead" or "Contact"
    name: str
    email: str


def member_rows(campaign: Campaign, members: list[CampaignMember]) -> list[MemberRow]:
    """The page's members with their names (two queries, whatever the page size)."""
    leads, contacts = pipeline_reads.lead_and_contact_labels(
        [m.lead_id for m in members if m.lead_id], [m.contact_id for m in members if m.contact_id]
    )
    rows = []
    for m in members:
        if m.lead_id:
            name, email = leads.get(m.lead_id, ("(lead removed)", ""))
            rows.append(MemberRow(m, "Lead", name, email))
        else:
            assert m.contact_id is not None
            name, email = contacts.get(m.contact_id, ("(contact removed)", ""))
            rows.append(MemberRow(m, "Contact", name, email))
    return rows


def touches_visible_to(user: Any, campaign: Campaign | None = None) -> QuerySet[CampaignTouch]:
    """Touches on deals `user` may see (finance and sales ops: all): a touch names its deal, which is the
    deal's owner's record (docs/roles.md)."""
    touches = CampaignTouch.objects.all() if campaign is None else campaign.touches.all()
    if sees_everyone(user):
        return touches
    deals, _, _ = pipeline_reads.visible_ids(user)
    return touches.filter(deal_id__in=deals)


def members_visible_to(user: Any, campaign: Campaign | None = None) -> QuerySet[CampaignMember]:
    """Members who are leads or contacts `user` may see (finance and sales ops: all)."""
    members = CampaignMember.objects.all() if campaign is None else campaign.members.all()
    if sees_everyone(user):
        return members
    _, leads, contacts = pipeline_reads.visible_ids(user)
    return members.filter(Q(lead_id__in=leads) | Q(contact_id__in=contacts))


def member_counts(campaign: Campaign) -> dict[str, int]:
    counts = dict(campaign.members.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    sent, responded = counts.get("sent", 0), counts.get("responded", 0)
    return {"sent": sent, "responded": responded, "all": sent + responded}


@dataclass
class TouchRow:
    touch: CampaignTouch
    deal_name: str


def touch_rows(touches: list[CampaignTouch]) -> list[TouchRow]:
    names = pipeline_reads.deal_labels({t.deal_id for t in touches})
    return [TouchRow(t, names.get(t.deal_id, f"Deal {t.deal_id} (removed)")) for t in touches]


# ------------------------------------------------------------------------------------------------ attribution
def _touch_columns(end: dt.date) -> tuple[list[int], list[int], list[int], list[int]]:
    """Every touch up to `end` (company time) as columns: deal ids, campaign ids, days (date ordinals) and ids (the
    order they were recorded); the engine orders and cuts them per deal."""
    sql = (
        "SELECT deal_id, campaign_id, ((touched_at AT TIME ZONE %s)::date - DATE '0001-01-01' + 1), id "
        "FROM signals_campaigntouch WHERE touched_at < %s"
    )
    limit = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    with connection.cursor() as cursor:
        cursor.execute(sql, [settings.TIME_ZONE, limit])
        rows = cursor.fetchall()
    if not rows:
        return [], [], [], []
    deal, campaign, day, seq = (list(c) for c in zip(*rows, strict=True))
    return deal, campaign, day, seq


@dataclass
class CampaignFigures:
    """One campaign's figures for the report's span, under the report's model (money in Decimal)."""

    campaign_id: int
    name: str
    type: str
    cost: Decimal
    attributed_pipeline: Decimal
    attributed_bookings: Decimal
    sourced_pipeline: Decimal
    sourced_bookings: Decimal
    sourced_opportunities: int
    influenced_pipeline: Decimal
    influenced_bookings: Decimal
    opportunities: int
    won: int
    # the campaign's opportunities over every deal, whoever reads (a manager's `opportunities` are their subtree's)
    campaign_opportunities: int

    @property
    def cost_per_opportunity(self) -> Decimal | None:
        """The campaign's cost / its opportunities over every deal: a property of the campaign, the same for every
        reader. (The share of the cost a manager's subtree bears, cost × its opportunities ÷ the campaign's, over
        its opportunities gives the same figure.)"""
        every = self.campaign_opportunities
        return (self.cost / every).quantize(engine.CENT) if every else None

    @property
    def return_share(self) -> Decimal | None:
        """Attributed won bookings / cost (None without a cost): 2.5 means 250 %."""
        return self.attributed_bookings / self.cost if self.cost else None


@dataclass
class PeriodRow:
    label: str
    start: dt.date
    end: dt.date
    pipeline: dict[int, Decimal] = field(default_factory=dict)  # by campaign id
    bookings: dict[int, Decimal] = field(default_factory=dict)

    @property
    def pipeline_total(self) -> Decimal:
        return sum(self.pipeline.values(), Decimal(0))

    @property
    def bookings_total(self) -> Decimal:
        return sum(self.bookings.values(), Decimal(0))


@dataclass
class Report:
    fiscal_year: int
    start: dt.date
    end: dt.date
    model: str
    by: str
    rows: list[CampaignFigures]
    periods: list[PeriodRow]
    deals: int
    touches: int
    raw: engine.Attribution

    @property
    def model_label(self) -> str:
        return MODEL_LABELS[self.model]

    def total(self, name: str) -> Decimal:
        return sum((getattr(r, name) for r in self.rows), Decimal(0))


def report_years(today: dt.date) -> list[int]:
    """The fiscal years offered: this one and the three before."""
    start_month = fiscal_calendar().fiscal_year_start_month
    current = period_label(today, "quarter", start_month)[:4]
    return [int(current) - i for i in range(4)]


def attribution(
    user: Any, *, fiscal_year: int, model: str = "w_shaped", by: str = "quarter", today: dt.date | None = None
) -> Report:
    """The attribution of `fiscal_year` for `user`'s deals under every model (rows show `model`)."""
    today = today or timezone.localdate()
    if model not in MODELS:
        model = "w_shaped"
    by = "month" if by == "month" else "quarter"
    start_month = fiscal_calendar().fiscal_year_start_month
    start, end = year_bounds(fiscal_year, start_month)
    owner_ids = attribution_owner_ids(user)
    touches = _touch_columns(max(end, today))
    period_of = partial(period_label, kind=by, start_month=start_month)
    raw = compute(owner_ids=owner_ids, start=start, end=end, today=today, period_of=period_of, touches=touches)
    by_campaign = raw.by_campaign()
    # Cost per opportunity is the campaign's: its cost over its opportunities among every deal, also for a manager
    # (only the counts per campaign are kept from the company-wide run: no deal, name or further row).
    every = by_campaign
    if owner_ids is not None:
        company = compute(owner_ids=None, start=start, end=end, today=today, period_of=period_of, touches=touches)
        every = company.by_campaign()
    shown = Campaign.objects.filter(pk__in=set(by_campaign)) | Campaign.objects.filter(
        start_date__lte=end, end_date__gte=start
    )
    money = engine.from_cents
    rows = []
    for c in shown.order_by("-start_date", "name"):
        f = by_campaign.get(c.pk) or engine.Figures()
        rows.append(
            CampaignFigures(
                campaign_id=c.pk, name=c.name, type=c.get_type_display(), cost=c.cost,
                attributed_pipeline=money(f.pipeline[model]), attributed_bookings=money(f.bookings[model]),
                sourced_pipeline=money(f.sourced_pipeline), sourced_bookings=money(f.sourced_bookings),
                sourced_opportunities=f.sourced_opportunities, influenced_pipeline=money(f.influenced_pipeline),
                influenced_bookings=money(f.influenced_bookings), opportunities=f.opportunities, won=f.won,
                campaign_opportunities=every[c.pk].opportunities if c.pk in every else 0,
            )
        )  # fmt: skip
    periods = []
    cells = raw.by_period()
    for span in periods_between(start, end, by, start_month):
        row = PeriodRow(span.label, span.start, span.end)
        for campaign_id, figures in cells.get(span.label, {}).items():
            row.pipeline[campaign_id] = money(figures.pipeline[model])
            row.bookings[campaign_id] = money(figures.bookings[model])
        periods.append(row)
    return Report(fiscal_year, start, end, model, by, rows, periods, raw.deals, raw.touches, raw)


def compute(
    *,
    owner_ids: set[int] | None,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    period_of: Callable[[dt.date], str],
    touches: tuple[list[int], list[int], list[int], list[int]] | None = None,
) -> engine.Attribution:
    """Every model's attribution of the deals (of `owner_ids`' people, None: all) created or won in [start, end]:
    the touches from signals' table (or `touches`, already read by `_touch_columns`), the deals' facts from the
    pipeline, the arithmetic in the engine."""
    deal, campaign, day, seq = touches if touches is not None else _touch_columns(max(end, today))
    deals = pipeline_reads.deal_columns_for_attribution(deal, start=start, end=end, owner_ids=owner_ids)
    return engine.attribute_arrays(
        deal_ids=deals.ids, cents=deals.cents, statuses=deals.statuses, created=deals.created, close=deals.close,
        touch_deal=deal, touch_campaign=campaign, touch_day=day, touch_seq=seq,
        start=start, end=end, today=today, period_of=period_of,
    )  # fmt: skip
