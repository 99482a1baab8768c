"""What an audit of the pipeline's read surfaces found: an account list and export counting another team's deals on
a shared account, sorted pages that repeated some deals and never showed others, the deal page showing the stage's
category over the deal's override, a weighted total that was not the sum of its rows, and exported moments dated
in UTC rather than the company's time zone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.test import override_settings
from django.urls import reverse

from pipeline.models import Deal, Lead
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(org):
    """Globex is rep_c's (West) and carries one deal of rep_a (East) and three of rep_c."""
    won = next(s for s in default_stages().values() if s.is_won)
    account = AccountFactory.create(name="Globex", owner=org.rep_c)
    DealFactory.create(name="Mine", owner=org.rep_a, account=account, amount=Decimal("100"))
    DealFactory.create(name="Theirs open", owner=org.rep_c, account=account, amount=Decimal("5000"))
    DealFactory.create(name="Theirs open 2", owner=org.rep_c, account=account, amount=Decimal("5000"))
    DealFactory.create(
        name="Theirs won", owner=org.rep_c, account=account, stage=won, amount=Decimal("98765"),
        close_date=dt.date(2026, 1, 5),
    )  # fmt: skip
    return account


def _globex_cells(html: str) -> list[str]:
    row = html.split(">Globex</a>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r'<td class="num">([^<]*)</td>', row)


def test_the_account_list_counts_the_deals_the_viewer_may_see(org, client_for, shared):
    assert _globex_cells(client_for(org.rep_a).get(reverse("pipeline:account_list")).content.decode()) == ["1", "0"]
    # Sales ops see every deal on it.
    assert _globex_cells(client_for(org.ops).get(reverse("pipeline:account_list")).content.decode()) == [
        "3",
        "98,765",
    ]


def test_the_account_export_counts_the_deals_the_viewer_may_see(org, client_for, shared):
    response = client_for(org.manager_east).get(reverse("pipeline:account_list"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    globex = next(row for row in rows if row["Account"] == "Globex")
    assert globex["Open deals"] == "1"
    assert globex["Won amount"] in ("", "0", "0.00")


@pytest.mark.parametrize("ordering", ["stage", "owner", "-amount", "account"])
def test_sorted_pages_show_every_deal_once(org, client_for, ordering):
    account = AccountFactory.create(name="Same")
    for i in range(60):
        DealFactory.create(owner=org.rep_a, name=f"D{i:03d}", account=account, amount=Decimal("100"))
    client = client_for(org.rep_a)
    seen: list[str] = []
    for page in range(1, 7):
        html = client.get(
            reverse("pipeline:deal_list"), {"ordering": ordering, "per_page": 10, "page": page}
        ).content.decode()
        seen += re.findall(r">(D\d{3})</a>", html)
    assert sorted(seen) == [f"D{i:03d}" for i in range(60)]


def test_sorted_api_pages_show_every_deal_once(org, api_client_for):
    for i in range(400):
        DealFactory.create(owner=org.rep_a, name=f"D{i:03d}", amount=Decimal("100"))
    api = api_client_for(org.rep_a)
    seen: list[int] = []
    for page in range(1, 9):  # 50 a page
        seen += [d["id"] for d in api.get("/api/v1/deals/", {"ordering": "stage", "page": page}).json()["results"]]
    assert len(seen) == len(set(seen)) == 400


def test_the_deal_page_shows_the_deals_own_category_to_finance(org, client_for):
    deal = DealFactory.create(owner=org.rep_a)
    Deal.objects.filter(pk=deal.pk).update(category_override="commit")
    page = client_for(org.finance).get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    shown = re.search(r"<dt>Forecast category</dt>\s*<dd>(.*?)</dd>", page, re.S)
    assert shown and "Commit" in shown.group(1) and "override" in shown.group(1)


def test_the_weighted_total_is_the_sum_of_the_rows(org, client_for):
    for i in range(10):
        DealFactory.create(owner=org.rep_a, name=f"W{i}", amount=Decimal("333.33"), probability=Decimal("33"))
    html = client_for(org.rep_a).get(reverse("pipeline:deal_list")).content.decode()
    assert html.count(">110.00</td>") == 10  # 333.33 × 33 % = 109.9989 each, shown 110.00
    total = re.search(r'data-testid="total-weighted">([\d,.]+)<', html)
    assert total and total.group(1) == "1,100.00"


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_exported_moments_are_the_companys_days(org, client_for):
    """A lead created at 04:00 UTC on 1 March was created on 28 February in Los Angeles."""
    lead = Lead.objects.create(last_name="Bolton", company="Penetrode", owner=org.rep_a)
    Lead.objects.filter(pk=lead.pk).update(created_at=dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC))
    client = client_for(org.ops)
    answer = client.get(reverse("pipeline:lead_list"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert rows[0]["Created"] == "2026-02-28T20:00:00-08:00"
    answer = client.get(reverse("pipeline:lead_list"), {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)), read_only=True).worksheets[0]
    created = list(sheet.iter_rows(values_only=True))[1][-1]
    assert created.date() == dt.date(2026, 2, 28)
