"""What a reporting page and its API both show, built once: the dashboards (who may open which, and the panels
for a viewer and the URL's filters) and the drill-down (the deals behind a number). The page views render these
and the API views serialize them; neither imports the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404

from reporting import dashboards, queries, selectors
from reporting.dashboards import Context, Dashboard
from reporting.filtersets import ReportFilter, stage_param
from reporting.selectors import Meta, Person, View
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import sees_everyone


# --------------------------------------------------------------------------------------- who may see
def may_see_team_dashboards(user: Any) -> bool:
    """Manager and executive dashboards: managers (their subtree), finance and sales ops (everyone)."""
    return bool(user.is_authenticated and (user.is_manager or sees_everyone(user)))


def may_see_finance_dashboard(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_finance or may_manage_setup(user)))


DASHBOARDS: dict[str, tuple[str, str, Callable[[Any], bool]]] = {
    "manager": (
        "Manager",
        "Your team: bookings against quota, the funnel, slipped and stuck deals, the leaderboard.",
        may_see_team_dashboards,
    ),
    "rep": (
        "Rep",
        "Your bookings, attainment and pace, your pipeline, your win rate against your team's, your pay.",
        lambda user: bool(user.is_authenticated),
    ),
    "executive": (
        "Executive",
        "The company's numbers by region, team and product, period over period.",
        may_see_team_dashboards,
    ),
    "finance": (
        "Finance",
        "Commission expense and cost of sales by period and region, payouts pending and locked.",
        may_see_finance_dashboard,
    ),
}


def dashboards_for(user: Any) -> list[tuple[str, str, str]]:
    return [(key, title, text) for key, (title, text, allowed) in DASHBOARDS.items() if allowed(user)]


# -------------------------------------------------------------------------------------- dashboards
@dataclass
class Built:
    board: Dashboard
    flt: ReportFilter  # as the URL gave it (the filter bar shows this one)
    view: View


def build_dashboard(user: Any, key: str, query: Any, today: dt.date, *, full_tables: bool = False) -> Built:
    """The dashboard `key` for `user` and the URL's filters: what the page, its exports and the API render.
    Raises PermissionDenied for a dashboard the role may not open, Http404 for a person outside the scope."""
    title, _, allowed = DASHBOARDS[key]
    if not allowed(user):
        raise PermissionDenied(f"Your role does not open the {title.lower()} dashboard.")
    with dashboards.tuned_session():
        meta = selectors.report_meta()
        flt = ReportFilter.from_query(query, start_month=meta.fiscal_start_month, today=today)
        people = selectors.people_in_view(user)
        if (flt.person and flt.person not in people) or (flt.owner and flt.owner not in people):
            raise Http404("No such person in your view.")
        subtitle, panels_flt = "", flt
        subject: Person | None = None
        if key == "rep":
            subject = dashboards.rep_subject(flt, people, user.pk)
            if subject is None:
                raise Http404("No such person in your view.")
            if flt.person is None and subject.id != user.pk:
                flt = flt.narrowed(person=subject.id)  # a default rep: the filter bar says whom
            # Every number and link of a rep's dashboard is theirs alone, even when they manage a team.
            panels_flt = flt.narrowed(person=None, owner=subject.id)
            subtitle = subject.name
        view = selectors.resolve_view(user, panels_flt, meta, people)
        ctx = Context(panels_flt, meta, view, today, viewer_id=user.pk, full_tables=full_tables)
        if key == "manager":
            panels = dashboards.manager_dashboard(ctx)
        elif key == "executive":
            panels = dashboards.executive_dashboard(ctx)
        elif key == "finance":
            panels = dashboards.finance_dashboard(ctx)
        else:
            assert subject is not None
            panels = dashboards.rep_dashboard(ctx, subject, selectors.team_of(subject))
    board = Dashboard(key, f"{title} dashboard", subtitle, panels_flt, meta, view, panels, today)
    return Built(board, flt, view)


# --------------------------------------------------------------------------------------- drill-down
@dataclass(frozen=True)
class Drill:
    """The deals behind one number for one viewer: the filter as the URL gave it, the names and scope it was
    resolved with, and the query selecting its rows (one per deal; per credit for bookings)."""

    flt: ReportFilter
    meta: Meta
    view: View
    measure: str
    sql: str
    params: list[Any]
    owners: list[int] | None  # whose deals the viewer may open (None: everyone's), for `queries.drill_rows`

    def count_and_amount(self) -> tuple[int, Decimal]:
        """How many rows, and the Σ of their credit (bookings) or amount."""
        return queries.drill_count(self.sql, self.params)

    def rows(self, *, limit: int, offset: int) -> list[tuple[Any, ...]]:
        """One page of rows, with the names of deal, account, owner, stage and product (`queries.DRILL_HEADER`)."""
        with connection.cursor() as cursor:
            cursor.execute(*queries.drill_rows(self.sql, self.params, limit=limit, offset=offset, owners=self.owners))
            return list(cursor.fetchall())

    def stream_rows(self, *, chunk: int = 5000) -> Iterator[list[Any]]:
        """Every row, for an export, through a server-side cursor: constant memory at any size."""
        with connection.chunked_cursor() as cursor:
            cursor.execute(*queries.drill_rows(self.sql, self.params, owners=self.owners))
            while True:
                rows = cursor.fetchmany(chunk)
                if not rows:
                    return
                for row in rows:
                    yield list(row)


def drill_for(user: Any, query: Any, today: dt.date) -> Drill:
    """The drill-down the URL's `measure`, `stage` and filters ask for; Http404 for an unknown measure or a person
    outside the viewer's scope."""
    measure = str(query.get("measure", "bookings"))
    if measure not in queries.MEASURES:
        raise Http404("No such measure.")
    meta = selectors.report_meta()
    flt = ReportFilter.from_query(query, start_month=meta.fiscal_start_month, today=today)
    people = selectors.people_in_view(user)
    if (flt.person and flt.person not in people) or (flt.owner and flt.owner not in people):
        raise Http404("No such person in your view.")
    view = selectors.resolve_view(user, flt, meta, people)
    stage = query.get("stage")
    sql, params = queries.drill_sql(
        selectors.slice_for(view, flt, meta),
        measure,
        stage=stage_param(stage),
        today=today,
        factor=dashboards.RISK_FACTOR,
        quiet_days=dashboards.QUIET_DAYS,
    )
    owners = None if sees_everyone(user) else sorted(people)
    return Drill(flt=flt, meta=meta, view=view, measure=measure, sql=sql, params=params, owners=owners)
