"""Response SLAs and the breached-leads sweep (docs/signals-leads.md): a lead routed at 09:00 from "Web" (SLA 30
minutes) is due at 09:30; at 09:29 it is not breached, at 09:30 it is; answered, converted or disqualified leads
never are; a source without a row falls back to the default ("any other source") row, and without a default row it
has no SLA."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError
from django.utils import timezone

from pipeline.models import Lead, LeadStatus
from signals.models import ResponseSla
from signals.selectors.leads import BreachedLead, breached_leads

pytestmark = pytest.mark.django_db

NINE = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _lead(owner, *, source="Web", routed_at=NINE, answered=None, status=LeadStatus.NEW, name="Lead"):
    return Lead.objects.create(
        last_name=name, company=f"{name} Ltd", owner=owner, source=source, routed_at=routed_at,
        first_response_at=answered, status=status,
        converted_at=timezone.now() if status == LeadStatus.CONVERTED else None,
    )  # fmt: skip


def test_due_time_is_routed_plus_the_sources_minutes(org) -> None:
    ResponseSla.objects.create(source="Web", minutes=30)
    lead = _lead(org.rep_a)
    assert breached_leads(NINE + dt.timedelta(minutes=29)) == []
    assert breached_leads(NINE + dt.timedelta(minutes=30)) == [
        BreachedLead(lead.pk, org.rep_a.pk, org.manager_east.pk, "Web", NINE, NINE + dt.timedelta(minutes=30))
    ]


def test_answered_closed_and_unrouted_leads_never_breach(org) -> None:
    ResponseSla.objects.create(source="Web", minutes=30)
    _lead(org.rep_a, answered=NINE + dt.timedelta(minutes=45), name="Answered late")
    _lead(org.rep_a, status=LeadStatus.CONVERTED, name="Converted")
    _lead(org.rep_a, status=LeadStatus.DISQUALIFIED, name="Disqualified")
    _lead(org.rep_a, routed_at=None, name="Never routed")
    working = _lead(org.rep_b, status=LeadStatus.WORKING, name="Working")
    assert [b.lead_id for b in breached_leads(NINE + dt.timedelta(hours=5))] == [working.pk]


def test_source_matching_default_row_and_inactive_rows(org) -> None:
    ResponseSla.objects.create(source="Web", minutes=30)
    ResponseSla.objects.create(source="Trade show", minutes=240, is_active=False)
    ResponseSla.objects.create(source="", minutes=120)
    web = _lead(org.rep_a, source="  web ", name="Web typed loosely")
    show = _lead(org.rep_a, source="Trade show", name="Show")  # inactive row: the default 120 minutes apply
    blank = _lead(org.rep_c, source="", name="No source")
    at = NINE + dt.timedelta(minutes=119)
    assert [b.lead_id for b in breached_leads(at)] == [web.pk]
    found = breached_leads(NINE + dt.timedelta(minutes=120))
    assert [b.lead_id for b in found] == [web.pk, show.pk, blank.pk]
    assert found[2].manager_id == org.manager_west.pk
    assert found[1].due_at == NINE + dt.timedelta(minutes=120)


def test_without_a_default_row_other_sources_have_no_sla(org) -> None:
    ResponseSla.objects.create(source="Web", minutes=30)
    _lead(org.rep_a, source="Partner")
    assert breached_leads(NINE + dt.timedelta(days=30)) == []
    assert breached_leads(NINE) == []  # and nothing is due before anything was routed
    ResponseSla.objects.all().delete()
    assert breached_leads(NINE + dt.timedelta(days=30)) == []


def test_owner_without_a_manager_has_none(org) -> None:
    ResponseSla.objects.create(source="", minutes=10)
    lead = _lead(org.director)
    assert breached_leads(NINE + dt.timedelta(minutes=10))[0] == BreachedLead(
        lead.pk, org.director.pk, None, "Web", NINE, NINE + dt.timedelta(minutes=10)
    )


def test_one_row_per_source_and_positive_minutes(org) -> None:
    ResponseSla.objects.create(source="Web", minutes=30)
    with pytest.raises(IntegrityError):
        ResponseSla.objects.create(source="WEB", minutes=60)


def test_minutes_must_be_positive(org) -> None:
    with pytest.raises(IntegrityError):
        ResponseSla.objects.create(source="Web", minutes=0)


@pytest.mark.parametrize(("source", "status"), [("x" * 81, 200), ("Web\x00site", 400)])
def test_a_source_too_long_or_with_a_nul_is_refused_in_words_not_500(org, client_for, source, status) -> None:
    """Too long: the form says so; a NUL byte: every page's form answers 400 naming the field."""
    response = client_for(org.ops).post("/signals/leads/slas/", {"source": source, "minutes": "30"})
    assert response.status_code == status
    assert not ResponseSla.objects.exists()


def test_whitespace_in_a_source_is_one_space(org) -> None:
    """Tabs, double spaces, no-break spaces (U+00A0) and other Unicode spaces are one space, trimmed, when a lead's
    source is matched to its SLA row; "Webform" is another source (no row, no default: no SLA)."""
    ResponseSla.objects.create(source="Web form", minutes=30)
    typed = [_lead(org.rep_a, source=source, name=f"Lead {i}")
             for i, source in enumerate([" Web\u00a0 form", "web  form", "\tWEB form\n", "Web\u3000form\u00a0"])]  # fmt: skip
    _lead(org.rep_a, source="Webform", name="Other")
    assert breached_leads(NINE + dt.timedelta(minutes=29)) == []
    found = breached_leads(NINE + dt.timedelta(minutes=30))
    assert [(b.lead_id, b.due_at) for b in found] == [(lead.pk, NINE + dt.timedelta(minutes=30)) for lead in typed]
