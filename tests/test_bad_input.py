"""Bad input answers 400 with a message naming the field or record, never a 500, and stores nothing: malformed
periods, dates at the calendar's ends, NUL bytes, negative prices, huge offsets and quotas, odd import files."""

from __future__ import annotations

import csv
import html
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incentives.models import Period, Quota
from pipeline.models import Deal, Product
from tests.factories import DealFactory, ProductFactory

pytestmark = pytest.mark.django_db

UNKNOWN_PERIOD = "Unknown period 'soon': give a month like 2026-03 or a quarter like 2026-Q1"
DATE_RANGE = "between 1 Jan 1900 and 31 Dec 2199"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# ------------------------------------------------------------------------------------------------ periods
@pytest.mark.parametrize("path", ["/forecasting/", "/forecasting/deals/", "/forecasting/trend/",
                                  "/forecasting/waterfall/", "/forecasting/waterfall/deals/"])  # fmt: skip
def test_a_malformed_period_on_a_forecast_page_is_a_400_naming_it(org, client_for, path):
    page = client_for(org.manager_east).get(path, {"period": "soon"})
    assert page.status_code == 400
    assert UNKNOWN_PERIOD in html.unescape(page.content.decode())


def test_a_malformed_period_on_a_persons_history_is_a_400(org, client_for):
    page = client_for(org.manager_east).get(f"/forecasting/people/{org.rep_a.pk}/history/", {"period": "soon"})
    assert page.status_code == 400
    assert UNKNOWN_PERIOD in html.unescape(page.content.decode())


@pytest.mark.parametrize("path", ["grid", "deals", "calls", "adjustments", "trend", "waterfall"])
def test_a_malformed_period_in_the_forecast_api_is_a_400_naming_it(org, api_client_for, path):
    response = api_client_for(org.manager_east).get(f"/api/v1/forecasting/{path}/", {"period": "soon"})
    assert response.status_code == 400
    assert response.json()["period"] == [UNKNOWN_PERIOD]


def test_a_period_in_year_zero_or_with_garbage_is_refused_too(org, api_client_for):
    api = api_client_for(org.manager_east)
    for label in ("0000-01", "0000-Q1", "9999-Q4", "2026-13", "2026-Q5"):
        response = api.get("/api/v1/forecasting/grid/", {"period": label})
        assert response.status_code == 400, label
        assert response.json()["period"] == [
            f"Unknown period '{label}': give a month like 2026-03 or a quarter like 2026-Q1"
        ]


# ---------------------------------------------------------------------------------------------- date ranges
def test_a_report_range_at_the_calendars_ends_is_refused_with_the_rule(org, api_client_for):
    response = api_client_for(org.manager_east).get(
        "/api/v1/reporting/kpis/", {"from": "0001-01-01", "to": "9999-12-31"}
    )
    assert response.status_code == 400
    assert DATE_RANGE in response.json()["from"][0]


def test_the_manager_dashboard_with_a_range_at_the_calendars_ends_is_a_400(org, client_for):
    page = client_for(org.manager_east).get("/reporting/manager/", {"from": "0001-01-01", "to": "9999-12-31"})
    assert page.status_code == 400
    assert DATE_RANGE in html.unescape(page.content.decode())


def test_a_report_range_inside_the_rule_still_answers(org, api_client_for):
    response = api_client_for(org.manager_east).get(
        "/api/v1/reporting/kpis/", {"from": "2026-01-01", "to": "2026-03-31"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
def test_a_close_date_at_the_calendars_ends_is_refused_by_the_api(org, api_client_for, day):
    api = api_client_for(org.rep_a)
    response = api.post("/api/v1/deals/", {"name": "Far away", "owner": org.rep_a.pk, "close_date": day},
                        format="json")  # fmt: skip
    assert response.status_code == 400
    assert DATE_RANGE in response.json()["close_date"][0]
    assert not Deal.objects.filter(name="Far away").exists()


def test_a_close_date_change_at_the_calendars_ends_is_refused(org, api_client_for):
    deal = DealFactory.create(owner=org.rep_a)
    response = api_client_for(org.rep_a).patch(f"/api/v1/deals/{deal.pk}/", {"close_date": "9999-12-31"},
                                                format="json")  # fmt: skip
    assert response.status_code == 400
    assert DATE_RANGE in response.json()["close_date"][0]
    deal.refresh_from_db()
    assert str(deal.close_date) == "2026-12-15"


def test_a_close_date_at_the_calendars_ends_is_refused_by_the_deal_form(org, client_for):
    from tests.factories import default_stages

    page = client_for(org.rep_a).post("/pipeline/deals/new/", {
        "name": "Far away", "owner": org.rep_a.pk, "stage": default_stages()["Prospecting"].pk,
        "close_date": "9999-12-31", "currency": "USD", "deal_type": "new",
    })  # fmt: skip
    assert page.status_code == 200
    assert "Far away: the close date 9999-12-31 is not a date between 1 Jan 1900 and 31 Dec 2199." in html.unescape(
        page.content.decode()
    )
    assert not Deal.objects.filter(name="Far away").exists()


# ------------------------------------------------------------------------------------------------ NUL bytes
@pytest.mark.parametrize("url", ["/api/v1/incentives/audit/?entity=quota&entity_id=%00",
                                 "/api/v1/incentives/audit/?entity_id=%00", "/api/v1/deals/?search=a%00b"])  # fmt: skip
def test_a_nul_byte_in_a_query_parameter_is_a_400_naming_it(org, api_client_for, url):
    response = api_client_for(org.finance).get(url)
    assert response.status_code == 400
    body = response.json()
    assert "contains a NUL byte" in body["detail"]
    assert any(key in body for key in ("entity_id", "search"))


def test_a_nul_byte_on_a_page_is_a_400(org, client_for):
    page = client_for(org.manager_east).get("/pipeline/deals/?q=a%00b")
    assert page.status_code == 400
    assert "The parameter 'q' contains a NUL byte" in html.unescape(page.content.decode())


# ---------------------------------------------------------------------------------------------- product price
PRICE_MESSAGE = "A list price is 0 or more."


def test_a_new_product_with_a_negative_price_is_refused(org, api_client_for):
    response = api_client_for(org.ops).post("/api/v1/products/", {"name": "Gadget", "list_price": "-1.00"},
                                            format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["list_price"] == [PRICE_MESSAGE]
    assert not Product.objects.filter(name="Gadget").exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_product_changed_to_a_negative_price_is_refused(org, api_client_for, method):
    product = ProductFactory.create(name="Widget")
    api = api_client_for(org.ops)
    response = getattr(api, method)(f"/api/v1/products/{product.pk}/", {"name": "Widget", "list_price": "-0.01"},
                                    format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["list_price"] == [PRICE_MESSAGE]
    product.refresh_from_db()
    assert product.list_price == Decimal("1000.00")


# ------------------------------------------------------------------------------------------ offset and limit
@pytest.mark.parametrize(("name", "value"), [("offset", "99999999999999999999"), ("offset", "-1"),
                                             ("limit", "99999999999999999999"), ("limit", "ten")])  # fmt: skip
def test_an_offset_or_limit_out_of_range_on_report_deals_is_a_400(org, api_client_for, name, value):
    response = api_client_for(org.manager_east).get("/api/v1/reporting/deals/", {name: value})
    assert response.status_code == 400
    assert "a whole number from" in response.json()[name][0]


@pytest.mark.parametrize("page", ["99999999999999999999", "0", "two"])
def test_paged_api_lists_refuse_a_page_number_no_list_has(org, api_client_for, page):
    response = api_client_for(org.manager_east).get("/api/v1/deals/", {"page": page})
    assert response.status_code == 400
    assert response.json()["page"] == ["page must be a whole number from 1 to 1,000,000."]


def test_paged_api_lists_still_answer_the_last_page_and_404_past_it(org, api_client_for):
    DealFactory.create(owner=org.rep_a)
    api = api_client_for(org.manager_east)
    assert api.get("/api/v1/deals/", {"page": "last"}).json()["count"] == 1
    assert api.get("/api/v1/deals/", {"page": "2"}).status_code == 404


# ------------------------------------------------------------------------------------------------- quotas
QUOTA_MESSAGE = "a quota is below 1,000,000,000,000"


def test_a_quota_of_1e20_is_refused_by_the_api(org, api_client_for):
    response = api_client_for(org.ops).post(
        "/api/v1/incentives/quotas/", {"person": org.rep_a.pk, "period": "2026-Q1", "amount": "1e20"}, format="json"
    )
    assert response.status_code == 400
    assert QUOTA_MESSAGE in str(response.json()["amount"])
    assert not Quota.objects.exists()


def test_a_quota_of_a_trillion_is_refused_and_the_largest_that_fits_is_kept(org, api_client_for):
    """The column holds 14 digits, 2 of them cents: 10^12 is refused with the rule (not a server error)."""
    api = api_client_for(org.ops)
    for amount, status in (("1000000000000", 400), ("999999999999.99", 201)):
        response = api.post("/api/v1/incentives/quotas/", {"person": org.rep_a.pk, "period": "2026-Q1",
                                                          "amount": amount}, format="json")  # fmt: skip
        assert response.status_code in ((status, 200) if status == 201 else (status,)), response.content
    assert list(Quota.objects.values_list("amount", flat=True)) == [Decimal("999999999999.99")]


def _quota_file(amount: str, period: str = "2026-Q1") -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["person", "period", "amount"], ["rep_b", "2026-Q1", "5000"],
                                  ["rep_a", period, amount]])  # fmt: skip
    return SimpleUploadedFile("quotas.csv", buffer.getvalue().encode(), content_type="text/csv")


def test_a_quota_of_1e20_in_an_upload_is_a_row_error_and_nothing_is_written(
    org, api_client_for, settings, tmp_path, celery_eager, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    api = api_client_for(org.ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/incentives/quotas/upload/", {"file": _quota_file("1e20"), "dry_run": "false"},
                            format="multipart")  # fmt: skip
    assert response.status_code == 202
    job = api.get(response["Location"]).json()
    assert job["status"] == "failed"
    assert job["errors"] == [
        {"row": 3, "column": "amount", "message": f"row 3 (rep_a), column amount: {QUOTA_MESSAGE}"}
    ]
    assert not Quota.objects.exists() and not Period.objects.filter(label="2026-Q1", quotas__isnull=False).exists()


def test_a_quota_period_outside_the_date_rule_is_a_row_error_in_the_dry_run_too(
    org, api_client_for, settings, tmp_path, celery_eager, django_capture_on_commit_callbacks
):
    """2300-Q1 is refused by the period rule on save: the row check says so, naming the row, and nothing is
    written (it passed the check and then stopped the save, naming nobody)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    api = api_client_for(org.ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/incentives/quotas/upload/",
                            {"file": _quota_file("5000", period="2300-Q1"), "dry_run": "false"},
                            format="multipart")  # fmt: skip
    job = api.get(response["Location"]).json()
    assert job["status"] == "failed"
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "period")]
    assert not Quota.objects.exists()


def test_a_quota_of_1e20_on_the_quotas_page_is_a_row_error(
    org, client_for, settings, tmp_path, celery_eager, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client = client_for(org.ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/incentives/quotas/", {"file": _quota_file("1e20"), "measure": "bookings",
                                                       "action": "apply"})  # fmt: skip
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f"row 3 (rep_a), column amount: {QUOTA_MESSAGE}" in html.unescape(page.content.decode())
    assert not Quota.objects.exists()


# ------------------------------------------------------------------------------------------------ imports
SF_HEADER = ["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Amount", "Close Date",
             "Stage", "Probability (%)", "Type", "Lead Source", "Created Date"]  # fmt: skip


def _import(api, capture, name: str, content: bytes) -> dict:
    """Upload a file as the Imports API does; its dry run runs in the task (eagerly) once the upload commits."""
    with capture(execute=True):
        response = api.post("/api/v1/imports/", {"file": SimpleUploadedFile(name, content, content_type="text/csv"),
                                                 "preset": "salesforce"})  # fmt: skip
    assert response.status_code == 201, response.content
    return api.get(f"/api/v1/imports/{response.json()['id']}/").json()


def _sf_csv(close_date: str, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([
        SF_HEADER,
        ["0061", "Near", "Acme", "rep_a", "100", "3/31/2026", "Prospecting", "10", "", "", "1/15/2026"],
        ["0062", "Far", "Acme", "rep_a", "100", close_date, "Prospecting", "10", "", "", "1/15/2026"],
    ])  # fmt: skip
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize("day", ["1/1/0001", "12/31/9999", "12/31/1899"])
def test_an_imported_close_date_outside_the_rule_is_a_row_error(
    org, api_client_for, celery_eager, django_capture_on_commit_callbacks, day
):
    job = _import(api_client_for(org.ops), django_capture_on_commit_callbacks, "far.csv", _sf_csv(day))
    assert len(job["errors"]) == 1
    assert job["errors"][0].startswith("row 3 (opportunity 0062): close date")
    assert DATE_RANGE in job["errors"][0]
    assert not Deal.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_refused_as_not_utf8(org, api_client_for, celery_eager, django_capture_on_commit_callbacks,
                                             encoding):  # fmt: skip
    job = _import(
        api_client_for(org.ops), django_capture_on_commit_callbacks, "wide.csv", _sf_csv("3/31/2026", encoding)
    )
    assert job["errors"] == ["wide.csv: the file is not UTF-8 (it looks like UTF-16): save it as UTF-8 CSV"]
    assert job["status"] == "failed" and not Deal.objects.exists()
