"""Territory models: drafting, assignment (idempotent), activation, moves and the published view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from freezegun import freeze_time

from planning.models import TerritoryAssignment, TerritoryModel, TerritoryRule
from planning.selectors import territories as selectors
from planning.services import territories as services
from salesops.api import DomainError, Forbidden
from salesops.org.models import AuditEvent
from tests.conftest import Org
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(org: Org) -> dict[str, int]:
    return {
        "fr_small": AccountFactory.create(name="Paris SARL", country="FR", sector="software", employees=20).pk,
        "fr_big": AccountFactory.create(name="Lyon SA", country="FR", sector="retail", employees=5000).pk,
        "de": AccountFactory.create(name="Berlin GmbH", country="DE", sector="retail", employees=None).pk,
        "us": AccountFactory.create(name="Austin Inc", country="US", sector="retail", employees=300).pk,
    }


def build(org: Org, name: str = "FY27") -> tuple[TerritoryModel, dict[str, int]]:
    """Company → EMEA (FR, DE; owner manager_east) → France SMB (FR + 1-49; owner rep_a); Americas (US; rep_c)."""
    ops = org.ops
    model = services.territory_model_create(actor=ops, name=name)
    root = model.territories.get()
    emea = services.territory_create(actor=ops, model_id=model.pk, parent_id=root.pk, name="EMEA",
                                     owner_id=org.manager_east.pk)  # fmt: skip
    smb = services.territory_create(actor=ops, model_id=model.pk, parent_id=emea.pk, name="France SMB",
                                    owner_id=org.rep_a.pk)  # fmt: skip
    americas = services.territory_create(actor=ops, model_id=model.pk, parent_id=root.pk, name="Americas",
                                         owner_id=org.rep_c.pk)  # fmt: skip
    services.territory_rule_set(actor=ops, territory_id=emea.pk, kind="region", values=["FR", "DE"])
    services.territory_rule_set(actor=ops, territory_id=smb.pk, kind="region", values=["FR"])
    services.territory_rule_set(actor=ops, territory_id=smb.pk, kind="size_band", values=["1-49"])
    services.territory_rule_set(actor=ops, territory_id=americas.pk, kind="region", values=["US"])
    return model, {"root": root.pk, "emea": emea.pk, "smb": smb.pk, "americas": americas.pk}


def placed(model: TerritoryModel) -> dict[int, int]:
    return dict(TerritoryAssignment.objects.filter(model=model).values_list("account_id", "territory_id"))


def test_assignment_puts_every_account_in_one_territory_and_a_rerun_changes_nothing(org, accounts) -> None:
    model, t = build(org)
    first = services.territory_assign(actor=org.ops, model_id=model.pk)
    assert (first.accounts, first.added, first.changed, first.removed) == (4, 4, 0, 0)
    assert placed(model) == {accounts["fr_small"]: t["smb"], accounts["fr_big"]: t["emea"],
                             accounts["de"]: t["emea"], accounts["us"]: t["americas"]}  # fmt: skip
    rows = {a: r for a, r in TerritoryAssignment.objects.filter(model=model).values_list("account_id", "rule")}
    assert rows[accounts["fr_small"]] == "region+size_band" and rows[accounts["de"]] == "region"
    before = list(TerritoryAssignment.objects.filter(model=model).order_by("pk").values_list("pk", "territory_id"))
    again = services.territory_assign(actor=org.ops, model_id=model.pk)
    assert again.unchanged and again.message == "4 accounts assigned: nothing changed."
    assert (
        list(TerritoryAssignment.objects.filter(model=model).order_by("pk").values_list("pk", "territory_id")) == before
    )
    # A new account with no rule matching goes to the root; the others stay where they were.
    other = AccountFactory.create(country="JP").pk
    third = services.territory_assign(actor=org.ops, model_id=model.pk)
    assert (third.added, third.changed, third.removed) == (1, 0, 0) and placed(model)[other] == t["root"]


def test_activation_archives_the_previous_model_and_is_audited(org, accounts) -> None:
    first, _ = build(org, "FY26")
    with freeze_time("2026-01-01"):
        services.territory_model_activate(actor=org.ops, model_id=first.pk)
    second = services.territory_model_copy(actor=org.ops, model_id=first.pk, name="FY27")
    assert second.status == "draft" and second.territories.count() == 4
    assert TerritoryRule.objects.filter(territory__model=second).count() == 4
    with freeze_time("2027-01-01"):
        services.territory_model_activate(actor=org.ops, model_id=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.effective_from, first.effective_to) == ("archived", dt.date(2026, 1, 1),
                                                                        dt.date(2026, 12, 31))  # fmt: skip
    assert (second.status, second.effective_from, second.effective_to) == ("active", dt.date(2027, 1, 1), None)
    assert len(placed(second)) == 4  # activation assigns the accounts
    actions = set(AuditEvent.objects.filter(entity="planning.territorymodel").values_list("entity_id", "action"))
    assert {(str(first.pk), "activate"), (str(first.pk), "archive"), (str(second.pk), "activate")} <= actions


def test_an_active_or_archived_model_is_read_only_and_only_sales_ops_plan(org, accounts) -> None:
    model, t = build(org)
    with pytest.raises(Forbidden):
        services.territory_create(actor=org.manager_east, model_id=model.pk, parent_id=t["root"], name="X")
    services.territory_model_activate(actor=org.ops, model_id=model.pk)
    with pytest.raises(DomainError, match="only a draft changes"):
        services.territory_create(actor=org.ops, model_id=model.pk, parent_id=t["root"], name="X")
    with pytest.raises(DomainError, match="only a draft changes"):
        services.territory_rule_set(actor=org.ops, territory_id=t["smb"], kind="region", values=["DE"])
    with pytest.raises(DomainError, match="only a draft changes"):
        services.territory_account_move(actor=org.ops, account_id=accounts["us"], territory_id=t["smb"])
    services.territory_model_archive(actor=org.ops, model_id=model.pk)
    with pytest.raises(DomainError, match="archived"):
        services.territory_assign(actor=org.ops, model_id=model.pk)


def test_refusals_name_the_record(org, accounts) -> None:
    model, t = build(org)
    with pytest.raises(DomainError, match="not a size band"):
        services.territory_rule_set(actor=org.ops, territory_id=t["smb"], kind="size_band", values=["huge"])
    with pytest.raises(DomainError, match="cannot be its parent"):
        services.territory_move(actor=org.ops, territory_id=t["emea"], parent_id=t["smb"])
    with pytest.raises(DomainError, match="has sub-territories"):
        services.territory_delete(actor=org.ops, territory_id=t["emea"])
    with pytest.raises(DomainError, match="is the root"):
        services.territory_delete(actor=org.ops, territory_id=t["root"])
    with pytest.raises(DomainError, match="Person 987654321 does not exist"):
        services.territory_create(actor=org.ops, model_id=model.pk, parent_id=t["root"], name="X", owner_id=987654321)


@freeze_time("2026-07-15")
def test_a_draft_move_changes_the_balance_report(org, accounts) -> None:
    model, t = build(org)
    stages = default_stages()
    DealFactory.create(account_id=accounts["us"], owner=org.rep_c, amount=Decimal("1000.00"))  # open
    DealFactory.create(
        account_id=accounts["us"],
        owner=org.rep_c,
        stage=stages["Closed Won"],
        amount=Decimal("500.00"),
        close_date=dt.date(2026, 2, 1),
    )  # fmt: skip  (in the last four closed quarters)
    DealFactory.create(
        account_id=accounts["us"],
        owner=org.rep_c,
        stage=stages["Closed Won"],
        amount=Decimal("7.00"),
        close_date=dt.date(2026, 7, 1),
    )  # fmt: skip  (this quarter: not trailing)
    report = {r.territory.pk: r.balance for r in selectors.balance_report(org.ops, model).rows}
    assert report[t["americas"]].accounts == 1 and report[t["americas"]].open_pipeline == Decimal("1000.00")
    assert report[t["americas"]].trailing_bookings == Decimal("500.00")
    assert report[t["smb"]].accounts == 1
    services.territory_account_move(actor=org.ops, account_id=accounts["us"], territory_id=t["smb"])
    report = {r.territory.pk: r.balance for r in selectors.balance_report(org.ops, model).rows}
    assert report[t["americas"]].accounts == 0 and report[t["americas"]].open_pipeline == 0
    assert report[t["smb"]].accounts == 2 and report[t["smb"]].open_pipeline == Decimal("1000.00")
    # Moving a territory is a parent change: Americas under EMEA is deeper, so it still wins its accounts.
    services.territory_move(actor=org.ops, territory_id=t["americas"], parent_id=t["emea"])
    rows = selectors.balance_report(org.ops, model).rows
    assert {r.territory.name: r.depth for r in rows}["Americas"] == 2


def test_quota_of_the_owner_is_shown(org, accounts) -> None:
    from incentives import services as pay

    model, t = build(org)
    with freeze_time("2026-05-01"):
        for label in ("2026-Q1", "2026-Q2"):
            pay.quota_set(actor=org.ops, person=org.rep_a, period=pay.period_get_or_create(label), amount=1000)
        report = {r.territory.pk: r.balance for r in selectors.balance_report(org.ops, model).rows}
    assert report[t["smb"]].owner_quota == Decimal("2000.00") and report[t["americas"]].owner_quota is None


def test_a_manager_owner_shows_the_team_quota_they_carry(org, accounts) -> None:
    from incentives import services as pay

    model, t = build(org)
    with freeze_time("2026-05-01"):
        for label in ("2026-Q1", "2026-Q2"):
            period = pay.period_get_or_create(label)
            pay.quota_set(actor=org.ops, person=org.rep_a, period=period, amount=1000)
            pay.quota_set(actor=org.ops, person=org.rep_b, period=period, amount=1500)
            pay.quota_set(actor=org.ops, person=org.manager_east, period=period, amount=None, is_team_sum=True)
        report = {r.territory.pk: r.balance for r in selectors.balance_report(org.ops, model).rows}
    # EMEA's owner, manager_east, carries rep_a's and rep_b's quotas: 2,500 a quarter, two quarters.
    assert report[t["emea"]].owner_quota == Decimal("5000.00")
    assert report[t["smb"]].owner_quota == Decimal("2000.00")


def test_deals_read_their_territory_through_the_account_and_the_published_view(org, accounts) -> None:
    model, t = build(org)
    deal = DealFactory.create(account_id=accounts["fr_small"], owner=org.rep_a)
    services.territory_assign(actor=org.ops, model_id=model.pk)
    assert selectors.deal_territory(deal.pk) is None  # a draft is nobody's territory yet
    services.territory_model_activate(actor=org.ops, model_id=model.pk)
    territory = selectors.deal_territory(deal.pk)
    assert territory is not None and territory.pk == t["smb"]
    assert [x.name for x in selectors.person_territories(org.rep_a.pk)] == ["France SMB"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.territory_name, v.owner_id FROM planning_account_territory v "
            "JOIN pipeline_deal_feed d ON d.account_id = v.account_id WHERE d.id = %s",
            [deal.pk],
        )
        assert cursor.fetchall() == [("France SMB", org.rep_a.pk)]
