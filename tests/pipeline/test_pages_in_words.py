"""What a rep or manager reads on the pipeline pages: no "None" for a missing figure, percentages stored in points
as "62.5 %" (not "62.50 %"), and counts that agree with their noun ("1 lead", not "1 leads")."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import Lead
from salesops.api import DomainError
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    """The page's words, tags stripped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_an_account_without_a_head_count_shows_a_dash_not_none(client_for, org):
    account = AccountFactory.create(name="Quiet Co", owner=org.rep_a, employees=None)
    DealFactory.create(account=account, owner=org.rep_a)
    text = text_of(client_for(org.rep_a).get(reverse("pipeline:account_detail", args=[account.pk])).content.decode())
    assert "Employees — " in text
    assert "None" not in text


def test_a_deals_probability_and_splits_read_as_percentages(client_for, org):
    stage = default_stages()["Discovery"]
    deal = DealFactory.create(name="Points", owner=org.rep_a, stage=stage, amount=Decimal("1000.00"))
    services.deal_set_splits(
        actor=org.rep_a,
        deal=deal,
        splits=[services.SplitSpec(org.rep_a, Decimal("62.5")), services.SplitSpec(org.rep_b, Decimal("37.5"))],
    )
    client = client_for(org.manager_east)
    text = text_of(client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode())
    assert f"Probability {stage.probability.normalize():f} % (stage)" in text  # the stage's, e.g. "40 % (stage)"
    assert "62.5 %" in text and "37.5 %" in text
    assert not re.search(r"\d\.\d0 %", text), text
    deal.probability = Decimal("62.50")
    deal.save(update_fields=["probability"])
    text = text_of(client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode())
    assert "Probability 62.5 %" in text


def test_list_counts_agree_with_their_noun(client_for, org):
    AccountFactory.create(name="Only Co", owner=org.rep_a)
    Lead.objects.create(last_name="Solo", company="Only Co", owner=org.rep_a)
    client = client_for(org.rep_a)
    leads = text_of(client.get(reverse("pipeline:lead_list")).content.decode())
    assert "1 lead · page 1 of 1" in leads
    accounts = text_of(client.get(reverse("pipeline:account_list")).content.decode())
    assert "1 account · page 1 of 1" in accounts
    Lead.objects.create(last_name="Duo", company="Two Co", owner=org.rep_a)
    assert "2 leads · page 1 of 1" in text_of(client.get(reverse("pipeline:lead_list")).content.decode())


def test_refusals_name_their_days_in_words_on_the_companys_calendar(org, settings):
    """A lead converted late in the evening, company time, was converted that day (not the next, as in UTC); a
    cancellation before the close date names both days as every page does."""
    settings.TIME_ZONE = "America/Los_Angeles"
    evening = dt.datetime(2026, 12, 5, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    lead = Lead.objects.create(last_name="Late", company="Late Co", owner=org.rep_a, status="converted",
                               converted_at=evening)  # fmt: skip
    with pytest.raises(DomainError, match=r"was converted on 5 Dec 2026 already\."):
        services.lead_convert(actor=org.rep_a, lead=lead)
    won = DealFactory.create(owner=org.rep_a, stage=default_stages()["Closed Won"], close_date=dt.date(2026, 3, 5))
    with pytest.raises(DomainError, match=r"the cancellation date 1 Mar 2026 is before the close date 5 Mar 2026\."):
        services.deal_cancel(actor=org.rep_a, deal=won, on=dt.date(2026, 3, 1), reason="Withdrew")
