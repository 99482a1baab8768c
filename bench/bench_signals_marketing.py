"""Signals benchmark: campaign attribution of a fiscal year under every model (issue 17: ≤ 10 s at enterprise scale).

The generated company has no campaigns, so each run makes them and removes them afterwards, even on failure:
twelve campaigns over the fiscal year of the bench's today and the one before, and touches on two deals in five of
those that entered the pipeline in the year or were won in it (one to four touches each, a third of them before
the deal was created, some after it closed, which the engine leaves out). The touches are written with COPY into
signals' own table and analysed before the clock starts.

Timed: `signals.selectors.marketing.attribution` as sales ops (every deal): the touches read, the deals' facts read
from the pipeline, the five models (first, last, linear, U- and W-shaped) computed with largest-remainder cents for
every deal, and the rows per campaign and per quarter built. Beside it: the same for the manager with 50 direct
reports (their subtree's deals only).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from bench.harness import BenchContext, benchmark

TOUCHED_EVERY = 5  # deals whose id % 5 < 2 are touched: two in five
CAMPAIGNS = 12
KINDS = ["webinar", "event", "email", "paid", "content", "partner"]
COPY_SQL = "COPY signals_campaigntouch (campaign_id, deal_id, contact_id, touched_at, added_at) FROM STDIN"


@contextmanager
def _campaigns_and_touches(ctx: BenchContext, fiscal_year: int) -> Iterator[dict[str, Any]]:
    from django.db import connection
    from django.utils import timezone

    from salesops.kernel.fiscal import year_bounds
    from salesops.org.selectors import fiscal_calendar
    from signals.models import Campaign

    start, end = year_bounds(fiscal_year, fiscal_calendar().fiscal_year_start_month)
    first = start - dt.timedelta(days=180)
    span = (end - first).days
    tag = uuid.uuid4().hex[:8]
    ops_id = ctx.facts["sales_ops_id"]
    made: list[int] = []
    try:
        for i in range(CAMPAIGNS):
            begin = first + dt.timedelta(days=span * i // CAMPAIGNS)
            campaign = Campaign.objects.create(
                name=f"bench campaign {tag} {i}", type=KINDS[i % len(KINDS)],
                status="done", start_date=begin, end_date=begin + dt.timedelta(days=span // CAMPAIGNS),
                cost=Decimal(5000 + 1000 * i), owner_id=ops_id,
            )  # fmt: skip
            made.append(campaign.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, contact_id, COALESCE(created_date, created_at::date), close_date, status "
                "FROM pipeline_deal WHERE amount IS NOT NULL AND id %% %s < 2 AND "
                "(COALESCE(created_date, created_at::date) BETWEEN %s AND %s "
                " OR (status = 'won' AND close_date BETWEEN %s AND %s))",
                [TOUCHED_EVERY, start, end, start, end],
            )
            deals = cursor.fetchall()
        rng = random.Random(17)
        tz = timezone.get_current_timezone()
        lines: list[str] = []
        for deal_id, contact_id, created, close, status in deals:
            last = close if status != "open" and close is not None else ctx.facts.get("today") or end
            if isinstance(last, str):
                last = dt.date.fromisoformat(last)
            low = created - dt.timedelta(days=60)
            days = max(1, (last - low).days + 20)  # some touches fall after the close: not counted
            for _ in range(rng.randint(1, 4)):
                day = low + dt.timedelta(days=rng.randrange(days))
                moment = dt.datetime.combine(day, dt.time(12), tzinfo=tz).isoformat()
                campaign_id = made[rng.randrange(CAMPAIGNS)]
                lines.append(f"{campaign_id}\t{deal_id}\t{contact_id if contact_id else chr(92) + 'N'}\t{moment}\t"
                             f"{moment}\n")  # fmt: skip
        raw = connection.cursor().cursor
        with raw.copy(COPY_SQL) as copy:
            for at in range(0, len(lines), 50_000):
                copy.write("".join(lines[at : at + 50_000]))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE signals_campaigntouch")
        yield {"touches": len(lines), "touched_deals": len(deals)}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM signals_campaigntouch WHERE campaign_id = ANY(%s)", [made])
        Campaign.objects.filter(pk__in=made).delete()


@benchmark(
    name="signals: attribution of a fiscal year, every model (first, last, linear, U, W)",
    unit="s",
    target=10,
    repeat=3,
    issue="17",
    description="signals.selectors.marketing.attribution for sales ops over the fiscal year of the bench's today: "
    "touches on two deals in five created or won in the year (1-4 each), twelve campaigns, all five models with "
    "largest-remainder cents per deal, rows per campaign and per quarter; the 50-report manager's beside it.",
)
def attribution_of_a_year(ctx: BenchContext) -> dict[str, Any]:
    from django.utils import timezone

    from salesops.kernel.fiscal import fiscal_year_of
    from salesops.org.models import User
    from salesops.org.selectors import fiscal_calendar
    from signals.selectors import marketing as selectors

    raw_today = ctx.facts.get("today")
    today = dt.date.fromisoformat(raw_today) if isinstance(raw_today, str) else timezone.localdate()
    year = fiscal_year_of(today, fiscal_calendar().fiscal_year_start_month)
    ops = User.objects.get(pk=ctx.facts["sales_ops_id"])
    manager = User.objects.get(pk=ctx.facts["manager_50_id"])
    with _campaigns_and_touches(ctx, year) as made:
        started = time.perf_counter()
        report = selectors.attribution(ops, fiscal_year=year, model="w_shaped", today=today)
        value = time.perf_counter() - started
        again = time.perf_counter()
        scoped = selectors.attribution(manager, fiscal_year=year, model="w_shaped", today=today)
        manager_s = time.perf_counter() - again
        # every model's pipeline adds up to the same total: the touched deals' amounts, to the cent
        totals = {sum(f.pipeline[m] for f in report.raw.cells.values()) for m in selectors.MODELS}
        assert len(totals) == 1, totals
    return {
        "value": value,
        "fiscal_year": year,
        "deals": report.deals,
        "touches_counted": report.touches,
        "touches_written": made["touches"],
        "campaigns": len(report.rows),
        "manager_50_s": round(manager_s, 3),
        "manager_deals": scoped.deals,
    }
