"""``deployment.stack``: an environment deployed as a deployment stack, end to end through the
official stacks client into the local ARM — the plan listing what the update detaches or
deletes, the gate refusing the deletions without approval, deploy re-attaching on a retry,
verify and the audit naming the stack — and the manifest's stack options checked at load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal import FaultRule
from bicep_assets.audit.events import read_finished_runs
from bicep_assets.environments import load_environment
from bicep_assets.manifest_yaml import ManifestError
from bicep_assets.pipeline.review_link import plan_summary
from bicep_assets.pipeline.stacks import managed_ids
from bicep_assets.progress import step_summary

from .conftest import SUB, Project, step_events, storage, template
from .test_jobs import failure_of, metadata_of

STACK_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-dev/providers/Microsoft.Resources/deploymentStacks/dev"
)


def stack_manifest(project: Project, resources: list[dict[str, Any]], **stack: Any) -> None:
    path = project.write_template("main.json", template(resources))
    stack.setdefault("action_on_unmanage", {"resources": "delete"})
    stack.setdefault("deny_settings", {"mode": "denyDelete"})
    project.write_manifest("dev", template=path, deployment={"stack": stack})


def stack_of(project: Project) -> dict[str, Any]:
    stack = project.arm.store.get_stack(STACK_ID)
    assert stack is not None
    return stack


def managed(project: Project) -> list[str]:
    return sorted(r["id"].rsplit("/", 1)[1] for r in stack_of(project)["properties"]["resources"])


def test_a_stack_is_deployed_verified_and_audited(project: Project) -> None:
    stack_manifest(project, [storage("stk1"), storage("stk2")])
    result = project.run("deploy_dev")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    deployed = result.output_for_node("deploy")
    assert deployed.stack_id == STACK_ID
    assert deployed.deployment_id == stack_of(project)["properties"]["deploymentId"]
    assert sorted(r.rsplit("/", 1)[1] for r in deployed.output_resources) == ["stk1", "stk2"]
    assert managed(project) == ["stk1", "stk2"]
    assert stack_of(project)["properties"]["denySettings"]["mode"] == "denyDelete"
    assert metadata_of(result, "deploy")["stack_id"] == STACK_ID
    assert metadata_of(result, "verify")["stack_id"] == STACK_ID
    (audit,), _ = read_finished_runs(project.instance, after_storage_id=None)
    assert audit.stack_id == STACK_ID and audit.deployment_id == deployed.deployment_id
    # the operations of the stack's deployment are streamed as a deployment's are
    logs = [r.user_message for r in project.instance.all_logs(result.run_id)]
    assert "Started deployment stack dev (create)." in logs
    assert any(m.startswith("Create Microsoft.Storage/storageAccounts/stk1: ") for m in logs)


def test_the_plan_lists_unmanage_deletions_and_the_gate_refuses_them(project: Project) -> None:
    stack_manifest(project, [storage("stk1"), storage("stk2")])
    assert project.run("deploy_dev").success
    stack_manifest(project, [storage("stk1")])
    planned = project.run("plan_dev")
    assert planned.success
    plan = planned.output_for_node("plan")
    (dropped,) = [c for c in plan.changes if c.resource_id.endswith("/stk2")]
    assert dropped.change_type == "Delete"
    assert metadata_of(planned, "plan")["deletes"] == 1
    blocked = project.run("deploy_dev")
    assert not blocked.success
    failure = failure_of(blocked, "gate")
    assert failure.metadata["arm_code"].value == "DestructiveChange"
    assert "/storageAccounts/stk2" in failure.description
    assert managed(project) == ["stk1", "stk2"]  # the stack was not touched
    applied = project.run(
        "deploy_dev", run_config={"ops": {"gate": {"config": {"allow_destructive": True}}}}
    )
    assert applied.success
    assert managed(project) == ["stk1"]
    deleted = stack_of(project)["properties"]["deletedResources"]
    assert [r["id"].rsplit("/", 1)[1] for r in deleted] == ["stk2"]
    assert metadata_of(applied, "deploy")["stack_deleted"] == [deleted[0]["id"]]
    names = [r["name"] for r in project.arm.store.list_resources(SUB, "rg-dev")]
    assert names == ["stk1"]


def test_a_detach_is_planned_as_detach_and_passes_the_gate(project: Project) -> None:
    stack_manifest(project, [storage("stk1"), storage("stk2")], action_on_unmanage={})
    assert project.run("deploy_dev").success
    stack_manifest(project, [storage("stk1")], action_on_unmanage={})
    result = project.run("deploy_dev")
    assert result.success
    plan = result.output_for_node("plan")
    assert [c.change_type for c in plan.changes if c.resource_id.endswith("/stk2")] == ["Detach"]
    # the summaries a reviewer reads count it too (the diff's first line, the step's metadata)
    assert metadata_of(result, "plan")["detaches"] == 1
    assert ", 1 to detach from the stack." in metadata_of(result, "plan")["diff"]
    assert plan_summary(plan, "p").endswith("0 to delete, 1 to detach (plan p)")
    assert managed(project) == ["stk1"]
    names = sorted(r["name"] for r in project.arm.store.list_resources(SUB, "rg-dev"))
    assert names == ["stk1", "stk2"]  # detached: still there


def test_a_retried_deploy_reattaches_to_the_stack_it_started(project: Project) -> None:
    stack_manifest(project, [storage("stk1")])
    project.faults(
        FaultRule(kind="status", status=503, operation="DeploymentOperations_List", times=1)
    )
    result = project.run("deploy_dev", sdk_retry_total=0, sdk_retry_status=0)
    assert result.success
    assert len(step_events(result, "deploy", "STEP_UP_FOR_RETRY")) == 1
    puts = [r for r in project.arm.app.requests if r[0] == "PUT" and "/deploymentStacks/" in r[1]]
    assert len(puts) == 1  # the retry re-attached instead of updating the stack again
    assert stack_of(project)["tags"]["bicep-assets-run-id"] == result.run_id


def test_a_failed_stack_fails_deploy_with_the_cause_and_no_retry(project: Project) -> None:
    stack_manifest(project, [storage("stk1")])
    project.faults(
        FaultRule(
            kind="deployment_error",
            resource_name="stk1",
            arm_code="RequestDisallowedByPolicy",
            arm_message="Resource 'stk1' was disallowed by policy.",
        )
    )
    result = project.run("deploy_dev")
    assert not result.success
    assert step_events(result, "deploy", "STEP_UP_FOR_RETRY") == []
    failure = failure_of(result, "deploy")
    assert failure.metadata["failure_kind"].value == "logic"
    assert failure.metadata["arm_code"].value == "RequestDisallowedByPolicy"
    assert stack_of(project)["properties"]["provisioningState"] == "failed"
    assert stack_of(project)["properties"]["error"]["code"] == "DeploymentFailed"


def test_secure_values_never_reach_the_stack_or_the_run(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "stack-canary-secret-5150"
    monkeypatch.setenv("STACK_SECRET", secret)
    tpl = template(
        [{**storage("stk1"), "tags": {"n": "[string(length(parameters('pw')))]"}}],
        parameters={"pw": {"type": "securestring"}},
        outputs={"pw": {"type": "securestring", "value": "[parameters('pw')]"}},
    )
    path = project.write_template("main.json", tpl)
    project.write_manifest(
        "dev",
        template=path,
        secure_parameters={"pw": {"env": "STACK_SECRET"}},
        deployment={"stack": {"action_on_unmanage": {"resources": "detach"}}},
    )
    result = project.run("deploy_dev")
    assert result.success
    assert result.output_for_node("deploy").outputs == {}
    stored = json.dumps(stack_of(project))
    events = json.dumps([str(e) for e in project.instance.all_logs(result.run_id)], default=str)
    for text in (stored, events):
        assert secret[:8] not in text


MANIFEST = """\
template: ../infra/main.json
scope:
  resource_group: rg-x
  location: westeurope
deployment:
{deployment}
"""


@pytest.mark.parametrize(
    ("deployment", "error"),
    [
        (
            "  stack:\n    action_on_unmanage:\n      management_groups: delete",
            "deployment.stack.action_on_unmanage.management_groups: only a stack at management "
            "group scope manages management groups, and this environment deploys at "
            "resourceGroup scope; remove it at line 8",
        ),
        (
            "  stack:\n    deny_settings:\n      excluded_actions: ['*/write']",
            "deployment.stack.deny_settings: excluded_actions apply to a deny assignment: set "
            "mode to denyDelete or denyWriteAndDelete, or remove them at line 7",
        ),
        (
            "  mode: Complete\n  stack: {}",
            "deployment: stack: a deployment stack deploys incrementally and removes what the "
            "template no longer declares through stack.action_on_unmanage; remove mode: "
            "Complete at line 5",
        ),
        (
            "  rollback_on_error: true\n  stack: {}",
            "deployment: stack: a deployment stack has no rollback to the last successful "
            "deployment (ARM's onErrorDeployment); remove rollback_on_error at line 5",
        ),
        (
            "  stack:\n    deny_settings:\n      mode: lockAll",
            "deployment.stack.deny_settings.mode: must be 'none', 'denyDelete' or "
            "'denyWriteAndDelete', not 'lockAll' at line 8",
        ),
        (
            "  stack:\n    deny_settings:\n      mode: denyDelete\n      excluded_principals: [me]",
            "deployment.stack.deny_settings.excluded_principals[0]: must be a principal "
            "(object) id, a GUID, not 'me' at line 9",
        ),
        (
            "  stack:\n    action_on_unmanage:\n      resource: delete",
            "deployment.stack.action_on_unmanage.resource: unknown key (did you mean "
            "'resources'?) at line 8",
        ),
    ],
)
def test_stack_options_are_checked_at_load(tmp_path: Path, deployment: str, error: str) -> None:
    manifest = tmp_path / "parameters" / "x.yaml"
    manifest.parent.mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.json").write_text(json.dumps(template([])), encoding="utf-8")
    manifest.write_text(MANIFEST.format(deployment=deployment), encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_environment(manifest, display_name="parameters/x.yaml")
    assert str(info.value).startswith(f"parameters/x.yaml: {error}"), str(info.value)


def test_the_cli_names_the_stack_in_the_deploy_line() -> None:
    metadata = {
        "provisioning_state": "Succeeded",
        "deployment_name": "prod-20261207-d4692",
        "stack_id": STACK_ID.replace("/dev", "/prod"),
    }
    assert step_summary("deploy", metadata) == (
        "Succeeded (stack prod, deployment prod-20261207-d4692)"
    )
    del metadata["stack_id"]
    assert step_summary("deploy", metadata) == "Succeeded (prod-20261207-d4692)"


def test_a_resource_the_stack_could_not_delete_is_still_planned_as_its_own() -> None:
    """A lock left a resource in the stack as ``deleteFailed``: the next update deletes it
    again, so the plan lists it with the managed ones (and the gate sees its lock)."""
    rid = f"/subscriptions/{SUB}/resourceGroups/rg-dev/providers/Microsoft.Storage/storageAccounts"
    stack = {
        "properties": {
            "resources": [
                {"id": f"{rid}/kept", "status": "managed"},
                {"id": f"{rid}/locked", "status": "deleteFailed"},
            ]
        }
    }
    assert managed_ids(stack) == [f"{rid}/kept", f"{rid}/locked"]
