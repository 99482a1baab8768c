"""The incentives API: the spec's worked example through the same scope, roles and numbers as the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incentives.models import Adjustment, CommissionRun, CompPlanVersion, Payout, Period, Quota, StatementLine
from incentives.recompute import commission_recompute
from salesops.org.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/incentives"


@pytest.fixture
def computed(example: dict[str, Any]) -> dict[str, Any]:
    commission_recompute()
    example["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    example["outsider"] = UserFactory.create(username="zed")
    return example


def q1(who: Any) -> Payout:
    return Payout.objects.get(person=who, period__label="2025-Q1")


def rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


# ------------------------------------------------------------------------------------------------ payouts
def test_rep_lists_only_own_payouts_with_the_spec_numbers(api_client_for, computed):
    payouts = rows(api_client_for(computed["ann"]).get(f"{API}/payouts/"))
    assert {p["person"] for p in payouts} == {computed["ann"].pk}
    by_period = {p["period"]: p for p in payouts}
    assert set(by_period) == {"2025-Q1", "2025-Q2"}
    first = by_period["2025-Q1"]
    assert (first["credited"], first["attainment"], first["earned"], first["payout"]) == (
        "150000.00", "1.5000", "20150.00", "20150.00",
    )  # fmt: skip
    assert first["components"] == {"commission": "15000.00", "bonus": "5000.00", "spiff": "150.00"}
    assert (first["adjustments_total"], first["total"], first["plan"]) == ("0.00", "20150.00", "ae")
    assert by_period["2025-Q2"]["payout"] == "0.00"


def test_manager_sees_the_subtree_and_filters(api_client_for, computed):
    client = api_client_for(computed["mia"])
    q1_rows = rows(client.get(f"{API}/payouts/", {"period": "2025-Q1"}))
    assert {(p["person_name"], p["payout"]) for p in q1_rows} == {
        (computed["ann"].display_name, "20150.00"),
        (computed["bob"].display_name, "3600.00"),
        (computed["mia"].display_name, "4200.00"),
    }
    bob_rows = rows(client.get(f"{API}/payouts/", {"person": computed["bob"].pk}))
    assert [(p["period"], p["payout"]) for p in bob_rows] == [("2025-Q1", "3600.00"), ("2025-Q2", "-1000.00")]
    assert client.get(f"{API}/payouts/{q1(computed['ann']).pk}/").json()["payout"] == "20150.00"


def test_payout_outside_scope_is_404(api_client_for, computed):
    ann_q1 = q1(computed["ann"]).pk
    for who in ("outsider", "bob"):
        client = api_client_for(computed[who])
        assert client.get(f"{API}/payouts/{ann_q1}/").status_code == 404
        assert client.get(f"{API}/payouts/{ann_q1}/lines/").status_code == 404
    assert rows(api_client_for(computed["outsider"]).get(f"{API}/payouts/")) == []


def test_statement_lines_carry_traces_and_add_up(api_client_for, computed):
    payout = q1(computed["ann"])
    lines = rows(api_client_for(computed["ann"]).get(f"{API}/payouts/{payout.pk}/lines/"))
    commission = [line for line in lines if line["component"] == "commission"]
    assert sum(Decimal(line["amount"]) for line in commission) == Decimal("15000.00")
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal("20150.00")
    # ann's 60 % of D1: 50,000 fills the 5 % band, the next 10,000 earns 10 %.
    d1 = next(line for line in commission if line["split_percent"] == "60.00")
    assert [(b["credit"], b["rate"]) for b in d1["trace"]["bands"]] == [("50000.00", "0.05"), ("10000.00", "0.10")]
    assert d1["deal_name"] == "ann 100000" and d1["amount"] == "3500.00" and d1["disputes"] == []


def test_payout_list_issues_a_fixed_number_of_queries(api_client_for, computed, django_assert_max_num_queries):
    client = api_client_for(computed["finance"])
    with django_assert_max_num_queries(3):  # count, the page (adjustments as a subquery), nothing per row
        assert len(rows(client.get(f"{API}/payouts/"))) == 6


def test_register_is_finance_and_ops_only_with_totals(api_client_for, computed):
    assert api_client_for(computed["mia"]).get(f"{API}/payouts/register/", {"period": "2025-Q1"}).status_code == 403
    assert api_client_for(computed["ann"]).get(f"{API}/payouts/register/", {"period": "2025-Q1"}).status_code == 403
    finance = api_client_for(computed["finance"])
    body = finance.get(f"{API}/payouts/register/", {"period": "2025-Q1"}).json()
    assert body["totals"] == {"earned": "27950.00", "adjustments": "0.00", "payout": "27950.00",
                              "total": "27950.00", "people": 3}  # fmt: skip
    assert sum(Decimal(p["total"]) for p in body["payouts"]) == Decimal("27950.00")
    assert body["period"]["label"] == "2025-Q1" and body["open_disputes"] == 0
    ops = api_client_for(computed["ops"])
    assert ops.get(f"{API}/payouts/register/", {"period": "2025-Q1"}).json()["totals"]["total"] == "27950.00"
    assert finance.get(f"{API}/payouts/register/").status_code == 400
    assert finance.get(f"{API}/payouts/register/", {"period": "1999-Q1"}).status_code == 404


# ------------------------------------------------------------------------------------------------ periods
def test_lock_is_finance_only_and_reopen_needs_a_reason(api_client_for, computed):
    period = Period.objects.get(label="2025-Q1")
    reason = {"reason": "payroll sent"}
    assert api_client_for(computed["mia"]).post(f"{API}/periods/{period.pk}/lock/", reason).status_code == 403
    assert api_client_for(computed["ops"]).post(f"{API}/periods/{period.pk}/lock/", reason).status_code == 403
    period.refresh_from_db()
    assert not period.is_locked

    finance = api_client_for(computed["finance"])
    response = finance.post(f"{API}/periods/{period.pk}/lock/")
    assert response.status_code == 400 and "needs a reason" in str(response.json())
    response = finance.post(f"{API}/periods/{period.pk}/lock/", reason, format="json")
    assert response.status_code == 200 and response.json()["is_locked"] is True
    period.refresh_from_db()
    assert period.is_locked and period.locked_by == computed["finance"]
    assert finance.post(f"{API}/periods/{period.pk}/lock/", reason).json()["detail"] == "2025-Q1 is locked already."
    history = finance.get(f"{API}/periods/{period.pk}/history/").json()
    assert any(event["reason"] == "payroll sent" for event in history)

    response = finance.post(f"{API}/periods/{period.pk}/reopen/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["reason"] == ["Reopening 2025-Q1 needs a reason."]
    assert finance.post(f"{API}/periods/{period.pk}/reopen/", {"reason": "  "}, format="json").status_code == 400
    period.refresh_from_db()
    assert period.is_locked

    assert (
        api_client_for(computed["mia"]).post(f"{API}/periods/{period.pk}/reopen/", {"reason": "x"}).status_code == 403
    )
    response = finance.post(f"{API}/periods/{period.pk}/reopen/", {"reason": "late deal"}, format="json")
    assert response.status_code == 200 and response.json()["is_locked"] is False
    history = finance.get(f"{API}/periods/{period.pk}/history/").json()
    assert [(h["action"], h["reason"], h["actor"]) for h in history] == [
        ("reopen", "late deal", computed["finance"].pk),
        ("lock", "payroll sent", computed["finance"].pk),
    ]
    labels = [p["label"] for p in rows(api_client_for(computed["ann"]).get(f"{API}/periods/"))]
    assert {"2025-Q1", "2025-Q2"} <= set(labels)


# -------------------------------------------------------------------------------------- disputes, adjusting
def test_dispute_raised_by_bob_resolved_by_finance_becomes_an_adjustment(api_client_for, computed):
    payout = q1(computed["bob"])
    line = StatementLine.objects.filter(payout=payout, component="commission").order_by("id").first()
    assert line is not None
    body = {"line": line.pk, "text": "My split should be 50 %"}
    assert api_client_for(computed["ann"]).post(f"{API}/disputes/", body, format="json").status_code == 404
    # mia reads bob's statement but is not the person paid on it
    assert api_client_for(computed["mia"]).post(f"{API}/disputes/", body, format="json").status_code == 403

    bob = api_client_for(computed["bob"])
    response = bob.post(f"{API}/disputes/", body, format="json")
    assert response.status_code == 201, response.json()
    dispute = response.json()
    assert (dispute["status"], dispute["person"], dispute["period"]) == ("open", computed["bob"].pk, "2025-Q1")
    assert (
        bob.post(f"{API}/disputes/", body, format="json").json()["detail"] == "This line has an open dispute already."
    )
    assert [d["id"] for d in rows(api_client_for(computed["mia"]).get(f"{API}/disputes/"))] == [dispute["id"]]
    assert rows(api_client_for(computed["ann"]).get(f"{API}/disputes/")) == []

    resolve = {"accept": True, "amount": "500", "resolution": "Split corrected to 50/50"}
    url = f"{API}/disputes/{dispute['id']}/resolve/"
    assert api_client_for(computed["mia"]).post(url, resolve, format="json").status_code == 403
    assert bob.post(url, resolve, format="json").status_code == 403
    finance = api_client_for(computed["finance"])
    response = finance.post(url, resolve, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["adjustment_amount"]) == ("accepted", "500.00")
    assert finance.post(url, resolve, format="json").status_code == 400  # resolved already

    statement = bob.get(f"{API}/payouts/{payout.pk}/").json()
    assert [(a["amount"], a["source"]) for a in statement["adjustments"]] == [("500.00", "dispute")]
    assert (statement["adjustments_total"], statement["total"]) == ("500.00", "4100.00")
    lines = rows(bob.get(f"{API}/payouts/{payout.pk}/lines/"))
    [answer] = next(row for row in lines if row["id"] == line.pk)["disputes"]
    assert {k: answer[k] for k in ("id", "status", "resolution", "adjustment_amount", "adjustment_period")} == {
        "id": dispute["id"], "status": "accepted", "resolution": "Split corrected to 50/50",
        "adjustment_amount": "500.00", "adjustment_period": "2025-Q1",
    }  # fmt: skip
    register = finance.get(f"{API}/payouts/register/", {"period": "2025-Q1"}).json()
    assert register["totals"]["total"] == "28450.00"


def test_adjustments_are_finance_to_create_and_scoped_to_read(api_client_for, computed):
    q2 = "2025-Q2"
    body = {"person": computed["ann"].pk, "period": q2, "amount": "-120.50", "reason": "Expense offset"}
    assert api_client_for(computed["mia"]).post(f"{API}/adjustments/", body, format="json").status_code == 403
    assert api_client_for(computed["ops"]).post(f"{API}/adjustments/", body, format="json").status_code == 403
    finance = api_client_for(computed["finance"])
    response = finance.post(f"{API}/adjustments/", body, format="json")
    assert response.status_code == 201 and response.json()["amount"] == "-120.50"
    finance.post(f"{API}/adjustments/", {**body, "person": computed["bob"].pk, "amount": "80"}, format="json")
    no_reason = finance.post(f"{API}/adjustments/", {**body, "reason": " "}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["reason"] == ["An adjustment needs a reason."]
    assert Adjustment.objects.count() == 2

    assert [a["amount"] for a in rows(api_client_for(computed["ann"]).get(f"{API}/adjustments/"))] == ["-120.50"]
    assert len(rows(api_client_for(computed["mia"]).get(f"{API}/adjustments/"))) == 2
    assert rows(api_client_for(computed["outsider"]).get(f"{API}/adjustments/")) == []
    ann_q2 = Payout.objects.get(person=computed["ann"], period__label=q2)
    assert api_client_for(computed["ann"]).get(f"{API}/payouts/{ann_q2.pk}/").json()["total"] == "-120.50"


# ------------------------------------------------------------------------------------------------- plans
def test_plans_scope_versions_and_json_round_trip(api_client_for, computed):
    ann = api_client_for(computed["ann"])
    assert [p["key"] for p in rows(ann.get(f"{API}/plans/"))] == ["ae"]
    assert ann.get(f"{API}/plans/mgr/").status_code == 404
    assert {p["key"] for p in rows(api_client_for(computed["mia"]).get(f"{API}/plans/"))} == {"ae", "mgr"}
    assert {p["key"] for p in rows(api_client_for(computed["finance"]).get(f"{API}/plans/"))} == {"ae", "mgr"}

    ops = api_client_for(computed["ops"])
    exported = ops.get(f"{API}/plans/ae/export/").json()
    assert exported["key"] == "ae"
    assert exported["components"][0]["tiers"][1] == {"from": "0.5", "rate": "0.10"}

    bad = {**exported, "components": [dict(c) for c in exported["components"]]}
    bad["components"][0] = {**bad["components"][0], "tiers": [*bad["components"][0]["tiers"][:2],
                                                              {"from": "1.0", "rate": "-0.1"}]}  # fmt: skip
    response = ops.post(f"{API}/plans/ae/versions/", {"effective_from": "2025-07-01", "definition": bad}, format="json")
    assert response.status_code == 400
    assert "plan ae" in response.json()["detail"] and "rate" in response.json()["detail"]
    assert CompPlanVersion.objects.filter(plan__key="ae").count() == 1

    version = {"effective_from": "2025-07-01", "definition": exported, "note": "same plan"}
    assert ann.post(f"{API}/plans/ae/versions/", version, format="json").status_code == 403
    assert ann.post(f"{API}/plans/", version, format="json").status_code == 403
    response = ops.post(f"{API}/plans/", version, format="json")  # the exported file posted back
    assert response.status_code == 201, response.json()
    assert (response.json()["plan"], response.json()["version"]) == ("ae", 2)
    assert response.json()["definition"] == exported
    versions = ann.get(f"{API}/plans/ae/versions/").json()
    assert [(v["version"], v["effective_from"]) for v in versions] == [(2, "2025-07-01"), (1, "2025-01-01")]
    assert ops.get(f"{API}/plans/ae/export/", {"version": "1"})["Content-Disposition"].endswith('ae-v1.json"')
    assert ops.get(f"{API}/plans/ae/export/", {"version": "7"}).json()["detail"] == "ae has no version 7."

    new = {"key": "se", "name": "Sales engineer", "effective_from": "2025-01-01",
           "definition": {**exported, "key": "ignored", "name": "ignored"}}  # fmt: skip
    response = ops.post(f"{API}/plans/", new, format="json")
    assert response.status_code == 201 and response.json()["definition"]["name"] == "Sales engineer"
    unnamed = {"effective_from": "2025-01-01", "definition": {**exported, "key": "not a slug"}}
    response = ops.post(f"{API}/plans/", unnamed, format="json")
    assert response.status_code == 400 and "slug" in response.json()["key"][0]
    assert not CompPlanVersion.objects.filter(plan__key="not a slug").exists()


def test_plan_assignment_is_sales_ops_and_refuses_overlaps(api_client_for, computed):
    newcomer = UserFactory.create(username="neo", manager=computed["mia"])
    body = {"person": newcomer.pk, "start": "2025-04-01"}
    assert api_client_for(computed["mia"]).post(f"{API}/plans/ae/assign/", body, format="json").status_code == 403
    ops = api_client_for(computed["ops"])
    response = ops.post(f"{API}/plans/ae/assign/", body, format="json")
    assert response.status_code == 201 and response.json()["plan"] == "ae"
    response = ops.post(f"{API}/plans/mgr/assign/", body, format="json")
    assert response.status_code == 400 and "is on AE from 2025-04-01" in response.json()["detail"]
    assignments = api_client_for(computed["mia"]).get(f"{API}/plans/ae/").json()["assignments"]
    assert {a["person"] for a in assignments} == {computed["ann"].pk, computed["bob"].pk, newcomer.pk}
    assert [a["person"] for a in api_client_for(computed["ann"]).get(f"{API}/plans/ae/").json()["assignments"]] == [
        computed["ann"].pk
    ]


# ------------------------------------------------------------------------------------------------ quotas
def post_upload(client: Any, content: bytes, **fields: Any) -> Any:
    return client.post(f"{API}/quotas/upload/", {"file": SimpleUploadedFile("q.csv", content), **fields},
                       format="multipart")  # fmt: skip


def upload(client: Any, content: bytes, eager: Any, **fields: Any) -> dict[str, Any]:
    """Post a quota file (202 at once), let its job run (as Celery would, once the upload commits) and read
    the job back from the URL the answer gives."""
    with eager():
        response = post_upload(client, content, **fields)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and response["Location"] == response.json()["url"]
    job = client.get(response["Location"]).json()
    assert job["id"] == response.json()["id"]
    return job


def messages(job: dict[str, Any]) -> list[str]:
    return [e["message"] for e in job["errors"]]


def test_quota_upload_is_a_job_that_reports_rows_and_writes_nothing_on_errors(
    api_client_for, computed, quota_jobs_eager
):
    ops = api_client_for(computed["ops"])
    bad = b"person,period,amount\nann,2025-Q3,120000\nnobody,2025-Q3,1\nbob,2025-13,5\n"
    job = upload(ops, bad, quota_jobs_eager, dry_run="true")
    assert (job["status"], job["dry_run"]) == ("failed", True)
    assert job["result"] == {"rows": 3, "created": 0, "updated": 0, "unchanged": 0}  # a failed upload saves none
    assert job["progress"] == {"rows_done": 3, "rows_total": 3, "percent": 100, "phase": "done"}
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "person"), (4, "period")]
    assert messages(job) == [
        "row 3 (nobody), column person: no person with username, e-mail or employee id 'nobody'",
        "row 4 (bob), column period: '2025-13' is not a period like 2026-Q1 or 2026-03",
    ]
    assert upload(ops, bad, quota_jobs_eager)["dry_run"] is True  # no dry_run given: a dry run
    job = upload(ops, bad, quota_jobs_eager, dry_run="false")
    assert (job["status"], job["dry_run"], len(job["errors"])) == ("failed", False, 2)
    assert not Quota.objects.filter(period__label="2025-Q3").exists()

    good = b"person,period,amount\nann,2025-Q3,120000\nbob,2025-Q3,110000\n"
    job = upload(ops, good, quota_jobs_eager)
    assert (job["status"], job["result"]["created"], job["errors"]) == ("done", 2, [])
    assert not Quota.objects.filter(period__label="2025-Q3").exists()
    job = upload(ops, good, quota_jobs_eager, dry_run="false")
    assert job["status"] == "done" and job["result"] == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert Quota.objects.get(person=computed["ann"], period__label="2025-Q3").amount == Decimal("120000.00")
    q3 = [str(pk) for pk in Quota.objects.filter(period__label="2025-Q3").values_list("pk", flat=True)]
    assert AuditEvent.objects.filter(entity="incentives.quota", entity_id__in=q3, actor=computed["ops"]).count() == 2
    # Uploading stays sales ops' (403); an upload's status is theirs alone: anyone else finds none (404).
    assert post_upload(api_client_for(computed["mia"]), good, dry_run="false").status_code == 403
    for person in ("mia", "ann", "finance"):
        assert api_client_for(computed[person]).get(f"{API}/quota-uploads/{job['id']}/").status_code == 404
    assert ops.get(f"{API}/quota-uploads/{job['id'] + 100}/").status_code == 404


def test_an_xlsx_quota_upload_is_read_row_by_row(api_client_for, computed, quota_jobs_eager):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["Person", "Period", "Amount", "Measure"], ["ann", "2025-Q3", 120000, None], [None, None, None, None],
                ["bob", "2025-Q3", 3, "deal_count"], ["bob", "2025-Q3", 1, "deal_count"]):  # fmt: skip
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    ops = api_client_for(computed["ops"])
    with quota_jobs_eager():
        response = ops.post(f"{API}/quotas/upload/", {"file": SimpleUploadedFile("q.xlsx", buffer.getvalue()),
                                                      "dry_run": "false"}, format="multipart")  # fmt: skip
    job = ops.get(response["Location"]).json()
    # The blank row is skipped (not counted); the repeated one is refused, naming its row in the sheet.
    assert job["errors"] == [{"row": 5, "column": "period",
                              "message": "row 5 (bob), column period: 2025-Q3 deal_count appears twice for this person"}]  # fmt: skip
    assert job["result"]["rows"] == 3
    with quota_jobs_eager():
        buffer2 = io.BytesIO()
        sheet.delete_rows(5)  # the repeated row
        book.save(buffer2)
        response = ops.post(f"{API}/quotas/upload/", {"file": SimpleUploadedFile("q.xlsx", buffer2.getvalue()),
                                                      "dry_run": "false"}, format="multipart")  # fmt: skip
    job = ops.get(response["Location"]).json()
    assert (job["status"], job["result"]["created"]) == ("done", 2)
    assert Quota.objects.get(person=computed["bob"], period__label="2025-Q3", measure="deal_count").amount == 3


def test_a_quota_upload_that_is_no_table_fails_naming_the_file(api_client_for, computed, quota_jobs_eager):
    ops = api_client_for(computed["ops"])
    for name, content, problem in (
        ("q.xlsx", b"not a zip", "BadZipFile"),
        ("q.csv", "person,period,amount\nann,2025-Q3,1\n".encode("utf-16"), "UnicodeDecodeError"),
    ):
        with quota_jobs_eager():
            response = ops.post(f"{API}/quotas/upload/", {"file": SimpleUploadedFile(name, content),
                                                          "dry_run": "false"}, format="multipart")  # fmt: skip
        job = ops.get(response["Location"]).json()
        assert job["status"] == "failed" and job["errors"] == [
            {"row": None, "column": "", "message": f"{name}: not a readable CSV or XLSX file ({problem})"}
        ], job["errors"]
    assert not Quota.objects.filter(period__label="2025-Q3").exists()


def test_a_quota_upload_saves_in_bulk_as_quota_set_would(api_client_for, computed, quota_jobs_eager):
    """Team sums above the rows follow them, every change is audited once, an unchanged row is not."""
    from incentives import services

    q3 = services.period_get_or_create("2025-Q3")
    services.quota_set(actor=computed["ops"], person=computed["mia"], period=q3, amount=0, is_team_sum=True)
    services.quota_set(actor=computed["ops"], person=computed["bob"], period=q3, amount=50000)
    audits = AuditEvent.objects.filter(entity="incentives.quota")
    before = audits.count()
    ops = api_client_for(computed["ops"])
    content = b"person,period,amount\nann,2025-Q3,120000\nbob,2025-Q3,110000.5\n"
    job = upload(ops, content, quota_jobs_eager, dry_run="false")
    assert job["result"] == {"rows": 2, "created": 1, "updated": 1, "unchanged": 0}
    team = Quota.objects.get(person=computed["mia"], period=q3)
    assert (team.is_team_sum, team.amount) == (True, Decimal("230000.50"))
    bob = Quota.objects.get(person=computed["bob"], period=q3)
    changes = {e.entity_id: e.changes for e in audits.order_by("id")[before:]}
    assert changes[str(bob.pk)] == {"amount": ["50000.00", "110000.50"], "full_amount": ["50000.00", "110000.50"]}
    assert len(changes) == 3 and str(team.pk) in changes  # ann's new quota, bob's, and mia's team sum
    after = audits.count()
    job = upload(ops, content, quota_jobs_eager, dry_run="false")
    assert job["result"]["unchanged"] == 2 and audits.count() == after


def test_a_quota_upload_over_its_time_limit_fails_and_saves_nothing(
    api_client_for, computed, quota_jobs_eager, monkeypatch
):
    from celery.exceptions import SoftTimeLimitExceeded

    from incentives import services

    def slow(**kwargs: Any) -> dict[str, Any]:
        services.quota_set(actor=kwargs["actor"], person=computed["ann"],
                           period=services.period_get_or_create("2025-Q3"), amount=1)  # fmt: skip
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "quota_bulk_upload", slow)
    ops = api_client_for(computed["ops"])
    job = upload(ops, b"person,period,amount\nann,2025-Q3,1\n", quota_jobs_eager, dry_run="false")
    assert job["status"] == "failed" and "took longer than its 20 minutes and saved nothing" in messages(job)[0]
    assert not Quota.objects.filter(period__label="2025-Q3").exists()
    # A redelivered message finds the job finished and changes nothing.
    services.quota_upload_job_execute(job_id=job["id"])
    assert ops.get(job["url"]).json()["errors"] == job["errors"]


@contextmanager
def runner_alive(job: str, job_id: int) -> Iterator[Any]:
    """A live worker running the job: another database session holding its runner lock (salesops.job_runner).
    Closing the session (`.close()`) is that worker dying: Postgres frees the lock with it."""
    from django.db import connections

    from salesops.kernel.locks import lock_pair

    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock_pair(job, job_id)))
    try:
        yield other
    finally:
        other.close()


def test_a_second_copy_of_a_quota_upload_task_leaves_a_running_upload_alone(
    api_client_for, computed, settings, tmp_path, monkeypatch
):
    """A redelivered task (or an outbox message sent twice) finds the job run by a live worker and does nothing;
    a job running longer than the task's hard time limit (its worker was killed) is taken over."""
    from celery.exceptions import Retry

    from incentives import services
    from incentives.models import QuotaUploadJob
    from incentives.tasks import QUOTA_UPLOAD_TIME_LIMIT, run_quota_upload
    from salesops import job_runner

    monkeypatch.setattr(job_runner, "RUNNER_WAIT", 0.5)  # how long a copy waits for a dying session's lock
    settings.MEDIA_ROOT = tmp_path / "media"
    ops = api_client_for(computed["ops"])
    response = post_upload(ops, b"person,period,amount\nann,2025-Q3,120000\n", dry_run="false")
    job_id = response.json()["id"]
    started = timezone.now() - dt.timedelta(seconds=QUOTA_UPLOAD_TIME_LIMIT - 60)
    QuotaUploadJob.objects.filter(pk=job_id).update(status="running", started_at=started)  # the first copy runs
    with runner_alive(services.QUOTA_UPLOAD_RUNNER, job_id):
        assert services.quota_upload_job_execute(job_id=job_id) is None
        job = QuotaUploadJob.objects.get(pk=job_id)
        assert (job.status, job.started_at, job.result, job.finished_at) == ("running", started, {}, None)
        assert not Quota.objects.filter(period__label="2025-Q3").exists()
        with pytest.raises(Retry):  # the task's copy looks again later, in case the runner dies meanwhile
            run_quota_upload(job_id)
        # Past the hard time limit the first worker is gone (killed, its transaction rolled back): taken over.
        QuotaUploadJob.objects.filter(pk=job_id).update(started_at=started - dt.timedelta(seconds=120))
        taken = services.quota_upload_job_execute(job_id=job_id)
    assert taken is not None and taken.status == "done" and taken.result["created"] == 1
    assert Quota.objects.filter(period__label="2025-Q3").count() == 1
    assert services.quota_upload_job_execute(job_id=job_id) is None  # finished: nothing more


def test_a_quota_upload_whose_worker_was_killed_is_taken_over_by_the_redelivered_copy_at_once(
    api_client_for, computed, settings, tmp_path
):
    """A worker process killed mid-upload (out of memory) has its task handed back to the broker at once
    (acks_late, reject_on_worker_lost): that copy arrived minutes before the 25-minute limit and, with nothing to
    tell a dead runner from a live one, did nothing, so the upload stayed "running" for good. The runner lock goes
    with the dead worker's database session, so the copy takes the upload over."""
    from incentives import services
    from incentives.models import QuotaUploadJob

    settings.MEDIA_ROOT = tmp_path / "media"
    ops = api_client_for(computed["ops"])
    job_id = post_upload(ops, b"person,period,amount\nann,2025-Q3,120000\n", dry_run="false").json()["id"]
    with runner_alive(services.QUOTA_UPLOAD_RUNNER, job_id) as first_worker:
        started = timezone.now() - dt.timedelta(minutes=2)
        QuotaUploadJob.objects.filter(pk=job_id).update(status="running", started_at=started)
        first_worker.close()  # killed two minutes into the upload
        taken = services.quota_upload_job_execute(job_id=job_id)  # the copy the broker hands out again
    assert taken is not None and taken.status == "done" and taken.result["created"] == 1
    assert Quota.objects.filter(period__label="2025-Q3").count() == 1


def test_a_quota_uploads_check_counts_what_its_save_changes(api_client_for, computed, quota_jobs_eager):
    """The check's created / changed / unchanged are the save's: a team sum given an amount and a quota whose
    ramp's shares changed since are changes in both (the check once called them unchanged)."""
    from incentives import services

    q3 = services.period_get_or_create("2025-Q3")
    ops_user = computed["ops"]
    services.quota_set(actor=ops_user, person=computed["bob"], period=q3, amount=50000)
    team = services.quota_set(actor=ops_user, person=computed["mia"], period=q3, amount=0, is_team_sum=True)
    ramp = services.ramp_save(actor=ops_user, name="AE ramp", shares=["0.25", "0.5", "0.75"])
    hire = UserFactory.create(username="hire", manager=computed["mia"], start_date=dt.date(2025, 8, 1))
    services.quota_set(actor=ops_user, person=hire, period=q3, amount=90000, ramp=ramp)
    services.ramp_save(actor=ops_user, name="AE ramp", shares=["0.5", "0.75", "1"])  # set quotas keep 22,500
    content = (f"person,period,amount,ramp\nmia,2025-Q3,{team.full_amount},\nhire,2025-Q3,90000,AE ramp\n"
               "bob,2025-Q3,50000,\n").encode()  # fmt: skip
    ops = api_client_for(ops_user)
    check = upload(ops, content, quota_jobs_eager)
    assert check["result"] == {"rows": 3, "created": 0, "updated": 2, "unchanged": 1}
    audits = AuditEvent.objects.filter(entity="incentives.quota")
    before = audits.count()
    saved = upload(ops, content, quota_jobs_eager, dry_run="false")
    assert saved["result"] == check["result"] and audits.count() == before + 2
    assert Quota.objects.get(person=computed["mia"], period=q3).is_team_sum is False
    assert Quota.objects.get(person=hire, period=q3).amount == Decimal("37500.00")  # (0 + 0.5 + 0.75) / 3
    assert upload(ops, content, quota_jobs_eager)["result"]["unchanged"] == 3


def test_a_quota_set_while_an_upload_saves_fails_the_upload_plainly(
    api_client_for, computed, quota_jobs_eager, monkeypatch
):
    """A quota set one at a time for the same person, period and measure while the upload saves: the upload
    saves nothing and says why in plain words, not the database's."""
    from incentives import services

    effective = services._effective
    calls: list[int] = []

    def meanwhile(full: Any, ramp: Any, person: Any, period: Any) -> Any:
        if not calls:  # another request sets ann's quota between the upload's read and its insert
            Quota.objects.create(person=computed["ann"], period=period, measure="bookings", full_amount=1, amount=1)
        calls.append(1)
        return effective(full, ramp, person, period)

    monkeypatch.setattr(services, "_effective", meanwhile)
    ops = api_client_for(computed["ops"])
    job = upload(ops, b"person,period,amount\nann,2025-Q3,120000\nbob,2025-Q3,1\n", quota_jobs_eager,
                 dry_run="false")  # fmt: skip
    assert job["status"] == "failed" and job["result"] == {"rows": 2, "created": 0, "updated": 0, "unchanged": 0}
    assert messages(job) == [services.CONCURRENT_QUOTA_CHANGE]
    assert "upload it again" in messages(job)[0] and "IntegrityError" not in messages(job)[0]
    assert not Quota.objects.filter(period__label="2025-Q3").exists()  # all rolled back, the rival's insert too


def test_a_quota_upload_that_stops_unexpectedly_shows_no_server_details(
    api_client_for, computed, settings, tmp_path, caplog
):
    from incentives import services
    from incentives.models import QuotaUploadJob

    settings.MEDIA_ROOT = tmp_path / "media"
    ops = api_client_for(computed["ops"])
    job_id = post_upload(ops, b"person,period,amount\nann,2025-Q3,1\n", dry_run="false").json()["id"]
    stored = QuotaUploadJob.objects.get(pk=job_id).file
    Path(stored.path).unlink()  # the stored file is gone (a volume not shared with the worker, say)
    with caplog.at_level("ERROR", logger="incentives.services"):
        services.quota_upload_job_execute(job_id=job_id)
    job = ops.get(f"{API}/quota-uploads/{job_id}/").json()
    assert job["status"] == "failed" and messages(job) == [
        f"The upload stopped unexpectedly; nothing was saved (upload {job_id}, in the server's log)."
    ]
    assert str(tmp_path) not in str(job) and "FileNotFoundError" not in str(job)
    assert any(r.exc_info and isinstance(r.exc_info[1], FileNotFoundError) for r in caplog.records)  # logged


def test_a_quota_upload_answers_before_its_job_runs(api_client_for, computed, settings, tmp_path):
    """Without a worker the answer still comes at once: the job waits, queued, and writes nothing yet."""
    settings.MEDIA_ROOT = tmp_path / "media"
    ops = api_client_for(computed["ops"])
    response = post_upload(ops, b"person,period,amount\nann,2025-Q3,120000\n", dry_run="false")
    assert response.status_code == 202
    job = ops.get(response["Location"]).json()
    assert (job["status"], job["progress"]["phase"], job["result"]) == ("queued", "waiting", None)
    assert not Quota.objects.filter(period__label="2025-Q3").exists()
    response = ops.post(f"{API}/quotas/upload/", {"file": SimpleUploadedFile("q.pdf", b"%PDF")}, format="multipart")
    assert response.status_code == 400 and "only .csv and .xlsx" in response.json()["detail"]


def test_quotas_are_scoped_and_set_by_sales_ops(api_client_for, computed):
    ann_rows = rows(api_client_for(computed["ann"]).get(f"{API}/quotas/"))
    assert {(q["person"], q["period"], q["amount"]) for q in ann_rows} == {
        (computed["ann"].pk, "2025-Q1", "100000.00"),
        (computed["ann"].pk, "2025-Q2", "100000.00"),
    }
    mia = api_client_for(computed["mia"])
    assert len(rows(mia.get(f"{API}/quotas/", {"period": "2025-Q1", "measure": "bookings"}))) == 3
    assert rows(mia.get(f"{API}/quotas/", {"measure": "deal_count"})) == []

    body = {"person": computed["bob"].pk, "period": "2025-Q3", "amount": "90000"}
    assert mia.post(f"{API}/quotas/", body, format="json").status_code == 403
    ops = api_client_for(computed["ops"])
    response = ops.post(f"{API}/quotas/", body, format="json")
    assert response.status_code == 201 and response.json()["amount"] == "90000.00"
    response = ops.post(f"{API}/quotas/", {**body, "amount": "95000.5"}, format="json")
    assert response.status_code == 200 and response.json()["amount"] == "95000.50"
    assert ops.post(f"{API}/quotas/", {**body, "period": "2025-Q9"}, format="json").status_code == 400
    assert ops.post(f"{API}/quotas/", {**body, "amount": "-1"}, format="json").status_code == 400
    assert not Period.objects.filter(label="2025-Q9").exists()


# ---------------------------------------------------------------------------------------- estimator, runs
def test_estimator_uses_the_engine_on_own_open_deals(api_client_for, computed):
    from pipeline import services as deals

    mine = deals.deal_create(actor=computed["ann"], name="Big one", owner=computed["ann"], amount="50000",
                             close_date=dt.date(2025, 5, 15))  # fmt: skip
    theirs = deals.deal_create(actor=computed["bob"], name="Bob's", owner=computed["bob"], amount="50000",
                               close_date=dt.date(2025, 5, 15))  # fmt: skip
    client = api_client_for(computed["ann"])
    response = client.post(f"{API}/estimator/", {"deals": [mine.pk]}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    # Q2: 50,000 of 100,000 quota at 5 % = 2,500 (the cancellation in Q2 is bob's, not ann's).
    assert body["total_difference"] == "2500.00"
    q2 = next(p for p in body["periods"] if p["period"] == "2025-Q2")
    assert (q2["current"], q2["estimated"], q2["attainment_then"]) == ("0.00", "2500.00", "0.5000")
    assert client.post(f"{API}/estimator/", {"deals": [theirs.pk]}, format="json").status_code == 400
    candidates = client.get(f"{API}/estimator/").json()["candidates"]
    assert [c["id"] for c in candidates] == [mine.pk]


def test_recompute_is_queued_for_finance_and_ops_and_runs_are_listed(
    api_client_for, computed, celery_eager, django_capture_on_commit_callbacks
):
    assert api_client_for(computed["mia"]).post(f"{API}/recompute/").status_code == 403
    assert api_client_for(computed["ann"]).get(f"{API}/runs/").status_code == 403
    before = CommissionRun.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(computed["ops"]).post(f"{API}/recompute/")
    assert response.status_code == 202
    assert CommissionRun.objects.count() == before + 1
    runs = rows(api_client_for(computed["finance"]).get(f"{API}/runs/"))
    assert runs[0]["triggered_by"] == "nightly" and runs[0]["status"] == "done"
    # recomputing again changes no number
    assert rows(api_client_for(computed["ann"]).get(f"{API}/payouts/", {"period": "2025-Q1"}))[0]["payout"] == (
        "20150.00"
    )


def test_openapi_schema_lists_the_incentives_api(api_client_for, computed):
    response = api_client_for(computed["ann"]).get("/api/v1/schema/")
    assert response.status_code == 200
    schema = response.content.decode()
    for path in ("/api/v1/incentives/payouts/", "/api/v1/incentives/payouts/register/",
                 "/api/v1/incentives/plans/{key}/versions/", "/api/v1/incentives/estimator/"):  # fmt: skip
        assert f"{path}:" in schema


# ----------------------------------------------------------------------- assignments, ramps, audit, exports
def test_sales_ops_end_an_assignment_then_assign_another_plan(api_client_for, computed, celery_eager,
                                                             django_capture_on_commit_callbacks):  # fmt: skip
    from incentives.models import PlanAssignment

    ann = computed["ann"]
    assignment = PlanAssignment.objects.get(person=ann)
    url = f"{API}/assignments/{assignment.pk}/end/"
    assert api_client_for(computed["finance"]).post(url, {"end": "2025-03-31"}, format="json").status_code == 403
    ops = api_client_for(computed["ops"])
    response = ops.post(url, {"end": "2024-12-01"}, format="json")
    assert response.status_code == 400 and "cannot end before it starts (2025-01-01)" in response.json()["detail"]
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(url, {"end": "2025-03-31"}, format="json")
    assert response.status_code == 200 and response.json()["end"] == "2025-03-31"
    # Ann is off the AE plan from Q2: the recompute queued by the change takes her Q2 payout away.
    assert not Payout.objects.filter(person=ann, period__label="2025-Q2").exists()
    assert q1(ann).payout == Decimal("20150.00")
    body = {"person": ann.pk, "start": "2025-04-01"}
    assert ops.post(f"{API}/plans/mgr/assign/", body, format="json").status_code == 201
    listed = rows(api_client_for(computed["mia"]).get(f"{API}/assignments/", {"person": ann.pk}))
    assert [(a["plan"], a["start"], a["end"]) for a in listed] == [("ae", "2025-01-01", "2025-03-31"),
                                                                   ("mgr", "2025-04-01", None)]  # fmt: skip
    assert rows(api_client_for(computed["bob"]).get(f"{API}/assignments/", {"person": ann.pk})) == []


def test_ramps_are_set_by_sales_ops_and_used_by_the_quota_upload(api_client_for, computed, quota_jobs_eager):
    ops = api_client_for(computed["ops"])
    assert api_client_for(computed["mia"]).post(f"{API}/ramps/", {"name": "x", "shares": ["0.5"]},
                                                 format="json").status_code == 403  # fmt: skip
    response = ops.post(f"{API}/ramps/", {"name": "AE ramp", "shares": ["0.5", "0.25"]}, format="json")
    assert response.status_code == 400 and "shares do not fall (0.5 then 0.25)" in response.json()["detail"]
    response = ops.post(f"{API}/ramps/", {"name": "AE ramp", "shares": ["0.25", "0.5", "0.75"]}, format="json")
    assert response.status_code == 201 and response.json()["shares"] == ["0.25", "0.5", "0.75"]
    hire = UserFactory.create(username="hire", manager=computed["mia"], start_date=dt.date(2025, 8, 1))
    content = b"person,period,amount,ramp\nhire,2025-Q3,90000,AE ramp\nann,2025-Q3,90000,Slow ramp\n"
    job = upload(ops, content, quota_jobs_eager, dry_run="false")
    assert messages(job) == ["row 3 (ann), column ramp: no ramp schedule named 'Slow ramp'"]
    assert upload(ops, content.replace(b"Slow ramp", b""), quota_jobs_eager, dry_run="false")["status"] == "done"
    quota = Quota.objects.get(person=hire, period__label="2025-Q3")
    # August is month 0 (25 %), September month 1 (50 %), July before the start (0): 90,000 × 0.75 / 3.
    assert quota.ramp is not None and quota.ramp.name == "AE ramp"
    assert (quota.full_amount, quota.amount) == (Decimal("90000.00"), Decimal("22500.00"))


def test_audit_history_of_quotas_plans_assignments_adjustments_and_locks(api_client_for, computed):
    from incentives.models import PlanAssignment

    finance = api_client_for(computed["finance"])
    response = finance.post(f"{API}/adjustments/", {"person": computed["ann"].pk, "period": "2025-Q2",
                                                    "amount": "250.00", "reason": "spiff true-up"}, format="json")  # fmt: skip
    assert response.status_code == 201
    q1 = Period.objects.get(label="2025-Q1")
    assert finance.post(f"{API}/periods/{q1.pk}/lock/", {"reason": "payroll sent"}).status_code == 200
    assert api_client_for(computed["ann"]).get(f"{API}/audit/").status_code == 403
    ops = api_client_for(computed["ops"])
    everything = rows(ops.get(f"{API}/audit/", {"page_size": 200}))
    kinds = {e["entity"] for e in everything}
    assert {"incentives.quota", "incentives.compplanversion", "incentives.planassignment", "incentives.adjustment",
            "incentives.period"} <= kinds  # fmt: skip
    adjustment = rows(ops.get(f"{API}/audit/", {"entity": "adjustment"}))
    assert [(e["actor"], e["changes"]["amount"], e["reason"]) for e in adjustment] == [
        (computed["finance"].pk, [None, "250.00"], "spiff true-up")
    ]
    ann_assignment = PlanAssignment.objects.get(person=computed["ann"])
    one = rows(ops.get(f"{API}/audit/", {"entity": "assignment", "entity_id": ann_assignment.pk}))
    assert [(e["action"], e["changes"]["plan"]) for e in one] == [("create", [None, "ae"])]
    quotas = rows(ops.get(f"{API}/audit/", {"entity": "quota"}))
    assert len(quotas) == 6 and all(e["changes"]["amount"][0] is None for e in quotas)  # 3 people × 2 quarters
    assert ops.get(f"{API}/audit/", {"entity": "deal"}).status_code == 400


def test_payroll_and_line_exports_in_the_api_equal_the_register(api_client_for, computed):
    import csv
    import io

    import openpyxl

    url = f"{API}/payouts/export/"
    assert api_client_for(computed["mia"]).get(url, {"period": "2025-Q1"}).status_code == 403
    assert api_client_for(computed["ops"]).get(url, {"period": "2025-Q1"}).status_code == 403
    finance = api_client_for(computed["finance"])
    assert finance.get(url).status_code == 400
    assert finance.get(url, {"period": "2025-Q1", "kind": "pdf"}).status_code == 400
    response = finance.get(url, {"period": "2025-Q1", "kind": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    payroll = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert list(payroll[0]) == ["employee_id", "name", "period", "earned", "adjustments", "draw", "payout", "currency"]
    register = finance.get(f"{API}/payouts/register/", {"period": "2025-Q1"}).json()
    assert sum(Decimal(r["payout"]) for r in payroll) == Decimal(register["totals"]["total"]) == Decimal("27950.00")
    response = finance.get(url, {"period": "2025-Q1", "kind": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sum(Decimal(str(r[6])) for r in sheet.iter_rows(min_row=2, values_only=True)) == Decimal("27950.00")
    response = finance.get(url, {"period": "2025-Q1", "kind": "lines"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row - 1 == StatementLine.objects.filter(payout__period__label="2025-Q1").count()


def test_a_person_holds_quotas_in_several_measures_each_measured(api_client_for, computed, client_for,
                                                                  django_assert_max_num_queries):  # fmt: skip
    from incentives import services
    from pipeline.models import Deal

    q1_period = Period.objects.get(label="2025-Q1")
    # ann's Q1 deals: D1 (new business, 60 % hers) and D2 (90,000, made an expansion here).
    Deal.objects.filter(amount=Decimal("90000")).update(deal_type="expansion")
    for measure, amount in (("new_business", "80000"), ("expansion", "45000"), ("deal_count", "4")):
        services.quota_set(actor=computed["ops"], person=computed["ann"], period=q1_period, amount=amount,
                           measure=measure)  # fmt: skip
    listed = rows(api_client_for(computed["ann"]).get(f"{API}/quotas/", {"period": "2025-Q1"}))
    measured = {q["measure"]: (q["amount"], q["achieved"], q["attainment"]) for q in listed}
    assert measured == {
        "bookings": ("100000.00", "150000.00", "1.5000"),  # the run's credited bookings (60,000 + 90,000)
        "new_business": ("80000.00", "60000.00", "0.7500"),
        "expansion": ("45000.00", "90000.00", "2.0000"),
        "deal_count": ("4.00", "1.60", "0.4000"),  # 0.6 of D1 and all of D2
    }
    # mia's team quota counts her subtree: bob's D3 was cancelled, so it counts for no measure.
    services.quota_set(actor=computed["ops"], person=computed["mia"], period=q1_period, amount="5",
                       measure="deal_count")  # fmt: skip
    mia_rows = rows(
        api_client_for(computed["mia"]).get(f"{API}/quotas/", {"period": "2025-Q1", "measure": "deal_count"})
    )
    assert [(q["person"], q["achieved"]) for q in mia_rows if q["person"] == computed["mia"].pk] == [
        (computed["mia"].pk, "2.00")  # D1 (60 % ann + 40 % bob) and D2
    ]
    # Measuring does not cost queries per quota: everyone's quotas, in every measure, in one page.
    for person in (computed["bob"], computed["mia"]):
        for period in Period.objects.filter(label__in=["2025-Q1", "2025-Q2"]):
            services.quota_set(actor=computed["ops"], person=person, period=period, amount="7", measure="expansion")
    finance = api_client_for(computed["finance"])
    with django_assert_max_num_queries(7):  # session, user, count, page, payouts, people, one credits query
        assert len(rows(finance.get(f"{API}/quotas/"))) == 14  # 6 bookings, 3 more of ann's, mia's count, 4 expansion


def test_a_checked_quota_upload_is_saved_through_the_api(api_client_for, computed, quota_jobs_eager, monkeypatch):
    """The page's Save: a new job on the same stored file, 202 at once; the quotas saved, audited and recomputed."""
    from incentives import tasks
    from incentives.models import QuotaUploadJob

    ops = api_client_for(computed["ops"])
    checked = upload(ops, b"person,period,amount\nann,2025-Q3,120000\nbob,2025-Q3,110000\n", quota_jobs_eager)
    assert (checked["status"], checked["dry_run"], checked["result"]["created"]) == ("done", True, 2)
    assert not Quota.objects.filter(period__label="2025-Q3").exists()
    # Only sales ops find an upload: anyone else (and a missing id) is answered 404, and nothing is queued.
    for person in ("mia", "finance", "ann"):
        response = api_client_for(computed[person]).post(f"{API}/quota-uploads/{checked['id']}/save/")
        assert response.status_code == 404, person
    assert ops.post(f"{API}/quota-uploads/{checked['id'] + 100}/save/").status_code == 404
    assert QuotaUploadJob.objects.count() == 1
    queued: list[str] = []
    monkeypatch.setattr(tasks, "queue_recompute", lambda **kwargs: queued.append(kwargs["reason"]))
    with quota_jobs_eager():
        response = ops.post(f"{API}/quota-uploads/{checked['id']}/save/")
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["id"] != checked["id"] and (answer["dry_run"], answer["status"]) == (False, "queued")
    assert response["Location"] == answer["url"] and answer["file_name"] == "q.csv"
    saved = ops.get(response["Location"]).json()
    assert (saved["status"], saved["result"]) == ("done", {"rows": 2, "created": 2, "updated": 0, "unchanged": 0})
    jobs = {job.pk: job for job in QuotaUploadJob.objects.all()}
    assert jobs[answer["id"]].file.name == jobs[checked["id"]].file.name  # the file that was checked is saved
    assert jobs[answer["id"]].created_by == computed["ops"]
    assert Quota.objects.get(person=computed["bob"], period__label="2025-Q3").amount == Decimal("110000.00")
    q3 = [str(pk) for pk in Quota.objects.filter(period__label="2025-Q3").values_list("pk", flat=True)]
    assert AuditEvent.objects.filter(entity="incentives.quota", entity_id__in=q3, actor=computed["ops"]).count() == 2
    assert queued and set(queued) == {"quota"}
    # A save is not saved again, and neither is a check that failed: 400 with the reason, no new job.
    response = ops.post(f"{API}/quota-uploads/{answer['id']}/save/")
    assert response.status_code == 400
    assert response.json()["detail"] == "q.csv can be saved once its check has finished without errors."
    failed = upload(ops, b"person,period,amount\nnobody,2025-Q3,1\n", quota_jobs_eager)
    assert ops.post(f"{API}/quota-uploads/{failed['id']}/save/").status_code == 400
    assert QuotaUploadJob.objects.count() == 3


# ------------------------------------------------------------------------------------- next band, my pay
def test_a_statement_says_how_far_the_next_rate_band_is_as_its_page(api_client_for, client_for, computed):
    from django.urls import reverse

    bob_q1 = q1(computed["bob"])
    body = api_client_for(computed["bob"]).get(f"{API}/payouts/{bob_q1.pk}/").json()
    # bob credited 60,000 of a 100,000 quota: 40,000 more reaches the 15 % band that starts at 100 %.
    assert body["next_band"] == {"component": "commission", "attainment": "1.0000", "rate": "0.15",
                                 "needed": "40000.00"}  # fmt: skip
    page = client_for(computed["bob"]).get(reverse("incentives:statement", args=[bob_q1.pk])).content.decode()
    assert "40,000.00 more credit reaches the 15 % band." in page
    # His manager reads the same on his statement; ann (150 % of quota) is past the last band; mia's team
    # plan (105 %) too.
    assert api_client_for(computed["mia"]).get(f"{API}/payouts/{bob_q1.pk}/").json()["next_band"] == body["next_band"]
    for who in ("ann", "mia"):
        payout = q1(computed[who])
        assert api_client_for(computed[who]).get(f"{API}/payouts/{payout.pk}/").json()["next_band"] is None
    ann_q2 = Payout.objects.get(person=computed["ann"], period__label="2025-Q2")
    band = api_client_for(computed["ann"]).get(f"{API}/payouts/{ann_q2.pk}/").json()["next_band"]
    assert (band["attainment"], band["rate"], band["needed"]) == ("0.5000", "0.10", "50000.00")
    # Someone else's statement stays out of reach, band and all.
    assert api_client_for(computed["ann"]).get(f"{API}/payouts/{bob_q1.pk}/").status_code == 404


def test_a_year_to_date_plans_next_band_is_on_the_year_so_far(api_client_for, client_for, computed):
    from django.urls import reverse

    # The AE plan as if it had been saved on the year-to-date basis (its only version, as stored).
    version = CompPlanVersion.objects.get(plan__key="ae")
    version.definition = {**version.definition, "attainment_basis": "ytd"}
    version.save(update_fields=["definition"])
    commission_recompute()
    bob_q2 = Payout.objects.get(person=computed["bob"], period__label="2025-Q2")
    band = api_client_for(computed["bob"]).get(f"{API}/payouts/{bob_q2.pk}/").json()["next_band"]
    # The year's quota (200,000) and credits (60,000 in Q1, the cancelled deal's 20,000 back in Q2): 40,000,
    # 20 %; 100,000 reaches the 10 % band at 50 %, so 60,000 more.
    assert bob_q2.attainment == Decimal("0.2000")
    assert (band["attainment"], band["rate"], band["needed"]) == ("0.5000", "0.10", "60000.00")
    page = client_for(computed["bob"]).get(reverse("incentives:statement", args=[bob_q2.pk])).content.decode()
    assert "60,000.00 more credit reaches the 10 % band." in page


def test_my_pay_summary_is_the_callers_own_as_the_my_pay_page(api_client_for, client_for, computed):
    from django.urls import reverse
    from freezegun import freeze_time

    from incentives import services

    services.adjustment_create(actor=computed["finance"], person=computed["ann"],
                               period=Period.objects.get(label="2025-Q2"), amount="120.50", reason="true-up")  # fmt: skip
    ann_q2 = Payout.objects.get(person=computed["ann"], period__label="2025-Q2")
    ann = api_client_for(computed["ann"])
    with freeze_time("2025-06-15"):
        body = ann.get(f"{API}/payouts/summary/").json()
        page = client_for(computed["ann"]).get(reverse("incentives:my_attainment")).content.decode()
        # Another year: nothing paid in it yet; the current statement stays today's.
        earlier = ann.get(f"{API}/payouts/summary/", {"fiscal_year": "2024"}).json()
        mia = api_client_for(computed["mia"]).get(f"{API}/payouts/summary/").json()
        finance = api_client_for(computed["finance"]).get(f"{API}/payouts/summary/").json()
    # Q1 paid 20,150.00, Q2 0.00 plus the 120.50 adjustment.
    assert (body["fiscal_year"], body["as_of"], body["paid_to_date"]) == (2025, "2025-06-15", "20270.50")
    assert page.split('data-testid="paid-to-date">', 1)[1].split("<", 1)[0] == "20,270.50"
    assert (body["current"]["id"], body["current"]["period"], body["current"]["total"]) == (ann_q2.pk, "2025-Q2",
                                                                                            "120.50")  # fmt: skip
    assert body["next_band"] == {"component": "commission", "attainment": "0.5000", "rate": "0.10",
                                 "needed": "50000.00"}  # fmt: skip
    assert page.split('data-testid="next-band">', 1)[1].split("<", 1)[0] == "50,000"
    assert (earlier["fiscal_year"], earlier["paid_to_date"], earlier["current"]["id"]) == (2024, "0.00", ann_q2.pk)
    # Always the caller's own pay: a manager's is theirs, not their team's; finance is paid nothing here.
    assert mia["current"]["person"] == computed["mia"].pk and mia["paid_to_date"] == "4200.00"
    assert (finance["paid_to_date"], finance["current"], finance["next_band"]) == ("0.00", None, None)
    for wrong in ("twenty", "20255", "-1", "2025.0", "0", "0000", "1899", "9999"):
        response = ann.get(f"{API}/payouts/summary/", {"fiscal_year": wrong})
        assert response.status_code == 400 and "fiscal_year" in response.json(), wrong


def test_an_id_filter_that_is_not_an_id_is_refused_naming_it(api_client_for, computed):
    """`?person=<ann>.5` and `?person=<ann>.0` were read as decimals and truncated by the id column: finance got
    ann's payouts for a person id nobody has. Every id filter of the incentives API answers 400 naming it."""
    finance, ann = api_client_for(computed["finance"]), computed["ann"]
    assert {p["person"] for p in rows(finance.get(f"{API}/payouts/", {"person": ann.pk}))} == {ann.pk}
    totals = finance.get(f"{API}/payouts/totals/", {"period": "2025-Q1", "person": ann.pk}).json()["totals"]
    assert (totals["people"], totals["total"]) == (1, "20150.00")
    for bad in (f"{ann.pk}.5", f"{ann.pk}.0", f"{ann.pk}e0", "-1", "²", "1" * 19):
        for url, extra in ((f"{API}/payouts/", {}), (f"{API}/payouts/totals/", {"period": "2025-Q1"}),
                           (f"{API}/adjustments/", {}), (f"{API}/disputes/", {}), (f"{API}/quotas/", {}),
                           (f"{API}/assignments/", {})):  # fmt: skip
            client = api_client_for(computed["ops"]) if "assignments" in url or "quotas" in url else finance
            response = client.get(url, {**extra, "person": bad})
            assert response.status_code == 400, (url, bad, response.content)
            assert response.json()["person"] == [f"person: {bad!r} is not an id (whole digits, e.g. ?person=12)."]
    plan = api_client_for(computed["ops"]).get(f"{API}/assignments/", {"plan": "1.5"})
    assert plan.status_code == 400 and plan.json()["plan"][0].startswith("plan: '1.5' is not an id")
    # An id out of the caller's scope (or of nobody) is still an empty list, not a 400.
    assert rows(api_client_for(computed["bob"]).get(f"{API}/payouts/", {"person": ann.pk})) == []


def test_an_id_filter_around_spaces_is_refused_as_the_forecasting_api_refuses_it(api_client_for, computed):
    """`?person=%20<ann>` listed ann's payouts: the id field trimmed the spaces that every other id check refuses
    (the forecasting API's `?person=` answers 400 for the same text). Only digits are an id, here as there."""
    finance, ops, ann = api_client_for(computed["finance"]), api_client_for(computed["ops"]), computed["ann"]
    for bad in (f" {ann.pk}", f"{ann.pk} ", f"{ann.pk}\n"):
        forecast = finance.get("/api/v1/forecasting/grid/", {"person": bad})
        assert forecast.status_code == 400, forecast.content
        for client, url in ((finance, "payouts"), (finance, "adjustments"), (finance, "disputes"), (ops, "quotas"),
                            (ops, "assignments")):  # fmt: skip
            response = client.get(f"{API}/{url}/", {"person": bad})
            assert response.status_code == 400, (url, bad, response.content)
            assert response.json()["person"] == [f"person: {bad!r} is not an id (whole digits, e.g. ?person=12)."]
    plan = ops.get(f"{API}/assignments/", {"plan": " 1"})
    assert plan.status_code == 400 and plan.json()["plan"] == ["plan: ' 1' is not an id (whole digits, e.g. ?plan=12)."]


def test_a_quota_upload_whose_worker_was_killed_at_the_hard_time_limit_fails_with_the_time_limit_message(
    api_client_for, computed, settings, tmp_path
):
    """A worker killed at the task's hard time limit has its task acknowledged, never handed out again: the upload
    said "running" for good. The beat's sweep fails one 5 minutes past the limit whose runner lock nobody holds, as
    one stopped at its soft limit; one whose lock a session holds, and one within the limit and its margin, stay
    "running"."""
    from incentives import selectors, services
    from incentives.models import QuotaUploadJob
    from salesops import softcache
    from salesops.kernel.locks import lock_pair
    from salesops.tasks import fail_stale_jobs

    settings.MEDIA_ROOT = tmp_path / "media"
    ops = api_client_for(computed["ops"])

    def running_since(minutes: float) -> int:
        job_id = post_upload(ops, b"person,period,amount\nann,2025-Q3,120000\n", dry_run="false").json()["id"]
        started = timezone.now() - dt.timedelta(minutes=minutes)
        QuotaUploadJob.objects.filter(pk=job_id).update(status="running", started_at=started)
        softcache.progress_reporter(selectors.quota_upload_progress_key(job_id))(0, 1, "reading")
        return int(job_id)

    dead, live, young = running_since(31), running_since(45), running_since(29)  # the hard limit is 25 minutes
    with runner_alive(services.QUOTA_UPLOAD_RUNNER, live) as worker:
        assert fail_stale_jobs()["quota uploads"] == 1  # the beat's task
        job = ops.get(f"{API}/quota-uploads/{dead}/").json()
        assert job["status"] == "failed" and job["finished_at"] is not None
        assert messages(job) == ["The upload took longer than its 20 minutes and saved nothing: split the file and "
                                 "upload the parts one after another."]  # fmt: skip
        assert job["result"] == {"rows": 0, "created": 0, "updated": 0, "unchanged": 0}
        assert softcache.get(selectors.quota_upload_progress_key(dead)) is None
        for job_id in (live, young):
            job = ops.get(f"{API}/quota-uploads/{job_id}/").json()
            assert (job["status"], job["errors"], job["finished_at"]) == ("running", [], None)
        assert services.stale_quota_uploads_fail() == []
        with worker.cursor() as cursor:  # the lock let go at once (a closed session frees it a moment later)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(lock_pair(services.QUOTA_UPLOAD_RUNNER, live)))
        assert services.stale_quota_uploads_fail() == [live]  # nobody runs it now
    assert ops.get(f"{API}/quota-uploads/{young}/").json()["status"] == "running"
    assert not Quota.objects.filter(period__label="2025-Q3").exists()
