"""Benchmark: a team's load — many environments, runs launched through the GraphQL API from
several processes — on PostgreSQL and on SQLite, side by side.

For each storage it makes a project of ``--environments`` environments (one storage account
each, so that every run really deploys), starts the processes of a team instance
(``benchmarks/team.py``: code server, webserver, daemon, one standalone local ARM; on
PostgreSQL a fresh cluster, ``tests/postgres_cluster.py``), and has ``--launchers``
processes launch ``deploy_<env>`` for every environment through the webserver's GraphQL API
(``launchRun``, what the launchpad sends), all at once. Then it reads the run records:

- **throughput**: runs finished per minute, from the first launch to the last run's end;
- **queue latency**: from a run's creation (launched) to its start (its process began), median
  and 95th percentile;
- **audit refresh**: the time of a full ``audit_refresh`` over those runs, executed in this
  process against the instance (read the event log, write the DuckDB tables, run the checks).

    .venv/bin/python benchmarks/team_load.py [--environments 50] [--launchers 4]
                                             [--storages postgres sqlite]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import machine_description
from team import REPO, TeamStack

SUB = "00000000-0000-0000-0000-000000000000"
DONE = ("SUCCESS", "FAILURE", "CANCELED")


def write_project(root: Path, environments: int) -> list[str]:
    """A project of ``environments`` environments ``e00``…, one storage account each."""
    (root / "parameters").mkdir(parents=True)
    (root / "infra").mkdir()
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"name": {"type": "string"}},
        "resources": [
            {
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2023-01-01",
                "name": "[parameters('name')]",
                "location": "westeurope",
                "sku": {"name": "Standard_LRS"},
                "kind": "StorageV2",
            }
        ],
    }
    (root / "infra" / "one.json").write_text(json.dumps(template))
    (root / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    names = [f"e{i:02d}" for i in range(environments)]
    for name in names:
        (root / "parameters" / f"{name}.yaml").write_text(
            "template: ../infra/one.json\n"
            f"parameters: {{name: stload{name}}}\n"
            f"scope: {{resource_group: rg-{name}, location: westeurope}}\n"
        )
    return names


def launch_all(url: str, jobs: list[str]) -> list[str]:
    """One launcher process: launch ``jobs`` one after the other; their run ids."""
    stack = TeamStack.__new__(TeamStack)
    stack.webserver_port = int(url.rsplit(":", 1)[1])
    return [stack.launch(job) for job in jobs]


def measure(storage: str, environments: int, launchers: int, root: Path) -> dict[str, Any]:
    import dagster as dg

    from bicep_assets.audit.definitions import audit_definitions

    cluster = None
    url = None
    if storage == "postgres":
        from tests.postgres_cluster import PostgresCluster

        cluster = PostgresCluster.start(root / "postgres")
        url = cluster.create_database()
    project = root / "project"
    names = write_project(project, environments)
    stack = TeamStack(project, root / "home", postgres_url=url)
    try:
        stack.start()
        jobs = [f"deploy_{name}" for name in names]
        batches = [jobs[i::launchers] for i in range(launchers)]
        started = time.time()
        with multiprocessing.get_context("spawn").Pool(launchers) as pool:
            run_ids = [r for ids in pool.starmap(launch_all, [(stack.url, b) for b in batches])
                       for r in ids]  # fmt: skip
        if stack.postgres_url:
            os.environ["BICEP_ASSETS_POSTGRES_URL"] = stack.postgres_url
        with dg.DagsterInstance.from_config(str(stack.home)) as instance:
            deadline = time.monotonic() + 60 * 30
            while time.monotonic() < deadline:
                records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
                if len(records) == len(run_ids) and all(
                    r.dagster_run.status.value in DONE for r in records
                ):
                    break
                time.sleep(1)
            succeeded = sum(r.dagster_run.status.value == "SUCCESS" for r in records)
            ended = max(r.end_time or 0 for r in records)
            waits = sorted(
                r.start_time - r.create_timestamp.timestamp() for r in records if r.start_time
            )
            database = root / "history.duckdb"
            job = audit_definitions(database=str(database), project_dir=project).resolve_job_def(
                "audit_refresh"
            )
            clock = time.perf_counter()
            assert job.execute_in_process(instance=instance).success
            refresh_s = time.perf_counter() - clock
    finally:
        stack.stop()
        if cluster is not None:
            cluster.stop()
    return {
        "runs": len(run_ids),
        "succeeded": succeeded,
        "throughput_per_min": len(run_ids) / max(ended - started, 1e-9) * 60,
        "queue_median_s": statistics.median(waits),
        "queue_p95_s": waits[max(0, int(len(waits) * 0.95) - 1)],
        "refresh_s": refresh_s,
    }


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    storages = list(results)
    rows = [
        ("runs (succeeded)", lambda r: f"{r['runs']} ({r['succeeded']})"),
        ("throughput", lambda r: f"{r['throughput_per_min']:.1f} runs/min"),
        ("queue latency, median", lambda r: f"{r['queue_median_s']:.1f} s"),
        ("queue latency, p95", lambda r: f"{r['queue_p95_s']:.1f} s"),
        ("audit full refresh", lambda r: f"{r['refresh_s']:.1f} s"),
    ]
    lines = [f"{'':24}" + "".join(f"{s:>18}" for s in storages)]
    for label, cell in rows:
        lines.append(f"{label:24}" + "".join(f"{cell(results[s]):>18}" for s in storages))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=50)
    parser.add_argument("--launchers", type=int, default=4)
    parser.add_argument("--storages", nargs="+", choices=["postgres", "sqlite"],
                        default=["postgres", "sqlite"])  # fmt: skip
    args = parser.parse_args(argv)
    print(
        f"machine: {machine_description()}; {args.environments} environments, one deploy_<env> "
        f"each, launched over GraphQL from {args.launchers} processes"
    )
    results: dict[str, dict[str, Any]] = {}
    for storage in args.storages:
        with tempfile.TemporaryDirectory(prefix=f"team-load-{storage}-") as folder:
            results[storage] = measure(storage, args.environments, args.launchers, Path(folder))
    for line in table(results):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
