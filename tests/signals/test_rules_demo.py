"""The rules demo: two live rules sales ops wrote, each with firings relative to today (this morning's scheduled run,
yesterday's deal changes), their notifications in the bell of the people they reached, and a dry run that finds
what the rule found.

The whole demo company is loaded (the copy the other demo tests share, tests/demo_snapshot.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from signals.models import Notification, Rule, RuleFiring
from signals.services import rules as services
from tests.demo_snapshot import load_demo


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_two_live_rules_with_firings_of_today_and_yesterday(demo: None) -> None:
    today = timezone.localdate()
    rules = {r.name: r for r in Rule.objects.filter(is_live=True)}
    assert set(rules) == {"Proposal gone quiet", "Big deal in commit"}
    quiet = RuleFiring.objects.filter(rule=rules["Proposal gone quiet"])
    big = RuleFiring.objects.filter(rule=rules["Big deal in commit"])
    assert quiet.exists() and big.exists()
    assert {timezone.localdate(f.fired_at) for f in quiet} == {today}
    assert {timezone.localdate(f.fired_at) for f in big} == {today - dt.timedelta(days=1)}
    assert all(all(r["ok"] for r in f.results) for f in (*quiet, *big))
    assert Notification.objects.filter(kind="rule_fired").exists()
    # Still matching: the sweep fires nothing more today.
    assert services.rules_run_due() == 0


@pytest.mark.django_db
def test_the_demo_rules_pages_open_for_sales_ops(demo: None, client: Any) -> None:
    from salesops.org.models import User

    ops = User.objects.filter(is_sales_ops=True, is_active=True).order_by("pk").first()
    client.force_login(ops)
    assert "Proposal gone quiet" in client.get("/signals/rules/").content.decode()
    rule = Rule.objects.get(name="Proposal gone quiet")
    page = client.get(f"/signals/rules/{rule.pk}/").content.decode()
    assert "Firings" in page and "done: Notify the deal" in page.replace("&#x27;", "'")
    assert client.get(f"/signals/rules/{rule.pk}/dry-run/").status_code == 200


@pytest.mark.django_db
def test_every_rule_notification_names_a_rule_of_the_demo(demo: None) -> None:
    """A bell entry of a rule names a rule the demo has (its title starts "<rule name>: "), seeded ones too."""
    names = set(Rule.objects.values_list("name", flat=True))
    titles = list(Notification.objects.filter(kind="rule_fired").values_list("title", flat=True))
    assert titles
    assert [t for t in titles if t.split(": ", 1)[0] not in names] == []
