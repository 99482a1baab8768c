"""The response-time report on hand-counted leads (docs/signals-leads.md), its scopes (roles.md: own leads, the
subtree, everyone for finance and sales ops), the CSV, the SLA settings (sales ops) and the API.

Clock: 10 Nov 2026 12:00 UTC. SLAs: Web 30 minutes, any other source 120 minutes.

    lead        owner   source  routed            answered after   verdict
    a1          rep_a   Web     2 Nov 09:00       10 min           within
    a2          rep_a   Web     3 Nov 09:00       50 min           late
    b1          rep_b   Event   4 Nov 09:00       100 min          within (the default 120)
    c1          rep_c   Web     5 Nov 09:00       –                breached now
    a3          rep_a   Web     10 Nov 11:50      –                waiting inside its SLA: not decided
    b_old       rep_b   Web     1 Sep 09:00       –                breached now, routed before the period

Everyone (last 30 days): routed 5, answered 3, median 50 min, 90th percentile (rank 3 of 3) 1 h 40 min, within
2 of 4 decided = 50 %, breached now 2 (c1 and b_old).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from freezegun import freeze_time

from pipeline.models import Lead
from salesops.org.models import AuditEvent
from signals.models import ResponseSla

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def leads(org):
    ResponseSla.objects.create(source="Web", minutes=30)
    ResponseSla.objects.create(source="", minutes=120)
    rows = {
        "a1": (org.rep_a, "Web", at(11, 2), 10),
        "a2": (org.rep_a, "Web", at(11, 3), 50),
        "b1": (org.rep_b, "Event", at(11, 4), 100),
        "c1": (org.rep_c, "Web", at(11, 5), None),
        "a3": (org.rep_a, "Web", at(11, 10, 11, 50), None),
        "b_old": (org.rep_b, "Web", at(9, 1), None),
    }
    made = {}
    for name, (owner, source, routed, after) in rows.items():
        answered = routed + dt.timedelta(minutes=after) if after is not None else None
        made[name] = Lead.objects.create(last_name=name, company=f"{name} Co", owner=owner, source=source,
                                         routed_at=routed, first_response_at=answered)  # fmt: skip
    return made


def page(client, headers=None, **query):
    url = reverse("signals:lead_response")  # the URLconf (and what it imports) loads before the clock is frozen
    with freeze_time(NOW):
        return client.get(url, query, headers=headers)


def test_sales_ops_see_every_lead_counted_by_hand(client_for, org, leads) -> None:
    response = page(client_for(org.ops))
    report = response.context["report"]
    total = report.total
    assert (total.stats.routed, total.stats.answered, total.stats.breached_now) == (5, 3, 2)
    assert (total.median, total.p90, total.within) == ("50 min", "1 h 40 min", "50 %")
    by_source = {r.label: r for r in report.by_source}
    assert by_source["Web"].stats.routed == 4 and by_source["Web"].stats.breached_now == 2
    assert by_source["Event"].stats.routed == 1 and by_source["Event"].within == "100 %"
    by_owner = {r.label: r.stats for r in report.by_owner}
    assert by_owner[org.rep_b.display_name].breached_now == 1 and by_owner[org.rep_b.display_name].routed == 1
    teams = {r.label: r.stats.routed for r in report.by_team}
    assert teams == {org.manager_east.team.name: 4, org.manager_west.team.name: 1}
    body = response.content.decode()
    assert "1 h 40 min" in body and 'data-testid="lead-response-chart"' in body
    assert f'href="{reverse("pipeline:lead_detail", args=[leads["b_old"].pk])}"' in body


def test_a_rep_sees_only_their_own_leads(client_for, org, leads) -> None:
    report = page(client_for(org.rep_a)).context["report"]
    assert (report.total.stats.routed, report.total.stats.answered, report.total.stats.breached_now) == (3, 2, 0)
    assert report.total.median == "30 min" and report.total.within == "50 %"
    assert [r.label for r in report.by_owner] == [org.rep_a.display_name]


def test_a_manager_sees_their_subtree(client_for, org, leads) -> None:
    report = page(client_for(org.manager_east)).context["report"]
    assert (report.total.stats.routed, report.total.stats.breached_now) == (4, 1)
    assert [b.lead_id for b in report.breached] == [leads["b_old"].pk]


def test_filters_source_team_and_period(client_for, org, leads) -> None:
    client = client_for(org.ops)
    web = page(client, source=" web ").context["report"]
    assert web.total.stats.routed == 4 and web.total.stats.breached_now == 2
    west = page(client, team=org.manager_west.team.pk).context["report"]
    assert west.total.stats.routed == 1 and west.total.stats.breached_now == 1
    quarter = page(client, period="FY2026").context["report"]
    assert quarter.total.stats.routed == 6  # b_old was routed in the fiscal year too
    fragment = page(client, headers={"HX-Request": "true"}, period="90d", by="owner")
    assert fragment.templates[0].name == "signals/leads/partials/report.html"


def test_csv_for_managers_finance_and_ops_not_reps(client_for, org, leads) -> None:
    assert page(client_for(org.rep_a), export="csv").status_code == 403
    response = page(client_for(org.finance), export="csv", by="source")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Source", "Leads routed", "Answered"]
    total = rows[-1]
    assert total[0] == "All leads" and total[1:5] == ["5", "3", "50 min", "1 h 40 min"]
    assert total[-2:] == ["0.5000", "2"]  # the share within the SLA a number, like every share in an export


def test_sla_settings_are_for_sales_ops(client_for, org) -> None:
    for person in (org.rep_a, org.manager_east, org.finance):
        assert client_for(person).get(reverse("signals:lead_sla_list")).status_code == 403
    client = client_for(org.ops)
    client.post(reverse("signals:lead_sla_list"), {"source": " Trade  show ", "minutes": "240", "is_active": "on"})
    sla = ResponseSla.objects.get()
    assert (sla.source, sla.minutes, sla.is_active) == ("Trade show", 240, True)
    refused = client.post(reverse("signals:lead_sla_list"), {"source": "trade show", "minutes": "30"}, follow=True)
    assert "There is an SLA for “Trade show” already" in refused.content.decode()
    client.post(reverse("signals:lead_sla_edit", args=[sla.pk]), {"source": "Trade show", "minutes": "0"})
    sla.refresh_from_db()
    assert sla.minutes == 240
    client.post(reverse("signals:lead_sla_edit", args=[sla.pk]), {"source": "Trade show", "minutes": "180"})
    sla.refresh_from_db()
    assert sla.minutes == 180 and sla.is_active is False  # the box was not ticked
    assert AuditEvent.objects.filter(entity="signals.responsesla", entity_id=str(sla.pk)).count() == 2
    assert client_for(org.rep_a).post(reverse("signals:lead_sla_delete", args=[sla.pk])).status_code == 403
    client_for(org.ops).post(reverse("signals:lead_sla_delete", args=[sla.pk]))
    assert not ResponseSla.objects.exists()


def test_api_report_and_slas(api_client_for, org, leads) -> None:
    reverse("signals:lead_response")
    with freeze_time(NOW):
        data = api_client_for(org.manager_east).get("/api/v1/signals/lead-response/").json()
    assert data["total"]["routed"] == 4 and data["total"]["breached_now"] == 1
    assert data["total"]["median_minutes"] == 50.0 and data["total"]["within_sla_share"] == 0.6667
    assert [b["lead"] for b in data["breached_now"]] == [leads["b_old"].pk]
    assert api_client_for(org.rep_a).get("/api/v1/signals/response-slas/").json()["count"] == 2
    assert (
        api_client_for(org.rep_a).post("/api/v1/signals/response-slas/", {"source": "X", "minutes": 5}).status_code
        == 403
    )
    made = api_client_for(org.ops).post("/api/v1/signals/response-slas/", {"source": "Partner", "minutes": 60})
    assert made.status_code == 201 and made.json()["minutes"] == 60
    clash = api_client_for(org.ops).post("/api/v1/signals/response-slas/", {"source": "partner", "minutes": 5})
    assert clash.status_code == 400
    patched = api_client_for(org.ops).patch(f"/api/v1/signals/response-slas/{made.json()['id']}/", {"minutes": 45})
    assert patched.status_code == 200 and patched.json()["minutes"] == 45


def test_a_source_typed_with_tabs_double_or_no_break_spaces_is_one_source(client_for, org) -> None:
    """The report and the SLA sweep match a lead's source to an SLA row by one rule: every run of whitespace (a tab,
    two spaces, a no-break space) is one space, trimmed, case-insensitive. Five "Web form" leads routed at 11:00
    (SLA 30 minutes, no default row): one answered after 20 minutes, four unanswered at noon, so breached."""
    from signals.selectors.leads import breached_leads

    ResponseSla.objects.create(source="Web form", minutes=30)
    spellings = {"typed": "Web form", "nbsp": " Web\u00a0 form", "double": "web  form", "tab": "\tWEB form\u3000"}
    made = {name: Lead.objects.create(last_name=name, company=f"{name} Co", owner=org.rep_a, source=source,
                                      routed_at=at(11, 10, 11)) for name, source in spellings.items()}  # fmt: skip
    made["answered"] = Lead.objects.create(last_name="answered", company="Answered Co", owner=org.rep_a,
                                           source="WEB\u00a0FORM", routed_at=at(11, 10, 11),
                                           first_response_at=at(11, 10, 11, 20))  # fmt: skip
    late = sorted(made[name].pk for name in spellings)
    # The sweep (what the lead-SLA rules escalate).
    assert sorted(b.lead_id for b in breached_leads(NOW)) == late
    # The report: one source, its SLA applied to every spelling, the same leads breached now.
    report = page(client_for(org.ops)).context["report"]
    # (labelled with the first spelling read, whitespace collapsed)
    assert [(r.label.lower(), r.stats.routed, r.stats.breached_now, r.within) for r in report.by_source] == [
        ("web form", 5, 4, "20 %")
    ]
    assert sorted(b.lead_id for b in report.breached) == late
    # Filtered by the source as the filter spells it.
    filtered = page(client_for(org.ops), source="web form").context["report"]
    assert (filtered.total.stats.routed, filtered.total.stats.breached_now) == (5, 4)


@pytest.mark.parametrize("source", ["İnbound call", "ΚΛΗΣΗ ΠΕΛΑΤΗΣ"])
def test_a_source_with_letters_the_database_lowers_otherwise_is_matched_alike(client_for, org, source) -> None:
    """Python lowers "İ" to "i̇" and a word-final "Σ" to "ς" where the database's lower() gives "i" and "σ": the
    report, its breached list, its filter and the sweep all match by the one Python rule, so they agree."""
    from signals.selectors.leads import breached_leads

    ResponseSla.objects.create(source=source, minutes=30)
    lead = Lead.objects.create(last_name="Late", company="Late Co", owner=org.rep_a, source=source,
                               routed_at=at(11, 10, 11))  # fmt: skip
    assert [b.lead_id for b in breached_leads(NOW)] == [lead.pk]
    report = page(client_for(org.ops)).context["report"]
    assert [(r.stats.routed, r.stats.breached_now) for r in report.by_source] == [(1, 1)]
    assert [b.lead_id for b in report.breached] == [lead.pk]
    filtered = page(client_for(org.ops), source=source).context["report"]
    assert (filtered.total.stats.routed, filtered.total.stats.breached_now) == (1, 1)


def test_a_source_none_of_the_readers_leads_has_is_an_empty_report(client_for, org) -> None:
    """Filtered by a source only someone else's leads have (a link a rep may follow), the report is empty, not a
    server error."""
    Lead.objects.create(last_name="Theirs", company="Their Co", owner=org.rep_c, source="Inbound",
                        routed_at=at(11, 10, 11))  # fmt: skip
    answer = client_for(org.rep_a).get(
        "/signals/leads/response/", {"period": "30d", "source": "Inbound", "by": "source"}
    )
    assert answer.status_code == 200
    assert answer.context["report"].total.stats.routed == 0


def test_breached_now_only_for_a_period_that_includes_today(client_for, api_client_for, org, leads) -> None:
    """c1 and b_old are breached now (10 Nov 2026); the report of fiscal 2025 routed none of the leads: it must not
    show them as breached (no "Routed 0 … Breached now 2"), neither on the page, in its CSV nor in the API."""
    ops = client_for(org.ops)
    response = page(ops, period="FY2025", by="source")
    report = response.context["report"]
    assert report.total.stats.routed == 0 and report.total.stats.breached_now == 0
    assert report.by_source == [] and report.breached == []
    body = response.content.decode()
    assert 'data-testid="lead-response-breached"' not in body and "b_old Co" not in body
    assert 'data-testid="lead-response-breached-not-shown"' in body
    rows = list(csv.reader(io.StringIO(b"".join(page(ops, period="FY2025", export="csv").streaming_content)
                                       .decode("utf-8-sig"))))  # fmt: skip
    assert rows[-1][0] == "All leads" and rows[-1][-1] == ""
    with freeze_time(NOW):
        data = api_client_for(org.manager_east).get("/api/v1/signals/lead-response/", {"period": "FY2025"}).json()
    assert data["period"]["includes_today"] is False and data["total"]["breached_now"] is None
    assert data["breached_now"] == [] and data["by_source"] == []
    # this fiscal year includes today: the breached leads are counted and listed there
    this_year = page(ops, period="FY2026").context["report"]
    assert this_year.total.stats.breached_now == 2 and {b.lead_id for b in this_year.breached} == {
        leads["c1"].pk,
        leads["b_old"].pk,
    }
