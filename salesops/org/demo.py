"""The demo company's people: a director, three regions with two managers each, about 40 reps, plus
finance and sales ops. Deterministic for a seed; dates are relative to today so it looks alive."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from faker import Faker

from salesops.org.models import Region, User
from salesops.org.services import person_create, region_create, team_create

REGIONS = ["East", "Central", "West"]
MANAGERS_PER_REGION = 2
REP_TITLES = ["Account Executive", "Senior Account Executive", "Account Executive", "Enterprise Account Executive"]
DEMO_PASSWORD = "demo"


@dataclass
class DemoOrg:
    director: User
    managers: list[User] = field(default_factory=list)
    reps: list[User] = field(default_factory=list)
    finance: User | None = None
    ops: User | None = None
    regions: list[Region] = field(default_factory=list)


def _months_ago(today: dt.date, months: int, day: int = 1) -> dt.date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day, 28))


def seed_org(*, seed: int, today: dt.date, quarter_start: dt.date | None = None, reps_total: int = 40) -> DemoOrg:
    """The people. `quarter_start` is the first day of today's fiscal quarter (a calendar quarter if not
    given): the three recent hires start in the one or two months before it, so the current quarter's quota
    of each is still on the new-hire ramp, whatever the day."""
    quarter_start = quarter_start or dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    used: set[str] = set()

    def person(login: str | None = None, **values: object) -> User:
        while True:
            first, last = fake.first_name(), fake.last_name()
            username = login or f"{first}.{last}".lower().replace("'", "")
            if username not in used:
                break
        used.add(username)
        number = len(used)
        return person_create(
            actor=None,
            password=DEMO_PASSWORD if login else None,
            username=username,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}@demo.salesops.example".lower().replace("'", ""),
            employee_id=f"E{number:04d}",
            **values,  # type: ignore[arg-type]
        )

    director = person(title="VP of Sales", is_manager=True, start_date=_months_ago(today, 60, 3))
    org = DemoOrg(director=director)
    regions = [region_create(actor=None, name=name) for name in REGIONS]
    org.regions = regions

    manager_slots = [(region, i) for region in regions for i in range(MANAGERS_PER_REGION)]
    for index, (region, _) in enumerate(manager_slots):
        manager = person(
            login="manager" if index == 0 else None,
            is_demo=index == 0,
            title="Regional Sales Manager",
            is_manager=True,
            manager=director,
            region=region,
            start_date=_months_ago(today, rng.randint(24, 54), rng.randint(1, 28)),
        )
        team = team_create(actor=None, name=f"{region.name} · {manager.last_name}", region=region)
        manager.team = team
        manager.save(update_fields=["team"])
        org.managers.append(manager)

    for index in range(reps_total):
        manager = org.managers[index % len(org.managers)]
        newcomer = index in (7, 19, 31)  # three recent hires, still ramping
        leaver = index in (11, 26)  # two who left; their history stays
        if newcomer:
            start = _months_ago(quarter_start, rng.randint(1, 2), rng.randint(1, 28))
        else:
            start = _months_ago(today, rng.randint(8, 40), rng.randint(1, 28))
        end = _months_ago(today, rng.randint(1, 5), rng.randint(1, 28)) if leaver else None
        if end is not None and end <= start:
            end = start + dt.timedelta(days=200)
        rep = person(
            login="rep" if index == 0 else None,
            is_demo=index == 0,
            title=rng.choice(REP_TITLES),
            is_rep=True,
            manager=manager,
            region=manager.region,
            team=manager.team,
            start_date=start,
            end_date=end,
            is_active=not leaver,
        )
        org.reps.append(rep)

    org.finance = person(
        login="finance", is_demo=True, title="Commission Analyst", is_finance=True,
        start_date=_months_ago(today, 30, 10),
    )  # fmt: skip
    org.ops = person(
        login="ops", is_demo=True, title="Sales Operations Manager", is_sales_ops=True,
        start_date=_months_ago(today, 36, 15),
    )  # fmt: skip
    return org
