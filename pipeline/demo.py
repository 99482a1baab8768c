"""The demo company's pipeline, loaded by `seed_demo` after the people: two years of deals with their
histories, so every screen has something true to show on the first `make run`.

- the default "Sales" pipeline (standard stages) and a small "Renewals" pipeline;
- ~150 accounts with Faker names, sectors, countries and domains (plus "Acme Corp" and "ACME Corporation",
  a duplicate pair to merge), 2–3 contacts each, 8 products with list prices;
- ~3,000 deals: each rep ~70 over the 24 months they were there, about a third of the closed ones won,
  an open pipeline closing in the coming 1–6 months, a few open deals past their close date, a few
  without an amount yet; amounts are the sum of their line items;
- splits on ~15 % of deals (a teammate's share, some overlays), activities (calls, e-mails, meetings, open
  tasks with due dates: the logins `rep` and `manager` have work due today), ~40 leads;
- DealChange history backdated over the deal's life: created, stage moves (stage_entered_at is the last
  one), close-date pushes, amount changes, splits, hand-overs of leavers' deals.

Accounts, contacts, leads and pipelines go through the services. Deals and their history are planned here
and written with bulk_create (a service call per stage move would take minutes and stamp every change
"now"); the plan keeps what the services guarantee: status matches the stage, a stage's exit criteria
are met, revenue splits sum to 100, changed_at ascends. Deterministic for a seed and a today.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from faker import Faker

from pipeline.events import announce_deals_changed
from pipeline.models import (
    Account,
    Activity,
    Contact,
    Deal,
    DealChange,
    DealLineItem,
    DealSplit,
    DealStatus,
    LeadStatus,
    Pipeline,
    Product,
    Stage,
)
from pipeline.services import (
    account_create,
    contact_create,
    default_pipeline,
    lead_create,
    lost_reasons,
    pipeline_create,
)
from salesops.org.demo import DemoOrg
from salesops.org.models import User

CENT = Decimal("0.01")
HISTORY_DAYS = 730  # two years of deals

_PRICED = ["amount", "close_date"]
RENEWAL_STAGES: list[dict[str, Any]] = [
    {"name": "Renewal Due", "probability": 50, "forecast_category": "pipeline", "exit_criteria": []},
    {"name": "Quote Sent", "probability": 70, "forecast_category": "best_case", "exit_criteria": _PRICED},
    {"name": "Verbal Commit", "probability": 90, "forecast_category": "commit", "exit_criteria": _PRICED},
    {"name": "Renewed", "probability": 100, "forecast_category": "closed", "is_won": True, "exit_criteria": _PRICED},
    {"name": "Churned", "probability": 0, "forecast_category": "omitted", "is_lost": True, "exit_criteria": []},
]

PRODUCTS = [
    ("Revenue Cloud Starter", "Platform", "9000.00"),
    ("Revenue Cloud Enterprise", "Platform", "36000.00"),
    ("Forecasting Add-on", "Add-on", "7500.00"),
    ("Incentives Add-on", "Add-on", "12000.00"),
    ("Analytics Seats (10)", "Seats", "2400.00"),
    ("Premium Support", "Services", "4800.00"),
    ("Implementation Package", "Services", "15000.00"),
    ("Admin Training", "Services", "1800.00"),
]
SECTORS = ["Software", "Manufacturing", "Retail", "Financial Services", "Healthcare", "Logistics", "Energy",
           "Education", "Media", "Telecommunications", "Hospitality", "Public Sector"]  # fmt: skip
COUNTRIES = ["United States"] * 6 + ["Canada", "United Kingdom", "Germany", "France", "Netherlands", "Australia"]
NOUNS = ["Logistics", "Foods", "Health", "Energy", "Analytics", "Robotics", "Software", "Manufacturing",
         "Outdoor", "Pharma", "Textiles", "Systems", "Freight", "Media", "Capital", "Labs"]  # fmt: skip
CONTACT_TITLES = ["CFO", "VP Sales", "Head of Revenue Operations", "IT Director", "Procurement Manager", "CEO",
                  "Sales Operations Analyst", "COO"]  # fmt: skip
SOURCES = ["Inbound", "Outbound", "Partner", "Event", "Referral", "Website"]
NEXT_STEPS = ["Schedule demo", "Send proposal", "Security review", "Pricing call", "Legal review",
              "Executive sponsor meeting", "Technical validation"]  # fmt: skip
LOST_REASONS = ["Price", "Lost to competitor", "No decision", "Timing", "Budget cut", "Feature gap"]
# Who won a deal lost to a competitor (win/loss by competitor), picked from the deal's name so that the demo's other
# random choices stay as they were.
COMPETITORS = ["Salesforce", "HubSpot", "Pipedrive", "Zoho", "In-house spreadsheet"]
LOST_TO_COMPETITOR = ("Lost to competitor", "Churned to a competitor")
DONE_SUBJECTS = {
    "call": ["Discovery call", "Check-in call", "Pricing call", "Call with the champion"],
    "email": ["Sent proposal", "Sent follow-up", "Shared a case study", "Sent the contract draft"],
    "meeting": ["Product demo", "Onsite workshop", "Executive alignment", "Technical deep dive"],
}
TASK_SUBJECTS = ["Follow up on the proposal", "Prepare the order form", "Book the security review",
                 "Confirm budget with finance", "Send the mutual action plan", "Chase the signature"]  # fmt: skip
LEAD_STATUSES = [LeadStatus.NEW] * 12 + [LeadStatus.WORKING] * 10 + [LeadStatus.QUALIFIED] * 6 + \
    [LeadStatus.DISQUALIFIED] * 6 + [LeadStatus.CONVERTED] * 6  # fmt: skip


@dataclass
class DemoPipeline:
    pipelines: list[Pipeline]
    accounts: int = 0
    contacts: int = 0
    deals: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    changes: int = 0
    activities: int = 0
    leads: int = 0
    deal_ids: list[int] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)


@dataclass
class _Plan:
    """One deal as planned: its final state and its history, before anything is written."""

    name: str
    owner: User
    account: Account
    contact: Contact
    pipeline: Pipeline
    path: list[Stage]  # every stage it was in, in order; the last is where it is now
    created_at: dt.datetime
    close_date: dt.date
    amount: Decimal | None
    lines: list[tuple[Product, Decimal, Decimal]]
    deal_type: str = "new"
    source: str = ""
    history: list[tuple[dt.datetime, str, str, str, int | None, int | None, User | None]] = field(default_factory=list)
    splits: list[tuple[User, Decimal, bool]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    first_owner: User | None = None
    next_step: str = ""
    lost_reason: str = ""


def _at(day: dt.date, seconds: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class _Seeder:
    def __init__(self, org: DemoOrg, seed: int, today: dt.date, quarter_start: dt.date) -> None:
        self.org = org
        self.today = today
        self.quarter_start = quarter_start
        self.now = _at(today, 0)  # the history happened before today began, but for deals closed today
        # Deals closed today closed between midnight and the moment the demo is loaded (just after midnight
        # too); a `today` that is not the clock's day counts as seen at noon.
        moment = timezone.now()
        noon = self.now + dt.timedelta(hours=12)
        self.until = moment if self.now < moment < self.now + dt.timedelta(days=1) else noon
        self.rng = random.Random(seed * 1_000_003 + 17)  # noqa: S311 - demo data, reproducible on purpose
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed * 1_000_003 + 17)
        self.ops = org.ops
        self.plans: list[_Plan] = []

    # ------------------------------------------------------------------------------ reference data
    def reference_data(self) -> None:
        rng, fake = self.rng, self.fake
        self.sales = default_pipeline()
        lost_reasons()  # the list sales ops keep (the demo's lost deals use its names)
        self.renewals = pipeline_create(actor=self.ops, name="Renewals", stages=RENEWAL_STAGES)
        self.stages = {p.pk: list(p.stages.order_by("position")) for p in (self.sales, self.renewals)}
        self.products = Product.objects.bulk_create(
            Product(name=name, series=series, list_price=Decimal(price)) for name, series, price in PRODUCTS
        )
        self.product_weights = [5, 2, 3, 2, 4, 3, 2, 2]
        active = [r for r in self.org.reps if r.is_active]
        names: list[str] = []
        keys: set[str] = set()
        while len(names) < 148:
            name = fake.company() if rng.random() < 0.6 else f"{fake.last_name()} {rng.choice(NOUNS)}"
            key = _slug(name)
            if key not in keys and "acme" not in key:
                keys.add(key)
                names.append(name)
        self.accounts: list[Account] = []
        self.contacts: dict[int, list[Contact]] = {}
        for index, name in enumerate([*names, "Acme Corp", "ACME Corporation"]):
            employees = int(min(250_000, math.exp(rng.gauss(6.0, 1.5))))
            domain = "acme.example" if "acme" in name.lower() else f"{_slug(name)}.example"
            parent = self.accounts[rng.randrange(len(self.accounts))] if index > 20 and rng.random() < 0.04 else None
            account = account_create(
                actor=self.ops,
                name=name,
                domain=domain,
                sector=rng.choice(SECTORS),
                country=rng.choice(COUNTRIES),
                employees=max(5, employees),
                annual_revenue=Decimal(employees * rng.randint(90, 350)) * 1000,
                year_established=rng.randint(1955, 2020),
                owner=rng.choice(active),
                parent=parent,
            )
            self.accounts.append(account)
            people = []
            for _ in range(rng.choice([2, 2, 3])):
                first, last = fake.first_name(), fake.last_name()
                people.append(
                    contact_create(
                        actor=self.ops,
                        account=account,
                        first_name=first,
                        last_name=last,
                        email=f"{_slug(first)}.{_slug(last)}@{domain}",
                        phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                        title=rng.choice(CONTACT_TITLES),
                        owner=account.owner,
                    )
                )
            self.contacts[account.pk] = people
        # Accounts and contacts were entered before the two years of deals began.
        for account in self.accounts:
            account.created_at = _at(self.today - dt.timedelta(days=rng.randint(760, 1500)), 36_000)
        Account.objects.bulk_update(self.accounts, ["created_at"])
        by_account = [c for a in self.accounts for c in self.contacts[a.pk]]
        for contact in by_account:
            contact.created_at = next(a.created_at for a in self.accounts if a.pk == contact.account_id)
        Contact.objects.bulk_update(by_account, ["created_at"])
        # Each rep works a book of accounts; deals mostly come from it.
        self.book: dict[int, list[Account]] = {}
        for account in self.accounts:
            self.book.setdefault(account.owner_id or 0, []).append(account)

    # ----------------------------------------------------------------------------------- planning
    def plan_deals(self) -> None:
        rng = self.rng
        for rep in self.org.reps:
            # Deals opened a little over two years ago close within the two years shown.
            start = max(rep.start_date or self.today, self.today - dt.timedelta(days=HISTORY_DAYS + 40))
            end = min(rep.end_date or self.today, self.today)
            days = max(0, (end - start).days)
            is_demo_rep = rep.username == "rep"
            volume = rng.lognormvariate(0, 0.2)
            for _ in range(round(days / 30.4 * 3.2 * volume)):
                created = start + dt.timedelta(days=rng.randrange(max(1, days - 1)))
                if created >= self.today:
                    continue
                cycle = int(min(240, max(7, rng.lognormvariate(math.log(42), 0.55))))
                if created + dt.timedelta(days=cycle) < self.today - dt.timedelta(days=HISTORY_DAYS):
                    continue  # closed before the two years shown (and before the pay history's first quarter)
                self.plan_sales_deal(rep, created, created + dt.timedelta(days=cycle))
            if rep.is_active:
                # The live pipeline: deals opened in the last quarter, closing in the coming 1–6 months.
                # The first closes this month (today at the earliest), the second next month.
                month_end = _month_end(self.today)
                for index in range(rng.randint(14, 18) if is_demo_rep else rng.randint(8, 13)):
                    created = self.today - dt.timedelta(days=rng.randint(3, 90))
                    if rep.start_date and created < rep.start_date:
                        created = rep.start_date
                    if created >= self.today:
                        created = self.today - dt.timedelta(days=1)
                    if index == 0:
                        close = self.today + dt.timedelta(days=rng.randint(0, (month_end - self.today).days))
                    elif index == 1:
                        next_end = _month_end(month_end + dt.timedelta(days=1))
                        close = next_end - dt.timedelta(days=rng.randint(0, next_end.day - 1))
                    else:
                        close = self.today + dt.timedelta(days=rng.randint(7, 180))
                    self.plan_sales_deal(rep, created, close, keep_open=True)
        self.plan_quarter_so_far()
        self.plan_renewals()

    def plan_quarter_so_far(self) -> None:
        """Whatever the day, this quarter already has won and lost deals: each active rep who was there two
        weeks before it began has at least one win and one loss closing between its first day and today (the
        demo rep two wins); on a quarter's first day they closed earlier today."""
        rng, first, today = self.rng, self.quarter_start, self.today
        for rep in self.org.reps:
            if not rep.is_active or rep.start_date is None or rep.start_date > first - dt.timedelta(days=14):
                continue
            closed = Counter(
                p.path[-1].status
                for p in self.plans
                if p.owner.pk == rep.pk and p.pipeline == self.sales and first <= p.close_date <= today
            )
            wanted = {DealStatus.WON: 2 if rep.username == "rep" else 1, DealStatus.LOST: 1}
            for status, count in wanted.items():
                for _ in range(count - closed[status]):
                    close = first + dt.timedelta(days=rng.randint(0, (today - first).days))
                    created = max(rep.start_date, close - dt.timedelta(days=rng.randint(14, 60)))
                    self.plan_sales_deal(rep, created, close, outcome=str(status))

    def _successor(self, rep: User) -> User:
        """An active teammate who was there when `rep` left (else any such rep) takes over their deals."""
        left = rep.end_date or self.today

        def there(r: User) -> bool:
            return r.is_active and r.pk != rep.pk and (r.start_date is None or r.start_date <= left)

        mates = [r for r in self.org.reps if r.manager_id == rep.manager_id and there(r)]
        return self.rng.choice(mates or [r for r in self.org.reps if there(r)])

    def _lines(self) -> tuple[Decimal, list[tuple[Product, Decimal, Decimal]]]:
        rng = self.rng
        lines = []
        for product in rng.sample(self.products, k=rng.choice([1, 1, 2, 2, 3])):
            seats = "Seats" in product.series
            quantity = Decimal(rng.randint(1, 12) if seats else rng.choice([1, 1, 1, 2, 3]))
            unit = (product.list_price * Decimal(1 - rng.choice([0, 0, 0.05, 0.1, 0.15, 0.2]))).quantize(CENT)
            lines.append((product, quantity, unit))
        return sum(((q * u).quantize(CENT) for _, q, u in lines), Decimal(0)), lines

    def plan_sales_deal(
        self, rep: User, created: dt.date, close: dt.date, *, keep_open: bool = False, outcome: str = ""
    ) -> None:
        """One deal of the Sales pipeline; `outcome` ("won" or "lost") closes it on `close`, today included."""
        rng, today = self.rng, self.today
        book = self.book.get(rep.pk) or self.accounts
        account = rng.choice(book) if rng.random() < 0.8 else rng.choice(self.accounts)
        stages = self.stages[self.sales.pk]
        open_stages = [s for s in stages if not (s.is_won or s.is_lost)]
        won_stage = next(s for s in stages if s.is_won)
        lost_stage = next(s for s in stages if s.is_lost)
        outcome = outcome or "open"
        if outcome == "open" and not keep_open and close < today:
            if close > today - dt.timedelta(days=60) and rng.random() < 0.05:
                outcome = "stale"  # still open, its close date passed: a rep's clean-up
            else:
                outcome = "won" if rng.random() < 0.36 else "lost"
        elif outcome == "open" and not keep_open and close > today + dt.timedelta(days=182):
            close = today + dt.timedelta(days=rng.randint(30, 180))
        owner, first_owner = rep, None
        if rep.end_date and (outcome in ("open", "stale") or close > rep.end_date):
            owner, first_owner = self._successor(rep), rep  # a leaver's deal outlived them: handed over
        # Where it stands: later stages for deals closing sooner.
        k = len(open_stages)
        if outcome == "won":
            final = k - 1 if rng.random() < 0.8 else k - 2
        elif outcome == "lost":
            final = rng.randrange(k)
        elif outcome == "stale":
            final = rng.randint(2, k - 1)
        else:
            days_left = (close - today).days
            weights = [1, 2, 4, 7, 6] if days_left <= 30 else [3, 5, 6, 4, 2] if days_left <= 90 else [7, 6, 4, 2, 1]
            final = rng.choices(range(k), weights=weights[:k])[0]
        first = 1 if rng.random() < 0.2 and final >= 1 else 0
        path = [open_stages[first]]
        for index in range(first + 1, final + 1):
            if index == final or rng.random() > 0.1:
                path.append(open_stages[index])
        if final > first and rng.random() < 0.2:  # slipped back a stage, then forward again
            path += [open_stages[final - 1], open_stages[final]]
        if outcome in ("won", "lost"):
            path.append(won_stage if outcome == "won" else lost_stage)
        amount: Decimal | None
        amount, lines = self._lines()
        if outcome == "open" and final <= 1 and rng.random() < 0.12:
            amount, lines = None, []  # not priced yet: allowed before Discovery
        product = lines[0][0].name if lines else "new opportunity"
        deal_type = rng.choices(["new", "expansion", "renewal"], weights=[7, 3, 0])[0]
        name = f"{account.name} — {product}" + (" expansion" if deal_type == "expansion" else "")
        plan = _Plan(
            name=name,
            owner=owner,
            first_owner=first_owner,
            account=account,
            contact=rng.choice(self.contacts[account.pk]),
            pipeline=self.sales,
            path=path,
            created_at=_at(created, rng.randint(8 * 3600, 18 * 3600)),
            close_date=close,
            amount=amount,
            lines=lines,
            deal_type=deal_type,
            source=rng.choice(SOURCES),
            next_step=rng.choice(NEXT_STEPS) if outcome in ("open", "stale") else "",
            lost_reason=rng.choice(LOST_REASONS) if outcome == "lost" else "",
        )
        self._history(plan, closed=outcome in ("won", "lost"))
        self.plans.append(plan)

    def plan_renewals(self) -> None:
        """A renewal a year after each early new-business win, in the Renewals pipeline."""
        rng, today = self.rng, self.today
        stages = self.stages[self.renewals.pk]
        open_stages = [s for s in stages if not (s.is_won or s.is_lost)]
        renewed = next(s for s in stages if s.is_won)
        churned = next(s for s in stages if s.is_lost)
        wins = [p for p in self.plans if p.path[-1].is_won and p.deal_type == "new" and p.amount]
        for won in wins:
            close = won.close_date + dt.timedelta(days=365)
            created = close - dt.timedelta(days=rng.randint(60, 100))
            if created >= today or close > today + dt.timedelta(days=180) or rng.random() < 0.55:
                continue
            owner = won.owner if won.owner.is_active else self._successor(won.owner)
            if close < today - dt.timedelta(days=3):
                final = open_stages[-1] if rng.random() < 0.85 else open_stages[0]
                path = [*open_stages[: open_stages.index(final) + 1], renewed if final == open_stages[-1] else churned]
                closed = True
            else:
                path = open_stages[: rng.randint(1, len(open_stages))]
                closed = False
            lines = [(p, q, (u * Decimal("1.05")).quantize(CENT)) for p, q, u in won.lines]
            plan = _Plan(
                name=f"{won.account.name} — renewal {close.year}",
                owner=owner,
                account=won.account,
                contact=won.contact,
                pipeline=self.renewals,
                path=path,
                created_at=_at(created, rng.randint(8 * 3600, 18 * 3600)),
                close_date=close,
                amount=sum(((q * u).quantize(CENT) for _, q, u in lines), Decimal(0)),
                lines=lines,
                deal_type="renewal",
                source="Renewal",
                next_step="" if closed else "Send the renewal quote",
                lost_reason="Churned to a competitor" if path[-1].is_lost else "",
            )
            self._history(plan, closed=closed)
            self.plans.append(plan)

    def _history(self, plan: _Plan, *, closed: bool) -> None:
        """Backdated history, splits and activities of one planned deal."""
        rng = self.rng
        start = plan.created_at
        if not closed:
            end = self.now - dt.timedelta(minutes=rng.randint(30, 600))
        elif plan.close_date < self.today:
            end = _at(plan.close_date, rng.randint(10 * 3600, 18 * 3600))
        else:  # closed today, before the moment the demo is loaded
            end = self.now + (self.until - self.now) * rng.uniform(0.3, 0.8)
        end = max(end, start + dt.timedelta(hours=2))
        span = (end - start).total_seconds()
        first_owner = plan.first_owner or plan.owner
        handover = _at(plan.first_owner.end_date, 22 * 3600) if plan.first_owner and plan.first_owner.end_date else None

        def by(at: dt.datetime) -> User:
            return first_owner if handover and at < handover else plan.owner

        events: list[tuple[dt.datetime, str, str, str, int | None, int | None]] = [
            (start, "created", "", plan.path[0].name, None, plan.path[0].pk)
        ]
        moves = sorted(rng.uniform(0.03, 0.97) for _ in plan.path[1:])
        for index, (before, after) in enumerate(zip(plan.path, plan.path[1:], strict=False)):
            last = index == len(plan.path) - 2
            at = end if closed and last else start + dt.timedelta(seconds=moves[index] * span)
            events.append((at, "stage", before.name, after.name, before.pk, after.pk))
        if plan.amount is not None and rng.random() < 0.15:
            old_amount = (plan.amount * Decimal(rng.choice(["0.7", "0.8", "1.2", "1.3"]))).quantize(CENT)
            at = start + dt.timedelta(seconds=rng.uniform(0.1, 0.9) * span)
            events.append((at, "amount", str(old_amount), str(plan.amount), None, None))
        past_due = not closed and plan.close_date < self.today
        if past_due or rng.random() < 0.2:
            # Pushed later once or twice (a stale deal was pushed before it slipped past again).
            current = plan.close_date
            pushes = rng.choice([1, 1, 2])
            # Walking back from the close date it has now: the latest push happened last.
            for at_fraction in sorted((rng.uniform(0.05, 0.95) for _ in range(pushes)), reverse=True):
                earlier = max(
                    current - dt.timedelta(days=rng.randint(10, 45)), plan.created_at.date() + dt.timedelta(days=1)
                )
                if earlier >= current:
                    break
                at = start + dt.timedelta(seconds=at_fraction * span)
                events.append((at, "close_date", earlier.isoformat(), current.isoformat(), None, None))
                current = earlier
        if handover:
            old_name, new_name = first_owner.display_name, plan.owner.display_name
            events.append((handover, "owner", old_name, new_name, first_owner.pk, plan.owner.pk))
        mates = [r for r in self.org.reps if r.manager_id == plan.owner.manager_id and r.pk != plan.owner.pk]
        if plan.pipeline == self.sales and mates and rng.random() < 0.15:
            mate = rng.choice(mates)
            share = Decimal(rng.choice([50, 60, 70]))
            plan.splits = [(plan.owner, share, False), (mate, Decimal(100) - share, False)]
            if rng.random() < 0.25:
                others = [r for r in self.org.reps if r.manager_id != plan.owner.manager_id and r.is_active]
                plan.splits.append((rng.choice(others), Decimal(50), True))
            text = ", ".join(
                f"{u.username} {p}%{' overlay' if o else ''}"
                for u, p, o in sorted(((u, p.quantize(CENT), o) for u, p, o in plan.splits),
                                      key=lambda s: (s[2], s[0].username))
            )  # fmt: skip
            events.append((start + dt.timedelta(seconds=min(3600.0, span / 4)), "splits", "", text, None, None))
        # Strictly ascending times, in the order the events happened.
        events.sort(key=lambda e: (e[0], e[1] != "created"))
        previous: dt.datetime | None = None
        for at, field_name, old, new, old_ref, new_ref in events:
            if previous is not None and at <= previous:
                at = previous + dt.timedelta(seconds=1)
            plan.history.append((at, field_name, old, new, old_ref, new_ref, by(at)))
            previous = at
        # Activities: touches over the deal's life; open deals get a task due soon (some overdue).
        for _ in range(rng.choice([1, 1, 2, 3])):
            kind = rng.choice(["call", "call", "email", "email", "meeting"])
            at = start + dt.timedelta(seconds=rng.uniform(0.05, 0.98) * span)
            plan.activities.append({"kind": kind, "subject": rng.choice(DONE_SUBJECTS[kind]), "occurred_at": at,
                                    "done": True, "owner": by(at)})  # fmt: skip
        if not closed and (plan.owner.username == "rep" or rng.random() < 0.55):
            due = self.today + dt.timedelta(days=rng.choice([-4, -2, -1, 0, 0, 0, 1, 2, 3, 5, 7, 10, 14]))
            plan.activities.append({"kind": "task", "subject": rng.choice(TASK_SUBJECTS),
                                    "occurred_at": self.now - dt.timedelta(days=rng.randint(1, 10)),
                                    "done": False, "due_date": due, "owner": plan.owner})  # fmt: skip

    # -------------------------------------------------------------------------------------- writing
    def write(self) -> DemoPipeline:
        plans = self.plans
        deals = []
        for plan in plans:
            stage = plan.path[-1]
            stage_moves = [h[0] for h in plan.history if h[1] == "stage"]
            done = [a["occurred_at"] for a in plan.activities if a["done"]]
            deals.append(
                Deal(
                    name=plan.name,
                    owner=plan.owner,
                    account=plan.account,
                    contact=plan.contact,
                    pipeline=plan.pipeline,
                    stage=stage,
                    status=stage.status,
                    amount=plan.amount,
                    close_date=plan.close_date,
                    created_date=plan.created_at.date(),
                    deal_type=plan.deal_type,
                    source=plan.source,
                    next_step=plan.next_step,
                    lost_reason=plan.lost_reason,
                    lost_competitor=COMPETITORS[zlib.crc32(plan.name.encode()) % len(COMPETITORS)]
                    if plan.lost_reason in LOST_TO_COMPETITOR
                    else "",
                    created_at=plan.created_at,
                    stage_entered_at=max(stage_moves) if stage_moves else plan.created_at,
                    last_activity_at=max(done) if done else None,
                )
            )
        Deal.objects.bulk_create(deals, batch_size=1000)
        lines, splits, changes, activities = [], [], [], []
        for plan, deal in zip(plans, deals, strict=True):
            lines += [DealLineItem(deal=deal, product=p, quantity=q, unit_price=u) for p, q, u in plan.lines]
            splits += [DealSplit(deal=deal, person=u, percent=p, is_overlay=o) for u, p, o in plan.splits]
            changes += [
                DealChange(
                    deal=deal,
                    field=f,
                    old_value=o,
                    new_value=n,
                    old_ref=orf,
                    new_ref=nrf,
                    changed_at=at,
                    changed_by=who,
                )
                for at, f, o, n, orf, nrf, who in plan.history
            ]
            activities += [
                Activity(
                    deal=deal,
                    account=plan.account,
                    contact=plan.contact,
                    done_at=a["occurred_at"] if a["done"] else None,
                    notes="",
                    **{k: v for k, v in a.items()},
                )
                for a in plan.activities
            ]
        DealLineItem.objects.bulk_create(lines, batch_size=2000)
        DealSplit.objects.bulk_create(splits, batch_size=2000)
        DealChange.objects.bulk_create(changes, batch_size=2000)
        activities += self._manager_tasks(deals, plans)
        Activity.objects.bulk_create(activities, batch_size=2000)
        with connection.cursor() as cursor:
            # bulk_create stamped updated_at "now"; a deal was last updated by its last change.
            cursor.execute(
                """UPDATE pipeline_deal d SET updated_at = c.last FROM (
                       SELECT deal_id, MAX(changed_at) AS last FROM pipeline_dealchange GROUP BY deal_id
                   ) c WHERE c.deal_id = d.id AND d.id = ANY(%s)""",
                [[d.pk for d in deals]],
            )
        statuses = Counter(d.status for d in deals)
        return DemoPipeline(
            pipelines=[self.sales, self.renewals],
            accounts=len(self.accounts),
            contacts=sum(len(c) for c in self.contacts.values()),
            deals=len(deals),
            won=statuses[DealStatus.WON],
            lost=statuses[DealStatus.LOST],
            open=statuses[DealStatus.OPEN],
            changes=len(changes),
            activities=len(activities),
            deal_ids=[d.pk for d in deals],
            person_ids=sorted({d.owner_id for d in deals} | {s.person_id for s in splits}),
        )

    def _manager_tasks(self, deals: list[Deal], plans: list[_Plan]) -> list[Activity]:
        """The demo manager's own work today: deal reviews of the team's biggest open deals."""
        rng = self.rng
        manager = next((m for m in self.org.managers if m.username == "manager"), self.org.managers[0])
        team_open = [
            (d, p) for d, p in zip(deals, plans, strict=True)
            if d.status == DealStatus.OPEN and p.owner.manager_id == manager.pk and d.amount
        ]  # fmt: skip
        team_open.sort(key=lambda dp: (-(dp[0].amount or 0), dp[0].pk))
        tasks = []
        for offset, (deal, plan) in enumerate(team_open[:6]):
            tasks.append(
                Activity(
                    kind="task",
                    subject=f"Deal review with {plan.owner.first_name}",
                    deal=deal,
                    account=plan.account,
                    owner=manager,
                    occurred_at=self.now - dt.timedelta(days=2),
                    due_date=self.today + dt.timedelta(days=[0, 0, 1, 2, 3, 5][offset]),
                    done=False,
                )
            )
        for deal, plan in team_open[6:9]:
            at = self.now - dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(1, 6))
            tasks.append(
                Activity(
                    kind="meeting",
                    subject="Forecast call prep",
                    deal=deal,
                    account=plan.account,
                    owner=manager,
                    occurred_at=at,
                    done=True,
                    done_at=at,
                )
            )
        return tasks

    def leads(self) -> int:
        rng, fake = self.rng, self.fake
        active = [r for r in self.org.reps if r.is_active]
        demo_rep = next((r for r in active if r.username == "rep"), active[0])
        recent = [d for d in Deal.objects.filter(pipeline=self.sales, status=DealStatus.OPEN).order_by("id")]
        statuses = list(LEAD_STATUSES)
        rng.shuffle(statuses)
        for index, status in enumerate(statuses):
            owner = demo_rep if index % 8 == 0 else rng.choice(active)
            created = self.now - dt.timedelta(days=rng.randint(1, 120), hours=rng.randint(0, 9))
            first, last = fake.first_name(), fake.last_name()
            company = fake.company()
            values: dict[str, Any] = {
                "first_name": first,
                "email": f"{_slug(first)}.{_slug(last)}@{_slug(company)}.example",
                "phone": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                "title": rng.choice(CONTACT_TITLES),
                "source": rng.choice(SOURCES),
                "status": status,
                "created_at": created,
            }
            if status == LeadStatus.CONVERTED:
                mine = [d for d in recent if d.owner_id == owner.pk] or recent
                deal = rng.choice(mine)
                values.update(
                    company=deal.account.name if deal.account else company,
                    converted_at=deal.created_at,
                    converted_account=deal.account,
                    converted_contact=deal.contact,
                    converted_deal=deal,
                    created_at=deal.created_at - dt.timedelta(days=rng.randint(2, 20)),
                )
            company = values.pop("company", company)
            lead_create(actor=self.ops or owner, last_name=last, company=company, owner=owner, **values)
        return len(statuses)


def delete_pipeline_data() -> None:
    """Remove every pipeline row (pipelines, products, accounts, contacts, deals and all that hangs on them,
    leads), so the people can be deleted too: for tests that load the demo company more than once."""
    with connection.cursor() as cursor:
        # TRUNCATE refuses tables with deferred checks still pending in this transaction: run them first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE pipeline_pipeline, pipeline_stage, pipeline_product, pipeline_account, pipeline_contact, "
            "pipeline_deal, pipeline_lead, pipeline_importjob CASCADE"
        )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def seed_pipeline(*, org: DemoOrg, seed: int, today: dt.date, quarter_start: dt.date | None = None) -> DemoPipeline:
    """Load the demo company's accounts, deals with their histories, activities and leads (see above).
    `quarter_start`: the first day of today's fiscal quarter (a calendar quarter if not given)."""
    quarter_start = quarter_start or dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    seeder = _Seeder(org, seed, today, quarter_start)
    seeder.reference_data()
    seeder.plan_deals()
    result = seeder.write()
    result.leads = seeder.leads()
    # As the services and imports do: after commit, commissions and forecasts learn of the new deals.
    announce_deals_changed(
        deal_ids=result.deal_ids, person_ids=result.person_ids, fields=["created"], pay_relevant=True
    )
    return result
