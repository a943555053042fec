"""A deployment repository in a temp dir (real git, real commits) and a real Dagster instance
to evaluate the sensors with."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.definitions import build_definitions
from bicep_assets.resources.probes import Probes
from bicep_assets.triggers import GitRepository
from tests.pipeline.conftest import Project

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **GIT_ENV},
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


MAIN_BICEP = """\
// dev and stage: the web app
import {siteConfig} from './types.bicep'
param environmentName string
module web './modules/web.bicep' = {
  name: 'web'
  params: { environmentName: environmentName }
}
"""
WEB_BICEP = """\
param environmentName string
var startup = loadTextContent('../files/startup.sh')
output name string = 'web-${environmentName}'
"""
PROD_JSON = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [
        {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": "storage",
            "properties": {
                "mode": "Incremental",
                "templateLink": {"relativePath": "nested/storage.json"},
            },
        }
    ],
}
STORAGE_JSON = {"$schema": PROD_JSON["$schema"], "contentVersion": "1.0.0.0", "resources": []}


def manifest(template: str, *, parameters_file: str | None = None, **triggers: Any) -> str:
    lines = [f"template: {template}"]
    if parameters_file:
        lines.append(f"parameters_file: {parameters_file}")
    lines += ["scope:", "  resource_group: rg-x", "  location: westeurope"]
    if triggers:
        lines.append(f"triggers: {json.dumps(triggers)}")
    return "\n".join(lines) + "\n"


class DeployRepo:
    """A project folder that is a git repository: write files, commit, branch, reset."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        """Write ``files`` ({path: text}) and commit everything."""
        for name, text in (files or {}).items():
            self.write(name, text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def definitions(self) -> dg.Definitions:
        return build_definitions(self.root)


def make_project(root: Path) -> DeployRepo:
    repo = DeployRepo(root)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    repo.write(
        "parameters/dev.yaml",
        manifest("../infra/main.bicep", parameters_file="dev.parameters.json", deploy_on_push=True),
    )
    repo.write("parameters/dev.parameters.json", json.dumps({"environmentName": {"value": "dev"}}))
    repo.write(
        "parameters/prod.yaml",
        manifest("../infra/prod.json", deploy_on_push=True, branch="release"),
    )
    repo.write("parameters/stage.yaml", manifest("../infra/main.bicep"))
    repo.write("infra/main.bicep", MAIN_BICEP)
    repo.write("infra/types.bicep", "@export()\ntype siteConfig = { alwaysOn: bool }\n")
    repo.write("infra/modules/web.bicep", WEB_BICEP)
    repo.write("infra/files/startup.sh", "#!/bin/sh\necho start\n")
    repo.write("infra/prod.json", json.dumps(PROD_JSON, indent=2))
    repo.write("infra/nested/storage.json", json.dumps(STORAGE_JSON, indent=2))
    repo.write("README.md", "# deployments\n")
    repo.commit("initial")
    repo.git("branch", "release")
    return repo


@pytest.fixture
def project(tmp_path: Path) -> DeployRepo:
    return make_project(tmp_path / "deployments")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        yield instance


class SensorTicks:
    """Evaluate a sensor with a real instance, a cursor and the resources given."""

    def __init__(
        self, definitions: dg.Definitions, name: str, instance: dg.DagsterInstance, **resources: Any
    ) -> None:
        self.sensor = definitions.resolve_sensor_def(name)
        self.instance = instance
        self.resources = resources

    def tick(self, cursor: str | None) -> Any:
        context = dg.build_sensor_context(
            instance=self.instance, cursor=cursor, resources=self.resources
        )
        return self.sensor.evaluate_tick(context)


@pytest.fixture
def push_ticks(project: DeployRepo, instance: dg.DagsterInstance) -> SensorTicks:
    return SensorTicks(
        project.definitions(),
        "deploy_on_push",
        instance,
        git_repository=GitRepository(url=str(project.root)),
    )


@pytest.fixture
def pipeline(tmp_path: Path, instance: dg.DagsterInstance) -> Iterator[Project]:
    """A pipeline project (tests/pipeline's ``Project``) whose runs land in the persistent
    ``instance`` the sensors read."""
    with LocalArm(state=tmp_path / "arm.sqlite", config=LocalArmConfig(retry_after=0)) as arm:
        yield Project(tmp_path / "pipeline", arm, instance)


def pipeline_definitions(project: Project) -> dg.Definitions:
    return build_definitions(project.root, arm=project.arm_client(), probes=Probes())
