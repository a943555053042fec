"""Benchmark: a full deploy job in process vs the same SDK calls in a plain script.

Both deploy the shipped example (infra/main.json with parameters/dev.yaml's values) into a
fresh, existing resource group of one local ARM (so both ask ARM's what-if): the plain
script makes the calls the job makes
(group check and create, what-if, deployment PUT and polling with its operations, a GET
and a Resource Health call per resource, the HTTP probe); the job adds Dagster (events,
IO manager, run storage), lint and the static checks. Prints both, the ratio (target
≤ 1.3x) and the absolute overhead (target ≤ 1 s).

    .venv/bin/python benchmarks/pipeline_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_description

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.definitions import build_definitions
from bicep_assets.resources.arm import ArmClient
from bicep_assets.resources.probes import Probes

REPO = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret"


def example_parameters() -> dict[str, dict[str, object]]:
    manifest = yaml.safe_load((REPO / "parameters" / "dev.yaml").read_text(encoding="utf-8"))
    file = json.loads((REPO / "parameters" / "dev.parameters.json").read_text(encoding="utf-8"))
    params = dict(file.get("parameters", file))
    params.update({k: {"value": v} for k, v in (manifest.get("parameters") or {}).items()})
    params["appSecret"] = {"value": SECRET}
    return params


def plain_script(arm: LocalArm, group: str, template: dict, params: dict) -> float:
    conn = arm.connection
    started = time.perf_counter()
    resources = conn.resource_client()
    deployments = conn.deployments_client(polling_interval=0.05)
    health = conn.health_client()
    if not resources.resource_groups.check_existence(group):
        resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    body = {"properties": {"mode": "Incremental", "template": template, "parameters": params}}
    deployments.deployments.begin_what_if(group, "plan", body).result()
    deployments.deployments.begin_create_or_update(group, "bench", body, polling=False).result()
    while True:
        record = deployments.deployments.get(group, "bench")
        list(deployments.deployment_operations.list(group, "bench"))
        if record.properties.provisioning_state in ("Succeeded", "Failed", "Canceled"):
            break
        time.sleep(0.05)
    for ref in record.properties.output_resources:
        resources.resources.get_by_id(ref.id, api_version="2023-01-01")
        health.availability_statuses.get_by_resource(ref.id)
    url = record.properties.outputs["webUrl"]["value"]
    assert requests.get(url + "/", verify=conn.ca_file, timeout=10).status_code == 200
    return time.perf_counter() - started


def job_run(arm: LocalArm, project: Path, instance: dg.DagsterInstance) -> float:
    conn = arm.connection
    client = ArmClient(
        local_endpoint=conn.base_url,
        local_token=conn.token,
        local_ca_file=conn.ca_file,
        polling_interval_s=0.05,
    )
    job = build_definitions(project, arm=client, probes=Probes()).resolve_job_def("deploy_dev")
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, raise_on_error=True)
    elapsed = time.perf_counter() - started
    assert result.success
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine_description()}")
    template = json.loads((REPO / "infra" / "main.json").read_text(encoding="utf-8"))
    params = example_parameters()
    os.environ["DEV_APP_SECRET"] = SECRET
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalArm(config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.ephemeral() as instance,
    ):
        project = Path(tmp) / "project"
        (project / "parameters").mkdir(parents=True)
        (project / "infra").mkdir()
        (project / "infra" / "main.json").write_text(json.dumps(template), encoding="utf-8")
        base = (REPO / "parameters" / "dev.parameters.json").read_text(encoding="utf-8")
        (project / "parameters" / "dev.parameters.json").write_text(base, encoding="utf-8")
        manifest = yaml.safe_load((REPO / "parameters" / "dev.yaml").read_text(encoding="utf-8"))
        script_times, job_times = [], []
        for run in range(args.runs):
            manifest["scope"]["resource_group"] = f"rg-job-{run}"
            (project / "parameters" / "dev.yaml").write_text(
                yaml.safe_dump(manifest), encoding="utf-8"
            )
            groups = arm.connection.resource_client().resource_groups
            for group in (f"rg-job-{run}", f"rg-script-{run}"):
                groups.create_or_update(group, {"location": "westeurope"})
            script_times.append(plain_script(arm, f"rg-script-{run}", template, params))
            job_times.append(job_run(arm, project, instance))
    script, job = statistics.median(script_times), statistics.median(job_times)
    print(f"plain script (SDK calls only), median of {args.runs}: {script * 1000:7.0f} ms")
    print(f"deploy_dev job in process,       median of {args.runs}: {job * 1000:7.0f} ms")
    print(
        f"ratio {job / script:.2f}x (target ≤ 1.3x), overhead {(job - script) * 1000:.0f} ms "
        "(target ≤ 1000 ms)"
    )


if __name__ == "__main__":
    main()
