"""The dashboards as a person opens them: their numbers, who may open which, drill-downs, exports, the
states a panel can be in, and the query budget (≤ 15 per dashboard, whatever the filters)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reporting import queries

Q1 = {"period": "2026-Q1"}


def stat(response, key: str) -> str:
    match = re.search(
        rf'data-testid="stat-{key}">\s*<span class="stat-value">([^<]*)</span>', response.content.decode()
    )
    assert match, f"no stat {key}"
    return match.group(1)


def test_manager_sees_their_team_only(book, client_for):
    response = client_for(book.org.manager_east).get(reverse("reporting:manager"), Q1)
    assert response.status_code == 200
    assert stat(response, "bookings") == "45,000"  # rep_a 25,000 + rep_b 20,000; rep_c is West
    assert stat(response, "won_lost") == "3 / 3"
    body = response.content.decode()
    assert 'data-testid="panel-funnel" data-state="ok"' in body
    assert 'data-testid="panel-slipped" data-state="ok"' in body  # A4 was pushed twice in Q1
    assert "appears once forecasts have history" in body


def test_rep_dashboard_is_the_reps_own(book, client_for):
    response = client_for(book.org.rep_a).get(reverse("reporting:rep"), Q1)
    assert response.status_code == 200
    assert stat(response, "bookings") == "25,000"
    assert stat(response, "won_lost") == "2 / 1"
    # A manager opens a rep's dashboard through the person filter; a rep cannot open someone else's.
    assert (
        stat(
            client_for(book.org.manager_east).get(reverse("reporting:rep"), {**Q1, "person": book.org.rep_b.pk}),
            "bookings",
        )
        == "20,000"
    )


def test_executive_compares_with_the_previous_period(book, client_for):
    response = client_for(book.org.ops).get(reverse("reporting:executive"), Q1)
    assert stat(response, "bookings") == "65,000"
    body = response.content.decode()
    assert "+712.5 %" in body  # 65,000 against 8,000 in 2025-Q4
    assert 'data-testid="panel-by_region" data-state="ok"' in body


@pytest.mark.parametrize(
    ("who", "dashboard", "status"),
    [
        ("rep_a", "manager", 403),
        ("rep_a", "executive", 403),
        ("rep_a", "finance", 403),
        ("manager_east", "finance", 403),
        ("finance", "finance", 200),
        ("finance", "manager", 200),
        ("ops", "finance", 200),
        ("rep_a", "rep", 200),
    ],
)
def test_who_opens_which_dashboard(book, client_for, who, dashboard, status):
    assert client_for(getattr(book.org, who)).get(reverse(f"reporting:{dashboard}"), Q1).status_code == status


def test_a_person_outside_the_scope_is_not_found(book, client_for):
    client = client_for(book.org.manager_west)
    assert client.get(reverse("reporting:manager"), {**Q1, "person": book.org.rep_a.pk}).status_code == 404
    assert client.get(reverse("reporting:drill"), {**Q1, "owner": book.org.rep_a.pk}).status_code == 404


def test_drill_down_lists_the_credits_behind_bookings(book, client_for):
    response = client_for(book.org.manager_east).get(reverse("reporting:drill"), {**Q1, "measure": "bookings"})
    body = response.content.decode()
    assert re.search(r'data-testid="drill-count">3<', body)
    assert re.search(r'data-testid="drill-amount">45,000.00<', body)
    export = client_for(book.org.manager_east).get(
        reverse("reporting:drill"), {**Q1, "measure": "bookings", "export": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert sorted(r["credit"] for r in rows) == ["10000.000000", "15000.000000", "20000.000000"]


def test_a_rep_exports_no_panel_or_drill_down(book, client_for):
    rep = client_for(book.org.rep_a)
    html = rep.get(reverse("reporting:rep"), Q1).content.decode()
    assert 'data-testid="dashboard-rep"' in html and "export=csv" not in html
    assert rep.get(reverse("reporting:rep"), {**Q1, "export": "csv", "panel": "pipeline"}).status_code == 403
    assert rep.get(reverse("reporting:drill"), {**Q1, "measure": "bookings", "export": "csv"}).status_code == 403


def test_each_panel_exports_csv_and_xlsx(book, client_for):
    client = client_for(book.org.ops)
    response = client.get(reverse("reporting:executive"), {**Q1, "export": "csv", "panel": "by_region"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {r["group"]: r["bookings"] for r in rows} == {"East": "45000.00", "West": "20000.00"}
    xlsx = client.get(reverse("reporting:manager"), {**Q1, "export": "xlsx", "panel": "leaderboard"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get(reverse("reporting:manager"), {**Q1, "export": "csv", "panel": "nope"}).status_code == 404


def test_htmx_gets_the_body_and_filters_stay_in_the_url(book, client_for):
    client = client_for(book.org.ops)
    response = client.get(
        reverse("reporting:executive"), {**Q1, "region": book.org.rep_c.region_id}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="dashboard-executive"' in body
    assert stat(response, "bookings") == "20,000"
    assert f"region={book.org.rep_c.region_id}" in body  # every link carries the filters


def test_empty_and_error_states(book, client_for, monkeypatch):
    client = client_for(book.org.manager_east)
    empty = client.get(reverse("reporting:manager"), {"period": "2024-Q1"}).content.decode()
    assert 'data-testid="panel-headline" data-state="empty"' in empty
    assert 'data-testid="panel-slipped" data-state="empty"' in empty

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "slipped_deals", broken)
    page = client.get(reverse("reporting:manager"), Q1)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="panel-slipped" data-state="error"' in body
    assert 'data-testid="panel-leaderboard" data-state="ok"' in body


@pytest.mark.parametrize(
    ("who", "dashboard", "params"),
    [
        ("manager_east", "manager", {}),
        ("manager_east", "manager", {"product": "core", "period": "2026"}),
        ("director", "manager", {"person": "manager_east"}),
        ("rep_a", "rep", {}),
        ("ops", "executive", {}),
        ("ops", "executive", {"region": "East", "team": "x"}),
        ("finance", "finance", {}),
        ("director", "rep", {"person": "rep_b"}),
    ],
)
def test_query_budget(book, client_for, who, dashboard, params):
    o = book.org
    resolved = dict(Q1)
    for key, value in params.items():
        if key == "product":
            resolved[key] = book.products[value].pk
        elif key == "person":
            resolved[key] = getattr(o, value).pk
        elif key == "region":
            resolved[key] = o.rep_a.region_id
        elif key == "team":
            resolved[key] = o.rep_a.team_id
        else:
            resolved[key] = value
    client = client_for(getattr(o, who))
    client.get(reverse(f"reporting:{dashboard}"), resolved)  # sessions and caches warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(f"reporting:{dashboard}"), resolved)
    assert response.status_code == 200
    assert len(captured) <= 15, [q["sql"][:80] for q in captured]
    assert 'data-state="error"' not in response.content.decode()


def test_forecast_accuracy_panel_shows_calls_within_the_query_budget(book, client_for):
    """rep_a called 8,000 for February at its start; the panel shows the call, the actual and the accuracy
    from forecasting's own numbers, and the dashboard stays within 16 queries (the bell's count among them)."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from forecasting.models import ForecastSubmission

    o = book.org
    ForecastSubmission.objects.create(person=o.rep_a, period="2026-02", commit=Decimal("8000"), best_case=Decimal("9000"),
                                      created_at=timezone.make_aware(dt.datetime(2026, 2, 1, 9)))  # fmt: skip
    client = client_for(o.manager_east)
    client.get(reverse("reporting:manager"), Q1)
    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("reporting:manager"), Q1).content.decode()
    assert len(captured) <= 16  # 15, and the bell's unread count in the header
    panel = html.split('data-testid="panel-forecast_accuracy"')[1].split("</section>")[0]
    assert "2026-02" in panel
    assert "8,000" in panel


def test_slipped_deals_show_their_dates_in_words(book, client_for):
    """The slipped deals' close date and first close date read "20 Mar 2026", like every other date."""
    body = client_for(book.org.manager_east).get(reverse("reporting:manager"), Q1).content.decode()
    panel = body.split('data-testid="panel-slipped"', 1)[1].split('data-testid="panel-', 1)[0]
    text = re.sub(r"<[^>]+>", " ", panel)
    assert "20 Mar 2026" in text  # A4's close date now…
    assert "1 Feb 2026" in text  # …and before its first push
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), text


@pytest.mark.parametrize("viewer", ["finance", "ops"])
def test_finance_and_sales_ops_open_the_first_rep_by_name_not_themselves(book, client_for, viewer):
    """Finance and sales ops sell nothing: without a person filter their rep dashboard is the first active rep by
    name in their view (the filter bar shows whom), not their own empty one."""
    from salesops.org.models import User

    first = User.objects.filter(is_rep=True, is_active=True).order_by("last_name", "first_name").first()
    assert first is not None
    expected = {book.org.rep_a.pk: "25,000", book.org.rep_b.pk: "20,000", book.org.rep_c.pk: "20,000"}[first.pk]
    response = client_for(getattr(book.org, viewer)).get(reverse("reporting:rep"), Q1)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"· {first.display_name}</small>" in body
    assert stat(response, "bookings") == expected
    assert re.search(rf'<option value="{first.pk}"[^>]*selected', body)
