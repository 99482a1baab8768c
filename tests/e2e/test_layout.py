"""At 1366×768 (a common laptop) on the demo company: the forecast grid keeps each row's history and adjust
in view, the board reaches its won and lost columns and marks overdue cards, and no list or dashboard
scrolls the page sideways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 1366, 768


@pytest.fixture
def laptop(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def demo(transactional_db: None) -> None:
    from django.core.management import call_command

    from tests.demo_snapshot import load_demo

    load_demo()
    call_command("reporting_refresh", "--full")  # the dashboards' tables filled, as after the nightly refresh


def in_viewport(locator) -> bool:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box["x"] >= 0 and box["x"] + box["width"] <= WIDTH and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


def page_width(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_forecast_grid_keeps_history_and_adjust_in_view(laptop, demo):
    page = laptop
    sign_in(page, "manager")
    page.goto("/forecasting/")
    grid = page.locator("[data-testid=forecast-grid]")
    grid.wait_for()
    assert page_width(page) <= WIDTH
    # The grid is wider than its card; the table scrolls inside it, the actions stay pinned at its right.
    assert page.evaluate("(el => el.scrollWidth > el.clientWidth)(document.querySelector('.fc-scroll'))")
    first = grid.locator("tbody tr").first
    assert in_viewport(first.locator("[data-testid^=history-]"))
    first_report = grid.locator("tbody tr", has=page.locator("[data-testid^=adjust-]")).first
    assert in_viewport(first_report.locator("[data-testid^=history-]"))
    adjust = first_report.locator("[data-testid^=adjust-] summary")
    assert in_viewport(adjust)
    adjust.click()
    assert in_viewport(first_report.locator("button", has_text="Save adjustment"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "layout-forecast-adjust.png"))
    # History opens its panel below the grid and brings it into view.
    first_report.locator("[data-testid^=history-]").click()
    page.locator("#drill table, #drill .empty-state").first.wait_for()
    # A function, not an expression: Playwright polls an expression through eval, which the CSP refuses.
    page.wait_for_function("() => document.getElementById('drill').getBoundingClientRect().top < innerHeight")
    page.screenshot(path=str(ARTIFACTS / "layout-forecast-grid.png"))


def test_board_reaches_won_and_lost_and_marks_overdue_cards(laptop, demo):
    from pipeline.models import Deal, DealStatus, Pipeline
    from salesops.org.models import User

    manager = User.objects.get(username="manager")
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.order_by("pk").first()
    assert pipeline is not None
    today = timezone.localdate()
    overdue = (
        Deal.objects.filter(owner__manager=manager, pipeline=pipeline, status=DealStatus.OPEN, close_date__lt=today)
        .order_by("close_date", "pk")
        .first()
    )
    if overdue is None:  # the demo is dated from today; should its deals all lie ahead, make one that does not
        from tests.factories import DealFactory

        stage = pipeline.stages.order_by("position").first()
        rep = User.objects.filter(manager=manager).first()
        overdue = DealFactory.create(name="Overdue demo deal", owner=rep, stage=stage, pipeline=pipeline,
                                     amount=Decimal("1000"), close_date=today - dt.timedelta(days=3))  # fmt: skip

    page = laptop
    sign_in(page, "manager")
    page.goto(f"/pipeline/board/?pipeline={pipeline.pk}")
    board = page.locator(".board")
    board.wait_for()
    assert page_width(page) <= WIDTH
    card = page.locator(f"[data-testid=card-{overdue.pk}]")
    assert card.locator("[data-testid=mark-overdue]").text_content() == "overdue"
    for name in ("won", "lost"):
        column = page.locator(f".column.{name}")
        header = column.locator("header")
        assert not in_viewport(header), f"the {name} column is already in view: nothing to prove"
        page.locator(f".jump[href='#{column.get_attribute('id')}']").click()
        page.wait_for_function(
            "id => { const r = document.getElementById(id).getBoundingClientRect(); return r.right <= innerWidth; }",
            arg=column.get_attribute("id"),
        )
        header.scroll_into_view_if_needed()
        assert in_viewport(header)
        assert "weighted" in header.locator("[data-testid=weighted]").inner_text()
        assert page_width(page) <= WIDTH
        # Back to the start for the next column.
        page.locator(".board").evaluate("el => { el.scrollLeft = 0; }")
        page.evaluate("scrollTo(0, 0)")
    # The board's own scrollbar sits within a screen height, so it can be reached without the page's end.
    box = board.bounding_box()
    assert box is not None and box["height"] <= HEIGHT
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "layout-board.png"))


WIDE_PAGES = {
    "manager": ["/reporting/manager/", "/reporting/rep/", "/reporting/executive/", "/incentives/team/",
                "/pipeline/deals/", "/pipeline/deals/?status=", "/forecasting/"],
    "finance": ["/reporting/finance/", "/reporting/executive/", "/incentives/register/", "/incentives/team/",
                "/pipeline/deals/?status=&ordering=-amount"],
}  # fmt: skip


def test_lists_and_dashboards_fit_the_screen_width(laptop, demo):
    page = laptop
    too_wide = []
    for username, urls in WIDE_PAGES.items():
        page.context.clear_cookies()
        sign_in(page, username)
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.ok, url
            page.wait_for_load_state("networkidle")
            if page_width(page) > WIDTH:
                too_wide.append((username, url, page_width(page)))
            # Figures keep to one line: the text of a number cell (bar a second, smaller line) is one line high.
            wrapped = page.evaluate(
                """() => [...document.querySelectorAll('table td.num')].filter(td => {
                       if (td.querySelector('.sub, br, details') || !td.textContent.trim()) return false;
                       const range = document.createRange(); range.selectNodeContents(td);
                       const line = parseFloat(getComputedStyle(td).fontSize) * 1.45;
                       return range.getBoundingClientRect().height > 1.5 * line; }).length"""
            )
            assert wrapped == 0, f"{url}: {wrapped} numbers wrap"
    assert too_wide == []
