"""The accuracy page's MAPE summary reads like every other percentage: thousands separated ("1,444.8 %", as a
manager whose adjustment missed a small month by far sees it), one decimal."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from forecasting import selectors

pytestmark = pytest.mark.django_db


def test_a_mape_above_a_thousand_percent_has_its_separator(client_for, org, monkeypatch):
    mape: dict[str, dict[str, float | None]] = {source: {"week_before_end": None} for source in selectors.SOURCES}
    mape["manager_call"]["week_before_end"] = 1444.8123
    mape["rep_call"]["week_before_end"] = 11.54
    row = selectors.AccuracyRow(person=org.manager_east, periods=[], mape=mape)
    monkeypatch.setattr(selectors, "accuracy", lambda *args, **kwargs: [row])
    html = client_for(org.manager_east).get(reverse("forecasting:accuracy")).content.decode()
    summary = html.split('data-testid="accuracy-summary"', 1)[1].split("</table>", 1)[0]
    cells = [" ".join(cell.split()) for cell in re.findall(r'<td class="num">(.*?)</td>', summary)]
    assert cells == ["11.5 %", "1,444.8 %", "—", "—", "—"]
