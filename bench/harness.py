"""The benchmark harness: each `bench/bench_*.py` module registers functions with `@benchmark`.

`make bench SCALE=small|medium|enterprise` (bench/run.py) builds or reuses the scale database, runs every
registered benchmark `repeat` times, and records the median and the target. A benchmark function takes a
`BenchContext` and returns one measurement dict per repeat: {"value": float, **extra} (value in the
benchmark's unit, e.g. ms or s; extra keys such as "queries" or "peak_mb" are reported beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BenchContext:
    scale: str
    # Free-form facts the data generator recorded (ids of a manager with 50 reports, etc.).
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Benchmark:
    name: str
    unit: str  # "ms" or "s"
    target: float | None  # the issue's target at enterprise scale, in `unit`; None = report only
    fn: Callable[[BenchContext], dict[str, Any]]
    repeat: int = 5
    issue: str = ""
    description: str = ""


REGISTRY: list[Benchmark] = []


def benchmark(
    *, name: str, unit: str, target: float | None, repeat: int = 5, issue: str = "", description: str = ""
) -> Callable[[Callable[[BenchContext], dict[str, Any]]], Callable[[BenchContext], dict[str, Any]]]:
    def register(fn: Callable[[BenchContext], dict[str, Any]]) -> Callable[[BenchContext], dict[str, Any]]:
        REGISTRY.append(Benchmark(name, unit, target, fn, repeat, issue, description))
        return fn

    return register
