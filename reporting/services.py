"""Reporting's writes: keeping the facts fresh, and the weekly digest e-mail.

The facts are a derived copy of the pipeline (reporting.refresh); these entry points are what the Celery
tasks, the deal-change listener, the management commands and the tests call.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from reporting import queries, refresh, selectors
from reporting.dashboards import QUIET_DAYS, RISK_FACTOR, fmt_days, fmt_ratio
from reporting.filtersets import Span, current_quarter, custom_span
from reporting.kpis import KpiRow
from reporting.models import DigestDelivery
from salesops import formats

logger = logging.getLogger(__name__)


def facts_refresh_deals(*, deal_ids: Iterable[int]) -> dict[str, Any]:
    """Rebuild the facts of these deals now (after a change the pipeline announced)."""
    return refresh.refresh_deals(deal_ids)


def facts_refresh_changed() -> dict[str, Any]:
    """The incremental sweep: every deal changed since the last one, however it changed."""
    return refresh.refresh_changed()


def facts_rebuild() -> dict[str, Any]:
    """Everything from scratch (first load, or after a change to how the facts are built)."""
    result = refresh.rebuild_all()
    refresh.analyze()
    return result


# -------------------------------------------------------------------------------------- weekly digest
@dataclass(frozen=True)
class Digest:
    manager: selectors.Person
    week: Span
    quarter: Span
    week_row: KpiRow
    quarter_row: KpiRow
    leaders: list[tuple[str, Decimal, int]]
    slipped: int
    at_risk: int
    links: dict[str, str]


def _base_url() -> str:
    """Where links in e-mails point: the first trusted origin (DJANGO_CSRF_TRUSTED_ORIGINS), else the first
    allowed host. E-mails are read outside the app, so their links must be absolute."""
    origins = list(getattr(settings, "CSRF_TRUSTED_ORIGINS", []) or [])
    if origins:
        return str(origins[0]).rstrip("/")
    hosts = [h for h in getattr(settings, "ALLOWED_HOSTS", []) if h and h != "*"]
    return f"http://{(hosts or ['localhost'])[0].lstrip('.')}"


def digest_for(
    manager: selectors.Person, people: dict[int, selectors.Person], *, today: dt.date, meta: selectors.Meta
) -> Digest:
    """Last week's and this quarter's numbers of a manager's team, from the same query layer as the pages."""
    ids = tuple(sorted(selectors.subtree_of(manager.id, people)))
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    week = custom_span(last_monday, last_monday + dt.timedelta(days=6))
    quarter = current_quarter(week.end, meta.fiscal_start_month)
    week_result = queries.kpi_aggregates(queries.Slice(week.start, week.end, people=ids), ["owner"], medians=False)
    quarter_slice = queries.Slice(quarter.start, quarter.end, people=ids, fiscal_start_month=meta.fiscal_start_month)
    quarter_result = queries.kpi_aggregates(quarter_slice, [], medians=True)
    quotas = selectors.quota_by_person_month(ids, quarter.start, quarter.end)
    quarter_row = KpiRow(
        None,
        quarter_result[(0, None)][None].with_quota(selectors.quota_total(quotas, None, quarter.start, quarter.end)),
    )
    owners = week_result[(0, "owner")]
    leaders = sorted(
        (
            (people[pk].name if pk in people else str(pk), agg.bookings, agg.won_count)
            for pk, agg in owners.items()
            if pk is not None and agg.bookings > 0
        ),
        key=lambda item: -item[1],
    )[:5]
    slipped, _, _ = queries.slipped_deals(queries.Slice(week.start, week.end, people=ids), limit=1)
    at_risk, _, _ = queries.deals_at_risk(
        quarter_slice, today=today, factor=RISK_FACTOR, quiet_days=QUIET_DAYS, limit=1
    )
    base = _base_url()
    query = urlencode({"period": quarter.label})
    links = {
        "dashboard": f"{base}{reverse('reporting:manager')}?{query}",
        "week": f"{base}{reverse('reporting:drill')}?"
        + urlencode({"measure": "bookings", "from": week.start.isoformat(), "to": week.end.isoformat()}),
        "slipped": f"{base}{reverse('reporting:drill')}?"
        + urlencode({"measure": "slipped", "from": week.start.isoformat(), "to": week.end.isoformat()}),
        "at_risk": f"{base}{reverse('reporting:drill')}?" + urlencode({"measure": "at_risk", "period": quarter.label}),
    }
    return Digest(
        manager,
        week,
        quarter,
        KpiRow(None, week_result[(0, None)][None]),
        quarter_row,
        leaders,
        slipped,
        at_risk,
        links,
    )


def digest_message(digest: Digest) -> EmailMultiAlternatives:
    w, q = digest.week_row, digest.quarter_row
    context = {
        "d": digest,
        "week_numbers": [
            ("Bookings", formats.money0(w.bookings)),
            ("Deals won / lost", f"{w.won_count} / {w.lost_count}"),
            ("Win rate", formats.percent(w.win_rate)),
            ("Average deal size", formats.money0(w.avg_deal_size)),
            ("Deals that slipped", str(digest.slipped)),
        ],
        "quarter_numbers": [
            ("Bookings so far", formats.money0(q.bookings)),
            ("Quota", formats.money0(q.quota)),
            ("Attainment", formats.percent(q.attainment)),
            ("Open pipeline", formats.money0(q.open_pipeline)),
            ("Coverage of what remains", fmt_ratio(q.coverage)),
            ("Cycle, median days", fmt_days(q.cycle_days_median)),
            ("Deals at risk", str(digest.at_risk)),
        ],
        "leaders": [(name, formats.money0(amount), won) for name, amount, won in digest.leaders],
    }
    start, end = digest.week.start, digest.week.end
    subject = (
        f"Your team's week {start.day} {start:%b}–{end.day} {end:%b}: "
        f"{formats.money0(digest.week_row.bookings)} booked, {digest.week_row.won_count} won"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("email/reporting_digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[digest.manager.email],
    )
    message.attach_alternative(render_to_string("email/reporting_digest.html", context), "text/html")
    return message


def digest_send_weekly(*, today: dt.date | None = None) -> dict[str, int]:
    """E-mail each manager their team's numbers of last week (once per manager and week: a second run of the
    same week sends nothing twice). The e-mail backend is the one settings name (EMAIL_BACKEND).

    A manager whose digest cannot be built or sent (the mail server refused it) is counted in `failed`, logged,
    and left without a delivery row; the others are still sent. Another run for the same week (the task retries
    with the same `today`) sends only what is missing."""
    today = today or timezone.localdate()
    meta = selectors.report_meta()
    people = selectors.everyone()
    sent = skipped = failed = 0
    for manager in selectors.managers_for_digest():
        try:
            digest = digest_for(manager, people, today=today, meta=meta)
            # Recorded and sent in one transaction: a failed send leaves no record, so a later run of the week
            # sends it; the unique row makes a concurrent or repeated run skip this manager.
            with transaction.atomic():
                _, created = DigestDelivery.objects.get_or_create(
                    person_id=manager.id, week_start=digest.week.start, defaults={"sent_at": timezone.now()}
                )
                if not created:
                    skipped += 1
                    continue
                digest_message(digest).send()
                sent += 1
        except SoftTimeLimitExceeded:  # the task's time is up: the rest wait for its retry
            raise
        except Exception:  # one manager's failure (a refused address, the mail server gone) never stops the rest
            failed += 1
            logger.exception("weekly digest of %s for manager %s not sent", today, manager.id)
    return {"sent": sent, "skipped": skipped, "failed": failed}
