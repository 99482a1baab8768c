from __future__ import annotations

import contextlib
import functools
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf
from django.urls import reverse as django_reverse

from salesops.org.permissions import may_manage_setup


@functools.lru_cache(maxsize=256)
def _reverse(name: str, script_prefix: str, urlconf: str | None) -> str:
    return django_reverse(name, urlconf=urlconf)


@receiver(setting_changed)
def _forget_addresses(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":  # tests that swap the URLconf
        _reverse.cache_clear()


def reverse(name: str) -> str:
    """The address of a page without arguments, reversed once per URLconf and script prefix: the menu on every
    page named twenty of them, a sizeable part of a small page's time."""
    return _reverse(name, get_script_prefix(), get_urlconf())


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation of the signed-in person: only what their roles may open."""
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": []}
    items = [("Home", reverse("home"), "home")]
    items += [
        ("Deals", reverse("pipeline:deal_list"), "deals"),
        ("Board", reverse("pipeline:board"), "board"),
        ("Accounts", reverse("pipeline:account_list"), "accounts"),
    ]
    if not (user.is_finance and not (user.is_rep or user.is_manager or may_manage_setup(user))):
        items.append(("Leads", reverse("pipeline:lead_list"), "leads"))
    if user.is_manager or user.is_finance or may_manage_setup(user):
        items.append(("People", reverse("org:person_list"), "people"))
    items.append(("Org chart", reverse("org:chart"), "chart"))
    # Modules register their entry pages by URL name; one not yet built is simply not shown.
    for label, name, key in (
        ("Forecast", "forecasting:grid", "forecast"),
        ("Dashboards", "reporting:home", "dashboards"),
        ("Planning", "planning:home", "planning"),
        ("Enablement", "enablement:home", "enablement"),
        ("Signals", "signals:home", "signals"),
    ):
        with contextlib.suppress(NoReverseMatch):
            items.append((label, reverse(name), key))
    items.append(("My pay", reverse("incentives:my_attainment"), "pay"))
    if user.is_manager or user.is_finance or may_manage_setup(user):
        items.append(("Team pay", reverse("incentives:team"), "team"))
    if user.is_finance or may_manage_setup(user):
        items.append(("Payouts", reverse("incentives:register"), "register"))
        items.append(("Pay history", reverse("incentives:history"), "history"))
    items.append(("Disputes", reverse("incentives:disputes"), "disputes"))
    items.append(("Plans", reverse("incentives:plan_list"), "plans"))
    if user.is_manager or user.is_finance or may_manage_setup(user):
        items.append(("Quotas", reverse("incentives:quotas"), "quotas"))
    if may_manage_setup(user):
        items += [
            ("Data quality", reverse("pipeline:data_quality"), "quality"),
            ("Pipelines", reverse("pipeline:setup"), "setup"),
        ]
        with contextlib.suppress(NoReverseMatch):  # the imports module registers its pages when present
            items.append(("Imports", reverse("imports:job_list"), "imports"))
    items.append(("API", reverse("api-docs"), "api"))
    if may_manage_setup(user) and user.is_staff:
        items.append(("Admin", reverse("admin:index"), "admin"))
    current = request.path
    # The one item whose address is the longest start of this page's ("My pay" at /incentives/ is not also
    # lit on /incentives/plans/).
    matching = [
        url for _, url, _ in items if (url == "/" and current == "/") or (url != "/" and current.startswith(url))
    ]
    active = max(matching, key=len) if matching else None
    return {
        "nav_items": [{"label": label, "url": url, "key": key, "active": url == active} for label, url, key in items]
    }
