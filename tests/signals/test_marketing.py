"""Campaigns, members and touches through their services, pages and API; the member import (all or nothing, each
refused row named); the attribution report's numbers and its scope (managers their subtree, reps 403)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

import forecasting.timeseries  # noqa: F401  (pandas imported before any frozen clock: importing it under one crashes)
from salesops.api import DomainError, Forbidden
from signals.models import Campaign, CampaignMember, CampaignTouch
from signals.selectors import marketing as selectors
from signals.services import marketing as services
from tests.conftest import Org
from tests.factories import ContactFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)


def campaign(org: Org, name: str = "Autumn webinar", **values: object) -> Campaign:
    defaults: dict[str, object] = {"type": "webinar", "start_date": dt.date(2026, 1, 10),
                                   "end_date": dt.date(2026, 1, 31), "cost": "5000", "owner": org.ops}  # fmt: skip
    return services.campaign_create(actor=org.ops, name=name, **(defaults | values))  # type: ignore[arg-type]


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


# ------------------------------------------------------------------------------------------------ campaigns
def test_campaign_rules_name_the_campaign(org: Org) -> None:
    first = campaign(org)
    assert first.cost == Decimal("5000.00")
    with pytest.raises(DomainError, match="“autumn WEBINAR” exists already"):
        campaign(org, name="autumn WEBINAR")
    with pytest.raises(DomainError, match="cost cannot be negative"):
        campaign(org, name="Negative", cost="-1")
    with pytest.raises(DomainError, match="Campaign “Backwards” cannot end"):
        campaign(org, name="Backwards", start_date=dt.date(2026, 3, 1), end_date=dt.date(2026, 2, 1))
    with pytest.raises(Forbidden):
        services.campaign_create(actor=org.rep_a, name="Mine", start_date=TODAY, end_date=TODAY, owner=org.rep_a)
    services.campaign_update(actor=org.ops, campaign=first, cost="7500.50")
    first.refresh_from_db()
    assert first.cost == Decimal("7500.50")


def test_pages_everyone_reads_sales_ops_write(org: Org) -> None:
    c = campaign(org)
    rep = client_for(org.rep_a)
    page = rep.get(reverse("signals:campaign_list"))
    assert page.status_code == 200 and "Autumn webinar" in page.text and "5,000.00" in page.text
    assert 'data-testid="campaign-form"' not in page.text
    assert rep.post(reverse("signals:campaign_list"), {"name": "Rep's"}).status_code == 403
    assert rep.get(reverse("signals:campaign_detail", args=[c.pk])).status_code == 200
    assert rep.post(reverse("signals:campaign_touch_add", args=[c.pk]), {}).status_code == 403
    ops = client_for(org.ops)
    made = ops.post(reverse("signals:campaign_list"), {
        "name": "Partner summit", "type": "event", "status": "active", "start_date": "2026-05-01",
        "end_date": "2026-05-02", "cost": "12,000.00", "owner": org.ops.pk})  # fmt: skip
    summit = Campaign.objects.get(name="Partner summit")
    assert made.status_code == 302 and summit.cost == Decimal("12000.00") and summit.type == "event"


# ------------------------------------------------------------------------------------------------ members
def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@freeze_time("2026-11-20 10:00")
def test_member_import_all_or_nothing_with_every_refused_row(org: Org) -> None:
    c = campaign(org)
    ContactFactory.create(email="ann@example.com", owner=org.rep_a)
    ContactFactory.create(email="bob@example.com", owner=org.rep_b)
    bad = _csv([
        ["Campaign", "Email", "Status", "Responded"],
        ["Autumn webinar", "ANN@example.com", "responded", "2026-11-03"],
        ["No such campaign", "bob@example.com", "", ""],
        ["Autumn webinar", "nobody@example.com", "sent", ""],
        ["Autumn webinar", "bob@example.com", "responded", ""],
        ["Autumn webinar", "bob@example.com", "sent", "yesterday"],
        ["Autumn webinar", "ann@example.com", "sent", ""],
    ])  # fmt: skip
    result = services.member_import(actor=org.ops, file_name="members.csv", content=bad)
    assert [(e.row, e.message) for e in result.errors] == [
        (3, "no campaign named or numbered “No such campaign”"),
        (5, "A member of campaign “Autumn webinar” who responded needs the day they responded."),
        (6, "“yesterday” is not a date (write 3 Nov 2026 or 03/11/2026, day first)"),
        (4, "no lead or contact has the e-mail address nobody@example.com"),
        (7, "repeats row 2 (ann@example.com in “Autumn webinar”)"),
    ]
    assert CampaignMember.objects.count() == 0  # nothing half-written

    good = _csv([["campaign", "e-mail", "status", "responded date"],
                 [str(c.pk), "ann@example.com", "", "3 Nov 2026"], ["Autumn webinar", "bob@example.com", "sent", ""]])  # fmt: skip
    result = services.member_import(actor=org.ops, file_name="members.csv", content=good)
    assert result.ok and (result.created, result.updated) == (2, 0)
    ann = CampaignMember.objects.get(contact_id__isnull=False, status="responded")
    assert ann.responded_at is not None and ann.responded_at.date() == dt.date(2026, 11, 3)
    # again: nothing new; a changed status updates the member in place
    again = _csv([["campaign", "email", "status"], ["Autumn webinar", "bob@example.com", "sent"]])
    assert services.member_import(actor=org.ops, file_name="m.csv", content=again).unchanged == 1
    with pytest.raises(Forbidden):
        services.member_import(actor=org.manager_east, file_name="m.csv", content=good)


@freeze_time("2026-11-20 10:00")
def test_the_api_sets_a_members_status_as_the_campaign_page_does(org: Org, api_client_for) -> None:
    c = campaign(org)
    ann = services.member_add(actor=org.ops, campaign=c, contact_id=ContactFactory.create(owner=org.rep_a).pk)
    bob = services.member_add(actor=org.ops, campaign=c, contact_id=ContactFactory.create(owner=org.rep_b).pk)
    api, url = api_client_for(org.ops), f"/api/v1/signals/campaign-members/{ann.pk}/"

    given = api.patch(url, {"status": "responded", "responded_at": "2026-11-03T14:30:00Z"}, format="json")
    assert given.status_code == 200, given.content
    assert given.json() == {"id": ann.pk, "campaign": c.pk, "lead_id": None, "contact_id": ann.contact_id,
                            "status": "responded", "responded_at": "2026-11-03T14:30:00Z"}  # fmt: skip
    ann.refresh_from_db()
    assert (ann.status, ann.responded_at) == ("responded", dt.datetime(2026, 11, 3, 14, 30, tzinfo=dt.UTC))
    assert api.patch(url, {"status": "sent"}, format="json").json()["responded_at"] is None
    ann.refresh_from_db()
    assert (ann.status, ann.responded_at) == ("sent", None)
    # Responded without a moment: now, as the page's button marks them (the page and the API agree).
    assert api.patch(url, {"status": "responded"}, format="json").json()["responded_at"] == "2026-11-20T10:00:00Z"
    client_for(org.ops).post(reverse("signals:campaign_member_status", args=[bob.pk]), {"status": "responded"})
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.status, ann.responded_at) == (bob.status, bob.responded_at) == ("responded", timezone.now())
    assert bob.campaign_id == c.pk and CampaignMember.objects.count() == 2  # only the status changed
    # A PATCH leaves out what stays: the moment alone moves the day they responded; nothing at all changes nothing.
    moved = api.patch(url, {"responded_at": "2026-11-05T09:00:00Z"}, format="json").json()
    assert (moved["status"], moved["responded_at"]) == ("responded", "2026-11-05T09:00:00Z")
    kept = api.patch(url, {}, format="json").json()
    assert (kept["status"], kept["responded_at"]) == ("responded", "2026-11-05T09:00:00Z")


@freeze_time("2026-11-20 10:00")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "sent", "responded_at": "2026-11-03T14:30:00Z"}, "responded_at"),
        ({"status": "responded", "responded_at": None}, "responded_at"),
        ({"status": "responded", "responded_at": "1800-01-01T00:00:00Z"}, "responded_at"),
        ({"status": "responded", "responded_at": "soon"}, "responded_at"),
        ({"status": "responded", "responded_at": "2199-12-30T12:00:00Z"}, "responded_at"),  # in the future
        ({"status": "bounced"}, "status"),
        ({"responded_at": "2026-11-03T14:30:00Z"}, "responded_at"),  # the status stays sent: no responded day
    ],
)
def test_a_refused_member_status_is_a_400_naming_the_field(org: Org, api_client_for, body: dict[str, object],
                                                           field: str) -> None:  # fmt: skip
    member = services.member_add(actor=org.ops, campaign=campaign(org), contact_id=ContactFactory.create().pk)
    response = api_client_for(org.ops).patch(f"/api/v1/signals/campaign-members/{member.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    member.refresh_from_db()
    assert (member.status, member.responded_at) == ("sent", None)


def test_only_sales_ops_set_a_members_status_through_the_api(org: Org, api_client_for) -> None:
    c = campaign(org)
    mine = services.member_add(actor=org.ops, campaign=c, contact_id=ContactFactory.create(owner=org.rep_a).pk)
    theirs = services.member_add(actor=org.ops, campaign=c, contact_id=ContactFactory.create(owner=org.rep_c).pk)
    body = {"status": "responded", "responded_at": "2026-11-03T14:30:00Z"}
    for person in (org.rep_a, org.manager_east, org.finance, org.director):
        api = api_client_for(person)
        for pk in (mine.pk, theirs.pk, 999999):  # as the page: 403 whatever the member, a missing one included
            assert api.patch(f"/api/v1/signals/campaign-members/{pk}/", body, format="json").status_code == 403
    # a rep reads their own contact's membership, not another rep's
    assert api_client_for(org.rep_a).get(f"/api/v1/signals/campaign-members/{mine.pk}/").json()["status"] == "sent"
    assert api_client_for(org.rep_a).get(f"/api/v1/signals/campaign-members/{theirs.pk}/").status_code == 404
    assert not CampaignMember.objects.filter(status="responded").exists()
    ops = api_client_for(org.ops)
    assert ops.patch("/api/v1/signals/campaign-members/999999/", body, format="json").status_code == 404
    assert ops.put(f"/api/v1/signals/campaign-members/{mine.pk}/", body, format="json").status_code == 405


@freeze_time("2026-11-20 10:00")
def test_member_import_xlsx_through_the_page(org: Org) -> None:
    campaign(org)
    ContactFactory.create(email="cy@example.com", owner=org.rep_a)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Campaign", "Email", "Status", "Responded"])
    sheet.append(["Autumn webinar", "cy@example.com", "responded", dt.datetime(2026, 11, 2)])
    sheet.append(["Autumn webinar", "zed@example.com", "sent", None])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("members.xlsx", buffer.getvalue())
    page = client_for(org.ops).post(reverse("signals:campaign_member_import"), {"file": upload})
    assert page.status_code == 200 and "Nothing was imported" in page.text
    assert (
        "no lead or contact has the e-mail address zed@example.com" in page.text
        and '<td class="num">3</td>' in page.text
    )
    assert CampaignMember.objects.count() == 0
    assert client_for(org.rep_a).get(reverse("signals:campaign_member_import")).status_code == 403


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])  # UTC, UTC+14, UTC-12
def test_member_import_again_unchanged_in_any_company_time_zone(org: Org, settings: Any, zone: str) -> None:
    """A responded day is kept as noon company time; read back, it is the same day wherever the company is (its UTC
    date is 2 Nov in Kiritimati and 4 Nov at UTC-12), so importing the same file again updates nobody."""
    settings.TIME_ZONE = zone
    campaign(org)
    ContactFactory.create(email="ann@example.com", owner=org.rep_a)
    ContactFactory.create(email="bob@example.com", owner=org.rep_b)
    content = _csv([["Campaign", "Email", "Status", "Responded"],
                    ["Autumn webinar", "ann@example.com", "responded", "3 Nov 2026"],
                    ["Autumn webinar", "bob@example.com", "sent", ""]])  # fmt: skip
    ops = client_for(org.ops)
    url = reverse("signals:campaign_member_import")
    with freeze_time("2026-11-20 10:00"):
        first = ops.post(url, {"file": SimpleUploadedFile("members.csv", content, "text/csv")})
        again = ops.post(url, {"file": SimpleUploadedFile("members.csv", content, "text/csv")})
    assert "members.csv: 2 members added, 0 updated, 0 unchanged." in first.text
    assert "members.csv: 0 members added, 0 updated, 2 unchanged." in again.text
    ann = CampaignMember.objects.get(status="responded")
    assert ann.responded_at is not None and timezone.localdate(ann.responded_at) == dt.date(2026, 11, 3)
    # A changed day is still an update.
    moved = content.replace(b"3 Nov 2026", b"4 Nov 2026")
    with freeze_time("2026-11-20 10:00"):
        result = services.member_import(actor=org.ops, file_name="members.csv", content=moved)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)


# ------------------------------------------------------------------------------------------------ attribution
@pytest.fixture
def touched(org: Org) -> dict[str, object]:
    """Two campaigns touching two won deals (rep_a's, rep_c's) and an open one of rep_b's in fiscal 2026."""
    stages = default_stages()
    won = stages["Closed Won"]
    webinar = campaign(org, "Webinar", cost="1000")
    event = campaign(org, "Event", type="event", start_date=dt.date(2026, 3, 1), end_date=dt.date(2026, 3, 2),
                     cost="4000")  # fmt: skip
    a = DealFactory.create(owner=org.rep_a, stage=won, amount=Decimal("10000.00"), created_date=dt.date(2026, 2, 1),
                           close_date=dt.date(2026, 5, 10))  # fmt: skip
    c = DealFactory.create(owner=org.rep_c, stage=won, amount=Decimal("3000.00"), created_date=dt.date(2026, 2, 1),
                           close_date=dt.date(2026, 8, 1))  # fmt: skip
    b = DealFactory.create(owner=org.rep_b, amount=Decimal("999.99"), created_date=dt.date(2026, 4, 1),
                           close_date=dt.date(2026, 12, 20))  # fmt: skip
    add = services.touch_add
    add(actor=org.ops, campaign=webinar, deal_id=a.pk, touched_at=dt.date(2026, 1, 20))  # sources a
    add(actor=org.ops, campaign=event, deal_id=a.pk, touched_at=dt.date(2026, 3, 1))
    add(actor=org.ops, campaign=event, deal_id=a.pk, touched_at=dt.date(2026, 6, 1))  # after a was won: not counted
    add(actor=org.ops, campaign=event, deal_id=c.pk, touched_at=dt.date(2026, 1, 25))  # sources c
    add(actor=org.ops, campaign=webinar, deal_id=b.pk, touched_at=dt.date(2026, 4, 5))  # influences b only
    return {"webinar": webinar, "event": event, "a": a, "b": b, "c": c}


@freeze_time("2026-11-20 10:00")
def test_attribution_numbers_for_finance(org: Org, touched: dict[str, object]) -> None:
    report = selectors.attribution(org.finance, fiscal_year=2026, model="linear", today=TODAY)
    rows = {r.name: r for r in report.rows}
    web, event = rows["Webinar"], rows["Event"]
    assert web.attributed_pipeline == Decimal("5999.99") and event.attributed_pipeline == Decimal("8000.00")
    assert web.attributed_bookings == Decimal("5000.00") and event.attributed_bookings == Decimal("8000.00")
    assert web.sourced_pipeline == Decimal("10000.00") and web.sourced_opportunities == 1
    assert event.sourced_pipeline == Decimal("3000.00") and event.influenced_pipeline == Decimal("13000.00")
    assert web.influenced_pipeline == Decimal("10999.99") and web.opportunities == 2
    assert web.cost_per_opportunity == Decimal("500.00") and web.return_share == Decimal(5)
    assert event.return_share == Decimal(2)
    # the quarter table: pipeline by created quarter, bookings by close quarter
    periods = {p.label: p for p in report.periods}
    assert periods["2026-Q1"].pipeline_total == Decimal("13000.00")
    assert periods["2026-Q2"].pipeline_total == Decimal("999.99") and periods["2026-Q2"].bookings_total == Decimal(
        "10000.00"
    )
    assert periods["2026-Q3"].bookings_total == Decimal("3000.00")
    w = {r.name: r for r in selectors.attribution(org.finance, fiscal_year=2026, model="w_shaped", today=TODAY).rows}
    assert w["Webinar"].attributed_bookings == Decimal("6666.67") and w["Event"].attributed_bookings == Decimal(
        "6333.33"
    )


@freeze_time("2026-11-20 10:00")
def test_attribution_scope_pages_export_and_api(org: Org, touched: dict[str, object], api_client_for) -> None:
    east = {
        r.name: r for r in selectors.attribution(org.manager_east, fiscal_year=2026, model="first", today=TODAY).rows
    }
    assert east["Event"].attributed_pipeline == Decimal("0.00")  # rep_c's deal is the west's
    assert east["Webinar"].attributed_pipeline == Decimal("10999.99")
    url = reverse("signals:attribution")
    assert client_for(org.rep_a).get(url).status_code == 403
    assert client_for(org.rep_a).get(reverse("signals:attribution_export")).status_code == 403
    page = client_for(org.manager_west).get(url, {"year": "2026", "model": "first"})
    assert page.status_code == 200 and "3,000.00" in page.text and "10,000.00" not in page.text
    assert "data-chart" in page.text
    export = client_for(org.ops).get(reverse("signals:attribution_export"), {"year": "2026", "model": "linear"})
    lines = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))  # type: ignore[attr-defined]
    by_name = {line[0]: line for line in lines[1:]}
    assert lines[0][3] == "Attributed pipeline (Linear)" and by_name["Webinar"][3] == "5999.99"
    assert lines[0][-1] == "Return (won bookings ÷ cost)" and by_name["Webinar"][-1] == "5.0000"  # a number: 500 %
    api = api_client_for(org.finance).get("/api/v1/signals/attribution/", {"year": 2026, "model": "u_shaped"})
    assert api.status_code == 200
    assert {c["name"]: c["attributed_bookings"] for c in api.json()["campaigns"]} == {
        "Event": "8000.00",
        "Webinar": "5000.00",
    }
    assert api_client_for(org.rep_a).get("/api/v1/signals/attribution/").status_code == 403


@freeze_time("2026-11-20 10:00")
def test_touches_by_hand_on_the_campaign_page_and_api(org: Org) -> None:
    c = campaign(org)
    deal = DealFactory.create(owner=org.rep_a, name="Acme renewal")
    ops = client_for(org.ops)
    options = ops.get(reverse("signals:campaign_deal_search"), {"q": "Acme"})
    assert f'value="{deal.pk}"' in options.text
    ops.post(reverse("signals:campaign_touch_add", args=[c.pk]), {"deal": deal.pk, "touched_at": "2026-11-02"})
    touch = CampaignTouch.objects.get()
    assert touch.deal_id == deal.pk and touch.contact_id == deal.contact_id
    page = client_for(org.rep_a).get(reverse("signals:campaign_detail", args=[c.pk]))
    assert "Acme renewal" in page.text and "2 Nov 2026" in page.text
    # another rep reads the campaign but not the deal: the touch is counted, not named
    other = client_for(org.rep_b).get(reverse("signals:campaign_detail", args=[c.pk]))
    assert "Acme renewal" not in other.text and "on deals outside your view are not listed" in other.text
    with pytest.raises(DomainError, match="There is no deal 999999"):
        services.touch_add(actor=org.ops, campaign=c, deal_id=999999, touched_at=TODAY)
    ops.post(reverse("signals:campaign_touch_remove", args=[touch.pk]))
    assert not CampaignTouch.objects.exists()


@freeze_time("2026-11-20 10:00")
def test_attribution_filters_answer_a_fragment_and_the_api_writes(org: Org, touched: dict[str, object],
                                                                  api_client_for) -> None:  # fmt: skip
    fragment = client_for(org.ops).get(reverse("signals:attribution"), {"year": "2026", "model": "last", "by": "month"},
                                       headers={"HX-Request": "true"})  # fmt: skip
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Last touch" in fragment.text and "2026-05" in fragment.text  # the month periods
    api = api_client_for(org.ops)
    made = api.post("/api/v1/signals/campaigns/", {"name": "API campaign", "type": "paid", "status": "active",
                    "start_date": "2026-02-01", "end_date": "2026-02-28", "cost": "250.00", "owner": org.ops.pk},
                    format="json")  # fmt: skip
    assert made.status_code == 201, made.content
    clash = api.post("/api/v1/signals/campaigns/", {"name": "api CAMPAIGN", "start_date": "2026-02-01",
                     "end_date": "2026-02-28", "cost": "1", "owner": org.ops.pk}, format="json")  # fmt: skip
    assert clash.status_code == 400 and "exists already" in clash.json()["detail"]
    deal = touched["b"]
    touch = api.post("/api/v1/signals/campaign-touches/", {"campaign": made.json()["id"], "deal_id": deal.pk,  # type: ignore[attr-defined]
                     "touched_at": "2026-04-10T12:00:00Z"}, format="json")  # fmt: skip
    assert touch.status_code == 201, touch.content
    rep_view = api_client_for(org.rep_a).get("/api/v1/signals/campaign-touches/").json()
    rows = rep_view["results"] if isinstance(rep_view, dict) else rep_view
    assert {r["deal_id"] for r in rows} == {touched["a"].pk}  # type: ignore[attr-defined]  # only their own deal's
    assert api_client_for(org.rep_a).post("/api/v1/signals/campaigns/", {"name": "x"}).status_code == 403


@freeze_time("2026-11-20 10:00")
def test_lists_read_a_fixed_number_of_queries(org: Org) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = campaign(org, "One")
    deals = [DealFactory.create(owner=org.rep_a) for _ in range(6)]
    contacts = [ContactFactory.create(owner=org.rep_a, email=f"p{i}@example.com") for i in range(6)]

    def counted(url: str) -> int:
        client = client_for(org.ops)
        client.get(url)  # warm: session, fiscal calendar
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    services.touch_add(actor=org.ops, campaign=first, deal_id=deals[0].pk, touched_at=TODAY)
    services.member_add(actor=org.ops, campaign=first, contact_id=contacts[0].pk)
    detail = reverse("signals:campaign_detail", args=[first.pk])
    few_detail, few_list = counted(detail), counted(reverse("signals:campaign_list"))
    for i, deal in enumerate(deals[1:], start=1):
        services.touch_add(actor=org.ops, campaign=first, deal_id=deal.pk, touched_at=TODAY)
        services.member_add(actor=org.ops, campaign=first, contact_id=contacts[i].pk)
        campaign(org, f"More {i}")
    assert counted(detail) == few_detail
    assert counted(reverse("signals:campaign_list")) == few_list


def test_adding_a_member_by_an_address_with_a_nul_is_an_error_in_words_not_500(org: Org) -> None:
    c = campaign(org)
    response = client_for(org.ops).post(f"/signals/campaigns/{c.pk}/members/", {"email": "ann\x00@example.com"})
    assert (
        response.status_code == 400 and "The field &#x27;email&#x27; contains a NUL byte" in response.content.decode()
    )
    assert not c.members.exists()


@freeze_time("2026-11-20 10:00")
def test_cost_per_opportunity_is_the_campaigns_whoever_reads(org: Org, touched: dict[str, object]) -> None:
    """The event (4,000.00) touched two deals created in 2026, rep_a's (east) and rep_c's (west): 2,000.00 per
    opportunity for finance and for each manager, not its whole cost over one manager's single opportunity."""
    old = campaign(org, "Last year's fair", type="event", start_date=dt.date(2025, 3, 1),
                   end_date=dt.date(2025, 3, 2), cost="900")  # fmt: skip
    services.touch_add(actor=org.ops, campaign=old, deal_id=touched["a"].pk, touched_at=dt.date(2026, 1, 5))  # type: ignore[attr-defined]
    for reader in (org.finance, org.manager_west, org.manager_east):
        rows = {r.name: r for r in selectors.attribution(reader, fiscal_year=2026, today=TODAY).rows}
        assert rows["Event"].cost == Decimal("4000.00") and rows["Event"].cost_per_opportunity == Decimal("2000.00")
        assert rows["Webinar"].cost_per_opportunity == Decimal("500.00")  # 1,000.00 over rep_a's and rep_b's deals
    west = {r.name: r for r in selectors.attribution(org.manager_west, fiscal_year=2026, today=TODAY).rows}
    assert west["Event"].opportunities == 1 and west["Webinar"].opportunities == 0
    # a campaign of another year that touched only the east's deals is no row of the west's
    assert "Last year's fair" not in west
    page = client_for(org.manager_west).get(reverse("signals:attribution"), {"year": "2026"})
    assert '<td class="num">1</td><td class="num">2,000.00</td>' in page.text
    assert "Last year" not in page.text
    api = client_for(org.manager_west).get("/api/v1/signals/attribution/", {"year": 2026})
    assert {c["name"]: c["cost_per_opportunity"] for c in api.json()["campaigns"]}["Event"] == "2000.00"
