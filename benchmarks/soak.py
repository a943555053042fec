"""Benchmark: the whole ``deploy_<env>`` job, run after run, under injected ARM faults.

Each run deploys a small template (two storage accounts) into one resource group of a local
ARM whose fault plan fails a share of requests at random: 503 on any request, 429 on GETs and
PUTs (azure-core retries those itself; the op's RetryPolicy retries what gets through). The
seed makes the faults repeatable. Prints the runs that succeeded, the step retries, the faults
injected (and their share of all requests), and the duplicates — ARM deployments PUT more
than once for one run, or a run leaving more than one deployment (target: 0).

    .venv/bin/python benchmarks/soak.py [--runs 100] [--rate 0.3] [--seed 7]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_description

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig
from bicep_assets.definitions import build_definitions
from bicep_assets.resources.arm import ArmClient
from bicep_assets.resources.probes import Probes

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB = "00000000-0000-0000-0000-000000000000"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def storage(name: str) -> dict[str, object]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": name,
        "location": "[resourceGroup().location]",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
    }


def write_project(root: Path) -> None:
    (root / "parameters").mkdir(parents=True)
    (root / "infra").mkdir()
    template = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [storage("stsoak1"), storage("stsoak2")],
    }
    (root / "infra" / "main.json").write_text(json.dumps(template), encoding="utf-8")
    manifest = {
        "template": "../infra/main.json",
        "scope": {"resource_group": "rg-soak", "location": "westeurope"},
        "retry": {"max_retries": 8, "base_delay_s": 0.05},
        "health_checks": {"provisioning_state": True, "resource_health": True},
    }
    (root / "parameters" / "soak.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests failed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sdk-retries",
        type=int,
        default=None,
        help="azure-core's own retries per request (default: the arm resource's); 0 leaves "
        "every fault to the op's RetryPolicy",
    )
    args = parser.parse_args()
    if not (args.runs > 0 and 0 <= args.rate < 1):
        parser.error("--runs must be 1 or more and --rate between 0 and 1")

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        write_project(project)
        with (
            LocalArm(state=Path(tmp) / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm,
            dg.DagsterInstance.ephemeral(tempdir=tmp) as instance,
        ):
            conn = arm.connection
            client = ArmClient(
                local_endpoint=conn.base_url,
                local_token=conn.token,
                local_ca_file=conn.ca_file,
                polling_interval_s=0.05,
                **(
                    {}
                    if args.sdk_retries is None
                    else {"sdk_retry_total": args.sdk_retries, "sdk_retry_status": args.sdk_retries}
                ),
            )
            job = build_definitions(
                project, arm=client, probes=Probes(retry_delay_s=0.05)
            ).resolve_job_def("deploy_soak")
            half = args.rate / 2
            arm.backend.faults.replace(
                FaultPlanSpec(
                    seed=args.seed,
                    rules=[
                        FaultRule(kind="status", status=503, probability=half, retry_after=0),
                        FaultRule(
                            kind="status",
                            status=429,
                            method="GET",
                            probability=half,
                            retry_after=0,
                        ),
                        FaultRule(
                            kind="status",
                            status=429,
                            method="PUT",
                            probability=half,
                            retry_after=0,
                        ),
                    ],
                )
            )
            succeeded = retries = 0
            failures: collections.Counter[tuple[str | None, str | None]] = collections.Counter()
            run_ids: list[str] = []
            started = time.perf_counter()
            for _ in range(args.runs):
                result = job.execute_in_process(
                    instance=instance, raise_on_error=False, run_config=QUIET
                )
                run_ids.append(result.run_id)
                succeeded += result.success
                for event in result.all_events:
                    if event.event_type_value == "STEP_FAILURE":
                        data = event.step_failure_data.user_failure_data
                        meta = data.metadata if data is not None else {}
                        code = meta.get("arm_code")
                        failures[(event.step_key, code.value if code else None)] += 1
                retries += sum(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
            elapsed = time.perf_counter() - started
            requests = list(arm.app.requests)
            injected = len(arm.backend.faults.injected)
            puts = collections.Counter(
                path.split("/deployments/")[1].split("?")[0].lower()
                for method, path, status in requests
                if method == "PUT"
                and "/providers/microsoft.resources/deployments/" in path.lower()
                and status < 300
            )
            deployments = arm.store.list_deployments(f"/subscriptions/{SUB}/resourceGroups/rg-soak")
            per_run = collections.Counter(
                run_id for run_id in run_ids for d in deployments if d["name"].endswith(run_id)
            )

    duplicate_puts = sum(count - 1 for count in puts.values() if count > 1)
    duplicate_runs = sum(1 for count in per_run.values() if count > 1)
    print(machine_description())
    sdk = "the arm resource's" if args.sdk_retries is None else str(args.sdk_retries)
    each = elapsed / args.runs
    print(
        f"runs: {args.runs}, seed {args.seed}, SDK retries: {sdk}; {elapsed:.1f} s "
        f"({each:.2f} s a run)"
    )
    print(
        f"faults injected: {injected} of {len(requests)} requests "
        f"({injected / max(len(requests), 1):.0%}; planned rate {args.rate:.0%})"
    )
    print(f"succeeded: {succeeded}/{args.runs}; step retries: {retries}")
    for (step, code), count in failures.most_common():
        print(f"  failed: {count} x {step} ({code})")
    print(
        f"duplicates: {duplicate_puts} deployment PUTs accepted twice, "
        f"{duplicate_runs} runs with more than one deployment (target 0)"
    )
    return 0 if duplicate_puts == duplicate_runs == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
