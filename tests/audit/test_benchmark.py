"""The audit benchmark's history is faithful: a run it replays through the instance's APIs
reads back exactly like the real run it copies (only ids, environment, commit and times
differ)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest

from bicep_assets.audit.events import read_finished_runs, read_run_audit

from .conftest import History

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SAME = (
    "kind",
    "trigger",
    "status",
    "failed_step",
    "failure_kind",
    "arm_code",
    "arm_message",
    "retries",
    "creates",
    "modifies",
    "deletes",
    "no_change",
    "destructive",
    "allow_destructive",
    "destructive_approved",
    "allow_destructive_config",
    "applied",
)


def load_benchmark() -> ModuleType:
    if str(BENCHMARKS) not in sys.path:  # the benchmark imports its helpers as scripts do
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("audit_benchmark", BENCHMARKS / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["flaky", "policy"])
def test_a_replayed_run_reads_back_like_the_original(
    history: History, tmp_path: Path, name: str
) -> None:
    source = history.project.instance
    record = source.get_run_record_by_id(history.run_id(name))
    assert record is not None
    entries = [
        r.event_log_entry for r in source.get_records_for_run(record.dagster_run.run_id).records
    ]
    scenario = {"run": record.dagster_run, "entries": entries}
    started = time.time() - 86400
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path)) as instance:
        run_id = load_benchmark().replay(instance, scenario, "staging", started, "a" * 40)
        (copy,), cursor = read_finished_runs(instance, after_storage_id=None)
    original = read_run_audit(source, record)
    assert cursor is not None and copy.run_id == run_id
    assert (copy.environment, copy.job, copy.git_sha) == (
        "staging",
        "deploy_staging",
        "a" * 40,
    )
    assert {f: getattr(copy, f) for f in SAME if f != "trigger"} == {
        f: getattr(original, f) for f in SAME if f != "trigger"
    }
    assert [(e.step, e.event_type, e.arm_code) for e in copy.events] == [
        (e.step, e.event_type, e.arm_code) for e in original.events
    ]
    assert copy.started_at.timestamp() == pytest.approx(started, abs=0.01)
    assert copy.duration_s == pytest.approx(original.duration_s, abs=0.01)
