"""Incentive pages and exports: what each role sees and may do, and the numbers in files."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils.html import escape

from incentives.models import Adjustment, Dispute, Payout, Period, StatementLine
from incentives.recompute import commission_recompute
from pipeline.models import Deal
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(example):
    commission_recompute()
    example["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    example["outsider"] = UserFactory.create(username="zed")
    return example


def q1(who) -> Payout:
    return Payout.objects.get(person=who, period__label="2025-Q1")


def test_rep_sees_own_attainment_and_statement(client_for, computed):
    client = client_for(computed["ann"])
    html = client.get(reverse("incentives:my_attainment")).content.decode()
    assert "20,150.00" in html  # ann 2025-Q1 payout
    statement = client.get(reverse("incentives:statement", args=[q1(computed["ann"]).pk])).content.decode()
    assert 'data-testid="statement-total">20,150.00<' in statement
    # ann's 60 % of D1: 50,000 fills the 5 % band, the next 10,000 earns 10 %.
    assert "50,000.00 × 5 %" in statement and "10,000.00 × 10 %" in statement
    # The plan's components read as words, not as the plan's keys.
    assert "<td>Commission</td>" in statement and "<td>Bonus</td>" in statement and "<td>commission" not in statement


def test_a_long_statement_shows_a_page_of_lines_and_exports_them_all(client_for, computed, monkeypatch):
    from incentives import views

    monkeypatch.setattr(views, "STATEMENT_LINES_PER_PAGE", 2)
    payout = q1(computed["ann"])
    lines = payout.lines.count()
    assert lines > 2
    client = client_for(computed["ann"])
    url = reverse("incentives:statement", args=[payout.pk])
    first = client.get(url).content.decode()
    pages = -(-lines // 2)
    assert f"{lines} lines · page 1 of {pages}" in first
    last = client.get(url, {"page": pages}).content.decode()
    rows = last.split('data-testid="statement-lines"')[1].split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == lines - 2 * (pages - 1)
    response = client.get(url, {"export": "csv"})
    exported = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(exported) == lines + 1  # the header, and every line however many pages


def test_statements_are_scoped(client_for, computed):
    ann_q1 = q1(computed["ann"]).pk
    assert client_for(computed["bob"]).get(reverse("incentives:statement", args=[ann_q1])).status_code == 404
    assert client_for(computed["outsider"]).get(reverse("incentives:statement", args=[ann_q1])).status_code == 404
    assert client_for(computed["mia"]).get(reverse("incentives:statement", args=[ann_q1])).status_code == 200
    assert client_for(computed["finance"]).get(reverse("incentives:statement", args=[ann_q1])).status_code == 200


def test_register_is_finance_and_ops_only_and_exports_match(client_for, computed):
    assert client_for(computed["mia"]).get(reverse("incentives:register")).status_code == 403
    ops = client_for(computed["ops"])
    html = ops.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    assert 'data-testid="register-total">27,950.00<' in html and 'data-testid="payroll-csv"' not in html
    for kind in ("csv", "xlsx", "lines"):  # payroll and commission files are finance's
        assert ops.get(reverse("incentives:register"), {"period": "2025-Q1", "export": kind}).status_code == 403
    client = client_for(computed["finance"])
    html = client.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    assert 'data-testid="register-total">27,950.00<' in html  # 20,150 + 3,600 + 4,200
    body = b"".join(
        client.get(reverse("incentives:register"), {"period": "2025-Q1", "export": "csv"}).streaming_content
    )
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows) or len(rows) == 3
    assert sum(Decimal(r["payout"]) for r in rows) == Decimal("27950.00")
    assert {r["period"] for r in rows} == {"2025-Q1"}
    response = client.get(reverse("incentives:register"), {"period": "2025-Q1", "export": "lines"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    amounts = [row[10] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert round(sum(amounts), 2) == 27950.00
    assert len(amounts) == StatementLine.objects.filter(payout__period__label="2025-Q1").count()


def test_dispute_raised_by_rep_and_resolved_by_finance_into_an_adjustment(client_for, computed):
    payout = q1(computed["bob"])
    line = StatementLine.objects.filter(payout=payout, component="commission").first()
    assert line is not None
    rep = client_for(computed["bob"])
    rep.post(reverse("incentives:dispute_raise", args=[payout.pk, line.pk]), {"text": "My split should be 50 %"})
    dispute = Dispute.objects.get()
    assert dispute.status == "open" and dispute.raised_by == computed["bob"]
    other = client_for(computed["ann"])
    assert (
        other.post(
            reverse("incentives:dispute_resolve", args=[dispute.pk]), {"decision": "accept", "resolution": "x"}
        ).status_code
        == 403
    )
    finance = client_for(computed["finance"])
    finance.post(reverse("incentives:dispute_resolve", args=[dispute.pk]),
                 {"decision": "accept", "amount": "500", "resolution": "Split corrected to 50/50"})  # fmt: skip
    dispute.refresh_from_db()
    assert dispute.status == "accepted"
    assert dispute.adjustment is not None and dispute.adjustment.amount == Decimal("500.00")
    html = finance.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    assert 'data-testid="register-total">28,450.00<' in html


def test_lock_needs_finance_and_lock_and_reopen_need_a_reason(client_for, computed):
    period = Period.objects.get(label="2025-Q1")
    lock = reverse("incentives:period_lock", args=[period.pk])
    assert client_for(computed["mia"]).post(lock, {"reason": "payroll sent"}).status_code == 403
    finance = client_for(computed["finance"])
    response = finance.post(lock, {"reason": "  "}, follow=True)
    assert "Locking 2025-Q1 needs a reason." in response.content.decode()
    period.refresh_from_db()
    assert not period.is_locked
    register = finance.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    assert f'href="{lock}" data-testid="lock-period"' in register  # the button leads to the confirmation
    assert 'data-testid="lock-reason"' in finance.get(lock).content.decode()
    finance.post(lock, {"reason": "payroll sent"})
    period.refresh_from_db()
    assert period.is_locked
    history = finance.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    assert "payroll sent" in history
    finance.post(reverse("incentives:period_reopen", args=[period.pk]), {"reason": ""})
    period.refresh_from_db()
    assert period.is_locked
    finance.post(reverse("incentives:period_reopen", args=[period.pk]), {"reason": "late deal"})
    period.refresh_from_db()
    assert not period.is_locked


def test_manual_adjustment(client_for, computed):
    period = Period.objects.get(label="2025-Q2")
    finance = client_for(computed["finance"])
    finance.post(reverse("incentives:adjustment_add", args=[period.pk]),
                 {"person": computed["ann"].pk, "amount": "-120.50", "reason": "Expense offset"})  # fmt: skip
    assert Adjustment.objects.get().amount == Decimal("-120.50")


def test_estimator_uses_the_engine(client_for, computed):
    from pipeline import services as deals

    deal = deals.deal_create(actor=computed["ann"], name="Big one", owner=computed["ann"], amount="50000",
                             close_date=__import__("datetime").date(2025, 5, 15))  # fmt: skip
    html = client_for(computed["ann"]).post(reverse("incentives:estimator"), {"deal": [deal.pk]}).content.decode()
    # Q2: 50,000 of 100,000 quota at 5 % = 2,500 (the cancellation in Q2 is bob's, not ann's).
    assert 'data-testid="estimate-total">+2,500.00<' in html


def test_plans_are_sales_ops_to_edit_and_json_round_trips(client_for, computed):
    assert client_for(computed["ann"]).get(reverse("incentives:plan_create")).status_code == 403
    client = client_for(computed["ops"])
    exported = client.get(reverse("incentives:plan_detail", args=["ae"]), {"export": "json"}).json()
    assert exported["components"][0]["tiers"][1] == {"from": "0.5", "rate": "0.10"}
    exported["components"][0]["tiers"][2]["rate"] = "-0.1"
    response = client.post(reverse("incentives:plan_version", args=["ae"]) + "?mode=json",
                           {"key": "ae", "name": "AE", "effective_from": "2025-07-01",
                            "definition": __import__("json").dumps(exported)})  # fmt: skip
    assert "rate -0.1 of &#x27;commission&#x27; is negative" in response.content.decode()
    assert response.status_code == 200
    assert computed["ann"].pk  # nothing saved:
    from incentives.models import CompPlanVersion

    assert CompPlanVersion.objects.filter(plan__key="ae").count() == 1


def test_quota_upload_runs_as_a_job_with_a_progress_page(client_for, computed, quota_jobs_eager, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incentives import tasks
    from incentives.models import Quota, QuotaUploadJob

    client = client_for(computed["ops"])
    bad = b"person,period,amount\nann,2025-Q3,120000\nnobody,2025-Q3,1\nbob,2025-13,5\n"
    with quota_jobs_eager():
        response = client.post(reverse("incentives:quotas"), {"file": SimpleUploadedFile("q.csv", bad),
                                                              "measure": "bookings", "action": "apply"})  # fmt: skip
    job = QuotaUploadJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("incentives:quota_upload", args=[job.pk])
    html = client.get(response["Location"]).content.decode()
    assert "row 3 (nobody), column person" in html and "row 4 (bob), column period" in html
    assert "nothing was saved" in html and 'data-status="failed"' in html and "hx-get" not in html  # no more polls
    assert not Quota.objects.filter(period__label="2025-Q3").exists()

    # A check, then its Save: the same file, saved by a second job; the recompute is queued as for any quota.
    good = b"person,period,amount\nann,2025-Q3,120000\nbob,2025-Q3,110000\n"
    with quota_jobs_eager():
        response = client.post(reverse("incentives:quotas"), {"file": SimpleUploadedFile("q.csv", good),
                                                              "measure": "bookings", "action": "dry"})  # fmt: skip
    html = client.get(response["Location"]).content.decode()
    assert "Checked 2 rows: nothing saved yet" in html and "Saving would create 2 quotas" in html
    assert not Quota.objects.filter(period__label="2025-Q3").exists()
    queued: list[str] = []
    monkeypatch.setattr(tasks, "queue_recompute", lambda **kwargs: queued.append(kwargs["reason"]))
    checked = QuotaUploadJob.objects.latest("id")
    with quota_jobs_eager():
        response = client.post(reverse("incentives:quota_upload_save", args=[checked.pk]))
    saved = QuotaUploadJob.objects.latest("id")
    assert saved.pk != checked.pk and (saved.dry_run, saved.status, saved.file.name) == (
        False,
        "done",
        checked.file.name,
    )
    html = client.get(response["Location"]).content.decode()
    assert "Quotas saved: 2 created, 0 updated" in html
    assert Quota.objects.get(person=computed["ann"], period__label="2025-Q3").amount == Decimal("120000.00")
    assert queued and set(queued) == {"quota"}
    assert "q.csv" in client.get(reverse("incentives:quotas")).content.decode()  # listed under Recent uploads
    # A saved upload is not saved twice.
    client.post(reverse("incentives:quota_upload_save", args=[saved.pk]))
    assert QuotaUploadJob.objects.count() == 3

    # Only those who upload quotas see an upload: a manager, finance and a rep find nothing.
    for person in ("mia", "finance", "ann"):
        other = client_for(computed[person])
        assert other.get(reverse("incentives:quota_upload", args=[saved.pk])).status_code == 404
        assert other.post(reverse("incentives:quota_upload_save", args=[checked.pk])).status_code == 404
    assert QuotaUploadJob.objects.count() == 3


def test_a_quota_upload_page_polls_until_its_job_finishes(client_for, computed, settings, tmp_path):
    """Before a worker takes the job, its page (and the fragment HTMX fetches every second) says it waits."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incentives.models import QuotaUploadJob

    settings.MEDIA_ROOT = tmp_path / "media"
    client = client_for(computed["ops"])
    upload = SimpleUploadedFile("q.csv", b"person,period,amount\nann,2025-Q3,1\n")
    response = client.post(reverse("incentives:quotas"), {"file": upload, "measure": "bookings", "action": "apply"})
    assert response.status_code == 302  # at once: the rows are read in the job (timed in bench_incentives)
    job = QuotaUploadJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    status = page.split('data-testid="quota-upload-status"', 1)[1]
    assert "Waiting for a worker" in status and 'hx-trigger="every 1s"' in page
    assert "<script" not in status and "onclick" not in status  # htmx attributes only (CSP)
    fragment = client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert 'id="quota-upload-status"' in fragment and "<html" not in fragment and job.status == "queued"
    # A file that is no spreadsheet is refused at once, on the form.
    page = client.post(reverse("incentives:quotas"), {"file": SimpleUploadedFile("q.pdf", b"%PDF"),
                                                      "measure": "bookings", "action": "apply"})  # fmt: skip
    assert page.status_code == 200 and "only .csv and .xlsx files" in page.content.decode()
    assert QuotaUploadJob.objects.count() == 1


def test_rows_keep_their_cents_and_an_adjusted_leaver_is_paid_through_register_and_payroll(client_for, computed):
    from incentives import services

    finance = computed["finance"]
    q1_period = Period.objects.get(label="2025-Q1")
    services.adjustment_create(actor=finance, person=computed["ann"], period=q1_period, amount="-120.50",
                               reason="expense recovered")  # fmt: skip
    leaver = UserFactory.create(username="leaver", first_name="Lee", last_name="Vermeer", employee_id="E-77")
    services.adjustment_create(actor=finance, person=leaver, period=q1_period, amount="777", reason="final true-up")
    commission_recompute()  # nothing is computed for the leaver: the row stays, at zero, for the adjustment

    client = client_for(finance)
    html = client.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
    assert "20,029.50" in html  # ann: 20,150.00 − 120.50, cents kept
    assert "Lee Vermeer" in html
    assert 'data-testid="register-total">28,606.50<' in html  # 27,950.00 − 120.50 + 777.00
    body = b"".join(client.get(reverse("incentives:register"),
                               {"period": "2025-Q1", "export": "csv"}).streaming_content).decode("utf-8-sig")  # fmt: skip
    rows = {r["employee_id"]: r for r in csv.DictReader(io.StringIO(body))}
    assert (rows["E-77"]["earned"], rows["E-77"]["adjustments"], rows["E-77"]["payout"]) == ("0.00", "777.00", "777.00")
    assert sum(Decimal(r["payout"]) for r in rows.values()) == Decimal("28606.50")
    team = client_for(computed["mia"]).get(reverse("incentives:team"), {"period": "2025-Q1"}).content.decode()
    assert "20,029.50" in team


def test_manager_sees_the_team_and_drills_into_each_statement_but_not_beyond(client_for, computed):
    mia = client_for(computed["mia"])
    html = mia.get(reverse("incentives:team"), {"period": "2025-Q1"}).content.decode()
    table = html.split("<tbody>", 1)[1]
    for name, total in ((computed["ann"].display_name, "20,150.00"), (computed["bob"].display_name, "3,600.00")):
        row = table.split(name, 1)[1].split("</tr>", 1)[0]
        assert total in row
    ann_statement = reverse("incentives:statement", args=[q1(computed["ann"]).pk])
    assert f'href="{ann_statement}"' in html
    assert 'data-testid="statement-total">20,150.00<' in mia.get(ann_statement).content.decode()
    # bob (a rep) sees no team and not ann's statement; an outsider sees neither.
    bob = client_for(computed["bob"])
    assert bob.get(ann_statement).status_code == 404
    assert (
        computed["ann"].display_name not in bob.get(reverse("incentives:team"), {"period": "2025-Q1"}).content.decode()
    )


def test_payroll_exports_neutralise_formula_like_names(client_for, computed):
    ann = computed["ann"]
    ann.first_name, ann.last_name = '=HYPERLINK("http://x")', "+1"
    ann.save(update_fields=["first_name", "last_name"])
    client = client_for(computed["finance"])
    body = b"".join(client.get(reverse("incentives:register"),
                               {"period": "2025-Q1", "export": "csv"}).streaming_content).decode("utf-8-sig")  # fmt: skip
    names = [r["name"] for r in csv.DictReader(io.StringIO(body))]
    assert '\'=HYPERLINK("http://x") +1' in names
    response = client.get(reverse("incentives:register"), {"period": "2025-Q1", "export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://x") +1' in cells
    assert all(not str(c).startswith("=") for c in cells)


def test_sales_ops_build_a_plan_version_in_the_form_without_json(client_for, computed):
    from incentives.models import CompPlanVersion

    client = client_for(computed["ops"])
    url = reverse("incentives:plan_version", args=["ae"])
    page = client.get(url).content.decode()
    assert 'data-testid="plan-builder"' in page and 'value="5"' in page  # the current tiers, as percentages
    form = {"key": "ae", "name": "AE", "effective_from": "2025-04-01", "note": "richer first band",
            "period": "quarter", "attainment_basis": "period", "credit_scope": "individual", "clawback_days": "90",
            "commission_key": "commission", "method": "marginal", "cap_attainment": "200",
            "tier_1_from": "0", "tier_1_rate": "6", "tier_2_from": "50", "tier_2_rate": "10",
            "tier_3_from": "100", "tier_3_rate": "15",
            "bonus_1_key": "bonus", "bonus_1_threshold": "100", "bonus_1_amount": "5000", "bonus_2_key": "bonus2",
            "spiff_1_key": "spiff", "spiff_2_key": "spiff2"}  # fmt: skip
    bad = client.post(url, {**form, "tier_2_rate": ""}).content.decode()
    assert "Tier 2 needs both its starting attainment and its rate." in bad
    unordered = client.post(url, {**form, "tier_3_from": "40"}).content.decode()
    assert "tiers must strictly increase" in unordered
    response = client.post(url, form)
    assert response.status_code == 302
    version = CompPlanVersion.objects.filter(plan__key="ae").latest("version")
    assert version.version == 2 and version.note == "richer first band"
    assert version.definition == {
        "key": "ae", "name": "AE", "period": "quarter", "attainment_basis": "period", "clawback_days": 90,
        "components": [
            {"key": "commission", "type": "tiered_rate", "method": "marginal", "cap_attainment": "2",
             "tiers": [{"from": "0", "rate": "0.06"}, {"from": "0.5", "rate": "0.1"}, {"from": "1", "rate": "0.15"}]},
            {"key": "bonus", "type": "attainment_bonus", "threshold": "1", "amount": "5000"},
        ],
    }  # fmt: skip
    # The JSON editor stays one click away; a rep may use neither.
    assert 'name="definition"' in client.get(url, {"mode": "json"}).content.decode()
    assert client_for(computed["ann"]).get(url).status_code == 403


def test_pay_history_page_is_finance_and_ops_only_and_names_who_changed_what(client_for, computed):
    from incentives import services

    services.adjustment_create(actor=computed["finance"], person=computed["ann"],
                               period=Period.objects.get(label="2025-Q2"), amount="250", reason="spiff true-up")  # fmt: skip
    assert client_for(computed["mia"]).get(reverse("incentives:history")).status_code == 403
    html = client_for(computed["ops"]).get(reverse("incentives:history"), {"entity": "adjustment"}).content.decode()
    table = html.split('data-testid="history"', 1)[1]
    assert computed["finance"].display_name in table and "spiff true-up" in table
    # Records by name, values in words: no "#id", no raw codes.
    assert f"Adjustment: {computed['ann'].display_name} · 2025-Q2" in table and "Amount: — → 250.00" in table, table
    assert f"Person: — → {computed['ann'].display_name}" in table
    assert "Quota:" not in table and "#" not in table  # filtered to adjustments
    everything = client_for(computed["finance"]).get(reverse("incentives:history")).content.decode()
    assert f"Quota: {computed['ann'].display_name} · 2025-Q1 · bookings" in everything
    assert "Plan: AE v1" in everything or "Plan: Account Executive v1" in everything


def test_the_plan_builder_names_every_refused_field_and_leaves_plans_it_cannot_show_to_json(client_for, computed):
    from incentives import services

    client = client_for(computed["ops"])
    url = reverse("incentives:plan_version", args=["ae"])
    form = {"key": "ae", "name": "AE", "effective_from": "2025-04-01", "period": "quarter",
            "attainment_basis": "period", "credit_scope": "individual", "commission_key": "commission",
            "method": "marginal", "cap_attainment": "-1", "tier_1_from": "0", "tier_1_rate": "5",
            "bonus_1_key": "Q4 bonus", "bonus_1_threshold": "100", "bonus_1_amount": "-5", "bonus_2_key": "bonus2",
            "spiff_1_key": "spiff", "spiff_2_key": "spiff2"}  # fmt: skip
    errors = client.post(url, form).content.decode().split('data-testid="plan-errors"')[1].split("</div>")[0]
    for label in ("Cap at attainment (%)", "Bonus 1 key", "Bonus 1 amount"):
        assert f"<li>{label}: " in errors
    # A plan whose component has a description (which the form does not show) opens as JSON, so nothing is lost.
    described = {"period": "quarter", "components": [
        {"key": "commission", "type": "tiered_rate", "description": "Paid monthly in arrears",
         "tiers": [{"from": "0", "rate": "0.0416666667"}]}]}  # fmt: skip
    services.plan_save_version(actor=computed["ops"], key="odd", name="Odd", definition=described,
                               effective_from=__import__("datetime").date(2025, 1, 1))  # fmt: skip
    page = client.get(reverse("incentives:plan_version", args=["odd"])).content.decode()
    assert 'name="definition"' in page and "Paid monthly in arrears" in page
    assert 'data-testid="plan-builder"' not in page


def test_the_numbers_beside_a_statement_next_band_paid_to_date_and_payroll_currency(client_for, computed):
    from freezegun import freeze_time

    from incentives import services
    from salesops.org.services import fiscal_calendar_update

    bob = client_for(computed["bob"])
    statement = bob.get(reverse("incentives:statement", args=[q1(computed["bob"]).pk])).content.decode()
    # bob credited 60,000 of a 100,000 quota: 40,000 more reaches the 15 % band that starts at 100 %.
    assert "40,000.00 more credit reaches the 15 % band." in statement

    services.adjustment_create(actor=computed["finance"], person=computed["ann"],
                               period=Period.objects.get(label="2025-Q2"), amount="120.50", reason="true-up")  # fmt: skip
    ann_2025 = sum(p.payout for p in Payout.objects.filter(person=computed["ann"], period__fiscal_year=2025))
    with freeze_time("2025-06-15"):
        page = client_for(computed["ann"]).get(reverse("incentives:my_attainment")).content.decode()
    paid = page.split('data-testid="paid-to-date">', 1)[1].split("<", 1)[0]
    assert paid == f"{ann_2025 + Decimal('120.50'):,.2f}"

    fiscal_calendar_update(actor=computed["finance"], currency="EUR")
    commission_recompute()
    body = b"".join(client_for(computed["finance"]).get(
        reverse("incentives:register"), {"period": "2025-Q2", "export": "csv"}).streaming_content).decode("utf-8-sig")  # fmt: skip
    assert {r["currency"] for r in csv.DictReader(io.StringIO(body))} == {"EUR"}


def test_a_statement_links_only_the_deals_its_reader_may_open(client_for, computed):
    # bob's 40 % split of ann's D1 is on his statement, but a split holder does not see the deal in the pipeline
    # (roles.md): his statement names it without a link; mia, their manager, opens it from the same statement.
    d1, own = Deal.objects.get(name="ann 100000"), Deal.objects.get(name="bob 20000")
    url = reverse("incentives:statement", args=[q1(computed["bob"]).pk])
    link_to = {deal: f'href="{reverse("pipeline:deal_detail", args=[deal.pk])}"' for deal in (d1, own)}
    bob = client_for(computed["bob"])
    html = bob.get(url).content.decode()
    assert ">ann 100000<" in html and link_to[d1] not in html
    assert link_to[own] in html
    assert bob.get(reverse("pipeline:deal_detail", args=[d1.pk])).status_code == 404
    html = client_for(computed["mia"]).get(url).content.decode()
    assert link_to[d1] in html and link_to[own] in html


def test_disputes_name_their_deal_not_its_key(client_for, computed):
    """The disputes list and the statement name the disputed deal, also once a recompute replaced its line."""
    payout = q1(computed["bob"])
    line = StatementLine.objects.filter(payout=payout, component="commission", deal_id__isnull=False).first()
    assert line is not None and line.deal_id is not None
    deal = Deal.objects.get(pk=line.deal_id)
    client_for(computed["bob"]).post(
        reverse("incentives:dispute_raise", args=[payout.pk, line.pk]), {"text": "My split should be 50 %"}
    )
    finance = client_for(computed["finance"])
    for _ in range(2):  # as raised, then with the line gone and only its key left
        listed = finance.get(reverse("incentives:disputes")).content.decode()
        row = listed.split('data-testid="disputes"')[1].split("</tbody>")[0]
        statement = finance.get(reverse("incentives:statement", args=[payout.pk])).content.decode()
        shown = statement.split(f'data-testid="dispute-{Dispute.objects.get().pk}"')[1].split("</tr>")[0]
        for html in (row, shown):
            assert f"<td>{escape(deal.name)}" in html and f"<td>{line.deal_key}" not in html
        Dispute.objects.update(line=None)


def test_a_statements_xlsx_names_the_credited_person_and_shows_bands_as_the_page_does(client_for, computed):
    """The statement's file: the deal as a number, the credited person by name (not an id), the bands in words."""
    payout = q1(computed["ann"])
    response = client_for(computed["finance"]).get(
        reverse("incentives:statement", args=[payout.pk]), {"export": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [dict(zip([c.value for c in sheet[1]], row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    names = {computed["ann"].display_name, computed["bob"].display_name, computed["mia"].display_name}
    credited = {r["credited person"].value for r in rows if r["deal"].value is not None}
    assert credited and credited <= names  # every deal's line, by name
    assert {r["deal"].data_type for r in rows if r["deal"].value is not None} == {"n"}
    assert any(r["bands"].value == "50,000.00 × 5 %; 10,000.00 × 10 %" for r in rows), [r["bands"].value for r in rows]


def test_the_periods_lines_xlsx_names_the_credited_person_and_shows_rates_in_words(client_for, computed):
    response = client_for(computed["finance"]).get(
        reverse("incentives:register"), {"period": "2025-Q1", "export": "lines"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [dict(zip([c.value for c in sheet[1]], row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    names = {computed["ann"].display_name, computed["bob"].display_name, computed["mia"].display_name}
    credited = {r["credited person"].value for r in rows if r["deal"].value is not None}
    assert credited and credited <= names
    assert {r["deal"].data_type for r in rows if r["deal"].value is not None} == {"n"}
    assert "5 %, 10 %" in {r["rates"].value for r in rows}  # ann's 60 % of D1 crosses into the 10 % band


def test_the_quotas_page_opens_on_the_period_under_way(client_for, computed):
    """Next year's quotas (a published scenario) do not hide this quarter's: the page opens on the latest period
    begun by today, and the others stay in the menu."""
    from freezegun import freeze_time

    from incentives import services

    services.quota_set(actor=computed["ops"], person=computed["ann"], period=services.period_get_or_create("2026-Q4"),
                       amount=150000)  # fmt: skip
    with freeze_time("2025-05-15"):
        html = client_for(computed["ops"]).get(reverse("incentives:quotas")).content.decode()
    assert '<option value="2025-Q2" selected>' in html and '<option value="2026-Q4">' in html
    assert "<h1>Quotas 2025-Q2" in html
