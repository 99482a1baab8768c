"""1:1s: who may schedule one, notes written by both, action items carried over until done, the agenda frozen when
the 1:1 is saved, and the agenda's numbers equal to their sources'. (Privacy: test_coaching_privacy.py; the pure
agenda: test_coaching_engine.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from enablement.engine import agenda as engine
from enablement.models import OneOnOne
from enablement.selectors import coaching as selectors
from enablement.services import coaching as services
from forecasting import selectors as forecasting
from incentives import selectors as incentives
from incentives import services as pay
from pipeline import selectors as pipeline
from salesops.api import DomainError, Forbidden
from tests.factories import DealFactory, UserFactory, default_stages

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 18)  # a Wednesday in 2026-Q4 (calendar fiscal year)


def _meet(org, day: dt.date, report=None) -> OneOnOne:
    return services.one_on_one_create(actor=org.manager_east, report_id=(report or org.rep_a).pk, held_on=day)


# ------------------------------------------------------------------------------------------ who schedules
def test_a_manager_schedules_a_1_1_with_a_direct_report_only(org) -> None:
    meeting = _meet(org, TODAY)
    assert (meeting.manager, meeting.report, meeting.held_on) == (org.manager_east, org.rep_a, TODAY)
    for actor, report in (
        (org.manager_east, org.rep_c),  # another manager's report
        (org.director, org.rep_a),  # in the director's subtree, but not a direct report
        (org.rep_a, org.rep_b),  # a report with a teammate
        (org.rep_a, org.manager_east),  # a report with their own manager
        (org.ops, org.rep_a),  # sales ops
        (org.manager_east, org.manager_east),  # oneself
    ):
        with pytest.raises(Forbidden):
            services.one_on_one_create(actor=actor, report_id=report.pk, held_on=TODAY)
    with pytest.raises(Forbidden):
        services.one_on_one_create(actor=org.manager_east, report_id=987_654_321, held_on=TODAY)
    with pytest.raises(DomainError, match="already a 1:1"):
        _meet(org, TODAY)


def test_scheduling_refused_with_403_on_the_page_and_the_api(org, client_for, api_client_for) -> None:
    client = client_for(org.rep_a)
    own = reverse("enablement:one_on_one_pair", args=[org.rep_a.pk])
    assert client.get(own).status_code == 200  # the report opens their own 1:1s
    assert client.post(own, {"held_on": "2026-11-20"}).status_code == 403
    api = api_client_for(org.rep_a)
    answer = api.post("/api/v1/enablement/one-on-ones/", {"report": org.rep_b.pk, "held_on": "2026-11-20"})
    assert answer.status_code == 403
    answer = api_client_for(org.director).post(
        "/api/v1/enablement/one-on-ones/", {"report": org.rep_a.pk, "held_on": "2026-11-20"}
    )
    assert answer.status_code == 403
    answer = api_client_for(org.manager_east).post(
        "/api/v1/enablement/one-on-ones/", {"report": org.rep_a.pk, "held_on": "2026-11-20"}
    )
    assert answer.status_code == 201 and answer.json()["report"] == org.rep_a.pk
    manager = client_for(org.manager_east)
    page = manager.post(reverse("enablement:one_on_one_pair", args=[org.rep_b.pk]), {"held_on": "2026-11-21"})
    meeting = OneOnOne.objects.get(report=org.rep_b)
    assert page.status_code == 302 and page["Location"] == reverse("enablement:one_on_one", args=[meeting.pk])


# ------------------------------------------------------------------------------------ notes by both people
def test_the_report_reads_and_writes_the_notes_of_their_own_1_1(org, client_for, api_client_for) -> None:
    meeting = _meet(org, TODAY)
    services.one_on_one_notes_save(actor=org.manager_east, one_on_one=meeting, notes="Talk about the renewal.")
    client = client_for(org.rep_a)
    page = client.get(reverse("enablement:one_on_one", args=[meeting.pk]))
    assert page.status_code == 200 and "Talk about the renewal." in page.content.decode()
    client.post(reverse("enablement:one_on_one_notes", args=[meeting.pk]), {"notes": "And the pricing."})
    meeting.refresh_from_db()
    assert meeting.notes == "And the pricing."
    api = api_client_for(org.rep_a)
    answer = api.patch(f"/api/v1/enablement/one-on-ones/{meeting.pk}/", {"notes": "From the API."}, format="json")
    assert answer.status_code == 200 and answer.json()["notes"] == "From the API."
    assert api.get(f"/api/v1/enablement/one-on-ones/{meeting.pk}/").json()["notes"] == "From the API."


def test_an_htmx_notes_save_answers_the_fragment(org, client_for) -> None:
    meeting = _meet(org, TODAY)
    answer = client_for(org.manager_east).post(
        reverse("enablement:one_on_one_notes", args=[meeting.pk]), {"notes": "Fragment"}, HTTP_HX_REQUEST="true"
    )
    body = answer.content.decode()
    assert (
        answer.status_code == 200 and "Fragment" in body and "<html" not in body and 'data-testid="notes-saved"' in body
    )


# ------------------------------------------------------------------------------------- action items carried
def test_action_items_carry_over_until_done(org) -> None:
    first = _meet(org, TODAY - dt.timedelta(days=28))
    second = _meet(org, TODAY - dt.timedelta(days=14))
    third = _meet(org, TODAY + dt.timedelta(days=3))
    a = services.action_item_add(actor=org.manager_east, one_on_one=first, text="Book the sponsor meeting")
    b = services.action_item_add(actor=org.rep_a, one_on_one=first, text="Send the template", owner="manager")
    assert b.owner == org.manager_east and a.owner == org.manager_east
    c = services.action_item_add(actor=org.rep_a, one_on_one=second, text="Update next steps", owner="report")
    assert c.owner == org.rep_a
    # Another pair's items never cross over.
    services.action_item_add(actor=org.manager_east, one_on_one=_meet(org, TODAY, org.rep_b), text="Not rep_a's")

    assert [i.text for i in selectors.meeting_items(second).carried] == [a.text, b.text]
    assert [i.text for i in selectors.meeting_items(third).carried] == [a.text, b.text, c.text]
    with freeze_time(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))):
        services.action_item_set_done(actor=org.rep_a, item=a, done=True, in_meeting=second)
    a.refresh_from_db()
    assert a.done_in == second
    # Done on TODAY: still shown (as done) in the 1:1s held up to today, gone from the later ones.
    assert [i.text for i in selectors.meeting_items(second).carried] == [a.text, b.text]
    assert [i.text for i in selectors.meeting_items(third).carried] == [b.text, c.text]
    assert [i.text for i in selectors.open_actions_of_pair(org.manager_east.pk, org.rep_a.pk, upto=third.held_on)] == [
        b.text,
        c.text,
    ]
    services.action_item_set_done(actor=org.manager_east, item=a, done=False)
    assert [i.text for i in selectors.meeting_items(third).carried] == [a.text, b.text, c.text]


def test_the_next_1_1_page_shows_the_item_carried_over(org, client_for) -> None:
    first = _meet(org, TODAY - dt.timedelta(days=14))
    nxt = _meet(org, TODAY + dt.timedelta(days=7))
    client = client_for(org.manager_east)
    client.post(reverse("enablement:one_on_one_actions", args=[first.pk]), {"text": "Call the CFO", "owner": "report"})
    page = client.get(reverse("enablement:one_on_one", args=[nxt.pk])).content.decode()
    carried = page.split('data-testid="carried"', 1)
    assert len(carried) == 2 and "Call the CFO" in carried[1].split("</ul>", 1)[0]
    item = first.action_items.get()
    client.post(reverse("enablement:action_item_done", args=[item.pk]), {"meeting": nxt.pk, "done": "1"})
    item.refresh_from_db()
    assert item.done_at is not None and item.done_in == nxt


def test_only_the_pair_closes_an_action_item_in_its_own_1_1s(org) -> None:
    first = _meet(org, TODAY)
    other = _meet(org, TODAY, org.rep_b)
    item = services.action_item_add(actor=org.rep_a, one_on_one=first, text="Mine")
    with pytest.raises(DomainError):
        services.action_item_set_done(actor=org.manager_east, item=item, done=True, in_meeting=other)
    with pytest.raises(Forbidden):
        services.action_item_set_done(actor=org.rep_b, item=item, done=True)
    with pytest.raises(DomainError, match="owned by the manager or the report"):
        services.action_item_add(actor=org.rep_a, one_on_one=first, text="X", owner=org.rep_b.pk)


# ----------------------------------------------------------------------------------------------- the agenda
@pytest.fixture
def sources(org):
    """rep_a: a bookings quota of 100,000 for 2026-Q4, deals won in it, open deals at risk and not at risk."""
    stages = default_stages()
    period = pay.period_get_or_create("2026-Q4")
    pay.quota_set(actor=org.ops, person=org.rep_a, period=period, amount=100_000)
    DealFactory.create(owner=org.rep_a, stage=stages["Closed Won"], amount=Decimal(30_000),
                       close_date=dt.date(2026, 10, 20))  # fmt: skip
    DealFactory.create(owner=org.rep_a, stage=stages["Negotiation"], amount=Decimal(40_000),
                       close_date=dt.date(2026, 11, 10), next_step="Send contract")  # past close date: at risk  # fmt: skip
    DealFactory.create(owner=org.rep_a, stage=stages["Negotiation"], amount=Decimal(25_000),
                       close_date=dt.date(2026, 12, 10), next_step="")  # no next step: at risk  # fmt: skip
    DealFactory.create(owner=org.rep_c, stage=stages["Negotiation"], amount=Decimal(99_000),
                       close_date=dt.date(2026, 11, 10), next_step="")  # someone else's  # fmt: skip
    return org


def test_the_agenda_numbers_equal_the_sources(sources) -> None:
    org = sources
    with freeze_time(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))):
        meeting = _meet(org, TODAY)
        first = _meet(org, TODAY - dt.timedelta(days=14))
        services.action_item_add(
            actor=org.rep_a, one_on_one=first, text="Overdue thing", due_on=TODAY - dt.timedelta(1)
        )
        now = timezone.now()
        items = {i.key: i for i in selectors.live_agenda(meeting, today=TODAY, now=now)}
        measured = incentives.bookings_attainment([org.rep_a.pk], "2026-Q4")
        m = measured[org.rep_a.pk]
        pace = items["pace"].figures
        assert pace["quota"] == m.quota.amount == Decimal(100_000)
        assert pace["booked"] == m.achieved == Decimal(30_000) and pace["attainment"] == m.attainment
        assert m.attainment is not None and m.attainment.quantize(Decimal("0.01")) == Decimal("0.30")
        # 2026-Q4 has 92 days; 18 Nov is day 49: 49 / 92 = 0.5326
        assert pace["time_gone"] == Decimal("0.5326")
        own = pipeline.deals_visible_to(org.rep_a).filter(owner_id=org.rep_a.pk)
        risk = pipeline.deals_at_risk(own, start=dt.date(2026, 10, 1), end=dt.date(2026, 12, 31), today=TODAY, now=now)
        assert items["deals_at_risk"].figures["count"] == risk.count
        assert items["deals_at_risk"].figures["amount"] == risk.amount == Decimal(65_000)  # 40,000 + 25,000
        assert risk.count == 2 and items["deals_at_risk"].priority == engine.MEDIUM
        assert items["pace"].priority == engine.HIGH  # 53.3 % of the quarter gone, 30 % booked: 23 points behind
        rows = forecasting.accuracy_by_person(
            people=[org.rep_a.pk], start=dt.date(2026, 8, 1), end=dt.date(2026, 10, 31)
        )
        assert len(items["forecast_accuracy"].figures["months"]) == len(rows)
        assert items["actions"].figures == {"open": 1, "overdue": 1, "ids": [first.action_items.get().pk]}
        assert items["actions"].priority == engine.HIGH
        assert next(i.key for i in selectors.live_agenda(meeting, today=TODAY, now=now)) == "actions"


def test_saving_a_1_1_freezes_its_agenda(org, client_for) -> None:
    with freeze_time(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))):
        meeting = _meet(org, TODAY)
        client = client_for(org.rep_a)
        client.post(reverse("enablement:one_on_one_save", args=[meeting.pk]))
        meeting.refresh_from_db()
        assert meeting.agenda["built_on"] == "2026-11-18"
        keys = [item["key"] for item in meeting.agenda["items"]]
        assert {"pace", "deals_at_risk", "hygiene", "forecast_accuracy", "actions"} <= set(keys)
        # A new open action item does not change the saved agenda.
        services.action_item_add(actor=org.rep_a, one_on_one=meeting, text="Later")
        frozen, shown = selectors.shown_agenda(meeting, today=TODAY, now=timezone.now())
        assert frozen and shown == meeting.agenda["items"]
        with pytest.raises(DomainError, match="already saved"):
            services.one_on_one_save(actor=org.manager_east, one_on_one=meeting, today=TODAY, now=timezone.now())


def test_a_1_1_saved_after_its_day_says_its_numbers_are_of_the_save(org, client_for) -> None:
    """A 1:1 of 4 November saved on 18 November read as if its numbers were of 4 November."""
    with freeze_time(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))):
        late = _meet(org, TODAY - dt.timedelta(days=14))
        on_time = _meet(org, TODAY)
        client = client_for(org.manager_east)
        for meeting in (late, on_time):
            assert client.post(reverse("enablement:one_on_one_save", args=[meeting.pk])).status_code == 302
        page = client.get(reverse("enablement:one_on_one", args=[late.pk])).content.decode()
        assert "The numbers as they stood on 18 Nov 2026, when the 1:1 was saved." in page
        page = client.get(reverse("enablement:one_on_one", args=[on_time.pk])).content.decode()
        assert 'data-testid="agenda-built-on"' not in page


def test_the_list_page_shows_last_and_next_1_1_per_report(org, client_for) -> None:
    with freeze_time(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))):
        _meet(org, TODAY - dt.timedelta(days=14))
        _meet(org, TODAY + dt.timedelta(days=3))
        rows = {r.person.pk: r for r in selectors.report_rows(org.manager_east, today=TODAY)}
        assert set(rows) == {org.rep_a.pk, org.rep_b.pk}
        assert rows[org.rep_a.pk].last == dt.date(2026, 11, 4) and rows[org.rep_a.pk].next == dt.date(2026, 11, 21)
        assert rows[org.rep_b.pk].last is None
        page = client_for(org.manager_east).get(reverse("enablement:one_on_ones")).content.decode()
        assert "4 Nov 2026" in page and "21 Nov 2026" in page
        mine = client_for(org.rep_a).get(reverse("enablement:one_on_ones")).content.decode()
        assert 'data-testid="my-one-on-ones"' in mine and "21 Nov 2026" in mine


def test_a_report_without_enrolment_or_score_gets_no_onboarding_item(org) -> None:
    unrelated = UserFactory.create(manager=org.manager_east)
    meeting = _meet(org, TODAY, unrelated)
    keys = [i.key for i in selectors.live_agenda(meeting, today=TODAY, now=timezone.now())]
    assert "onboarding" not in keys and "pace" in keys


def test_the_demo_seeds_1_1s_with_carried_items_and_pages_read_well(org, client_for) -> None:
    import re
    from types import SimpleNamespace

    from enablement.demo_coaching import seed_coaching

    with freeze_time(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))):
        made = seed_coaching(org=SimpleNamespace(managers=[org.manager_east]), seed=3, today=TODAY)
    assert made == {"one_on_ones": 6, "action_items": 6}  # rep_a and rep_b: three 1:1s and three items each
    for report in (org.rep_a, org.rep_b):
        meetings = list(OneOnOne.objects.filter(manager=org.manager_east, report=report).order_by("held_on"))
        assert [m.agenda.get("items") is not None for m in meetings] == [True, True, False]  # the next is live
        carried = selectors.meeting_items(meetings[2]).carried
        assert len(carried) == 2 and all(item.done_at is None for item in carried)  # one of three was done
    client = client_for(org.manager_east)
    for meeting in OneOnOne.objects.all():
        page = client.get(reverse("enablement:one_on_one", args=[meeting.pk]))
        text = re.sub(r"<[^>]+>", " ", page.content.decode().split("<main", 1)[-1])
        text = re.sub(r'value="[^"]*"', "", text)
        assert page.status_code == 200
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), "a raw ISO date"
        assert not re.search(r"(?<![\d.,])\d+\.\d{3,}\b", text), "a ratio with more than two decimals"
