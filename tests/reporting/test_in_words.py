"""Dashboard words a manager reads: a change that rounds to nothing has no sign ("0.0 %", never "-0.0 %"), a custom
range reads "1 Jan 2026 – 31 Mar 2026" like every date, and the forecast-accuracy export names its people."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from reporting.dashboards import fmt_change
from reporting.filtersets import Span


def test_a_change_that_rounds_to_nothing_has_no_sign():
    assert fmt_change(-0.0003) == "0.0 %"
    assert fmt_change(0.0004) == "0.0 %"
    assert fmt_change(0.0) == "0.0 %"
    assert fmt_change(-0.158) == "-15.8 %" and fmt_change(1.694) == "+169.4 %"
    assert fmt_change(None) == ""


def test_a_custom_range_reads_in_the_one_date_format():
    span = Span("2026-01-01..2026-03-31", "custom", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert span.title == "1 Jan 2026 – 31 Mar 2026"


def test_the_forecast_accuracy_export_names_each_person(book, client_for):
    from forecasting.models import ForecastSubmission

    o = book.org
    ForecastSubmission.objects.create(person=o.rep_a, period="2026-02", commit=Decimal("8000"), best_case=Decimal("9000"),
                                      created_at=timezone.make_aware(dt.datetime(2026, 2, 1, 9)))  # fmt: skip
    response = client_for(o.manager_east).get(
        reverse("reporting:manager"), {"period": "2026-Q1", "export": "csv", "panel": "forecast_accuracy"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows and {row["Person"] for row in rows} <= {o.rep_a.display_name, o.rep_b.display_name}
    assert o.rep_a.display_name in {row["Person"] for row in rows}
