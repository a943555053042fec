"""deployment.rollback_on_verify_failure on the local ARM: a deployment whose HTTP check fails
is rolled back to the last verified one; no earlier good deployment; a rollback that fails its
own verification; a stack refused at load; the secure value never stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster._serdes import serialize_value

from bicep_assets.armlocal import FaultRule
from bicep_assets.audit.definitions import audit_definitions
from bicep_assets.environments import ManifestError, load_environment
from bicep_assets.pipeline.rollback import rollback_deployment_name
from bicep_assets.pipeline.scopes import SCHEMAS

from .conftest import SUB, Project, step_events, template

SECRET = "rb-Canary-7f3a9c1e5d2b8f4a6c0e9d1b"
SHA_GOOD = "a" * 40
SHA_BAD = "b" * 40


def site_template() -> dict[str, Any]:
    site = {
        "type": "Microsoft.Web/sites",
        "apiVersion": "2022-09-01",
        "name": "[parameters('siteName')]",
        "location": "westeurope",
        # the secret is used but not kept by the resource (its length only), so that no
        # store — the local ARM's state included — may hold it
        "tags": {"passwordLength": "[string(length(parameters('password')))]"},
        "properties": {},
    }
    return template(
        [site],
        parameters={"siteName": {"type": "string"}, "password": {"type": "secureString"}},
        outputs={
            "webHost": {
                "type": "string",
                "value": "[reference(parameters('siteName')).defaultHostName]",
            }
        },
    )


def manifest(project: Project, site: str, **deployment: Any) -> None:
    project.write_manifest(
        "dev",
        template=project.write_template("main.json", site_template()),
        parameters={"siteName": site},
        secure_parameters={"password": {"env": "RB_PASSWORD"}},
        deployment={"rollback_on_verify_failure": True, **deployment},
        health_checks={"http": [{"url": "https://{outputs.webHost}/health", "retries": 0}]},
    )


@pytest.fixture
def rb(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("RB_PASSWORD", SECRET)
    return project


def failure_of(result: dg.ExecuteInProcessResult) -> Any:
    (event,) = step_events(result, "verify", "STEP_FAILURE")
    return event.step_failure_data.user_failure_data


def deploy(project: Project, sha: str) -> dg.ExecuteInProcessResult:
    return project.run("deploy_dev", tags={"bicep_assets/git_sha": sha})


def arm_deployment(project: Project, name: str) -> dict[str, Any] | None:
    found = [d for d in project.deployments("rg-dev") if d["name"] == name]
    return found[0] if found else None


def test_a_failing_http_check_rolls_back_to_the_last_verified_deployment(rb: Project) -> None:
    manifest(rb, "app-good")
    good = deploy(rb, SHA_GOOD)
    assert good.success
    manifest(rb, "app-bad")
    rb.faults(FaultRule(kind="site_status", resource_name="app-bad", status=503))
    bad = deploy(rb, SHA_BAD)
    assert not bad.success
    failure = failure_of(bad)
    meta = {k: v.value for k, v in failure.metadata.items()}
    # both verdicts: the failed check and the restored health
    assert meta["arm_code"] == "HealthCheckFailed"
    assert "app-bad" in failure.description and "503" in failure.description
    assert f"Rolled back to run {good.run_id} (git SHA {SHA_GOOD})" in failure.description
    assert "health restored" in failure.description
    name = rollback_deployment_name("dev", bad.run_id)
    assert meta["rollback"] == "restored"
    assert meta["rollback_to_run"] == good.run_id
    assert meta["rollback_to_git_sha"] == SHA_GOOD
    assert meta["rollback_deployment"] == name
    assert [r.data["ok"] for r in failure.metadata["rollback_checks"].records] == [True, True]
    # ARM has the rollback as a new deployment of the good run's template and values
    record = arm_deployment(rb, name)
    assert record is not None and record["properties"]["provisioningState"] == "Succeeded"
    assert record["properties"]["parameters"]["siteName"]["value"] == "app-good"
    assert record["tags"]["bicep-assets-rollback-to-run"] == good.run_id
    assert record["tags"]["bicep-assets-git-sha"] == SHA_GOOD
    # the log says which run, plan and commit it restores, before it does
    messages = [e.user_message for e in rb.instance.all_logs(bad.run_id) if e.step_key == "verify"]
    assert any(
        f"redeploying what run {good.run_id} deployed and verified — plan {good.run_id}, "
        f"git SHA {SHA_GOOD}" in m
        for m in messages
    )
    # azure/dev is materialized as the rollback left it
    (last,) = [
        e.asset_materialization
        for e in rb.instance.all_logs(bad.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if e.asset_materialization.asset_key == dg.AssetKey(["azure", "dev"])
        and "rollback_to_run" in e.asset_materialization.metadata
    ]
    assert last.metadata["git_sha"].value == SHA_GOOD


def test_no_earlier_good_deployment_changes_nothing(rb: Project) -> None:
    manifest(rb, "app-bad")
    rb.faults(FaultRule(kind="site_status", resource_name="app-bad", status=503))
    bad = deploy(rb, SHA_BAD)
    failure = failure_of(bad)
    assert failure.metadata["rollback"].value == "no_good_deployment"
    assert "has no earlier deployment that succeeded and passed verify" in failure.description
    assert arm_deployment(rb, rollback_deployment_name("dev", bad.run_id)) is None
    assert [d["name"] for d in rb.deployments("rg-dev")] == [f"dev-{bad.run_id}"]


def test_a_rollback_that_fails_its_own_verification_is_reported_not_rolled_back(
    rb: Project,
) -> None:
    manifest(rb, "app-good")
    good = deploy(rb, SHA_GOOD)
    assert good.success
    manifest(rb, "app-bad")
    rb.faults(FaultRule(kind="site_status", resource_name="app-*", status=503))
    bad = deploy(rb, SHA_BAD)
    failure = failure_of(bad)
    assert failure.metadata["rollback"].value == "unhealthy"
    assert "health is NOT restored" in failure.description
    assert "app-good" in failure.description and "app-bad" in failure.description
    # one rollback, no second one: three deployments in ARM
    names = sorted(d["name"] for d in rb.deployments("rg-dev"))
    rollback = rollback_deployment_name("dev", bad.run_id)
    assert names == sorted([f"dev-{good.run_id}", f"dev-{bad.run_id}", rollback])
    # the next run's rollback still goes to the verified run, not to the failed rollback
    again = deploy(rb, SHA_BAD)
    assert failure_of(again).metadata["rollback_to_run"].value == good.run_id


def test_a_missing_recorded_deployment_says_so_and_changes_nothing(rb: Project) -> None:
    manifest(rb, "app-good")
    good = deploy(rb, SHA_GOOD)
    rb.arm.store.delete_deployment(
        f"/subscriptions/{SUB}/resourceGroups/rg-dev", f"dev-{good.run_id}"
    )
    manifest(rb, "app-bad")
    rb.faults(FaultRule(kind="site_status", resource_name="app-bad", status=503))
    bad = deploy(rb, SHA_BAD)
    failure = failure_of(bad)
    assert failure.metadata["rollback"].value == "failed"
    assert f"ARM no longer has deployment dev-{good.run_id}" in failure.description
    assert arm_deployment(rb, rollback_deployment_name("dev", bad.run_id)) is None


def test_a_rollback_that_arm_fails_is_reported_with_both_verdicts(rb: Project) -> None:
    manifest(rb, "app-good")
    good = deploy(rb, SHA_GOOD)
    manifest(rb, "app-bad")
    rb.faults(
        FaultRule(kind="site_status", resource_name="app-bad", status=503),
        FaultRule(
            kind="deployment_error",
            resource_name="app-good",
            arm_code="RequestDisallowedByPolicy",
            arm_message="Disallowed by policy 'no-old-apps'.",
        ),
    )
    bad = deploy(rb, SHA_BAD)
    failure = failure_of(bad)
    assert failure.metadata["rollback"].value == "failed"
    assert failure.metadata["rollback_to_run"].value == good.run_id
    assert "app-bad" in failure.description and "503" in failure.description
    assert f"The rollback to run {good.run_id} (git SHA {SHA_GOOD}) failed" in failure.description
    assert "RequestDisallowedByPolicy" in failure.description
    assert "rollback_checks" not in failure.metadata


def test_a_passing_arm_error_during_the_rollback_is_retried_and_resumed(rb: Project) -> None:
    manifest(rb, "app-good")
    good = deploy(rb, SHA_GOOD)
    manifest(rb, "app-bad")
    rb.faults(
        FaultRule(kind="site_status", resource_name="app-bad", status=503),
        # the rollback's PUT is throttled once: verify is retried and resumes the rollback
        FaultRule(kind="status", method="PUT", path="-rollback-", status=429, times=1),
    )
    bad = rb.run(
        "deploy_dev",
        tags={"bicep_assets/git_sha": SHA_BAD},
        sdk_retry_total=0,
        sdk_retry_status=0,
    )
    assert len(step_events(bad, "verify", "STEP_UP_FOR_RETRY")) == 1
    failure = failure_of(bad)
    assert failure.metadata["rollback"].value == "restored"
    assert failure.metadata["rollback_to_run"].value == good.run_id
    # the retry reports the first attempt's failed check, not the half-restored environment
    assert "app-bad" in failure.description and "503" in failure.description
    assert [r.data["ok"] for r in failure.metadata["checks"].records].count(False) == 1
    messages = [e.user_message for e in rb.instance.all_logs(bad.run_id) if e.step_key == "verify"]
    assert any("resuming the rollback" in m for m in messages)


def test_a_rollback_at_subscription_scope(project: Project) -> None:
    """Above a resource group the rollback is the same: the recorded template (here one that
    creates a resource group and names an endpoint) redeployed at the subscription."""
    sub_template = {
        **template(
            [
                {
                    "type": "Microsoft.Resources/resourceGroups",
                    "apiVersion": "2022-09-01",
                    "name": "[parameters('group')]",
                    "location": "westeurope",
                }
            ],
            parameters={"group": {"type": "string"}, "endpoint": {"type": "string"}},
            outputs={"endpoint": {"type": "string", "value": "[parameters('endpoint')]"}},
        ),
        "$schema": SCHEMAS["subscription"],
    }
    path = project.write_template("sub.json", sub_template)
    open_port = project.arm.connection.base_url.split("//")[1].split("/")[0]

    def write(group: str, endpoint: str) -> None:
        project.write_manifest(
            "sub",
            template=path,
            scope={"subscription_id": SUB, "location": "westeurope"},
            parameters={"group": group, "endpoint": endpoint},
            deployment={"rollback_on_verify_failure": True},
            health_checks={"tcp": [{"host": "{outputs.endpoint}", "retries": 0}]},
        )

    write("rg-good", open_port)
    good = project.run("deploy_sub")
    assert good.success
    write("rg-bad", "127.0.0.1:1")  # nothing listens there
    bad = project.run("deploy_sub")
    (event,) = step_events(bad, "verify", "STEP_FAILURE")
    failure = event.step_failure_data.user_failure_data
    assert failure.metadata["rollback"].value == "restored", failure.description
    assert failure.metadata["rollback_to_run"].value == good.run_id
    names = {d["name"] for d in project.arm.store.list_deployments(f"/subscriptions/{SUB}")}
    assert rollback_deployment_name("sub", bad.run_id) in names


def test_a_stack_environment_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "parameters" / "dev.yaml"
    path.parent.mkdir()
    (tmp_path / "main.json").write_text(json.dumps(template([])), encoding="utf-8")
    path.write_text(
        "template: ../main.json\nscope: {resource_group: rg-dev, location: westeurope}\n"
        "deployment: {rollback_on_verify_failure: true, stack: {}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match="rollback_on_verify_failure"):
        load_environment(path)


def test_the_secure_value_is_never_stored(rb: Project, tmp_path: Path) -> None:
    manifest(rb, "app-good")
    assert deploy(rb, SHA_GOOD).success
    manifest(rb, "app-bad")
    rb.faults(FaultRule(kind="site_status", resource_name="app-bad", status=503))
    bad = deploy(rb, SHA_BAD)
    assert failure_of(bad).metadata["rollback"].value == "restored"
    # the rollback was sent the secret (read again from the environment variable) ...
    record = arm_deployment(rb, rollback_deployment_name("dev", bad.run_id))
    assert record is not None and "password" in record["properties"]["parameters"]
    # ... and nothing keeps it: run config, tags, every event record, the audit tables
    database = tmp_path / "deployment_history.duckdb"
    job = audit_definitions(database=str(database), project_dir=rb.root).resolve_job_def(
        "audit_refresh"
    )
    assert job.execute_in_process(instance=rb.instance).success
    texts = [json.dumps({"config": r.run_config, "tags": r.tags}) for r in rb.instance.get_runs()]
    texts += [
        serialize_value(e) for r in rb.instance.get_runs() for e in rb.instance.all_logs(r.run_id)
    ]
    windows = [SECRET[i : i + 8] for i in range(len(SECRET) - 7)]
    assert not [t for t in texts if any(w in t for w in windows)]
    # no file either: the Dagster home, the local ARM's state, the audit's DuckDB file
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert database in files and tmp_path / "arm.sqlite" in files
    assert not [p for p in files if any(w.encode() in p.read_bytes() for w in windows)]
    with duckdb.connect(str(database), read_only=True) as db:
        row = db.execute(
            "SELECT rollback, rolled_back_to_run, rolled_back_to_git_sha, rollback_deployment "
            "FROM audit.deployment_runs WHERE run_id = ?",
            [bad.run_id],
        ).fetchone()
    assert row is not None and row[0] == "restored" and row[2] == SHA_GOOD
    assert row[3] == rollback_deployment_name("dev", bad.run_id)
