"""Pipeline pages: scope (404), role (403), lists with filters in the URL, the board, inline edits, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.models import Account, Deal, DealChange
from tests.factories import AccountFactory, ContactFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(org):
    stages = default_stages()
    return {
        "a1": DealFactory.create(name="Alpha", owner=org.rep_a, amount=Decimal("100.00")),
        "a2": DealFactory.create(name="Bravo", owner=org.rep_a, amount=Decimal("250.50"), stage=stages["Discovery"]),
        "b1": DealFactory.create(name="Charlie", owner=org.rep_b, amount=Decimal("1000.00"), stage=stages["Discovery"]),
        "c1": DealFactory.create(name="Delta", owner=org.rep_c, amount=Decimal("5000.00")),
        "won": DealFactory.create(name="Echo", owner=org.rep_a, stage=stages["Closed Won"]),
    }


def names_in(html: str, candidates=("Alpha", "Bravo", "Charlie", "Delta", "Echo")) -> set[str]:
    return {n for n in candidates if f">{n}<" in html}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep_a", {"Alpha", "Bravo", "Echo"}),
        ("mgr_east", {"Alpha", "Bravo", "Charlie", "Echo"}),
        ("director", {"Alpha", "Bravo", "Charlie", "Delta", "Echo"}),
        ("fin", {"Alpha", "Bravo", "Charlie", "Delta", "Echo"}),
        ("ops_admin", {"Alpha", "Bravo", "Charlie", "Delta", "Echo"}),
    ],
)
def test_deal_list_scope_per_role(client_for, org, deals, who, expected):
    user = next(u for u in vars(org).values() if u.username == who)
    html = client_for(user).get(reverse("pipeline:deal_list"), {"status": ""}).content.decode()  # any status
    assert names_in(html) == expected


def test_deal_list_filters_sort_and_share_by_url(client_for, org, deals):
    client = client_for(org.manager_east)
    stage = default_stages()["Discovery"]
    html = client.get(reverse("pipeline:deal_list"), {"stage": stage.pk, "ordering": "-amount"}).content.decode()
    assert names_in(html) == {"Bravo", "Charlie"}
    assert html.index(">Charlie<") < html.index(">Bravo<")
    html = client.get(reverse("pipeline:deal_list"), {"q": "alph"}).content.decode()
    assert names_in(html) == {"Alpha"}
    html = client.get(reverse("pipeline:deal_list"), {"min_amount": "200", "status": "open"}).content.decode()
    assert names_in(html) == {"Bravo", "Charlie"}


def test_owner_filter_offers_only_people_in_scope(client_for, org, deals):
    html = client_for(org.manager_east).get(reverse("pipeline:deal_list")).content.decode()
    assert org.rep_a.display_name in html
    assert org.rep_c.display_name not in html


def test_deal_list_query_count_is_the_same_for_10_or_100_rows(client_for, org):
    for n in range(100):
        DealFactory.create(name=f"Bulk {n}", owner=org.rep_a, account=AccountFactory.create())
    client = client_for(org.manager_east)
    client.get(reverse("pipeline:deal_list"))  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as ten:
        client.get(reverse("pipeline:deal_list"), {"per_page": 10})
    with CaptureQueriesContext(connection) as hundred:
        client.get(reverse("pipeline:deal_list"), {"per_page": 100})
    assert len(ten) == len(hundred)


def test_deal_page_outside_scope_is_404_and_finance_reads_only(client_for, org, deals):
    url = reverse("pipeline:deal_detail", args=[deals["c1"].pk])
    assert client_for(org.manager_east).get(url).status_code == 404
    finance = client_for(org.finance)
    assert finance.get(url).status_code == 200
    move = reverse("pipeline:deal_move", args=[deals["c1"].pk])
    assert finance.post(move, {"stage": default_stages()["Discovery"].pk}).status_code == 403
    deals["c1"].refresh_from_db()
    assert deals["c1"].stage.name == "Prospecting"


def test_deal_page_shows_timeline(client_for, org):
    deal = services.deal_create(actor=org.rep_a, name="Foxtrot", owner=org.rep_a, amount="10")
    services.deal_update(actor=org.rep_a, deal=deal, amount="20")
    client = client_for(org.rep_a)
    client.post(reverse("pipeline:deal_activity_add", args=[deal.pk]), {"kind": "call", "subject": "Kickoff call"})
    html = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert "10.00 → 20.00" in html
    assert "Call: Kickoff call" in html
    assert "Deal created" in html


def test_inline_edit_saves_one_field_and_reports_errors(client_for, org, deals):
    client = client_for(org.rep_a)
    url = reverse("pipeline:deal_field", args=[deals["a1"].pk, "amount"])
    form_html = client.get(url, {"edit": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="amount"' in form_html
    response = client.post(url, {"amount": "123.45"}, HTTP_HX_REQUEST="true")
    assert "123.45" in response.content.decode()
    assert DealChange.objects.filter(deal=deals["a1"], field="amount", new_value="123.45").exists()
    response = client.post(url, {"amount": "-1"}, HTTP_HX_REQUEST="true")
    assert "Alpha: the amount may not be negative (-1.00)." in response.content.decode()
    deals["a1"].refresh_from_db()
    assert deals["a1"].amount == Decimal("123.45")


def test_inline_edit_refused_to_a_rep_on_someone_elses_deal(client_for, org, deals):
    url = reverse("pipeline:deal_field", args=[deals["b1"].pk, "amount"])
    assert client_for(org.rep_a).post(url, {"amount": "1"}).status_code == 404
    assert client_for(org.finance).post(url, {"amount": "1"}).status_code == 403


def test_board_columns_count_and_sum_in_scope(client_for, org, deals):
    html = client_for(org.manager_east).get(reverse("pipeline:board")).content.decode()
    # Discovery holds Bravo (250.50) and Charlie (1000) for the East manager; Delta is West's.
    discovery = html.split('data-testid="column-discovery"')[1].split("</section>")[0]
    assert '<span data-testid="count">2</span>' in discovery
    assert '<span data-testid="amount">1,251</span>' in discovery
    assert ">Delta<" not in html


def test_board_move_through_htmx_reports_missing_criteria(client_for, org, deals):
    client = client_for(org.rep_a)
    deals["a1"].account = None
    deals["a1"].save()
    url = reverse("pipeline:deal_move", args=[deals["a1"].pk])
    response = client.post(url, {"stage": default_stages()["Qualification"].pk}, HTTP_HX_REQUEST="true")
    assert "cannot enter Qualification: it needs an account" in response.content.decode()
    assert response["HX-Trigger"] == "deal-move-refused"
    # A drop on the lost column asks why first; the answer, with a reason from the list, moves it.
    lost = default_stages()["Closed Lost"].pk
    response = client.post(url, {"stage": lost}, HTTP_HX_REQUEST="true")
    assert 'data-testid="lost-form"' in response.content.decode() and "HX-Trigger" not in response
    response = client.post(url, {"stage": lost, "asked": "1", "lost_reason": "Price"}, HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "deal-moved"
    deals["a1"].refresh_from_db()
    assert deals["a1"].status == "lost" and deals["a1"].lost_reason == "Price"


def test_deal_export_csv_and_xlsx_neutralise_formulas(client_for, org, deals):
    deals["a1"].name = '=HYPERLINK("http://evil")'
    deals["a1"].save()
    # A rep exports their statement only (docs/roles.md): no list export, no button.
    rep = client_for(org.rep_a)
    assert rep.get(reverse("pipeline:deal_list"), {"export": "csv"}).status_code == 403
    assert 'data-testid="export-csv"' not in rep.get(reverse("pipeline:deal_list")).content.decode()
    for name in ("pipeline:account_list", "pipeline:lead_list", "org:person_list"):
        assert rep.get(reverse(name), {"export": "xlsx"}).status_code == 403, name
    client = client_for(org.manager_east)  # the subtree's deals: rep_a's and rep_b's
    assert 'data-testid="export-csv"' in client.get(reverse("pipeline:deal_list")).content.decode()
    query = {"export": "csv", "status": ""}  # every status (the list opens on open deals)
    body = b"".join(client.get(reverse("pipeline:deal_list"), query).streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["Deal"] for r in rows} == {'\'=HYPERLINK("http://evil")', "Bravo", "Charlie", "Echo"}
    assert {r["Amount"] for r in rows if r["Deal"] == "Bravo"} == {"250.50"}
    response = client.get(reverse("pipeline:deal_list"), {"export": "xlsx", "q": "HYPERLINK"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.cell(2, 3).value == '\'=HYPERLINK("http://evil")'
    assert sheet.cell(2, 3).data_type == "s"


def test_list_exports_speak_the_pages_words_not_codes(client_for, org, deals):
    """A spreadsheet reader got "best_case", "open" and "forecast_category"; the pages say "Best case"."""
    deals["a2"].deal_type = "expansion"
    deals["a2"].save()
    client = client_for(org.ops)
    body = b"".join(client.get(reverse("pipeline:deal_list"), {"export": "csv", "status": ""}).streaming_content)
    rows = {r["Deal"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert list(rows["Bravo"])[:3] == ["Deal id", "External id", "Deal"]
    bravo, echo = rows["Bravo"], rows["Echo"]
    assert (bravo["Status"], bravo["Forecast category"], bravo["Stage"], bravo["Type"]) == (
        "Open", deals["a2"].stage.get_forecast_category_display(), "Discovery", "Expansion")  # fmt: skip
    assert (echo["Status"], echo["Forecast category"]) == ("Won", "Closed")
    body = b"".join(client.get(reverse("org:person_list"), {"export": "csv"}).streaming_content)
    people = {r["Login"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert (people["rep_a"]["Roles"], people["rep_a"]["Active"]) == ("Rep", "true")
    assert people["mgr_east"]["Manager"] == org.director.display_name


def test_setup_quality_pages_are_sales_ops_only(client_for, org):
    for name in ("pipeline:setup", "pipeline:data_quality"):
        assert client_for(org.manager_east).get(reverse(name)).status_code == 403
        assert client_for(org.finance).get(reverse(name)).status_code == 403
        assert client_for(org.ops).get(reverse(name)).status_code == 200


def test_data_quality_page_finds_problems_and_merges(client_for, org):
    keep = AccountFactory.create(name="Acme Corp")
    dup = AccountFactory.create(name="ACME Corporation")
    DealFactory.create(name="Late", owner=org.rep_a, close_date="2020-01-01", account=dup)
    ahead = timezone.localdate() + dt.timedelta(days=30)  # not past its close date, whatever the day
    DealFactory.create(name="Nothing", owner=org.rep_a, amount=None, account=None, close_date=ahead)
    client = client_for(org.ops)
    html = client.get(reverse("pipeline:data_quality")).content.decode()
    assert '<span class="stat-value" data-testid="dq-past">1</span>' in html
    assert '<span class="stat-value" data-testid="dq-missing">1</span>' in html
    assert '<span class="stat-value" data-testid="dq-dup-accounts">1</span>' in html
    response = client.post(reverse("pipeline:merge"), {"kind": "account", "keep": keep.pk, "duplicate": dup.pk})
    assert response.status_code == 302
    assert not Account.objects.filter(pk=dup.pk).exists()
    assert Deal.objects.get(name="Late").account == keep


def test_lead_convert_page(client_for, org):
    client = client_for(org.rep_a)
    client.post(reverse("pipeline:lead_add"), {"last_name": "Gibbons", "company": "Chotchkies"})
    lead = org.rep_a.leads.get()
    response = client.post(reverse("pipeline:lead_convert", args=[lead.pk]),
                           {"create_deal": "on", "deal_name": "Flair", "amount": "300"})  # fmt: skip
    deal = Deal.objects.get(name="Flair")
    assert response.status_code == 302 and response["Location"] == reverse("pipeline:deal_detail", args=[deal.pk])
    assert deal.account is not None
    assert deal.account.name == "Chotchkies" and deal.owner == org.rep_a
    assert client_for(org.rep_c).get(reverse("pipeline:lead_convert", args=[lead.pk])).status_code == 404


def test_stage_setup_through_the_page(client_for, org):
    client = client_for(org.ops)
    pipeline = default_stages()["Prospecting"].pipeline
    response = client.post(reverse("pipeline:stage_create", args=[pipeline.pk]),
                           {"name": "Legal review", "probability": "90", "forecast_category": "commit",
                            "exit_criteria": ["amount", "contact"]})  # fmt: skip
    assert response.status_code == 302
    stage = pipeline.stages.get(name="Legal review")
    assert stage.exit_criteria == ["amount", "contact"]
    response = client.post(reverse("pipeline:stage_create", args=[pipeline.pk]),
                           {"name": "Odd", "probability": "50", "forecast_category": "closed"})  # fmt: skip
    assert "an open stage" in response.content.decode()


def test_account_pages_scope(client_for, org, deals):
    east_account = deals["a1"].account
    west_account = deals["c1"].account
    client = client_for(org.rep_a)
    assert client.get(reverse("pipeline:account_detail", args=[east_account.pk])).status_code == 200
    assert client.get(reverse("pipeline:account_detail", args=[west_account.pk])).status_code == 404
    ContactFactory.create(account=east_account, last_name="Visible")
    html = client.get(reverse("pipeline:account_detail", args=[east_account.pk])).content.decode()
    assert "Visible" in html


# ------------------------------------------------------------------------------------------ new deal
@pytest.mark.parametrize("who", ["rep_a", "mgr_east", "director", "ops_admin"])
def test_new_deal_page_opens_for_each_role_that_creates_deals(client_for, org, who):
    user = next(u for u in vars(org).values() if u.username == who)
    client = client_for(user)
    assert 'href="/pipeline/deals/new/"' in client.get(reverse("pipeline:deal_list")).content.decode()
    response = client.get(reverse("pipeline:deal_create"))
    assert response.status_code == 200  # it was a 500 (KeyError: 'contact') for every role
    html = response.content.decode()
    assert 'name="contact"' in html and 'name="stage"' in html


def test_finance_is_offered_no_new_deal_or_account_and_may_not_create_one(client_for, org):
    client = client_for(org.finance)
    assert "New deal" not in client.get(reverse("pipeline:deal_list")).content.decode()
    assert "New account" not in client.get(reverse("pipeline:account_list")).content.decode()
    assert client.get(reverse("pipeline:deal_create")).status_code == 403
    assert client.get(reverse("pipeline:account_create")).status_code == 403


@pytest.fixture
def initech(org):
    account = AccountFactory.create(name="Initech", owner=org.rep_a)
    return account, ContactFactory.create(account=account, first_name="Peter", last_name="Gibbons")


def new_deal(**values):
    return {"name": "TPS rollout", "amount": "1200", "close_date": "2026-12-15", "deal_type": "new",
            "stage": default_stages()["Negotiation"].pk, **values}  # fmt: skip


def test_new_deal_is_created_with_its_contact_in_a_stage_that_asks_for_one(client_for, org, initech):
    account, contact = initech
    client = client_for(org.rep_a)
    assert "Peter Gibbons · Initech" in client.get(reverse("pipeline:deal_create")).content.decode()
    # Negotiation needs an account, an amount, a close date and a primary contact.
    response = client.post(reverse("pipeline:deal_create"),
                           new_deal(account=account.pk, contact=contact.pk, owner=org.rep_a.pk))  # fmt: skip
    deal = Deal.objects.get(name="TPS rollout")
    assert response.status_code == 302 and response["Location"] == reverse("pipeline:deal_detail", args=[deal.pk])
    assert (deal.account, deal.contact, deal.stage, deal.owner) == (account, contact, default_stages()["Negotiation"],
                                                                    org.rep_a)  # fmt: skip
    assert deal.amount == Decimal("1200.00") and deal.status == "open"


def test_new_deal_takes_the_account_of_its_contact_when_none_is_chosen(client_for, org, initech):
    account, contact = initech
    client_for(org.rep_a).post(reverse("pipeline:deal_create"), new_deal(contact=contact.pk, owner=org.rep_a.pk))
    assert Deal.objects.get(name="TPS rollout").account == account


def test_new_deal_form_explains_what_is_wrong_instead_of_failing(client_for, org, initech):
    account, _ = initech
    other = ContactFactory.create(account=AccountFactory.create(name="Initrode", owner=org.rep_a), last_name="Lumbergh")
    client = client_for(org.rep_a)
    response = client.post(reverse("pipeline:deal_create"),
                           new_deal(account=account.pk, contact=other.pk, owner=org.rep_a.pk))  # fmt: skip
    assert response.status_code == 200
    assert f"{other} is a contact of Initrode, not of Initech." in response.content.decode()
    response = client.post(reverse("pipeline:deal_create"), new_deal(account=account.pk, owner=org.rep_a.pk))
    assert response.status_code == 200
    assert "TPS rollout cannot enter Negotiation: it needs a primary contact." in response.content.decode()
    # A contact of an account outside the rep's scope is not a choice.
    hidden = ContactFactory.create(account=AccountFactory.create(name="Hooli"), last_name="Belson")
    assert "Hooli" not in client.get(reverse("pipeline:deal_create")).content.decode()
    response = client.post(reverse("pipeline:deal_create"), new_deal(contact=hidden.pk, owner=org.rep_a.pk))
    assert response.status_code == 200 and "Select a valid choice." in response.content.decode()
    assert not Deal.objects.filter(name="TPS rollout").exists()


def test_account_page_links_only_the_related_accounts_its_reader_may_open(client_for, org, deals):
    east = deals["a1"].account
    east.parent = AccountFactory.create(name="Globex Holdings")  # neither owned by rep_a nor holding a deal of hers
    east.save()
    hidden = AccountFactory.create(name="Globex West", parent=east)
    shown = deals["a2"].account
    shown.parent = east
    shown.save()
    url = reverse("pipeline:account_detail", args=[east.pk])
    html = client_for(org.rep_a).get(url).content.decode()
    for account, linked in ((east.parent, False), (hidden, False), (shown, True)):
        assert account.name in html
        assert (f'href="{reverse("pipeline:account_detail", args=[account.pk])}"' in html) is linked, account.name
        status = client_for(org.rep_a).get(reverse("pipeline:account_detail", args=[account.pk])).status_code
        assert status == (200 if linked else 404)
    html = client_for(org.ops).get(url).content.decode()
    assert all(f'href="{reverse("pipeline:account_detail", args=[a.pk])}"' in html for a in (east.parent, hidden))


def test_new_account_left_without_owner_is_its_creators_and_opens_after_saving(client_for, org):
    client = client_for(org.rep_a)
    html = client.get(reverse("pipeline:account_create")).content.decode()
    assert org.rep_a.display_name in html and org.rep_b.display_name not in html  # owners a rep may choose: herself
    response = client.post(reverse("pipeline:account_create"), {"name": "Chotchkies", "owner": ""})
    account = Account.objects.get(name="Chotchkies")
    assert account.owner == org.rep_a  # it was saved without an owner, and its page answered her 404
    assert response.status_code == 302 and response["Location"] == reverse("pipeline:account_detail", args=[account.pk])
    assert client.get(response["Location"]).status_code == 200
    response = client.post(reverse("pipeline:account_create"), {"name": "Initrode", "owner": org.rep_c.pk})
    assert response.status_code == 200 and "Select a valid choice." in response.content.decode()
    client = client_for(org.manager_east)
    client.post(reverse("pipeline:account_create"), {"name": "Penetrode", "owner": org.rep_b.pk})
    assert Account.objects.get(name="Penetrode").owner == org.rep_b
