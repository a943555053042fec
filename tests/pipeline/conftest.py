"""A project folder in tmp_path (manifests + templates), a local ARM the test controls, and
jobs built from the project the way definitions.py builds them."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig
from bicep_assets.definitions import build_definitions
from bicep_assets.resources.arm import ArmClient
from bicep_assets.resources.probes import Probes

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB = "00000000-0000-0000-0000-000000000000"


def storage(name: str) -> dict[str, Any]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": name,
        "location": "[resourceGroup().location]",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
    }


def template(resources: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources, **sections}


class Project:
    """A project folder with helpers to write manifests/templates and run its jobs."""

    def __init__(self, root: Path, arm: LocalArm, instance: dg.DagsterInstance) -> None:
        self.root = root
        self.arm = arm
        self.instance = instance
        (root / "parameters").mkdir(parents=True, exist_ok=True)
        (root / "infra").mkdir(exist_ok=True)

    def write_template(self, name: str, body: dict[str, Any]) -> str:
        path = self.root / "infra" / name
        path.write_text(json.dumps(body, indent=2), encoding="utf-8")
        return f"../infra/{name}"

    def write_manifest(self, env: str, **manifest: Any) -> None:
        manifest.setdefault("scope", {"resource_group": f"rg-{env}", "location": "westeurope"})
        manifest.setdefault("retry", {"max_retries": 3, "base_delay_s": 0.05})
        manifest.setdefault("health_checks", {"provisioning_state": True, "resource_health": True})
        (self.root / "parameters" / f"{env}.yaml").write_text(
            yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8"
        )

    def arm_client(self, **overrides: Any) -> ArmClient:
        conn = self.arm.connection
        settings = {
            "local_endpoint": conn.base_url,
            "local_token": conn.token,
            "local_ca_file": conn.ca_file,
            "polling_interval_s": 0.05,
            **overrides,
        }
        return ArmClient(**settings)

    def job(self, name: str, *, bicep: Any = None, **arm_overrides: Any) -> dg.JobDefinition:
        defs = build_definitions(
            self.root,
            arm=self.arm_client(**arm_overrides),
            probes=Probes(retry_delay_s=0.05),
            bicep=bicep,
        )
        return defs.resolve_job_def(name)

    def run(
        self,
        name: str,
        *,
        run_config: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        bicep: Any = None,
        **arm_overrides: Any,
    ) -> dg.ExecuteInProcessResult:
        job = self.job(name, bicep=bicep, **arm_overrides)
        return job.execute_in_process(
            run_config=run_config, instance=self.instance, tags=tags, raise_on_error=False
        )

    def faults(self, *rules: FaultRule) -> None:
        self.arm.backend.faults.replace(FaultPlanSpec(seed=1, rules=list(rules)))

    def deployments(self, group: str) -> list[dict[str, Any]]:
        return self.arm.store.list_deployments(f"/subscriptions/{SUB}/resourceGroups/{group}")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with (
        LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm,
        dg.DagsterInstance.ephemeral(tempdir=str(home)) as instance,
    ):
        yield Project(tmp_path / "project", arm, instance)


def copy_example(project: Project) -> None:
    """The shipped example (infra/ and parameters/) into the project folder."""
    shutil.copytree(REPO / "infra", project.root / "infra", dirs_exist_ok=True)
    shutil.copytree(REPO / "parameters", project.root / "parameters", dirs_exist_ok=True)


def step_events(result: dg.ExecuteInProcessResult, step: str, event_type: str) -> list[Any]:
    return [e for e in result.all_events if e.step_key == step and e.event_type_value == event_type]


def step_warnings(project: Project, result: dg.ExecuteInProcessResult, step: str) -> list[str]:
    """The WARNING lines ``step`` logged in the run of ``result``."""
    return [
        record.user_message
        for record in project.instance.all_logs(result.run_id)
        if record.level == logging.WARNING and record.step_key == step
    ]
