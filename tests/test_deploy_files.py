"""deploy/: what can be checked without Docker or a Kubernetes cluster is checked — the
instance configuration loads on a real PostgreSQL, the processes' commands and ports agree,
the Helm values carry the project's queue limits, and no password is written in a file."""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from bicep_assets.instance import POSTGRES_URL_VAR, instance_config, with_driver

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def test_the_instance_file_is_the_projects_plus_postgres(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert load("dagster.yaml") == instance_config(project, "postgresql://any")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv(POSTGRES_URL_VAR, with_driver(postgres_url))
    with dg.DagsterInstance.from_config(str(home)) as instance:  # Dagster's own validation
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert limits == project["run_coordinator"]["config"]["tag_concurrency_limits"]


def test_compose_processes_agree_with_the_workspace_and_hold_no_password() -> None:
    compose = load("docker-compose.yaml")
    services = compose["services"]
    assert set(services) == {"postgres", "local-arm", "code-server", "webserver", "daemon"}
    (location,) = load("workspace.yaml")["load_from"]
    grpc = location["grpc_server"]
    code_server = services["code-server"]["command"]
    assert grpc["host"] == "code-server"
    assert f"-p {grpc['port']}" in code_server
    assert f"--location-name {grpc['location_name']}" in code_server
    module = re.search(r"-m (\S+)", code_server)
    assert module is not None
    assert isinstance(importlib.import_module(module.group(1)).defs, dg.Definitions)
    for name in ("webserver", "daemon"):
        assert "-w deploy/workspace.yaml" in services[name]["command"]
    environment = services["daemon"]["environment"]
    assert environment[POSTGRES_URL_VAR].startswith("postgresql+psycopg2://dagster:${")
    # the local ARM's certificate names the host the processes reach it by
    arm_host = re.search(r"https://([^:/]+):(\d+)", environment["BICEP_ASSETS_LOCAL_ARM_ENDPOINT"])
    assert arm_host is not None
    assert (
        f"--host {arm_host.group(1)} --port {arm_host.group(2)}"
        in (services["local-arm"]["command"])
    )
    text = (DEPLOY / "docker-compose.yaml").read_text()
    assert not re.search(r"^\s*\w*PASSWORD:\s*[^$\s]", text, re.M)  # only from the environment
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "deploy/dagster.yaml" in dockerfile and "COPY parameters" in dockerfile


def test_helm_values_carry_the_projects_queue_and_run_monitoring() -> None:
    values = load("helm/values.yaml")
    project = yaml.safe_load((REPO / "dagster.yaml").read_text())
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    config = project["run_coordinator"]["config"]
    assert queue["tagConcurrencyLimits"] == config["tag_concurrency_limits"]
    assert queue["maxConcurrentRuns"] == config["max_concurrent_runs"]
    assert queue["dequeueIntervalSeconds"] == config["dequeue_interval_seconds"]
    assert queue["dequeueUseThreads"] == config["dequeue_use_threads"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["startTimeoutSeconds"] == project["run_monitoring"]["start_timeout_seconds"]
    assert monitoring["maxRuntimeSeconds"] == project["run_monitoring"]["max_runtime_seconds"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert isinstance(importlib.import_module(module).defs, dg.Definitions)
