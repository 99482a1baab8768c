"""The demo's marketing: six campaigns over the last year (a webinar series, a customer summit, a nurture e-mail
sequence, search ads, a buyer's guide and partner co-selling, each with its cost), members drawn from the demo's
leads and contacts (imported through the member import, a share of them responded) and touches on the demo's deals
relative to today: a deal is touched by campaigns that ran from three months before it was created until it closed
(or until today while open), so the attribution report has sourced and influenced pipeline and bookings in every
recent quarter."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pipeline.selectors import marketing as pipeline_reads
from signals.services import marketing as services

# name, type, first day (days before today), last day (days before today; negative: still running), cost, status
CAMPAIGNS: list[tuple[str, str, int, int, str]] = [
    ("Pipeline webinar series", "webinar", 340, 300, "8500.00"),
    ("Annual customer summit", "event", 250, 248, "42000.00"),
    ("Spring nurture e-mails", "email", 210, 150, "2400.00"),
    ("Search ads", "paid", 190, 10, "15000.00"),
    ("Buyer's guide", "content", 120, 60, "6000.00"),
    ("Partner co-selling", "partner", 90, -30, "9000.00"),
]
MEMBERS_PER_CAMPAIGN = 40
TOUCHED_SHARE = 0.45  # of the deals with an amount


def _noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def seed(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    ops = org.ops
    if ops is None:
        return {}
    rng = random.Random(seed * 7919 + 17)  # noqa: S311 (demo choices, not a secret)
    campaigns = []
    for name, kind, first, last, cost in CAMPAIGNS:
        start, end = today - dt.timedelta(days=first), today - dt.timedelta(days=last)
        status = "done" if end < today else "active"
        campaigns.append(services.campaign_create(
            actor=ops, name=name, type=kind, status=status, start_date=start, end_date=end, cost=Decimal(cost),
            owner=ops, description=f"{name}: demo campaign.",
        ))  # fmt: skip
    # Members, through the import (a file as marketing would upload it)
    leads, contacts = pipeline_reads.leads_and_contacts_for_demo(400)
    emails = sorted({e.lower() for _, e in leads} | {e.lower() for _, e in contacts})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["campaign", "email", "status", "responded"])
    for campaign in campaigns:
        for email in rng.sample(emails, min(MEMBERS_PER_CAMPAIGN, len(emails))):
            reachable = min(campaign.end_date, today)
            if rng.random() < 0.35:
                span = max(0, (reachable - campaign.start_date).days)
                day = campaign.start_date + dt.timedelta(days=rng.randint(0, span))
                writer.writerow([campaign.name, email, "responded", day.isoformat()])
            else:
                writer.writerow([campaign.name, email, "sent", ""])
    result = services.member_import(actor=ops, file_name="demo-members.csv", content=out.getvalue().encode(),
                                    today=today)  # fmt: skip
    # Touches on deals
    rows: list[tuple[int, int, int | None, dt.datetime]] = []
    for deal_id, contact_id, created, close, status in pipeline_reads.deals_for_demo_touches():
        if created is None or rng.random() > TOUCHED_SHARE:
            continue
        until = close if status != "open" and close is not None else today
        until = min(until, today)
        since = created - dt.timedelta(days=90)
        eligible = [c for c in campaigns if c.start_date <= until and min(c.end_date, today) >= since]
        if not eligible:
            continue
        for campaign in rng.sample(eligible, min(len(eligible), rng.randint(1, 3))):
            low, high = max(campaign.start_date, since), min(campaign.end_date, until)
            day = low + dt.timedelta(days=rng.randint(0, max(0, (high - low).days)))
            rows.append((campaign.pk, deal_id, contact_id, _noon(day)))
    touches = services.touches_add_many(actor=ops, rows=rows)
    return {"campaigns": len(campaigns), "campaign members": result.created, "campaign touches": touches}
