"""Planning benchmark: territory assignment of every account of the generated company (issue 15: 50,000
accounts ≤ 10 s at enterprise scale, and idempotent: a re-run changes nothing).

The setup (untimed) drops the bench's own draft model if a previous run left it and builds it again through
the services: a root, one territory per group of countries (the accounts' countries, most frequent first,
dealt into four regions), under each region one per industry (its three most common sectors) and one for
large accounts (size bands 1000+), and a named-accounts territory holding 500 accounts. Then
`territory_assign` is timed from nothing (every assignment written), and timed again with nothing changed
(`rerun_s`, `rerun_changed` must be 0). The model is deleted at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.harness import BenchContext, benchmark
from pipeline.selectors import account_planning_facts
from planning.selectors.territories import bookings_window, model_visible_to
from planning.services import territories as services
from salesops.org.models import User

NAME = "Bench territories"


def _build(ops: User) -> int:
    existing = [m for m in [model_visible_to(ops, pk) for pk in _bench_model_ids(ops)] if m is not None]
    for model in existing:
        model.delete()
    start, end = bookings_window()
    facts = account_planning_facts(bookings_from=start, bookings_to=end)
    countries = [c for c, _n in Counter(f.country for f in facts if f.country).most_common()]
    model = services.territory_model_create(actor=ops, name=NAME)
    root = model.territories.get()
    for index in range(4):
        group = countries[index::4]
        if not group:
            continue
        region = services.territory_create(actor=ops, model_id=model.pk, parent_id=root.pk, name=f"Region {index + 1}")
        services.territory_rule_set(actor=ops, territory_id=region.pk, kind="region", values=group)
        sectors = Counter(f.sector for f in facts if f.country in set(group) and f.sector).most_common(3)
        for sector, _n in sectors:
            child = services.territory_create(
                actor=ops, model_id=model.pk, parent_id=region.pk, name=f"Region {index + 1} {sector}"
            )
            services.territory_rule_set(actor=ops, territory_id=child.pk, kind="region", values=group)
            services.territory_rule_set(actor=ops, territory_id=child.pk, kind="industry", values=[sector])
        large = services.territory_create(
            actor=ops, model_id=model.pk, parent_id=region.pk, name=f"Region {index + 1} enterprise"
        )
        services.territory_rule_set(actor=ops, territory_id=large.pk, kind="size_band", values=["1000+"])
    named = services.territory_create(actor=ops, model_id=model.pk, parent_id=root.pk, name="Named accounts")
    services.territory_rule_set(actor=ops, territory_id=named.pk, kind="named_account",
                                values=[f.id for f in facts[::max(1, len(facts) // 500)]][:500])  # fmt: skip
    return model.pk


def _bench_model_ids(ops: User) -> list[int]:
    from planning.selectors.territories import models_visible_to

    return list(models_visible_to(ops).filter(name=NAME).values_list("pk", flat=True))


@benchmark(
    name="planning: territory assignment of 50,000 accounts",
    unit="s",
    target=10,
    repeat=3,
    issue="territory assignment of 50,000 accounts ≤ 10 s and idempotent (a re-run changes nothing)",
    description="territory_assign of a draft model (4 regions × 3 industries and an enterprise band, 500 named "
    "accounts) over every account of the company, from no assignment (accounts and their open pipeline and "
    "trailing bookings read through pipeline.selectors, the engine, one COPY and three set-based statements), "
    "then the same run again with nothing changed (rerun_s; rerun_changed must be 0).",
)
def territory_assignment(ctx: BenchContext) -> dict[str, Any]:
    ops = User.objects.filter(is_sales_ops=True, is_active=True).order_by("pk").first()
    assert ops is not None, "the generated company has no sales ops user"
    model_id = _build(ops)
    try:
        started = time.perf_counter()
        first = services.territory_assign(actor=ops, model_id=model_id)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = services.territory_assign(actor=ops, model_id=model_id)
        rerun = time.perf_counter() - started
    finally:
        for pk in _bench_model_ids(ops):
            model = model_visible_to(ops, pk)
            if model is not None:
                model.delete()
    return {
        "value": round(seconds, 2),
        "accounts": first.accounts,
        "written": first.added + first.changed + first.removed,
        "rerun_s": round(rerun, 2),
        "rerun_changed": again.added + again.changed + again.removed,
    }
