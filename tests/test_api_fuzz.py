"""A schema-driven fuzz of the whole API (schemathesis): every operation of the OpenAPI schema, called with data
generated from that schema, as sales ops and as a rep (and the incentives API as finance). No answer may be a
server error, have a status the schema does not document, or have a body that breaks the schema.

Deterministic: Hypothesis runs derandomized (the examples depend only on the schema), each example runs in a
savepoint rolled back afterwards (every call sees the same seeded company), and path ids are drawn from the
seeded rows (plus one that does not exist), so the same calls are made on every run. Nothing is queued:
on_commit callbacks (Celery tasks, the outbox) never run inside the test's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from incentives import services as incentives
from incentives.models import StatementLine
from incentives.recompute import commission_recompute
from pipeline import services as pipeline
from pipeline.models import ImportJob
from salesops.org.services import api_token_issue
from tests.incentives.conftest import build_example

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = 10
MISSING_ID = 2_000_000_000
# Seconds per role: a guard against a hang, not a budget (alone on 2 cores a role takes 10–90 s; a busy machine
# can take several times that). A run that reaches it fails, naming the first operation left out.
TIME_BOUND = 480


def api_schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    document: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(generated))
    return document


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The Django app as a WSGI callable, sharing the test's connection: the signals that would close it after each
    request (and so end the test's transaction) are off, as Django's own test client does."""
    app = get_wsgi_application()  # first: setting Django up configures logging
    requests_log = logging.getLogger("django.request")
    level = requests_log.level
    requests_log.setLevel(logging.ERROR)  # thousands of 400s and 404s are the point, not news; 500s still log
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    requests_log.setLevel(level)


@pytest.fixture
def company(org, clean_cache, settings, tmp_path) -> dict[str, Any]:
    """The spec's worked example (plans, quotas, computed payouts) beside the shared org, with a row of every
    kind the API has a path for, so the fuzz reaches real records and not only 404s."""
    settings.MEDIA_ROOT = str(tmp_path)  # uploads (imports) land here, not in var/media
    example = build_example()
    ann, bob, mia, ops = example["ann"], example["bob"], example["mia"], example["ops"]
    account = pipeline.account_create(actor=ops, name="Initech", sector="software")
    contact = pipeline.contact_create(actor=ops, last_name="Lumbergh", account=account)
    pipeline.contact_create(actor=ops, last_name="Waddams", account=account)
    deal = pipeline.deal_create(actor=ann, name="Initech renewal", account=account, owner=ann,
                                amount=Decimal("25000"), close_date=dt.date(2025, 6, 30))  # fmt: skip
    pipeline.deal_create(actor=org.rep_a, name="East deal", account=account, owner=org.rep_a,
                         amount=Decimal("12000"), close_date=dt.date(2025, 5, 15))  # fmt: skip
    pipeline.activity_create(actor=ann, kind="call", subject="Intro call", deal=deal, contact=contact)
    pipeline.activity_create(actor=ann, kind="task", subject="Send quote", deal=deal, due_date=dt.date(2025, 6, 1))
    pipeline.lead_create(actor=ann, last_name="Bolton", company="Initrode")
    pipeline.lead_create(actor=org.rep_b, last_name="Smykowski", company="Penetrode")
    pipeline.lost_reason_save(actor=ops, name="Went with a rival")
    commission_recompute()
    q1 = incentives.period_get_or_create("2025-Q1")
    ramp = incentives.ramp_save(actor=ops, name="New hire", shares=["0.25", "0.5", "1"])
    incentives.quota_set(actor=ops, person=org.rep_a, period=q1, amount=50000, ramp=ramp)
    incentives.adjustment_create(actor=ops, person=ann, period=q1, amount="150", reason="Late spiff")
    line = StatementLine.objects.filter(payout__person=ann).order_by("pk").first()
    assert line is not None
    incentives.dispute_raise(actor=ann, line=line, text="The split looks wrong")
    ImportJob.objects.create(created_by=ops, preset="deals", file_name="deals.csv",
                             file=SimpleUploadedFile("deals.csv", b"name,amount\nX,10\n"))  # fmt: skip
    quota_file = b"person,period,amount\nann,2025-Q2,110000\nnobody,2025-Q2,abc\n"
    checked = incentives.quota_upload_job_create(actor=ops, upload=SimpleUploadedFile("quotas.csv", quota_file),
                                                 dry_run=True, measure="bookings")  # fmt: skip
    incentives.quota_upload_job_execute(job_id=checked.pk)  # finished, with a refused row
    incentives.quota_upload_job_create(actor=ops, upload=SimpleUploadedFile("more.csv", quota_file), dry_run=True,
                                       measure="bookings")  # still queued  # fmt: skip
    for person in (ann, ops):
        api_token_issue(owner=person, name="spare")
    return {"org": org, "ann": ann, "bob": bob, "mia": mia, "ops": ops}


def id_pools() -> dict[str, list[Any]]:
    """Path parameter values per path prefix: the seeded rows' keys, sorted, and one that does not exist."""
    from incentives import models as inc
    from pipeline import models as pipe
    from salesops.org import models as people

    def ids(model: Any) -> list[Any]:
        return [*sorted(model.objects.values_list("pk", flat=True))[:6], MISSING_ID]

    return {
        "/api/v1/accounts/": ids(pipe.Account),
        "/api/v1/contacts/": ids(pipe.Contact),
        "/api/v1/deals/": ids(pipe.Deal),
        "/api/v1/leads/": ids(pipe.Lead),
        "/api/v1/lost-reasons/": ids(pipe.LostReason),
        "/api/v1/pipelines/": ids(pipe.Pipeline),
        "/api/v1/stages/": ids(pipe.Stage),
        "/api/v1/products/": ids(pipe.Product),
        "/api/v1/imports/": ids(pipe.ImportJob),
        "/api/v1/people/": ids(people.User),
        "/api/v1/auth/tokens/": ids(people.ApiToken),
        "/api/v1/incentives/adjustments/": ids(inc.Adjustment),
        "/api/v1/incentives/assignments/": ids(inc.PlanAssignment),
        "/api/v1/incentives/disputes/": ids(inc.Dispute),
        "/api/v1/incentives/payouts/": ids(inc.Payout),
        "/api/v1/incentives/periods/": ids(inc.Period),
        "/api/v1/incentives/quotas/": ids(inc.Quota),
        "/api/v1/incentives/quota-uploads/": ids(apps.get_model("incentives", "QuotaUploadJob")),
        "/api/v1/incentives/ramps/": ids(inc.RampSchedule),
        "/api/v1/incentives/runs/": ids(inc.CommissionRun),
        "/api/v1/incentives/plans/": [*sorted(inc.CompPlan.objects.values_list("key", flat=True)), "no-such-plan"],
        "/api/v1/reporting/dashboards/": ["executive", "finance", "manager", "rep", "nope"],
        # Query and body fields that name a record, by field name (`keep`/`duplicate` by the path).
        "person": ids(people.User),
        "owner": ids(people.User),
        "account": ids(pipe.Account),
        "parent": ids(pipe.Account),
        "contact": ids(pipe.Contact),
        "deal": ids(pipe.Deal),
        "stage": ids(pipe.Stage),
        "product": ids(pipe.Product),
        "line": ids(inc.StatementLine),
        "ramp": ids(inc.RampSchedule),
        "/api/v1/accounts/merge/": ids(pipe.Account),
        "/api/v1/contacts/merge/": ids(pipe.Contact),
        "period": ["2025-Q1", "2025-Q2", "2025-03", "2031-Q1"],
        "plan": sorted(inc.CompPlan.objects.values_list("key", flat=True)),
    }


def path_strategy(path: str, pools: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]] | None:
    if "{" not in path:
        return None
    prefix, _, rest = path.partition("{")
    name = rest.partition("}")[0]
    pool = pools.get(prefix)
    if pool is None:  # a path this file does not know yet: values from its schema (almost always 404s)
        return None
    return st.sampled_from(pool).map(lambda value: {name: value})


def with_references(case: Any, pools: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """The case, with each query or body field that names a record (person, account, line, ...) most often
    replaced by a seeded one of the same type: random ids only ever reach 404s and "does not exist"."""
    swaps: dict[tuple[str, str], st.SearchStrategy[Any]] = {}
    for where in ("query", "body"):
        values = getattr(case, where)
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            pool = pools.get(case.operation.path if name in ("keep", "duplicate") else name, [])
            fitting = [v for v in pool if type(v) is type(value)]
            if fitting and not isinstance(value, bool):
                swaps[(where, name)] = st.one_of(st.sampled_from(fitting), st.just(value))
    if not swaps:
        return st.just(case)

    def apply(chosen: dict[tuple[str, str], Any]) -> Any:
        for (where, name), value in chosen.items():
            getattr(case, where)[name] = value
        return case

    return st.fixed_dictionaries(swaps).map(apply)


def _key(label: str, failure: Failure) -> str:
    """One report per operation and broken rule (the schema location), not per value that broke it."""
    where = next((line for line in failure.message.splitlines() if line.startswith("Schema at")), "")
    return f"{label} {failure.title} {where or failure.message[:200]}"


def _describe(case: Any, response: Any, failure: Failure) -> str:
    sent = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}"
    status = response.status_code if response is not None else "-"
    return f"{case.operation.label}: {failure.title}\n{failure.message[:1200]}\nsent: {sent}\nstatus: {status}"


@dataclass
class Outcome:
    failures: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)  # answers by class (2 = 2xx, 4 = 4xx, ...)
    operations: int = 0


def operation_cases(operation: Any, pools: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    by_path = path_strategy(operation.path, pools)
    if by_path is None:
        cases = operation.as_strategy()
    else:
        strategies: dict[tuple[Any, ...], Any] = {}

        def for_params(params: dict[str, Any]) -> Any:
            key = tuple(sorted(params.items()))
            if key not in strategies:
                strategies[key] = operation.as_strategy(path_parameters=params)
            return strategies[key]

        cases = by_path.flatmap(for_params)
    return cases.flatmap(lambda case: with_references(case, pools))


def check_operation(operation: Any, app: Any, headers: dict[str, str], pools: dict[str, list[Any]],
                    outcome: Outcome) -> None:  # fmt: skip
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same examples on every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected, never raised
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation_cases(operation, pools))
    def run(case: Any) -> None:
        savepoint = transaction.savepoint()  # every call sees the seeded company as it was
        response = None
        try:
            response = case.call(app=app, headers=headers)
            outcome.statuses[response.status_code // 100] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                outcome.failures.setdefault(_key(operation.label, failure), _describe(case, response, failure))
        except Failure as failure:
            outcome.failures.setdefault(_key(operation.label, failure), _describe(case, response, failure))
        finally:
            transaction.savepoint_rollback(savepoint)

    run()


def fuzz(schema_doc: dict[str, Any], app: Any, token: str, deadline: float, under: str = "/api/v1/") -> Outcome:
    schema = schemathesis.openapi.from_dict(schema_doc)
    pools = id_pools()
    outcome = Outcome()
    headers = {"Authorization": f"Token {token}"}
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read is a schema bug too
            outcome.failures[str(result.err())] = f"unreadable operation: {result.err()}"
            continue
        operation = result.ok()
        if not operation.path.startswith(under):
            continue
        if time.monotonic() > deadline:
            outcome.failures["time"] = f"the time bound was reached before {operation.label}"
            break
        outcome.operations += 1

        check_operation(operation, app, headers, pools, outcome)
    return outcome


# Who calls, and what: the whole API as sales ops and as a rep (issue 13), and the incentives API as finance,
# the only role that locks and reopens periods, adjusts payouts, resolves disputes and exports the register.
ROLES = {"ops": "/api/v1/", "rep": "/api/v1/", "finance": "/api/v1/incentives/"}


@pytest.mark.parametrize("role", list(ROLES))
def test_api_fuzz(company, wsgi_app, role):
    user = {"ops": company["ops"], "rep": company["ann"], "finance": company["org"].finance}[role]
    token = api_token_issue(owner=user, name="fuzz").key
    started = time.monotonic()
    outcome = fuzz(api_schema(), wsgi_app, token, started + TIME_BOUND, under=ROLES[role])
    print(
        f"fuzz as {role}: {outcome.operations} operations, answers by class {dict(sorted(outcome.statuses.items()))},"
        f" {time.monotonic() - started:.1f}s, {len(outcome.failures)} failures"
    )
    assert not outcome.failures, f"{len(outcome.failures)} failures:\n\n" + "\n\n".join(outcome.failures.values())
