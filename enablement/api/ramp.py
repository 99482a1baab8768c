"""The enablement API: ramp to productivity. The same selectors and scope as the pages (docs/enablement-ramp.md):
finance and sales ops every rep, a manager their subtree, a rep their own row; another person is a 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from enablement.engine import ramp as engine
from enablement.selectors import ramp as selectors
from salesops.kernel.ids import ID_PATTERN, is_id
from salesops.org.auth import request_user


def _share(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _month(point: engine.MonthPoint) -> dict[str, Any]:
    return {
        "k": point.k,
        "month": point.month.isoformat(),
        "bookings": str(point.bookings),
        "full_quota": _share(point.full_quota),
        "attainment": _share(point.attainment),
        "expected": str(point.expected),
    }


def _rep(person: selectors.Person, ramp: engine.RepRamp, *, months: int | None) -> dict[str, Any]:
    shown = ramp.months if months is None else ramp.months[:months]
    return {
        "person": person.person_id,
        "name": person.name,
        "team": person.team,
        "start_date": person.start.isoformat() if person.start else None,
        "cohort": ramp.cohort,
        "tenure_months": ramp.tenure_months,
        "days_to_first_deal": ramp.days_to_first_deal,
        "months_to_full": ramp.months_to_full,
        "months": [_month(p) for p in shown],
    }


def _cohort(cohort: engine.Cohort) -> dict[str, Any]:
    return {
        "cohort": cohort.label,
        "n": cohort.n,
        "points": [{"k": p.k, "median": _share(p.median), "n": p.n} for p in cohort.points],
        "median_days_to_first_deal": _share(cohort.median_days_to_first_deal),
        "with_first_deal": cohort.with_first_deal,
        "median_months_to_full": _share(cohort.median_months_to_full),
        "at_full": cohort.at_full,
    }


class RampViewSet(viewsets.ViewSet):
    """Ramp to productivity: the cohorts' median curves and the reps in scope (list), one person's ramp over
    every completed month of tenure (retrieve)."""

    lookup_value_regex = ID_PATTERN  # /ramp/abc/ is no route: a 404, not a 500

    @extend_schema(
        operation_id="enablement_ramp_list",
        parameters=[
            OpenApiParameter("years", int, description="Hires of the last 1–5 years (default 3)."),
            OpenApiParameter("cohort", str, description="Only this cohort's reps, e.g. 2026-Q1 (the curves stay)."),
        ],
        # One object: {today, years, since, expected: [share|null × 12], cohorts: [{cohort, n, points: [{k, median,
        # n}], median_days_to_first_deal, with_first_deal, median_months_to_full, at_full}], reps: [{person, name,
        # team, start_date, cohort, tenure_months, days_to_first_deal, months_to_full, months: [{k, month,
        # bookings, full_quota, attainment, expected}] (months 1–12)}]}. Shares as decimal strings (0.85 = 85 %).
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        user = request_user(request)
        years = selectors.parse_years(request.query_params.get("years"))
        if years is None:
            raise ValidationError({"years": [f"A whole number of years from {selectors.YEARS_MIN} to 5."]})
        cohort = (request.query_params.get("cohort") or "").strip()[:10] or None
        found = selectors.overview(user, today=timezone.localdate(), years=years, cohort=cohort)
        return Response(
            {
                "today": found.today.isoformat(),
                "years": found.years,
                "since": found.since.isoformat(),
                "expected": [_share(e) for e in found.expected],
                "cohorts": [_cohort(c) for c in found.cohorts],
                "reps": [_rep(r.person, r.ramp, months=engine.MONTHS_SHOWN) for r in found.reps],
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        # One object: the rep's fields as in the list, with every completed month of tenure, and the quota
        # ramp's shares; `ramp` is null for a person in scope who is not a rep or has no start date.
        responses=OpenApiTypes.OBJECT,
        description="One person's ramp over every completed month of tenure (404 outside your scope).",
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        if not is_id(pk or ""):
            raise NotFound("No such person.")
        try:
            found = selectors.person_ramp(user, int(pk or 0), today=timezone.localdate())
        except Http404:
            raise NotFound("No such person.") from None
        return Response(
            {
                "person": found.person.person_id,
                "name": found.person.name,
                "shares": [str(s) for s in found.shares],
                "ramp": _rep(found.person, found.ramp, months=None) if found.ramp else None,
            }
        )


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the enablement router."""
    router.register("ramp", RampViewSet, basename="enablement-ramp")
