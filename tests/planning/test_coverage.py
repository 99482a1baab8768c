"""Required pipeline (planning.engine.coverage) on hand-computed examples: what a person needs open to make
the rest of their quota at their trailing win rate, and the list of people short of it. No database."""

from __future__ import annotations

from decimal import Decimal

from planning.engine.coverage import Coverage, coverage_report, required_pipeline, win_rate

D = Decimal


def test_required_pipeline_hand_example():
    """Quota 100,000, closed 40,000: 60,000 left. Win rate 25 % → required 60,000 ÷ 0.25 = 240,000.
    Open 180,000 → coverage 180,000 ÷ 240,000 = 0.75, short by 60,000."""
    cov = required_pipeline(D("100000"), D("40000"), D("0.25"), D("180000"))
    assert cov.required == D("240000.00")
    assert cov.open == D("180000.00")
    assert cov.coverage_ratio == D("0.75")
    assert cov.short is True
    assert cov.shortfall == D("60000.00")


def test_covered_and_quota_already_made():
    """Same person with 300,000 open: coverage 1.25, not short. Closed 120,000 of 100,000: nothing left,
    nothing required, not short, whatever the win rate (even 0)."""
    covered = required_pipeline(D("100000"), D("40000"), D("0.25"), D("300000"))
    assert (covered.coverage_ratio, covered.short, covered.shortfall) == (D("1.25"), False, D("0"))
    made = required_pipeline(D("100000"), D("120000"), D("0"), D("0"))
    assert (made.required, made.short, made.coverage_ratio) == (D("0"), False, None)


def test_no_win_rate_leaves_the_requirement_unknown_and_the_person_not_short():
    """No deal won in the last four quarters (win rate 0): required None, so nobody can say the 500,000 open
    falls short of it: not short, status "no_win_rate"."""
    cov = required_pipeline(D("100000"), D("40000"), D("0"), D("500000"))
    assert (cov.required, cov.coverage_ratio, cov.short, cov.shortfall) == (None, None, False, None)
    assert (cov.unknown, cov.status) == (True, "no_win_rate")
    assert required_pipeline(D("100000"), D("0"), None, D("1")).required is None
    assert required_pipeline(D("100000"), D("40000"), D("0.25"), D("180000")).status == "short"
    assert required_pipeline(D("100000"), D("40000"), D("0.25"), D("300000")).status == "covered"


def test_win_rate_from_won_and_lost_amounts():
    """Won 30,000 and lost 90,000 over the last four closed quarters: 30,000 ÷ 120,000 = 0.25; nothing
    closed: 0."""
    assert win_rate(D("30000"), D("90000")) == D("0.25")
    assert win_rate(D("0"), D("0")) == 0


def test_coverage_report_lists_the_short_sorted_by_shortfall():
    """ann short by 60,000, bob covered, cat short by 10,000, dan unknown (no win rate), eve short by
    60,000 too (after ann, in the order given): ann, eve, cat; bob (covered) and dan (not known to be short)
    are not listed."""
    rows = {
        "ann": required_pipeline(D("100000"), D("40000"), D("0.25"), D("180000")),
        "bob": required_pipeline(D("100000"), D("40000"), D("0.25"), D("240000")),
        "cat": required_pipeline(D("100000"), D("40000"), D("0.5"), D("110000")),
        "dan": required_pipeline(D("100000"), D("40000"), D("0"), D("0")),
        "eve": required_pipeline(D("100000"), D("70000"), D("0.25"), D("60000")),
    }
    report = coverage_report(rows)
    assert [person for person, _ in report] == ["ann", "eve", "cat"]
    assert [cov.shortfall for _, cov in report] == [D("60000"), D("60000"), D("10000")]
    assert coverage_report(list(rows.items())) == report
    assert all(isinstance(cov, Coverage) for _, cov in report)
