"""Enablement benchmark on the generated company: the ramp to productivity (issue 16: cohort ramp curves over three
years of hires ≤ 1 s at enterprise scale; the ramp page ≤ 300 ms).

The generated company has start dates and a million deals but no quotas before the incentives benchmarks' fiscal
year, so each run first gives every rep hired in the last three years (and still without one) a quarterly
bookings quota on a three-month ramp from their start quarter to today's, times and then deletes them (and the
periods and the ramp it made) in a `finally`, so the database is left as it was even on failure.

The ramp reads enablement's maintained rows (each hire's credited bookings by month and first won deal): each run
rebuilds them first, as the nightly task does (`refresh_s`), and also times the same read with no rows, everyone
read live from the deals (`live_s`, `live_ms`: the state before the first refresh, or after every hire's deals
changed at once).

Measured: `enablement.selectors.ramp.overview` as sales ops sees it (every rep hired in three years: the reps,
their credited bookings by month, full quotas, ramps and first won deals through pipeline's and incentives'
selectors, then the engine's per-rep ramps and every cohort's median curve); and the page
`GET /enablement/ramp/` as sales ops (the same, the plotly figure and the first 100 rows rendered).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import BenchContext, benchmark

YEARS = 3


def _today(ctx: BenchContext) -> dt.date:
    return dt.date.fromisoformat(ctx.facts.get("today", dt.date.today().isoformat()))


@contextmanager
def _quotas(today: dt.date) -> Iterator[int]:
    """Quarterly bookings quotas (on a ramp) for the reps hired in the last three years, removed afterwards."""
    from enablement.selectors.ramp import years_back
    from incentives.models import Period, Quota, QuotaMeasure, RampSchedule
    from incentives.services import period_get_or_create
    from salesops.kernel.fiscal import periods_between
    from salesops.org.models import User
    from salesops.org.selectors import fiscal_calendar

    start_month = fiscal_calendar().fiscal_year_start_month
    since = years_back(today, YEARS)
    reps = list(
        User.objects.filter(is_rep=True, start_date__gte=since, start_date__lte=today).values_list("pk", "start_date")
    )
    spans = periods_between(since, today, "quarter", start_month)
    existing = set(Period.objects.filter(label__in=[s.label for s in spans]).values_list("label", flat=True))
    made_periods: list[int] = []
    made_quotas: list[int] = []
    ramp = RampSchedule.objects.create(name="bench: enablement ramp", shares=["0.25", "0.5", "0.75"])
    try:
        periods = {}
        for span in spans:
            period = period_get_or_create(span.label)
            periods[span.label] = period
            if span.label not in existing:
                made_periods.append(period.pk)
        have = set(
            Quota.objects.filter(period__in=periods.values(), measure=QuotaMeasure.BOOKINGS).values_list(
                "person_id", "period_id"
            )
        )
        rows = []
        for pid, start in reps:
            if start is None:  # (the filter leaves none out; for the type checker)
                continue
            full = Decimal(60000 + (pid * 7919) % 60000).quantize(Decimal(1000))
            for span in spans:
                period = periods[span.label]
                if span.end >= start and (pid, period.pk) not in have:
                    rows.append(Quota(person_id=pid, period=period, measure=QuotaMeasure.BOOKINGS, full_amount=full,
                                      amount=full, ramp=ramp))  # fmt: skip
        made_quotas = [q.pk for q in Quota.objects.bulk_create(rows, batch_size=5000)]
        yield len(reps)
    finally:
        Quota.objects.filter(pk__in=made_quotas).delete()
        Period.objects.filter(pk__in=made_periods, quotas__isnull=True).delete()
        ramp.delete()


def _refresh() -> float:
    """enablement's maintained ramp rows rebuilt for every tracked hire (the nightly task's work): its seconds.
    The rows are derived data and stay (as reporting's facts do); the next run rebuilds them."""
    from enablement.services.ramp import refresh

    started = time.perf_counter()
    refresh()
    return time.perf_counter() - started


@contextmanager
def _without_rows() -> Iterator[None]:
    """No maintained rows (before the first refresh, or every hire's deals just changed): everyone read live.
    Rolled back afterwards."""
    from enablement.models import RampPerson

    with transaction.atomic():
        RampPerson.objects.all().delete()
        yield
        transaction.set_rollback(True)


@benchmark(
    name="enablement: cohort ramp curves over three years of hires",
    unit="s",
    target=1.0,
    repeat=3,
    issue="16",
    description="enablement.selectors.ramp.overview as sales ops: every rep hired in three years, their credited "
    "bookings by month, full monthly quotas, ramps and first won deals (pipeline and incentives selectors), each "
    "rep's attainment by month of tenure and every cohort's median curve",
)
def cohort_curves(ctx: BenchContext) -> dict[str, Any]:
    from enablement.selectors import ramp as selectors
    from salesops.org.models import User

    today = _today(ctx)
    ops = User.objects.filter(is_sales_ops=True, is_active=True).order_by("pk").first()
    assert ops is not None, "the generated company has no sales ops"
    with _quotas(today) as hires:
        setup = _refresh()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            found = selectors.overview(ops, today=today, years=YEARS)
            elapsed = time.perf_counter() - started
        with _without_rows():
            started = time.perf_counter()
            selectors.overview(ops, today=today, years=YEARS)
            live = time.perf_counter() - started
    points = sum(p.n for c in found.cohorts for p in c.points)
    assert found.cohorts and points, "no cohort has a value: the benchmark would time an empty ramp"
    return {
        "value": elapsed,
        "hires": hires,
        "reps": len(found.reps),
        "cohorts": len(found.cohorts),
        "rep_months": sum(r.ramp.tenure_months for r in found.reps),
        "queries": len(queries),
        "live_s": round(live, 3),
        "refresh_s": round(setup, 2),
    }


@benchmark(
    name="enablement: ramp page as sales ops",
    unit="ms",
    target=300,
    repeat=5,
    issue="16",
    description="GET /enablement/ramp/ as sales ops: every rep hired in three years, the cohort chart and table, "
    "the first 100 rows of the rep table",
)
def ramp_page(ctx: BenchContext) -> dict[str, Any]:
    from salesops.org.models import User

    ops = User.objects.filter(is_sales_ops=True, is_active=True).order_by("pk").first()
    assert ops is not None
    client = Client()
    client.force_login(ops)
    with _quotas(_today(ctx)):
        setup = _refresh()
        started = time.perf_counter()
        client.get(reverse("enablement:ramp"))  # the first request after the refresh
        first = (time.perf_counter() - started) * 1000
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(reverse("enablement:ramp"))
            elapsed = (time.perf_counter() - started) * 1000
        with _without_rows():
            started = time.perf_counter()
            client.get(reverse("enablement:ramp"))
            live = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return {"value": elapsed, "queries": len(queries), "bytes": len(response.content), "first_ms": round(first),
            "live_ms": round(live), "refresh_s": round(setup, 2)}  # fmt: skip
