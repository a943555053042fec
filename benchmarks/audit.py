"""Benchmark: the audit refresh over a history of 10,000 deployment runs.

The history is made through the instance's APIs from real runs: the pipeline runs each
scenario once against a local ARM (success, plan with drift, environmental retries, logic
failure, destructive change blocked and approved); their runs and every one of their events
are then replayed with new run ids, environments, commits and timestamps (spread over a
year) through ``instance.add_run`` and ``instance.handle_new_event`` into a persistent
SQLite DAGSTER_HOME — the run-sharded storage ``bicep-assets`` uses by default. Then, in a
fresh process: a full rebuild (the ``audit_refresh`` job: assets and checks), one more run
and an incremental refresh, each ready query (docs/audit.md), and the process's peak memory.

    .venv/bin/python benchmarks/audit.py [--runs 10000] [--workers 2] [--home DIR]

``--home`` keeps the generated history (reused when it holds enough runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_description

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig
from bicep_assets.audit.definitions import audit_definitions
from bicep_assets.audit.queries import QUERIES, run_query
from bicep_assets.definitions import build_definitions
from bicep_assets.resources.arm import ArmClient
from bicep_assets.resources.probes import Probes

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SECRET = "benchmark-Secret-value"
ENVIRONMENTS = ("dev", "test", "staging", "prod", "eu", "us")
# one cycle of 20 runs: the mix of the history
CYCLE = ["ok"] * 10 + ["plan"] * 4 + ["retry"] * 2 + ["policy"] * 2 + ["blocked", "approved"]
YEAR_S = 365 * 24 * 3600.0


def _storage(name: str, sku: str = "Standard_LRS") -> dict[str, Any]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": name,
        "location": "[resourceGroup().location]",
        "sku": {"name": sku},
        "kind": "StorageV2",
    }


def _write(root: Path, env: str, resources: list[dict[str, Any]], **manifest: Any) -> None:
    body = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {"appSecret": {"type": "securestring"}},
        "resources": resources,
    }
    (root / "infra" / f"{env}.json").write_text(json.dumps(body), encoding="utf-8")
    manifest = {
        "template": f"../infra/{env}.json",
        "secure_parameters": {"appSecret": {"env": "BENCH_APP_SECRET"}},
        "scope": {"resource_group": f"rg-{env}", "location": "westeurope"},
        "retry": {"max_retries": 3, "base_delay_s": 0.05},
        "health_checks": {"provisioning_state": True, "resource_health": True},
        **manifest,
    }
    (root / "parameters" / f"{env}.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")


def record_scenarios(project: Path) -> dict[str, dict[str, Any]]:
    """Run each scenario once with the real pipeline; return its run and events."""
    (project / "parameters").mkdir(parents=True, exist_ok=True)
    (project / "infra").mkdir(exist_ok=True)
    os.environ["BENCH_APP_SECRET"] = SECRET
    recorded: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalArm(state=Path(tmp) / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.ephemeral() as instance,
    ):
        conn = arm.connection

        def run(name: str, job: str, *, config: Any = None, sdk_retries: bool = True) -> None:
            client = ArmClient(
                local_endpoint=conn.base_url,
                local_token=conn.token,
                local_ca_file=conn.ca_file,
                polling_interval_s=0.05,
                **({} if sdk_retries else {"sdk_retry_total": 0, "sdk_retry_status": 0}),
            )
            defs = build_definitions(project, arm=client, probes=Probes(retry_delay_s=0.05))
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, run_config=config, raise_on_error=False
            )
            entries = [
                r.event_log_entry for r in instance.get_records_for_run(result.run_id).records
            ]
            if result.success is (name in ("policy", "blocked")):
                raise RuntimeError(f"scenario {name}: {job} ended unexpectedly")
            recorded[name] = {"run": result.dagster_run, "entries": entries}

        def faults(*rules: FaultRule) -> None:
            arm.backend.faults.replace(FaultPlanSpec(seed=1, rules=list(rules)))

        _write(project, "ok", [_storage("ok1"), _storage("ok2"), _storage("ok3")])
        run("ok", "deploy_ok")
        _write(project, "ok", [_storage("ok1", "Standard_GRS"), _storage("ok2"), _storage("ok4")])
        run("plan", "plan_ok")
        _write(project, "retry", [_storage("retry1")])
        conn.resource_client().resource_groups.create_or_update(
            "rg-retry", {"location": "westeurope"}
        )
        faults(FaultRule(kind="status", status=503, operation="Deployments_WhatIf", times=2))
        run("retry", "deploy_retry", sdk_retries=False)
        faults(
            FaultRule(
                kind="deployment_error",
                resource_name="denied1",
                arm_code="RequestDisallowedByPolicy",
                arm_message="Resource 'denied1' was disallowed by policy.",
            )
        )
        _write(project, "policy", [_storage("denied1")])
        run("policy", "deploy_policy")
        faults()
        complete = {"deployment": {"mode": "Complete"}}
        _write(project, "cleanup", [_storage("keep1"), _storage("drop1")], **complete)
        run("cleanup", "deploy_cleanup")
        _write(project, "cleanup", [_storage("keep1")], **complete)
        run("blocked", "deploy_cleanup")
        allow = {"ops": {"gate": {"config": {"allow_destructive": True}}}}
        run("approved", "deploy_cleanup", config=allow)
    for env in ENVIRONMENTS:  # the manifests the no_secure_values checks read
        _write(project, env, [_storage(f"{env}1")])
    return recorded


def replay(
    instance: dg.DagsterInstance, scenario: dict[str, Any], env: str, start: float, sha: str
) -> str:
    """One more run shaped like ``scenario``: a new run id, environment, commit and start."""
    template: dg.DagsterRun = scenario["run"]
    kind = template.job_name.split("_", 1)[0]
    job = f"{kind}_{env}"
    tags = {**template.tags, "bicep_assets/environment": env, "bicep_assets/git_sha": sha}
    tags["bicep_assets/trigger"] = "schedule" if kind == "plan" else random.choice(["ui", "cli"])
    if kind == "plan":
        tags["dagster/schedule_name"] = "drift_checks"
    run_id = str(uuid.uuid4())
    instance.add_run(
        dg.DagsterRun(job_name=job, run_id=run_id, run_config=template.run_config, tags=tags)
    )
    entries = scenario["entries"]
    origin = entries[0].timestamp
    for entry in entries:
        event = entry.dagster_event._replace(job_name=job) if entry.dagster_event else None
        instance.handle_new_event(
            entry._replace(
                run_id=run_id,
                job_name=job,
                timestamp=start + (entry.timestamp - origin),
                dagster_event=event,
            )
        )
    return run_id


def _generate_slice(home: str, scenarios_file: str, indexes: list[int], total: int) -> int:
    import pickle

    scenarios = pickle.loads(Path(scenarios_file).read_bytes())
    random.seed(indexes[0] if indexes else 0)
    first = time.time() - YEAR_S
    with dg.DagsterInstance.from_config(home) as instance:
        for i in indexes:
            env = ENVIRONMENTS[(i // len(CYCLE)) % len(ENVIRONMENTS)]
            sha = f"{i // 5:040x}"
            replay(instance, scenarios[CYCLE[i % len(CYCLE)]], env, first + i * YEAR_S / total, sha)
    return len(indexes)


def generate(home: Path, runs: int, workers: int) -> None:
    import pickle

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    scenarios = record_scenarios(home / "project")
    (home / "scenarios.tmp.pickle").write_bytes(pickle.dumps(scenarios))
    with dg.DagsterInstance.from_config(str(home)) as instance:  # create the storages once
        instance.get_run_ids(limit=1)
        instance.fetch_run_status_changes(dg.DagsterEventType.RUN_SUCCESS, limit=1)
    started = time.perf_counter()
    slices = [list(range(w, runs, workers)) for w in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        done = sum(
            pool.map(
                _generate_slice,
                [str(home)] * workers,
                [str(home / "scenarios.tmp.pickle")] * workers,
                slices,
                [runs] * workers,
            )
        )
    events = sum(len(s["entries"]) for s in scenarios.values()) / len(scenarios)
    (home / "scenarios.pickle").write_bytes(pickle.dumps(scenarios))  # marks the history complete
    print(
        f"generated {done} runs (~{events:.0f} events each) through the instance's APIs "
        f"in {time.perf_counter() - started:.0f} s with {workers} worker(s)"
    )


def _step_seconds(instance: dg.DagsterInstance, run_id: str, step: str) -> float:
    for stats in instance.get_run_step_stats(run_id):
        if stats.step_key == step and stats.end_time and stats.start_time:
            return stats.end_time - stats.start_time
    return float("nan")


def measure(home: Path) -> dict[str, Any]:
    """Full rebuild, one new run + incremental refresh, the ready queries; in this process."""
    import pickle

    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["BENCH_APP_SECRET"] = SECRET
    database = home / "deployment_history.duckdb"
    for stale in home.glob("deployment_history.duckdb*"):
        stale.unlink()
    figures: dict[str, Any] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        job = audit_definitions(project_dir=home / "project").resolve_job_def("audit_refresh")

        def refresh(full: bool) -> tuple[float, float]:
            config = {"ops": {"deployment_history": {"config": {"full_rebuild": full}}}}
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance, run_config=config)
            elapsed = time.perf_counter() - started
            assert result.success
            assert all(e.passed for e in result.get_asset_check_evaluations())
            return elapsed, _step_seconds(instance, result.run_id, "deployment_history")

        figures["full_job_s"], figures["full_step_s"] = refresh(True)
        scenarios = pickle.loads((home / "scenarios.pickle").read_bytes())
        replay(instance, scenarios["ok"], "prod", time.time(), "f" * 40)
        figures["incremental_job_s"], figures["incremental_step_s"] = refresh(False)
    with duckdb.connect(str(database), read_only=True) as connection:
        figures["runs"] = connection.execute(
            "SELECT count(*) FROM audit.deployment_runs"
        ).fetchall()[0][0]
        figures["events"] = connection.execute(
            "SELECT count(*) FROM audit.deployment_events"
        ).fetchall()[0][0]
        resource_id = connection.execute(
            "SELECT resource_id FROM audit.planned_changes WHERE change_type = 'Modify' LIMIT 1"
        ).fetchall()[0][0]
        timings: dict[str, list[float]] = {}
        for name, query in QUERIES.items():
            variables = {"resource_id": resource_id} if query.variables else {}
            run_query(connection, name, **variables)  # warm
            timings[name] = []
            for _ in range(5):
                started = time.perf_counter()
                run_query(connection, name, **variables)
                timings[name].append(time.perf_counter() - started)
    figures["queries_ms"] = {
        name: (statistics.median(t) * 1000, max(t) * 1000) for name, t in timings.items()
    }
    figures["database_mb"] = database.stat().st_size / 1e6
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--home", type=Path, help="DAGSTER_HOME to keep (reused if complete)")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.home)))
        return
    print(f"machine: {machine_description()}")
    home = args.home or Path(tempfile.mkdtemp(prefix="audit-bench-"))
    have = stored_runs(home)
    if 0 < have < args.runs:
        sys.exit(f"{home} holds {have} runs, fewer than --runs {args.runs}: remove it first")
    if have == 0:
        generate(home, args.runs, args.workers)
    done = subprocess.run(
        [sys.executable, __file__, "--measure-only", "--home", str(home)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(done.stderr[-4000:])
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    report(figures)


def stored_runs(home: Path) -> int:
    if not (home / "scenarios.pickle").exists():
        return 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return len(instance.get_run_ids())


def report(f: dict[str, Any]) -> None:
    lines = [
        f"history: {f['runs']:,} runs, {f['events']:,} rows in audit.deployment_events, "
        f"DuckDB file {f['database_mb']:.1f} MB",
        f"full rebuild:  audit_refresh job {f['full_job_s']:6.2f} s "
        f"(deployment_history step {f['full_step_s']:.2f} s; target ≤ 60 s)",
        f"one new run:   audit_refresh job {f['incremental_job_s']:6.2f} s "
        f"(deployment_history step {f['incremental_step_s']:.2f} s; target ≤ 2 s)",
        f"peak memory of the refreshing process: {f['peak_rss_mb']:.0f} MB (target < 1 GB)",
    ]
    for name, (median, worst) in f["queries_ms"].items():
        lines.append(
            f"query {name:<24} median {median:5.1f} ms, worst of 5 {worst:5.1f} ms "
            "(target < 100 ms)"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
