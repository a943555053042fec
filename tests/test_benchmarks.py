"""The benchmark scripts stay runnable (their figures are printed, never asserted here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:  # benchmarks import their shared helpers as scripts do
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_benchmark_generates_what_it_claims() -> None:
    bench = load("engine_expand")
    for size in (10, 1000):
        template = bench.generated_template(size)
        _, _, expressions = bench.measure(size, runs=1)  # asserts the resource count itself
        assert expressions >= 5 * size
        assert len(template["resources"]) >= 3
