"""Planning benchmark: publishing a quota scenario into the incentives app's quotas (issue 15: 8,000 quotas
≤ 5 s at enterprise scale, where 2,000 people × 4 quarters make 8,000).

The setup (untimed) computes and approves a top-down scenario (equal basis) over the whole sales tree for a
fiscal year far ahead, so no existing period or quota is touched; `scenario_publish` is timed: every quota
checked, periods created, quotas written in bulk with their ramps and an audit row each, team sums followed,
one recompute queued. Everything runs in one transaction rolled back at the end, so the bench leaves nothing.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from bench.harness import BenchContext, benchmark
from planning.services import scenarios as services
from salesops.org.models import User


class _Rollback(Exception):
    pass


@benchmark(
    name="planning: publishing 8,000 quotas",
    unit="s",
    target=5,
    repeat=3,
    issue="publishing 8,000 quotas ≤ 5 s",
    description="scenario_publish of an approved top-down scenario over every rep and manager, four quarters "
    "each (2,000 people at enterprise: 8,000 quotas) through incentives.services.quotas_publish: periods "
    "created, quotas bulk-written with ramps applied and audited, one recompute queued; rolled back after.",
)
def publish_quotas(ctx: BenchContext) -> dict[str, Any]:
    ops = User.objects.filter(is_sales_ops=True, is_active=True).order_by("pk").first()
    assert ops is not None, "the generated company has no sales ops user"
    year = timezone.localdate().year + 20
    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            scenario = services.scenario_create(actor=ops, name="Bench publish", fiscal_year=year,
                                                method="top_down", basis="equal", target="100000000.00")  # fmt: skip
            services.scenario_approve(actor=ops, scenario=scenario)
            quotas = scenario.quotas.count()
            started = time.perf_counter()
            services.scenario_publish(actor=ops, scenario=scenario)
            result = {"value": round(time.perf_counter() - started, 2), "quotas": quotas}
            raise _Rollback
    except _Rollback:
        pass
    return result
