from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from salesops.org.demo import seed_org
from salesops.org.models import Region, Team, User

pytestmark = pytest.mark.django_db


def _org(seed: int) -> None:
    """The demo people alone (what these tests look at): the whole company, deals and all, is seeded by the
    pipeline, incentives and forecasting demo tests, once per module."""
    seed_org(seed=seed, today=timezone.localdate())


def _wipe() -> None:
    from forecasting.demo import delete_forecasting_data
    from incentives.demo import delete_incentives_data
    from pipeline.demo import delete_pipeline_data

    delete_forecasting_data()
    delete_incentives_data()
    delete_pipeline_data()
    User.objects.update(manager=None, team=None, region=None)
    User.objects.all().delete()
    Team.objects.all().delete()
    Region.objects.all().delete()


def test_demo_company_shape_and_logins():
    _org(7)
    assert list(Region.objects.values_list("name", flat=True)) == ["Central", "East", "West"]
    assert User.objects.filter(is_rep=True).count() == 40
    assert User.objects.filter(is_manager=True, manager__isnull=False).count() == 6
    director = User.objects.get(is_manager=True, manager__isnull=True)
    assert director.title == "VP of Sales"
    # Everyone in sales reports up to the director: one tree.
    for rep in User.objects.filter(is_rep=True).select_related("manager"):
        assert rep.manager is not None
        assert rep.manager.manager_id == director.pk
    for login, flag in [
        ("rep", "is_rep"),
        ("manager", "is_manager"),
        ("finance", "is_finance"),
        ("ops", "is_sales_ops"),
    ]:
        user = authenticate(username=login, password="demo")
        assert user is not None and getattr(user, flag), login
        assert user.first_name and user.last_name  # realistic names, not "rep"
    rep = User.objects.get(username="rep")
    assert rep.manager is not None
    assert rep.manager.username == "manager"
    assert User.objects.filter(is_active=False).count() == 2


def test_same_seed_same_company_other_seed_other_names():
    _org(7)
    first = list(User.objects.order_by("employee_id").values_list("first_name", "last_name", "start_date"))
    _wipe()
    _org(7)
    again = list(User.objects.order_by("employee_id").values_list("first_name", "last_name", "start_date"))
    assert again == first
    _wipe()
    _org(8)
    other = list(User.objects.order_by("employee_id").values_list("first_name", "last_name"))
    assert other != [(f, la) for f, la, _ in first]


def test_if_empty_leaves_an_existing_company_alone(org):
    call_command("seed_demo", "--if-empty")
    assert not User.objects.filter(username="rep").exists()
    with pytest.raises(CommandError, match="empty database only"):
        call_command("seed_demo")


def test_production_refuses_demo_data_and_demo_logins():
    _org(42)
    with override_settings(DEMO_LOGINS_ALLOWED=False):
        assert authenticate(username="rep", password="demo") is None
        with pytest.raises(CommandError, match="disabled"):
            call_command("seed_demo")


def test_an_aged_demo_is_named_and_reset_loads_one_dated_from_today(org):
    import datetime as dt
    import io

    from django.db import connection

    loaded = timezone.now() - dt.timedelta(days=30)
    User.objects.filter(pk=org.rep_a.pk).update(is_demo=True, date_joined=loaded)
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert f"The demo company was loaded 30 days ago ({timezone.localtime(loaded):%d %b %Y})" in out.getvalue()
    assert "`make demo` reloads it" in out.getvalue()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending checks of this transaction
    out = io.StringIO()
    call_command("seed_demo", "--reset", "--seed", "3", stdout=out)
    assert "Database emptied" in out.getvalue() and "Demo company loaded" in out.getvalue()
    assert not User.objects.filter(username__in=["rep_a", "director"]).exists()
    rep = User.objects.get(username="rep")
    assert timezone.localtime(rep.date_joined).date() == timezone.localdate()
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "days ago" not in out.getvalue()  # a demo of today says nothing of its age
