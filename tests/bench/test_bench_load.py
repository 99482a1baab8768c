"""The load bench's figures (bench/bench_load.py); the run itself takes minutes and a server (make bench-load)."""

from __future__ import annotations

from bench import bench_load
from bench.harness import REGISTRY


def test_importing_it_registers_no_benchmark() -> None:
    # bench/run.py imports every bench_*.py: the load bench must stay out of `make bench`.
    assert not [b for b in REGISTRY if b.fn.__module__ == "bench.bench_load"]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench_load._percentile(values, 50) == 50
    assert bench_load._percentile(values, 95) == 95
    assert bench_load._percentile(values, 99) == 99
    assert bench_load._percentile([7.0], 95) == 7.0


def test_summary_per_page_and_overall() -> None:
    samples = [bench_load.Sample("board", float(ms), None) for ms in range(1, 21)]
    samples += [bench_load.Sample("deal list", 500.0, "500 /pipeline/deals/")]
    summary = bench_load.summarise(samples, duration=10)
    assert summary["pages"]["board"]["count"] == 20
    assert summary["pages"]["board"]["errors"] == 0
    assert summary["pages"]["board"]["p95_ms"] == 19.0
    assert summary["pages"]["deal list"]["errors"] == 1
    assert summary["overall"]["count"] == 21
    assert summary["overall"]["errors"] == 1
    assert summary["overall"]["p95_ms"] == 20.0
    assert summary["overall"]["requests_per_s"] == 2.1
    assert summary["error_examples"] == ["500 /pipeline/deals/"]


def test_every_role_visits_the_issues_pages() -> None:
    for role, pages in bench_load.MIX.items():
        labels = {label for label, _ in pages}
        assert {"deal list", "deal page", "forecast grid", "statement", "board"} <= labels, role
        assert any(label.startswith("home") for label in labels), role
        assert any(label.endswith("dashboard") for label in labels), role
