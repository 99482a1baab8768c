"""Take the README's screenshots of the demo company from a running hub, with the system Chromium.

    make run                                   # in one terminal: the hub with today's demo company
    .venv/bin/python docs/screenshots.py       # in another: writes docs/screenshot.png and docs/board.png

`BASE_URL` (default http://127.0.0.1:8000) and `CHROMIUM_PATH` (default: `chromium` on the PATH) can be set.
A maintainer's tool: the product never runs it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> int:
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Chromium is not installed: `apt-get install chromium`, or set CHROMIUM_PATH", file=sys.stderr)
        return 2
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", "manager")
        page.fill("#id_password", "demo")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.click("[data-nav=dashboards]")
        page.click("[data-testid=open-manager]")
        page.wait_for_selector("[data-testid=dashboard-manager]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(DOCS / "screenshot.png"))
        page.click("[data-nav=board]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(DOCS / "board.png"))
        browser.close()
    print(f"wrote {DOCS / 'screenshot.png'} and {DOCS / 'board.png'} from {base_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
