"""The permission matrix (roles.md): every URL pattern × eight actors × the methods it accepts.

The actors: anonymous, two reps of different teams (rep_a, rep_c), rep_a's teammate (rep_b), two managers of
different subtrees (manager_east over rep_a and rep_b, manager_west over rep_c), finance and sales ops. The
director above both managers owns records too, which only finance and sales ops see.

Every owner has marker records whose names carry ``MARK-<owner>-<kind>`` (an account, contact, open and won deal,
lead, activity, plan, quota, statement, dispute, adjustment, forecast call, API token), so a leak is a string
search in any answer: HTML pages and fragments, JSON, CSV and XLSX files.

For every pattern in Django's resolver, ``ROUTES`` says what its path ids are and which methods it accepts beyond
GET; a pattern missing from it (and from ``NOT_IN_MATRIX``) fails the test, so a new URL must be classified. Each
actor then, for each pattern:

- anonymous: a page redirects to sign in, the API answers 401 (every method);
- a path id of every owner's record: in the actor's scope it is not a 404; outside it the answer is the one
  for an id no row has (``MISSING``): same status, same body once the id is blanked, and a 403, 404 or 405;
- query parameters carrying ids (``person``, ``owner``, …) of a record outside the scope answer as a missing id;
- write bodies whose references (account, contact, deal, owner, person, parent, split holders, statement line)
  point outside the scope are refused exactly as a missing id is;
- ``ONLY``: a route only some roles may use answers 403 (or the missing-id answer) to the others;
- never a 5xx, and no answer carries the marker of an owner outside the actor's scope.

The records are made once for the module inside a transaction rolled back at the end; every request runs in a
savepoint rolled back after it, so a write that succeeds changes nothing for the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from forecasting.models import ForecastAdjustment, ForecastSubmission
from forecasting.selectors import current_period
from incentives import services as pay
from incentives.models import Dispute, Payout, PlanAssignment, Quota, StatementLine
from incentives.recompute import commission_recompute
from pipeline.models import Activity, Deal, ImportJob, Lead, LostReason, Pipeline, Stage
from salesops.celery import app as celery_app
from salesops.org.models import ApiToken, User, password_fingerprint
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    ManagerFactory,
    ProductFactory,
    RegionFactory,
    TeamFactory,
    UserFactory,
    default_stages,
)

pytestmark = pytest.mark.django_db

MISSING = 987_654_321  # an id no row has
ACTORS = ["anonymous", "rep_a", "rep_b", "rep_c", "manager_east", "manager_west", "finance", "ops"]
# rep_sub reports to rep_a, who holds only the rep role: a rep sees their own records, not a report's (roles.md).
OWNERS = ["rep_a", "rep_b", "rep_c", "manager_east", "manager_west", "director", "rep_sub"]
EVERYONE = frozenset(OWNERS)
SCOPE: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "rep_a": frozenset({"rep_a"}),
    "rep_b": frozenset({"rep_b"}),
    "rep_c": frozenset({"rep_c"}),
    "manager_east": frozenset({"manager_east", "rep_a", "rep_b", "rep_sub"}),
    "manager_west": frozenset({"manager_west", "rep_c"}),
    "finance": EVERYONE,
    "ops": EVERYONE,
}
# Query parameters and write bodies are tried with two owners outside each scope (a teammate or one's own manager,
# and someone of the other subtree), to keep the walk short; path ids with every owner.
SAMPLED: dict[str, tuple[str, ...]] = {
    "rep_a": ("rep_sub", "rep_c"),
    "rep_b": ("rep_a", "manager_east"),
    "rep_c": ("rep_a", "manager_west"),
    "manager_east": ("rep_c", "manager_west"),
    "manager_west": ("rep_a", "director"),
}
# A person's name (first name "MARK-<owner>-person") is also shown to those below them: a rep's org chart, home
# and forecast name their managers.
ABOVE: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "rep_a": frozenset({"manager_east", "director"}),
    "rep_b": frozenset({"manager_east", "director"}),
    "rep_c": frozenset({"manager_west", "director"}),
    "manager_east": frozenset({"director"}),
    "manager_west": frozenset({"director"}),
    "finance": frozenset(),
    "ops": frozenset(),
}
# Path ids are tried with three owners outside each scope; together they cover every relation (teammate, other
# team, one's own manager, the other manager, the director above both).
OUTSIDE: dict[str, tuple[str, ...]] = {
    "rep_a": ("rep_b", "rep_c", "manager_east", "rep_sub"),
    "rep_b": ("rep_a", "manager_west", "director"),
    "rep_c": ("rep_a", "manager_west", "director"),
    "manager_east": ("rep_c", "manager_west", "director"),
    "manager_west": ("rep_b", "manager_east", "director"),
}
MARKER = re.compile(r"MARK-(rep_[abc]|rep_sub|manager_east|manager_west|director)-([a-z_]+)")
QUARTER = "2025-Q1"  # the commissions' quarter: over, unlocked, fixed (no test depends on the day it runs)

# What a path's ids are. An owned kind is filled with each owner's record; "global" routes name shared records.
OWNED = {"deal", "account", "contact", "lead", "activity", "person", "statement", "payout", "dispute", "adjustment",
         "quota", "plan", "token", "assignment", "territory"}  # fmt: skip

PAGE_ROLES_MANAGERS = frozenset({"manager_east", "manager_west", "finance", "ops"})
FINANCE_OPS = frozenset({"finance", "ops"})
OPS = frozenset({"ops"})
FINANCE = frozenset({"finance"})
DASHBOARD_ONLY: dict[str, frozenset[str] | None] = {  # roles.md: the rep dashboard is everyone's own
    "rep": None,
    "manager": PAGE_ROLES_MANAGERS,
    "executive": PAGE_ROLES_MANAGERS,
    "finance": FINANCE_OPS,
}
PIPELINE_WRITERS = frozenset({"rep_a", "rep_b", "rep_c", "manager_east", "manager_west", "ops"})  # not finance alone
SELF_ONLY = {"token", "notification"}  # their owner's alone, whoever else sees their records


@dataclass(frozen=True)
class Route:
    """One URL pattern in the matrix.

    ids: what the path's ids are (an OWNED kind, a shared one such as "period", or "" for none);
    writes: the methods it accepts besides GET (GET is sent too: it must answer 405, never 500);
    only: the actors who may use it at all (the others get 403, or the missing-id answer); None: everyone signed in;
    body: a write body; "@kind" values are the actor's own record of that kind, or, one at a time for the
    reference checks, another owner's and a missing one;
    public: open without signing in.
    """

    ids: str = ""
    writes: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    body: dict[str, Any] | None = None
    public: bool = False
    query: tuple[str, ...] = ()  # query parameters carrying owned ids, as "name=@kind"
    writers: frozenset[str] | None = None  # who may send its writes, if fewer than `only` (the others: 403)
    absent_ok: bool = False  # a 404 when there is nothing to show yet (the waterfall without two snapshots)
    path: dict[str, str] | None = None  # fixed path arguments (a dashboard's name)
    field: str = "amount"  # the deal field an inline edit addresses
    variants: tuple[tuple[str, dict[str, Any]], ...] = ()  # (field, body) of further inline edits to try


# roles.md: a rep exports their own statement (CSV/XLSX) only; list and dashboard exports answer 403.
REP_EXPORTS = {"incentives/", "incentives/statements/<int:pk>/", "api/v1/incentives/payouts/<pk>/lines/"}
POST = ("POST",)
HTMX = "GET (htmx)"
READS = ("GET", HTMX)
P_DEAL = {
    "name": "Matrix",
    "owner": "@person",
    "account": "@account",
    "contact": "@contact",
    "close_date": "2026-12-15",
}

STRESS_BODY = {
    "name": "Matrix stress",
    "plan_definition": {"key": "m", "period": "quarter", "components": []},
    "period": "2027-Q1",
    "outcomes": 10,
}

ROUTES: dict[str, Route] = {
    # ---------------------------------------------------------------------------------------- home, sign-in
    "": Route(),
    "login/": Route(writes=POST, public=True),
    "password/": Route(writes=POST),
    "password/done/": Route(),
    # ------------------------------------------------------------------------------------------------ org
    "org/people/": Route(query=("q=MARK",)),
    "org/people/add/": Route(writes=POST, only=OPS),
    "org/people/<int:pk>/": Route(ids="person"),
    "org/people/<int:pk>/edit/": Route(ids="person", writes=POST, only=OPS),
    "org/people/<int:pk>/deactivate/": Route(ids="person", writes=POST, only=OPS),
    "org/people/<int:pk>/send-password-link/": Route(ids="person", writes=POST, only=OPS),
    "org/chart/": Route(),
    # ----------------------------------------------------------------------------------------- imports
    "pipeline/imports/": Route(writes=POST, only=OPS),
    "pipeline/imports/<int:pk>/": Route(ids="import", only=OPS),
    "pipeline/imports/<int:pk>/run/": Route(ids="import", writes=POST, only=OPS),
    "pipeline/imports/<int:pk>/errors.csv": Route(ids="import", only=OPS),
    "pipeline/imports/<int:pk>/changes.csv": Route(ids="import", only=OPS),
    "pipeline/imports/<int:pk>/warnings.csv": Route(ids="import", only=OPS),
    # ----------------------------------------------------------------------------------------- pipeline
    "pipeline/deals/": Route(
        query=("owner=@person", "account=@account", "q=MARK", "export=csv&owner=@person", "export=xlsx&owner=@person")
    ),
    "pipeline/deals/new/": Route(
        writes=POST, only=PIPELINE_WRITERS, body={**P_DEAL, "stage": "@stage", "currency": "USD", "deal_type": "new"}
    ),
    "pipeline/deals/<int:pk>/": Route(ids="deal"),
    "pipeline/deals/<int:pk>/field/<str:field>/": Route(
        ids="deal",
        writes=POST,
        body={"amount": "5"},
        variants=(
            ("owner", {"owner": "@person"}),
            ("account", {"account": "@account"}),
            ("contact", {"contact": "@contact"}),
        ),
    ),
    "pipeline/deals/<int:pk>/move/": Route(ids="deal", writes=POST, body={"stage": "@stage"}),
    "pipeline/deals/<int:pk>/cancel/": Route(ids="deal", writes=POST),
    "pipeline/deals/<int:pk>/category/": Route(ids="deal", writes=POST, body={"category": "commit"}),
    "pipeline/deals/<int:pk>/splits/": Route(
        ids="deal",
        writes=POST,
        body={"person_0": "@person", "percent_0": "100"},
    ),
    "pipeline/deals/<int:pk>/activities/": Route(ids="deal", writes=POST, body={"kind": "call", "subject": "Matrix"}),
    "pipeline/activities/<int:pk>/done/": Route(ids="activity", writes=POST),
    "pipeline/board/": Route(query=("owner=@person",)),
    "pipeline/accounts/": Route(query=("owner=@person", "q=MARK", "export=csv", "export=xlsx")),
    "pipeline/accounts/new/": Route(writes=POST, only=PIPELINE_WRITERS, body={"name": "Matrix", "owner": "@person"}),
    "pipeline/accounts/<int:pk>/": Route(ids="account"),
    "pipeline/accounts/<int:pk>/edit/": Route(ids="account", writes=POST, body={"name": "Matrix", "owner": "@person"}),
    "pipeline/leads/": Route(query=("owner=@person", "q=MARK", "export=csv")),
    "pipeline/leads/new/": Route(writes=POST, only=PIPELINE_WRITERS, body={"last_name": "Matrix", "company": "Matrix"}),
    "pipeline/leads/<int:pk>/convert/": Route(ids="lead", writes=POST, body={"account": "@account"}),
    "pipeline/setup/": Route(only=OPS),
    "pipeline/setup/<int:pipeline_pk>/stages/new/": Route(ids="pipeline", writes=POST, only=OPS),
    "pipeline/setup/<int:pipeline_pk>/stages/<int:pk>/": Route(ids="stage", writes=POST, only=OPS),
    "pipeline/setup/lost-reasons/": Route(writes=POST, only=OPS),
    "pipeline/setup/lost-reasons/<int:pk>/": Route(ids="lost_reason", writes=POST, only=OPS),
    "pipeline/stages/<int:pk>/move/": Route(ids="stage", writes=POST, only=OPS),
    "pipeline/stages/<int:pk>/delete/": Route(ids="stage", writes=POST, only=OPS),
    "pipeline/quality/": Route(only=OPS),
    "pipeline/quality/merge/": Route(writes=POST, only=OPS),
    # --------------------------------------------------------------------------------------- incentives
    "incentives/": Route(query=("person=@person", "export=csv", "export=xlsx")),
    "incentives/statements/<int:pk>/": Route(ids="statement", query=("export=csv", "export=xlsx")),
    "incentives/statements/<int:pk>/lines/<int:line_pk>/dispute/": Route(
        ids="statement", writes=POST, body={"text": "Matrix"}
    ),
    "incentives/estimator/": Route(query=("person=@person",)),
    "incentives/team/": Route(only=PAGE_ROLES_MANAGERS, query=("person=@person", "export=csv")),
    "incentives/register/": Route(only=FINANCE_OPS, query=("export=csv", "export=xlsx")),
    "incentives/periods/<int:pk>/lock/": Route(ids="period", writes=POST, only=FINANCE),
    "incentives/periods/<int:pk>/reopen/": Route(ids="period", writes=POST, only=FINANCE),
    "incentives/periods/<int:pk>/adjustments/": Route(
        ids="period", writes=POST, only=FINANCE, body={"person": "@person", "amount": "1", "reason": "Matrix"}
    ),
    "incentives/disputes/": Route(),
    "incentives/disputes/<int:pk>/resolve/": Route(ids="dispute", writes=POST, only=FINANCE),
    "incentives/recompute/": Route(writes=POST, only=FINANCE_OPS),
    "incentives/plans/": Route(),
    "incentives/plans/new/": Route(writes=POST, only=OPS),
    "incentives/plans/import/": Route(writes=POST, only=OPS),
    "incentives/plans/<slug:key>/": Route(ids="plan"),
    "incentives/plans/<slug:key>/version/": Route(ids="plan", writes=POST, only=OPS),
    "incentives/quotas/": Route(writes=POST, only=PAGE_ROLES_MANAGERS, query=("person=@person",)),
    "incentives/quotas/uploads/<int:pk>/": Route(ids="quota_upload", only=OPS),
    "incentives/quotas/uploads/<int:pk>/save/": Route(ids="quota_upload", writes=POST, only=OPS),
    "incentives/history/": Route(only=FINANCE_OPS, query=("entity_id=@person",)),
    # -------------------------------------------------------------------------------------- forecasting
    "forecasting/": Route(query=("person=@person",)),
    "forecasting/deals/": Route(query=("person=@person", "owner=@person")),
    "forecasting/deals/<int:pk>/category/": Route(ids="deal", writes=POST, body={"category": "commit"}),
    "forecasting/calls/": Route(writes=POST),
    "forecasting/people/<int:pk>/adjust/": Route(ids="person", writes=POST),
    "forecasting/people/<int:pk>/history/": Route(ids="person"),
    "forecasting/trend/": Route(query=("person=@person",)),
    "forecasting/waterfall/": Route(query=("person=@person",)),
    "forecasting/waterfall/deals/": Route(query=("person=@person",)),
    "forecasting/accuracy/": Route(query=("person=@person",)),
    # ---------------------------------------------------------------------------------------- reporting
    "reporting/": Route(),
    # ---- planning: home
    "planning/": Route(),
    # ---- enablement: home (each area's routes: tests/enablement/matrix_<area>.py)
    "enablement/": Route(),
    # ---- signals: home (each area's routes: tests/signals/matrix_<area>.py)
    "signals/": Route(),
    # ---- planning: territories (a draft model every owner holds a territory of; only sales ops change it)
    "planning/territories/": Route(writes=POST, writers=OPS),
    "planning/territories/models/<int:pk>/": Route(ids="territory_model"),
    "planning/territories/models/<int:pk>/assign/": Route(ids="territory_model", writes=POST, only=OPS),
    "planning/territories/models/<int:pk>/activate/": Route(ids="territory_model", writes=POST, only=OPS),
    "planning/territories/models/<int:pk>/archive/": Route(ids="territory_model", writes=POST, only=OPS),
    "planning/territories/models/<int:pk>/copy/": Route(ids="territory_model", writes=POST, only=OPS),
    "planning/territories/models/<int:pk>/territories/": Route(ids="territory_model", writes=POST, only=OPS),
    "planning/territories/models/<int:pk>/move-account/": Route(
        ids="territory_model", writes=POST, only=OPS, body={"account": "@account", "territory": "@territory"}
    ),
    "planning/territories/<int:pk>/edit/": Route(ids="territory", writes=POST, only=OPS),
    "planning/territories/<int:pk>/rules/": Route(ids="territory", writes=POST, only=OPS),
    "planning/territories/<int:pk>/delete/": Route(ids="territory", writes=POST, only=OPS),
    # ---- planning: scenarios (a draft scenario: reps see none of it; managers allocate, sales ops approve/publish)
    "planning/scenarios/": Route(writes=POST, writers=OPS),
    "planning/scenarios/compare/": Route(only=PAGE_ROLES_MANAGERS),
    "planning/scenarios/<int:pk>/": Route(ids="scenario"),
    "planning/scenarios/<int:pk>/allocate/": Route(
        ids="scenario", writes=POST, only=frozenset({"manager_east", "manager_west", "ops"})
    ),
    "planning/scenarios/<int:pk>/recompute/": Route(ids="scenario", writes=POST, only=OPS),
    "planning/scenarios/<int:pk>/approve/": Route(ids="scenario", writes=POST, only=OPS),
    "planning/scenarios/<int:pk>/publish/": Route(ids="scenario", writes=POST, only=OPS),
    "planning/required-pipeline/": Route(),
    # ---- planning: stress (a finished test with a row per owner: sales ops create; finance reads all; a manager
    # reads their subtree's rows; a rep is refused the list and the form (403) and cannot open a test (404))
    "planning/stress-tests/": Route(only=PAGE_ROLES_MANAGERS),
    "planning/stress-tests/new/": Route(writes=POST, only=OPS),
    "planning/stress-tests/<int:pk>/": Route(ids="stress_test"),
    "reporting/manager/": Route(only=PAGE_ROLES_MANAGERS, query=("person=@person", "owner=@person")),
    "reporting/rep/": Route(query=("person=@person", "owner=@person")),
    "reporting/executive/": Route(only=PAGE_ROLES_MANAGERS, query=("person=@person",)),
    "reporting/finance/": Route(only=FINANCE_OPS),
    "reporting/deals/": Route(query=("person=@person", "owner=@person", "export=csv&owner=@person")),
    # ------------------------------------------------------------------------------------------ the API
    "api/v1/": Route(),
    "api/v1/me/": Route(),
    "api/v1/home/": Route(),
    "api/v1/auth/token/": Route(writes=POST, public=True),
    "api/v1/people/": Route(writes=POST),
    "api/v1/people/<pk>/": Route(ids="person", writes=("PUT", "PATCH"), writers=OPS),
    "api/v1/people/<pk>/deactivate/": Route(ids="person", writes=POST, only=OPS),
    "api/v1/people/<pk>/send-set-password-link/": Route(ids="person", writes=POST, only=OPS),
    "api/v1/people/<pk>/history/": Route(ids="person", only=OPS),
    "api/v1/regions/": Route(writes=POST),
    "api/v1/teams/": Route(writes=POST),
    "api/v1/auth/tokens/": Route(),
    "api/v1/auth/tokens/<pk>/": Route(ids="token", writes=("DELETE",)),
    "api/v1/data-quality/": Route(only=OPS),
    "api/v1/deals/": Route(writes=POST, body=P_DEAL, query=("owner=@person", "account=@account", "q=MARK")),
    "api/v1/deals/<pk>/": Route(
        ids="deal", writes=("PUT", "PATCH"), body={"account": "@account", "contact": "@contact", "owner": "@person"}
    ),
    "api/v1/deals/<pk>/cancel/": Route(ids="deal", writes=POST, body={"reason": "Matrix"}),
    "api/v1/deals/<pk>/category/": Route(ids="deal", writes=POST, body={"category": "commit"}),
    "api/v1/deals/<pk>/history/": Route(ids="deal"),
    "api/v1/deals/<pk>/move/": Route(ids="deal", writes=POST, body={"stage": "@stage"}),
    "api/v1/deals/<pk>/splits/": Route(
        ids="deal", writes=("PUT",), body={"splits": [{"person": "@person", "percent": "100"}]}
    ),
    "api/v1/accounts/": Route(
        writes=POST,
        body={"name": "Matrix", "parent": "@account", "owner": "@person"},
        query=("owner=@person", "q=MARK"),
    ),
    "api/v1/accounts/merge/": Route(writes=POST, only=OPS, body={"keep": "@account", "duplicate": "@account"}),
    "api/v1/accounts/<pk>/": Route(
        ids="account", writes=("PUT", "PATCH"), body={"name": "Matrix", "parent": "@account", "owner": "@person"}
    ),
    "api/v1/contacts/": Route(
        writes=POST,
        body={"last_name": "Matrix", "account": "@account", "owner": "@person"},
        query=("account=@account", "owner=@person"),
    ),
    "api/v1/contacts/merge/": Route(writes=POST, only=OPS, body={"keep": "@contact", "duplicate": "@contact"}),
    "api/v1/contacts/<pk>/": Route(ids="contact"),
    "api/v1/products/": Route(writes=POST),
    "api/v1/products/<pk>/": Route(ids="product", writes=("PUT", "PATCH")),
    "api/v1/pipelines/": Route(writes=POST),
    "api/v1/pipelines/<pk>/": Route(ids="pipeline"),
    "api/v1/pipelines/<pk>/stages/": Route(ids="pipeline", writes=POST, only=OPS),
    "api/v1/pipelines/<pk>/stage-order/": Route(ids="pipeline", writes=POST, only=OPS),
    "api/v1/stages/<pk>/": Route(ids="stage", writes=("PUT", "PATCH", "DELETE")),
    "api/v1/lost-reasons/": Route(writes=POST),
    "api/v1/lost-reasons/<pk>/": Route(ids="lost_reason", writes=("PUT", "PATCH")),
    "api/v1/leads/": Route(
        writes=POST, body={"last_name": "Matrix", "company": "Matrix"}, query=("owner=@person", "q=MARK")
    ),
    "api/v1/leads/<pk>/": Route(ids="lead"),
    "api/v1/leads/<pk>/convert/": Route(ids="lead", writes=POST, body={"account": "@account"}),
    "api/v1/activities/": Route(
        writes=POST,
        query=("deal=@deal", "lead=@lead", "account=@account", "owner=@person"),
        body={"kind": "call", "subject": "Matrix", "deal": "@deal", "account": "@account", "contact": "@contact"},
    ),
    "api/v1/activities/<pk>/done/": Route(ids="activity", writes=POST),
    "api/v1/imports/": Route(writes=POST, only=OPS),
    "api/v1/imports/<int:pk>/": Route(ids="import", only=OPS),
    "api/v1/imports/<int:pk>/run/": Route(ids="import", writes=POST, only=OPS),
    "api/v1/incentives/estimator/": Route(writes=POST, query=("person=@person",)),
    "api/v1/incentives/recompute/": Route(writes=POST, only=FINANCE_OPS),
    "api/v1/incentives/payouts/": Route(query=("person=@person", "q=MARK")),
    "api/v1/incentives/payouts/summary/": Route(query=("person=@person", "fiscal_year=2025")),
    "api/v1/incentives/payouts/totals/": Route(
        only=PAGE_ROLES_MANAGERS, query=("period=" + QUARTER + "&person=@person", "period=" + QUARTER + "&q=MARK")
    ),
    "api/v1/incentives/payouts/export/": Route(
        only=FINANCE, query=("period=" + QUARTER, "period=" + QUARTER + "&format=xlsx")
    ),
    "api/v1/incentives/payouts/register/": Route(only=FINANCE_OPS),
    "api/v1/incentives/payouts/<pk>/": Route(ids="payout"),
    "api/v1/incentives/payouts/<pk>/lines/": Route(ids="payout", query=("export=csv",)),
    "api/v1/incentives/periods/": Route(),
    "api/v1/incentives/periods/<pk>/": Route(ids="period"),
    "api/v1/incentives/periods/<pk>/history/": Route(ids="period"),
    "api/v1/incentives/periods/<pk>/lock/": Route(ids="period", writes=POST, only=FINANCE),
    "api/v1/incentives/periods/<pk>/lock-preview/": Route(ids="period"),
    "api/v1/incentives/periods/<pk>/reopen/": Route(ids="period", writes=POST, only=FINANCE),
    "api/v1/incentives/adjustments/": Route(
        writes=POST,
        writers=FINANCE,
        query=("person=@person",),
        body={"person": "@person", "period": QUARTER, "amount": "1", "reason": "Matrix"},
    ),
    "api/v1/incentives/adjustments/<pk>/": Route(ids="adjustment"),
    "api/v1/incentives/disputes/": Route(writes=POST, body={"line": "@line", "text": "Matrix"}),
    "api/v1/incentives/disputes/<pk>/": Route(ids="dispute"),
    "api/v1/incentives/disputes/<pk>/resolve/": Route(ids="dispute", writes=POST, only=FINANCE),
    "api/v1/incentives/plans/": Route(writes=POST),
    "api/v1/incentives/plans/<key>/": Route(ids="plan"),
    "api/v1/incentives/plans/<key>/assign/": Route(ids="plan", writes=POST, only=OPS),
    "api/v1/incentives/plans/<key>/export/": Route(ids="plan"),
    "api/v1/incentives/plans/<key>/versions/": Route(ids="plan", writes=POST),
    "api/v1/incentives/quotas/": Route(
        writes=POST,
        writers=OPS,
        query=("person=@person",),
        body={"person": "@person", "period": QUARTER, "amount": "1"},
    ),
    "api/v1/incentives/quotas/upload/": Route(writes=POST, only=OPS),
    "api/v1/incentives/quotas/<pk>/": Route(ids="quota"),
    "api/v1/incentives/quota-uploads/<pk>/": Route(ids="quota_upload", only=OPS),
    "api/v1/incentives/quota-uploads/<pk>/save/": Route(ids="quota_upload", writes=POST, only=OPS),
    "api/v1/incentives/runs/": Route(only=FINANCE_OPS),
    "api/v1/incentives/runs/<pk>/": Route(ids="run"),
    "api/v1/incentives/audit/": Route(
        only=FINANCE_OPS, query=("entity=quota&entity_id=@quota", "entity=deal&entity_id=@deal")
    ),
    "api/v1/incentives/assignments/": Route(query=("person=@person",)),
    "api/v1/incentives/assignments/<pk>/end/": Route(ids="assignment", writes=POST, only=OPS),
    "api/v1/incentives/ramps/": Route(writes=POST),
    "api/v1/incentives/ramps/<pk>/": Route(ids="ramp"),
    "api/v1/forecasting/grid/": Route(query=("person=@person",)),
    "api/v1/forecasting/deals/": Route(query=("person=@person", "owner=@person")),
    "api/v1/forecasting/calls/": Route(writes=POST, query=("person=@person",)),
    "api/v1/forecasting/adjustments/": Route(
        writes=POST,
        writers=frozenset({"manager_east", "manager_west"}),
        query=("person=@person",),
        body={"person": "@report", "period": QUARTER, "commit": "1", "best_case": "1", "note": "Matrix"},
    ),
    "api/v1/forecasting/trend/": Route(query=("person=@person",)),
    "api/v1/forecasting/waterfall/": Route(absent_ok=True, query=("person=@person",)),
    "api/v1/forecasting/accuracy/": Route(query=("person=@person",)),
    "api/v1/reporting/kpis/": Route(query=("person=@person", "owner=@person")),
    "api/v1/reporting/dashboards/<str:name>/": Route(ids="dashboard", query=("person=@person", "owner=@person")),
    # ---- planning: scenarios (API)
    "api/v1/planning/scenarios/": Route(
        writes=POST,
        writers=OPS,
        body={
            "name": "Matrix bottom-up",
            "fiscal_year": 2027,
            "method": "bottom_up",
            "basis": "equal",
            "inputs": {"productivity": "1000"},
        },
    ),
    "api/v1/planning/scenarios/compare/": Route(only=PAGE_ROLES_MANAGERS),
    "api/v1/planning/scenarios/<pk>/": Route(ids="scenario"),
    "api/v1/planning/scenarios/<pk>/allocate/": Route(
        ids="scenario", writes=POST, only=frozenset({"manager_east", "manager_west", "ops"})
    ),
    "api/v1/planning/scenarios/<pk>/recompute/": Route(ids="scenario", writes=POST, only=OPS),
    "api/v1/planning/scenarios/<pk>/approve/": Route(ids="scenario", writes=POST, only=OPS),
    "api/v1/planning/scenarios/<pk>/publish/": Route(ids="scenario", writes=POST, only=OPS),
    "api/v1/planning/required-pipeline/": Route(),
    # ---- planning: stress (API)
    "api/v1/planning/stress-tests/": Route(writes=POST, only=PAGE_ROLES_MANAGERS, writers=OPS, body=STRESS_BODY),
    "api/v1/planning/stress-tests/<pk>/": Route(ids="stress_test"),
    # ---- planning: territories (API)
    "api/v1/planning/territory-models/": Route(writes=POST, writers=OPS, body={"name": "Matrix next"}),
    "api/v1/planning/territory-models/<pk>/": Route(ids="territory_model"),
    "api/v1/planning/territory-models/<pk>/assign/": Route(ids="territory_model", writes=POST, only=OPS),
    "api/v1/planning/territory-models/<pk>/activate/": Route(ids="territory_model", writes=POST, only=OPS),
    "api/v1/planning/territory-models/<pk>/archive/": Route(ids="territory_model", writes=POST, only=OPS),
    "api/v1/planning/territory-models/<pk>/copy/": Route(ids="territory_model", writes=POST, only=OPS),
    "api/v1/planning/territory-models/<pk>/territories/": Route(ids="territory_model", writes=POST, only=OPS),
    "api/v1/planning/territory-models/<pk>/move-account/": Route(
        ids="territory_model", writes=POST, only=OPS, body={"account": "@account", "territory": "@territory"}
    ),
    "api/v1/planning/territories/": Route(),
    "api/v1/planning/territories/<pk>/": Route(ids="territory", writes=("PATCH", "DELETE"), writers=OPS),
    "api/v1/planning/territories/<pk>/rules/": Route(ids="territory", writes=POST, only=OPS),
    "api/v1/reporting/deals/": Route(query=("person=@person", "owner=@person")),
}

# Patterns the matrix does not walk, each with its reason.
# Enablement's areas classify their own routes and make their own records (tests/enablement/matrix_<area>.py).
from tests.enablement import (  # noqa: E402
    matrix_adoption,
    matrix_coaching,
    matrix_learning,
    matrix_programmes,
    matrix_ramp,
)
from tests.signals import (  # noqa: E402
    matrix_channels,
    matrix_leads,
    matrix_marketing,
    matrix_notifications,
    matrix_reconciliation,
    matrix_rules,
    matrix_winloss,
)

ENABLEMENT_AREAS = (matrix_programmes, matrix_learning, matrix_ramp, matrix_adoption, matrix_coaching)
# Signals' areas the same way (tests/signals/matrix_<area>.py).
SIGNALS_AREAS = (
    matrix_notifications,
    matrix_channels,
    matrix_rules,
    matrix_marketing,
    matrix_leads,
    matrix_winloss,
    matrix_reconciliation,
)
for _area in (*ENABLEMENT_AREAS, *SIGNALS_AREAS):
    ROUTES.update({pattern: Route(**kwargs) for pattern, kwargs in _area.ROUTES.items()})
    OWNED |= _area.OWNED_KINDS

NOT_IN_MATRIX: dict[str, str] = {
    "healthz": "the load balancer's probe: no data, no session (tests/test_health.py)",
    "healthz/background": "monitoring's probe of background work: counts only, with the token (tests/test_health.py)",
    "logout/": "signs the actor out, which would end the rest of its walk; holds no data",
    "org/set-password/<uidb64>/<token>/": "opened by a signed token, not a session (tests/org/test_sign_in_defence.py)",
    "api/v1/schema/": "the OpenAPI schema: describes the routes, holds no records",
    "api/v1/docs/": "the Swagger page over the schema: no records",
    "api/v1/<drf_format_suffix:format>": "the API root's format suffix: the same view as api/v1/",
}
NOT_IN_MATRIX_PREFIXES = {"admin/": "Django's admin: staff only, Django's own permission checks"}
FORMAT_SUFFIX = re.compile(r"\\\.\(\?P<format>\[a-z0-9\]\+\)/\?\$$")  # DRF's ".json" twin of a router route


# --------------------------------------------------------------------------------------------------- routes
def all_routes() -> list[str]:
    """Every URL pattern, as its route string (router regexes read as <name> converters)."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return [readable(route) for route in walk(get_resolver().url_patterns, "")]


def readable(route: str) -> str:
    """`api/v1/^deals/(?P<pk>[^/.]+)/$` → `api/v1/deals/<pk>/` (a format-suffix twin keeps its marker)."""
    twin = bool(FORMAT_SUFFIX.search(route))
    route = FORMAT_SUFFIX.sub("/", route) if twin else route
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route).replace("^", "").replace("$", "")
    return route + ("  (format suffix)" if twin else "")


def fill(route: str, values: dict[str, Any]) -> str:

    def value(found: re.Match[str]) -> str:
        return str(values[found.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


# ---------------------------------------------------------------------------------------------------- world
@dataclass
class World:
    people: dict[str, User]
    owned: dict[str, dict[str, Any]]  # owner → kind → id (a plan's key)
    shared: dict[str, Any]  # shared kinds: period, stage, pipeline, …
    seen: dict[str, set[str]] = field(default_factory=dict)  # actor → marker kinds seen in answers
    panels: dict[str, list[str]] = field(default_factory=dict)  # dashboard → its panels' keys (for their exports)


def build_world() -> World:
    east, west = RegionFactory.create(name="East"), RegionFactory.create(name="West")
    director = ManagerFactory.create(username="director", title="VP of Sales")
    manager_east = ManagerFactory.create(username="mgr_east", manager=director, region=east,
                                         team=TeamFactory.create(region=east))  # fmt: skip
    manager_west = ManagerFactory.create(username="mgr_west", manager=director, region=west,
                                         team=TeamFactory.create(region=west))  # fmt: skip
    people = {
        "director": director,
        "manager_east": manager_east,
        "manager_west": manager_west,
        "rep_a": UserFactory.create(username="rep_a", manager=manager_east, region=east, team=manager_east.team),
        "rep_b": UserFactory.create(username="rep_b", manager=manager_east, region=east, team=manager_east.team),
        "rep_c": UserFactory.create(username="rep_c", manager=manager_west, region=west, team=manager_west.team),
        "rep_sub": UserFactory.create(username="rep_sub", region=east, team=manager_east.team),
        "finance": UserFactory.create(username="fin", is_rep=False, is_finance=True, title="Commission Analyst"),
        "ops": UserFactory.create(username="ops_admin", is_rep=False, is_sales_ops=True, title="Sales Ops"),
    }
    people["rep_sub"].manager = people["rep_a"]
    people["rep_sub"].save(update_fields=["manager"])
    ops, finance = people["ops"], people["finance"]
    stages = default_stages()
    product = ProductFactory.create(name="Matrix Widget")
    period = pay.period_get_or_create(QUARTER)
    owned: dict[str, dict[str, Any]] = {}
    current_quarter = current_period("quarter")
    for owner in OWNERS:
        person = people[owner]
        mark = f"MARK-{owner}"
        person.first_name = f"{mark}-person"
        person.save(update_fields=["first_name"])
        account = AccountFactory.create(name=f"{mark}-account", owner=person)
        contact = ContactFactory.create(account=account, owner=person, last_name=f"{mark}-contact")
        deal = DealFactory.create(name=f"{mark}-deal", owner=person, account=account, contact=contact)
        won = DealFactory.create(name=f"{mark}-won", owner=person, account=account, stage=stages["Closed Won"],
                                 amount=Decimal("50000.00"), close_date=dt.date(2025, 2, 10),
                                 created_date=dt.date(2025, 1, 5))  # fmt: skip
        lead = Lead.objects.create(last_name=f"{mark}-lead", company=f"{mark}-leadco", owner=person)
        activity = Activity.objects.create(kind="call", subject=f"{mark}-activity", deal=deal, owner=person,
                                           due_date=dt.date(2026, 12, 1))  # fmt: skip
        # One on the lead alone too: `?lead=` of a lead outside the scope must list nothing, as a missing one.
        Activity.objects.create(kind="call", subject=f"{mark}-activity", lead=lead, owner=person, done=True)
        plan = pay.plan_save_version(actor=ops, key=f"plan-{owner.replace('_', '-')}", name=f"{mark}-plan",
                                     definition={"period": "quarter", "components": [
                                         {"key": "commission", "type": "tiered_rate", "method": "marginal",
                                          "tiers": [{"from": "0", "rate": "0.05"}]}]},
                                     effective_from=dt.date(2025, 1, 1)).plan  # fmt: skip
        assignment = pay.plan_assign(actor=ops, person=person, plan=plan, start=dt.date(2025, 1, 1))
        quota = pay.quota_set(actor=ops, person=person, period=period, amount=100000)
        for label in (QUARTER, current_quarter):  # the forecast pages open on the current quarter
            ForecastSubmission.objects.create(person=person, period=label, commit=1, best_case=2, note=f"{mark}-call")
        token = ApiToken.objects.create(user=person, name=f"{mark}-token", key_digest=f"matrix-{owner}", prefix="mx",
                                        password_fingerprint=password_fingerprint(person), expires=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))  # fmt: skip
        owned[owner] = {"person": person.pk, "account": account.pk, "contact": contact.pk, "deal": deal.pk,
                        "won": won.pk, "lead": lead.pk, "activity": activity.pk, "plan": plan.key,
                        "assignment": assignment.pk, "quota": quota.pk, "token": token.pk}  # fmt: skip
    for owner in OWNERS:  # whom a forecast adjustment is for: a direct report of the manager
        report = {"manager_east": "rep_a", "manager_west": "rep_c", "director": "manager_east"}.get(owner, owner)
        owned[owner]["report"] = people[report].pk
    for boss, report in (("manager_east", "rep_a"), ("manager_west", "rep_c")):
        ForecastAdjustment.objects.create(person=people[report], manager=people[boss], period=current_quarter, commit=1,
                                          best_case=1, note=f"MARK-{report}-forecast_adjustment")  # fmt: skip
    commission_recompute()
    for owner in OWNERS:
        payout = Payout.objects.get(person=people[owner], period=period)
        line = StatementLine.objects.filter(payout=payout).order_by("pk").first()
        assert line is not None, f"{owner} has no statement line: the matrix would test no statement"
        dispute = pay.dispute_raise(actor=people[owner], line=line, text=f"MARK-{owner}-dispute")
        adjustment = pay.adjustment_create(actor=finance, person=people[owner], period=period, amount="10",
                                           reason=f"MARK-{owner}-adjustment")  # fmt: skip
        owned[owner].update(statement=payout.pk, payout=payout.pk, line=line.pk, dispute=dispute.pk,
                            adjustment=adjustment.pk)  # fmt: skip
    territory_model = planning_territory_world(people, owned)
    job = ImportJob.objects.create(created_by=ops, file_name="matrix.csv", file="imports/matrix.csv")
    pipeline = Pipeline.objects.get(is_default=True)
    shared = {
        "period": period.pk,
        "stage": stages["Discovery"].pk,
        "pipeline": pipeline.pk,
        "lost_reason": LostReason.objects.create(name="Matrix reason").pk,
        "product": product.pk,
        "import": job.pk,
        "run": pay_run_id(),
        "ramp": pay.ramp_save(actor=ops, name="Matrix ramp", shares=["0.5", "1"]).pk,
        "dashboard": "manager",
        "territory_model": territory_model,
        "scenario": planning_scenario_world(ops),
        "stress_test": planning_stress_world(people),
    }
    for area in (*ENABLEMENT_AREAS, *SIGNALS_AREAS):
        area.world(people, owned, shared)
    assert Quota.objects.count() == len(OWNERS) and Dispute.objects.count() == len(OWNERS)
    assert PlanAssignment.objects.count() == len(OWNERS) and Stage.objects.exists() and Deal.objects.exists()
    api = APIClient()
    api.force_authenticate(ops)
    panels = {name: [panel["key"] for panel in api.get(f"/api/v1/reporting/dashboards/{name}/").json()["panels"]]
              for name in DASHBOARD_ONLY}  # fmt: skip
    return World(people=people, owned=owned, shared=shared, panels=panels)


def planning_territory_world(people: dict[str, User], owned: dict[str, dict[str, Any]]) -> int:
    """The active territory model: a root owned by nobody and one territory per owner, named with their marker
    (a rep reads only the active model, and in it only their own territories)."""
    from planning.services import territories as territory_services

    ops = people["ops"]
    model = territory_services.territory_model_create(actor=ops, name="Matrix territories")
    root = model.territories.get()
    for owner in OWNERS:
        territory = territory_services.territory_create(
            actor=ops, model_id=model.pk, parent_id=root.pk, name=f"MARK-{owner}-territory", owner_id=people[owner].pk
        )
        territory_services.territory_rule_set(actor=ops, territory_id=territory.pk, kind="named_account",
                                              values=[owned[owner]["account"]])  # fmt: skip
        owned[owner]["territory"] = territory.pk
    territory_services.territory_model_activate(actor=ops, model_id=model.pk)
    return model.pk


def planning_scenario_world(ops: User) -> int:
    """A draft top-down quota scenario over the whole tree (a rep sees none of a draft)."""
    from planning.services import scenarios as scenario_services

    scenario = scenario_services.scenario_create(actor=ops, name="Matrix scenario", fiscal_year=2027,
                                                 method="top_down", basis="equal", target="100000.00")  # fmt: skip
    return scenario.pk


def planning_stress_world(people: dict[str, User]) -> int:
    """A finished stress test whose result has a row for every owner (a manager sees only their subtree's)."""
    from planning.models import StressTest

    rows = [{"person": str(people[owner].pk), "quota": "100000.00", "rep": True, "p10": "1.00", "p50": "2.00",
             "p90": "3.00", "at_quota": "0.5000", "weighted": "2.00"} for owner in OWNERS]  # fmt: skip
    result = {"outcomes": 10, "people": len(rows), "reps": len(rows), "period": "2027-Q1", "by_person": rows,
              "cost": {"p10": "1.00", "p50": "2.00", "p90": "3.00", "mean": "2.00", "min": "1.00", "max": "3.00"},
              "histogram": {"edges": ["1.00", "2.00", "3.00"], "counts": [4, 6]}, "weighted_cost": "2.00",
              "exposure": {"p10": "0.00", "p50": "0.00", "p90": "1.00", "mean": "0.00", "min": "0.00", "max": "1.00"},
              "at_quota_share": {"p10": "0.4000", "p50": "0.5000", "p90": "0.6000"}, "errors": [],
              "open_deals": 3, "open_amount": "3.00", "weighted_amount": "1.50"}  # fmt: skip
    test = StressTest.objects.create(name="Matrix stress", plan_definition={"key": "m", "period": "quarter",
                                     "components": []}, period="2027-Q1", outcomes=10, status=StressTest.Status.DONE,
                                     result=result, created_by=people["ops"])  # fmt: skip
    return test.pk


def pay_run_id() -> int:
    from incentives.models import CommissionRun

    run = CommissionRun.objects.order_by("-pk").first()
    assert run is not None
    return run.pk


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with django_db_blocker.unblock():
        cache.clear()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            cache.clear()
            celery_app.control.purge()  # writes queued recomputes on this slot's broker; no worker runs them


# ------------------------------------------------------------------------------------------------- answers
@dataclass
class Answer:
    status: int
    location: str
    content_type: str
    body: bytes
    error: str

    def text(self) -> str:
        """What the answer says, files decoded: XLSX cells, CSV and everything else as text."""
        if self.body[:2] == b"PK":
            book = openpyxl.load_workbook(io.BytesIO(self.body), read_only=True)
            return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                             for cell in row if cell is not None)  # fmt: skip
        return self.body.decode("utf-8-sig", errors="replace")


DIGITS = re.compile(r"\d+")  # where a write that succeeded redirects: the new record's id differs every time
# Chart element ids; "computed 3 seconds ago", "checked a minute ago": what differs between two identical answers.
VARYING = re.compile(r"chart-[0-9a-f]{12}|(?:\d+|an?)[\s\xa0]+(?:second|minute|hour|day)s?[\s\xa0]+ago")
NONCE = re.compile(r'nonce="[^"]*"')  # the CSP nonce of each answer's scripts
TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{32,}")  # CSRF tokens, nonces: different on every answer


def shape(answer: Answer, ids: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The status, location and body of an answer, per-answer tokens blanked; for the answer to a missing id,
    `ids` maps the missing ids to the real ones, so it reads as that answer would for the real record."""
    text, location = answer.text(), answer.location
    for missing, real in (ids or {}).items():
        text, location = text.replace(missing, real), location.replace(missing, real)
    if "json" in answer.content_type:
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), sort_keys=True)
    text = TOKEN.sub("<token>", NONCE.sub('nonce="<nonce>"', VARYING.sub("<varies>", text)))
    return answer.status, DIGITS.sub("<n>", location), text


@dataclass
class Walk:
    actor: str
    world: World
    client: Any
    api: Any
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    blind: list[str] = field(default_factory=list)  # body references the view answers the same for any id

    def fail(self, what: str) -> None:
        self.failures.append(f"{self.actor}: {what}")

    def send(self, method: str, url: str, *, api: bool, body: dict[str, Any] | None = None) -> Answer:
        """One request in a savepoint rolled back after it."""
        client = self.api if api else self.client
        self.requests += 1
        with transaction.atomic():
            kwargs: dict[str, Any] = {}
            if body is not None:
                kwargs = {"data": body, "format": "json"} if api else {"data": body}
            elif api and method != "GET":
                kwargs = {"data": {}, "format": "json"}
            if method == HTMX:  # the fragment a page's htmx asks for: another template, the same scope
                method, kwargs["headers"] = "GET", {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}
            response = getattr(client, method.lower())(url, **kwargs)
            error = ""
            if getattr(response, "exc_info", None):
                error = f"{type(response.exc_info[1]).__name__}: {response.exc_info[1]}"
            try:
                content = b"".join(response.streaming_content) if response.streaming else response.content
            except Exception as raised:  # a streamed file fails only while it streams; that failure is the finding
                content, error = b"", f"while streaming: {type(raised).__name__}: {raised}"
            transaction.set_rollback(True)
        cache.clear()
        client.cookies.pop("messages", None)  # a success message belongs to the rolled-back write, not the next page
        answer = Answer(response.status_code, response.get("Location", ""), response.get("Content-Type", ""), content,
                        error)  # fmt: skip
        self.check(method, url, answer)
        return answer

    def check(self, method: str, url: str, answer: Answer) -> None:
        """No 5xx, and no marker of an owner outside the actor's scope."""
        if answer.status >= 500:
            self.fail(f"{method} {url} → {answer.status} {answer.error}")
        elif answer.error.startswith("while streaming"):
            self.fail(f"{method} {url} → {answer.error}")
        try:
            text = answer.text()
        except Exception as raised:  # an unreadable file is a finding too
            self.fail(f"{method} {url}: the answer cannot be read ({raised})")
            return
        scope = SCOPE[self.actor]
        for found in MARKER.finditer(text):
            owner, kind = found.groups()
            if owner not in (scope | ABOVE[self.actor] if kind == "person" else scope):
                self.fail(f"{method} {url} → {answer.status} shows {found.group(0)} (outside the scope: a leak)")
                break
            self.world.seen.setdefault(self.actor, set()).add(kind)


def own_values(world: World, actor: str) -> dict[str, Any]:
    """The values "@kind" stands for in a body: the actor's own records (another owner's for finance and ops)."""
    owner = actor if actor in world.owned else "rep_a"
    return {**world.shared, **world.owned[owner]}


def substitute(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {key: substitute(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [substitute(value, values) for value in template]
    if isinstance(template, str) and template.startswith("@"):
        return values[template[1:]]
    return template


def path_values(route: Route, world: World, owner: str | None) -> dict[str, Any]:
    """The path arguments for one owner's record (or the shared record)."""
    return {"field": route.field, **_path_values(route, world, owner)}


def _path_values(route: Route, world: World, owner: str | None) -> dict[str, Any]:
    if route.path is not None:
        return route.path
    if route.ids == "":
        return {}
    if route.ids == "statement":
        record = world.owned[owner or "rep_a"]
        return {"pk": record["statement"], "line_pk": record["line"]}
    # A shared kind the world has no record of is filled with a missing id.
    value = world.owned[owner or "rep_a"][route.ids] if route.ids in OWNED else world.shared.get(route.ids, MISSING)
    if route.ids == "stage":
        return {"pk": value, "pipeline_pk": world.shared["pipeline"], "key": value}
    return {"pk": value, "pipeline_pk": value, "key": value, "name": value}


def path_owners(actor: str) -> list[str]:
    """Whose records fill a path id: three owners outside the scope (``OUTSIDE``), and one or two inside it
    (finance and sales ops see everyone: one suffices)."""
    inside = [owner for owner in OWNERS if owner in SCOPE[actor]]
    return inside[:1] + inside[-1:] * (len(inside) in (2, 3)) + list(OUTSIDE.get(actor, ()))


def missing_values(route: Route) -> dict[str, Any]:
    key = "no-such-plan" if route.ids == "plan" else MISSING
    return {"pk": MISSING, "line_pk": MISSING + 1, "pipeline_pk": MISSING, "key": key, "name": "no-such-dashboard",
            "field": route.field}  # fmt: skip


def difference(theirs: tuple[int, str, str], missing: tuple[int, str, str]) -> str:
    """Where two answers part: the text around the first difference of each."""
    a, b = theirs[1] + " " + theirs[2], missing[1] + " " + missing[2]
    at = next((index for index, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"\n    theirs:  {a[max(0, at - 120) : at + 200]!r}\n    missing: {b[max(0, at - 120) : at + 200]!r}"


def refusal_ok(status: int) -> bool:
    return status in (403, 404, 405)


# --------------------------------------------------------------------------------------------------- walks
def walk_route(walk: Walk, route_string: str, route: Route) -> None:
    world, actor = walk.world, walk.actor
    if route.ids == "dashboard":  # each dashboard has its own audience
        for name, only in DASHBOARD_ONLY.items():
            walk_route(walk, route_string, replace(route, ids="", path={"name": name}, only=only))
        return
    if route.ids == "statement" and actor in ("rep_a", "rep_b", "rep_c"):
        walk_foreign_line(walk, route_string, route)
    api = route_string.startswith("api/")
    methods = ["GET", *([] if api else [HTMX]), *route.writes]
    if actor == "anonymous":
        if route.public:
            return
        for method in methods:
            answer = walk.send(method, fill(route_string, path_values(route, world, "rep_a")), api=api)
            if api and answer.status != 401:
                walk.fail(f"{method} {route_string} anonymously → {answer.status}, not 401")
            if not api and not (answer.status == 302 and answer.location.startswith("/login/")):
                walk.fail(f"{method} {route_string} anonymously → {answer.status} {answer.location}, not to sign in")
        return
    allowed = route.only is None or actor in route.only
    scope = SCOPE[actor]
    for method in methods:
        body = (
            substitute(route.body, own_values(world, actor)) if route.body is not None and method not in READS else None
        )
        if route.ids in OWNED:
            missing = walk.send(method, fill(route_string, missing_values(route)), api=api, body=body)
            if method in READS and not refusal_ok(missing.status):
                walk.fail(f"GET {route_string} with a missing id → {missing.status}")
            owners = path_owners(actor)
            if method == HTMX:  # the fragment's own scope check: one owner inside the scope, one outside
                owners = owners[:1] + list(OUTSIDE.get(actor, ()))[:1]
            for owner in owners:
                values = path_values(route, world, owner)
                answer = walk.send(method, fill(route_string, values), api=api, body=body)
                if (owner == actor) if route.ids in SELF_ONLY else (owner in scope):
                    forbidden_write = method not in READS and route.writers is not None and actor not in route.writers
                    if forbidden_write and answer.status != 403:
                        walk.fail(f"{method} {route_string} with {owner}'s {route.ids}: the role may not write "
                                      f"→ {answer.status}, not 403")  # fmt: skip
                    if answer.status == 404 and method in READS and allowed:
                        walk.fail(f"GET {route_string} with {owner}'s {route.ids} (in scope) → 404")
                    if not allowed and answer.status not in (403, 405) and answer.status != missing.status:
                        walk.fail(f"{method} {route_string} with {owner}'s {route.ids}: the role may not → "
                                  f"{answer.status}")  # fmt: skip
                    continue
                missing_shape = shape(missing, {str(MISSING): str(values["pk"]), str(MISSING + 1): str(
                    values.get("line_pk", "")), "no-such-plan": str(values.get("key", ""))})  # fmt: skip
                if shape(answer) != missing_shape:
                    walk.fail(f"{method} {route_string} with {owner}'s {route.ids} (outside the scope) → "
                              f"{answer.status}, with a missing id → {missing.status}: an existence oracle"
                              f"{difference(shape(answer), missing_shape)}")  # fmt: skip
                elif not refusal_ok(answer.status):
                    walk.fail(
                        f"{method} {route_string} with {owner}'s {route.ids} (outside the scope) → {answer.status}"
                    )
        else:
            answer = walk.send(method, fill(route_string, path_values(route, world, None)), api=api, body=body)
            walk.statuses[(method, route_string, answer.status)] += 1
            forbidden_write = method not in READS and route.writers is not None and actor not in route.writers
            if forbidden_write and answer.status not in (403, 405):
                walk.fail(f"{method} {route_string}: the role may not write → {answer.status}, not 403")
            absent = route.ids and route.ids not in world.shared  # a kind the world holds no record of: 404 too
            if not allowed and answer.status not in (403, 405) and not (absent and answer.status == 404):
                walk.fail(f"{method} {route_string}: the role may not → {answer.status}, not 403")
            refused = {403, 404} - ({404} if route.absent_ok else set()) | ({405} if not route.writes else set())
            if method in READS and allowed and route.ids == "" and answer.status in refused:
                walk.fail(f"GET {route_string} → {answer.status} for a role roles.md allows")
    if route.query and scope != EVERYONE:
        walk_query(walk, route_string, route, api)
    if route.body is not None and scope != EVERYONE and allowed and (route.writers is None or actor in route.writers):
        walk_references(walk, route_string, route, api)
        for name, body in route.variants:
            walk_references(walk, route_string, replace(route, field=name, body=body, variants=()), api)


def walk_foreign_line(walk: Walk, route_string: str, route: Route) -> None:
    """One's own statement with another person's line in the path answers as with a missing line."""
    own = walk.world.owned[walk.actor]
    for method in ("GET", *route.writes):
        body = substitute(route.body, own_values(walk.world, walk.actor)) if method != "GET" else None
        missing = walk.send(method, fill(route_string, {"pk": own["statement"], "line_pk": MISSING}), api=False,
                            body=body)  # fmt: skip
        for owner in SAMPLED[walk.actor]:
            line = str(walk.world.owned[owner]["line"])
            answer = walk.send(method, fill(route_string, {"pk": own["statement"], "line_pk": line}), api=False,
                               body=body)  # fmt: skip
            if shape(answer) != shape(missing, {str(MISSING): line}):
                walk.fail(f"{method} {route_string}: own statement, {owner}'s line → {answer.status}, a missing line "
                          f"→ {missing.status}{difference(shape(answer), shape(missing, {str(MISSING): line}))}")  # fmt: skip


def walk_query(walk: Walk, route_string: str, route: Route, api: bool) -> None:
    """Query parameters carrying another owner's ids answer as missing ids do."""
    world = walk.world
    base = fill(route_string, path_values(route, world, walk.actor if walk.actor in world.owned else None))
    dashboard = re.fullmatch(r"reporting/(\w+)/", route_string)
    exports = [f"export=csv&panel={key}" for key in world.panels.get(dashboard.group(1) if dashboard else "", [])]
    for query in [*route.query, *exports]:
        if "@" not in query:
            answer = walk.send("GET", f"{base}?{query}", api=api)
            rep_export = "export=" in query and walk.actor.startswith("rep_") and route_string not in REP_EXPORTS
            a_file = answer.status < 300 and not answer.content_type.startswith(("text/html", "application/json"))
            if rep_export and a_file:  # (a page without exports ignores ?export= and shows itself)
                walk.fail(f"GET {route_string}?{query}: a rep's list or dashboard export → {answer.status}, not 403")
            continue
        kind = query.split("@", 1)[1]
        missing = walk.send("GET", f"{base}?{query.replace('@' + kind, str(MISSING))}", api=api)
        for owner in SAMPLED[walk.actor]:
            value = str(world.owned[owner][kind])
            answer = walk.send("GET", f"{base}?{query.replace('@' + kind, value)}", api=api)
            missing_shape = shape(missing, {str(MISSING): value})
            if shape(answer) != missing_shape:
                walk.fail(
                    f"GET {route_string}?{query} with {owner}'s {kind} → {answer.status}, with a missing id "
                    f"→ {missing.status}: an existence oracle{difference(shape(answer), missing_shape)}"
                )


def walk_references(walk: Walk, route_string: str, route: Route, api: bool) -> None:
    """Each reference of a write body pointing at another owner's record is refused as a missing id is."""
    world, actor = walk.world, walk.actor
    assert route.body is not None
    own = own_values(world, actor)
    url = fill(route_string, path_values(route, world, actor))
    method = route.writes[0]
    references = [(key, value[1:]) for key, value in _flat(route.body) if value[1:] in OWNED | {"line", "report"}]
    mine = walk.send(method, url, api=api, body=substitute(route.body, own))
    for key, kind in references:

        def body_with(value: Any, key: str = key) -> Any:
            return substitute(_replace(route.body, key, value), own)

        missing = walk.send(method, url, api=api, body=body_with(MISSING))
        if shape(mine) == shape(missing, {str(MISSING): str(own[kind])}):  # the field is not read: a blind check
            walk.blind.append(f"{method} {route_string} {key}")
        for owner in SAMPLED[actor]:
            value = world.owned[owner]["person" if kind == "report" else kind]
            answer = walk.send(method, url, api=api, body=body_with(value))
            missing_shape = shape(missing, {str(MISSING): str(value)})
            if shape(answer) != missing_shape:
                walk.fail(f"{method} {route_string} with {key} = {owner}'s {kind} → {answer.status}, with a missing "
                          f"id → {missing.status}: a reference outside the scope is not refused as a missing one"
                          f"{difference(shape(answer), missing_shape)}")  # fmt: skip


def _flat(template: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(template, dict):
        for key, value in template.items():
            yield from _flat(value, f"{path}.{key}" if path else key)
    elif isinstance(template, list):
        for index, value in enumerate(template):
            yield from _flat(value, f"{path}.{index}")
    elif isinstance(template, str) and template.startswith("@"):
        yield path, template


def _replace(template: Any, dotted: str, value: Any) -> Any:
    head, _, rest = dotted.partition(".")
    if isinstance(template, list):
        copy = list(template)
        copy[int(head)] = _replace(copy[int(head)], rest, value) if rest else value
        return copy
    copy_dict = dict(template)
    copy_dict[head] = _replace(copy_dict[head], rest, value) if rest else value
    return copy_dict


def walk_as(actor: str, world: World) -> Walk:
    client, api = Client(raise_request_exception=False), APIClient(raise_request_exception=False)
    if actor != "anonymous":
        client.force_login(world.people[actor])
        api.force_authenticate(world.people[actor])
    walk = Walk(actor, world, client, api)
    for route_string, route in ROUTES.items():
        walk_route(walk, route_string, route)
    return walk


# ---------------------------------------------------------------------------------------------------- tests
def test_every_url_pattern_is_in_the_matrix() -> None:
    routes = all_routes()
    unclassified = [
        route for route in routes
        if route not in ROUTES and route not in NOT_IN_MATRIX and not route.endswith("(format suffix)")
        and not route.startswith(tuple(NOT_IN_MATRIX_PREFIXES))
    ]  # fmt: skip
    assert not unclassified, "URL patterns the permission matrix does not know; add them to ROUTES:\n" + "\n".join(
        unclassified
    )
    twins = [route.removesuffix("  (format suffix)") for route in routes if route.endswith("(format suffix)")]
    assert all(twin in ROUTES for twin in twins), twins
    stale = [route for route in ROUTES if route not in routes]
    assert not stale, f"routes in the matrix that no longer exist: {stale}"


@pytest.mark.parametrize("actor", ACTORS)
def test_the_permission_matrix(world: World, actor: str) -> None:
    walk = walk_as(actor, world)
    print(f"{actor}: {walk.requests} requests; markers seen: {sorted(world.seen.get(actor, set()))}")  # with -s
    assert not walk.blind, f"write bodies whose reference the view does not read (fix the matrix): {walk.blind}"
    assert walk.requests > len(ROUTES)
    assert not walk.failures, f"{len(walk.failures)} findings in {walk.requests} requests:\n" + "\n".join(walk.failures)
    if actor in ("finance", "ops"):  # the markers are reachable, so their absence elsewhere means something
        seen = world.seen.get(actor, set())
        expected = {
            "account",
            "contact",
            "deal",
            "won",
            "lead",
            "activity",
            "plan",
            "dispute",
            "adjustment",
            "person",
            "call",
            "forecast_adjustment",
        }
        assert expected <= seen, f"{actor} saw no marker of {sorted(expected - seen)}: the leak search is blind there"
