"""Review a plan, then apply exactly it: saved plans (plans/<env>), the gate's approved_plan,
require_approved_plan and max_plan_age — end to end through the real SDK into the local ARM,
on a real Dagster instance."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from bicep_assets.audit.events import read_run_audit
from bicep_assets.audit.export import export_plan, export_run
from bicep_assets.audit.tables import planned_properties_frame, plans_frame
from bicep_assets.environments import ManifestError, load_environment
from bicep_assets.models import Plan, PropertyChange, WhatIfChange
from bicep_assets.pipeline.gate import check_approved_plan
from bicep_assets.pipeline.plan import plan_markdown
from bicep_assets.pipeline.plan_review import plan_differences
from bicep_assets.pipeline.saved_plans import load_saved_plan, saved_plan

from .conftest import SUB, Project, copy_example, step_events, storage, template

CANARY = "prod-canary-Zq8vX2mN4pL7rT1w"
HOW = (
    "make a plan (`bicep-assets plan prod`, or launch plan_prod), review it, then apply it by "
    "its id (`bicep-assets apply prod --plan ID`, or launch deploy_prod with "
    "ops.gate.config.approved_plan: ID)"
)


def approving(plan_id: str, **gate: Any) -> dict[str, Any]:
    return {"ops": {"gate": {"config": {"approved_plan": plan_id, **gate}}}}


def message_of(failure: Any) -> str:
    """A step failure's message below its headline (``Logic failure, CODE: short message``,
    which the failure boundary puts first for the UI and the CLI)."""
    headline, _, message = failure.description.partition("\n")
    code = failure.metadata["arm_code"].text
    assert headline.startswith(f"Logic failure, {code}: "), headline
    return message


def gate_failure(result: dg.ExecuteInProcessResult) -> Any:
    (event,) = step_events(result, "gate", "STEP_FAILURE")
    return event.step_failure_data.user_failure_data


def gate_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = step_events(result, "gate", "STEP_OUTPUT")
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


def every_event_text(instance: dg.DagsterInstance) -> str:
    texts = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            texts.append(dg.serialize_value(entry))
        texts.append(json.dumps(run.run_config))
    return "\n".join(texts)


def resource_names(project: Project, group: str) -> list[str]:
    return sorted(r["name"] for r in project.arm.store.list_resources(SUB, group))


@pytest.fixture
def prod(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    copy_example(project)
    monkeypatch.setenv("PROD_APP_SECRET", CANARY)
    return project


def test_the_reviewed_plan_of_prod_is_applied_and_recorded(prod: Project) -> None:
    planned = prod.run("plan_prod")
    assert planned.success
    plan_id = planned.run_id
    saved = load_saved_plan(prod.instance, plan_id)
    assert saved is not None
    assert (saved.plan_id, saved.environment, saved.job) == (plan_id, "prod", "plan_prod")
    assert saved.counts["Create"] >= 4 and saved.counts["Delete"] == 0
    assert not saved.truncated and saved.target == "local"
    farm = next(c for c in saved.changes if c.resource_type == "Microsoft.Web/serverfarms")
    assert farm.change_type == "Create"
    assert farm.after is not None and farm.after["sku"]["name"] == "P1v3"  # what it will set
    assert "properties.provisioningState" not in json.dumps(farm.after)  # noise dropped
    # the UI's page of plans/prod: one materialization, the record in its metadata
    event = prod.instance.get_latest_materialization_event(dg.AssetKey(["plans", "prod"]))
    assert event is not None and event.run_id == plan_id
    metadata = event.asset_materialization.metadata
    assert metadata["plan_id"].value == plan_id
    assert metadata["summary"].value.startswith(f"{saved.counts['Create']} to create, 0 to modify")

    applied = prod.run("deploy_prod", run_config=approving(plan_id))
    assert applied.success, [e.message for e in applied.all_events if e.is_failure]
    gate = gate_metadata(applied)
    assert gate["approved_plan"] == plan_id
    assert 0 <= gate["approved_plan_age_s"] < 600
    assert applied.output_for_node("gate").approved_plan == plan_id
    assert len(prod.deployments("rg-webapp-prod")) == 1

    # the audit: the deploy run's row names the plan; the plan and its properties are rows
    record = prod.instance.get_run_record_by_id(applied.run_id)
    audit = read_run_audit(prod.instance, record)
    assert audit.approved_plan == plan_id and audit.applied
    plan_audit = read_run_audit(prod.instance, prod.instance.get_run_record_by_id(plan_id))
    plans = plans_frame([plan_audit])
    assert plans.loc[0, "plan_id"] == plan_id and plans.loc[0, "creates"] == saved.counts["Create"]
    properties = planned_properties_frame([plan_audit])
    sku = properties[
        (properties["resource_id"] == farm.resource_id) & (properties["path"] == "sku.name")
    ]
    assert sku[["change_type", "before", "after"]].values.tolist() == [["Create", None, '"P1v3"']]

    # applying it once more: prod is deployed, so nothing is planned as in the review
    again = prod.run("deploy_prod", run_config=approving(plan_id))
    failure = gate_failure(again)
    assert failure.metadata["arm_code"].text == "PlanChanged"
    assert f"{farm.resource_id}: Create in the approved plan, NoChange now" in failure.description
    assert message_of(failure).startswith(
        f"Plan {plan_id} looks applied already: each of its {saved.counts['Create']} change(s) "
        "is in place now, so there is nothing of it left to apply; make a plan"
    )
    assert len(prod.deployments("rg-webapp-prod")) == 1

    # the secure value is in no event, run config, saved plan, export or audit row
    assert CANARY[:8] not in every_event_text(prod.instance)
    exported = json.dumps(
        [export_plan(prod.instance, plan_id), export_run(prod.instance, plan_id)], default=str
    )
    assert CANARY[:8] not in exported
    assert CANARY[:8] not in properties.to_json() + plans.to_json()
    assert "[secure value]" in exported  # the app setting's value was planned, and masked


def test_prod_refuses_a_deployment_without_an_approved_plan(prod: Project) -> None:
    result = prod.run("deploy_prod")
    failure = gate_failure(result)
    assert failure.metadata["arm_code"].text == "ApprovedPlanRequired"
    assert message_of(failure).startswith(
        "Environment 'prod' requires an approved plan (deployment.require_approved_plan in "
        f"parameters/prod.yaml), and this run names none: {HOW}."
    )
    assert prod.deployments("rg-webapp-prod") == []


def test_a_parameter_changed_after_the_review_is_refused_with_the_difference(
    prod: Project,
) -> None:
    plan_id = prod.run("plan_prod").run_id
    manifest = prod.root / "parameters" / "prod.yaml"
    manifest.write_text(
        manifest.read_text().replace("storageSku: Standard_ZRS", "storageSku: Standard_GRS")
    )
    result = prod.run("deploy_prod", run_config=approving(plan_id))
    failure = gate_failure(result)
    assert failure.metadata["arm_code"].text == "PlanChanged"
    lines = message_of(failure).splitlines()
    assert lines[0].startswith(f"The plan made now differs from the approved plan {plan_id} in ")
    assert '  - parameters.storageSku: approved "Standard_ZRS", now "Standard_GRS"' in lines
    storage_id = next(
        c.resource_id
        for c in load_saved_plan(prod.instance, plan_id).changes  # type: ignore[union-attr]
        if c.resource_type == "Microsoft.Storage/storageAccounts"
    )
    assert f'  - {storage_id}: sku.name: approved "Standard_ZRS", now "Standard_GRS"' in lines
    assert prod.deployments("rg-webapp-prod") == []
    audit = read_run_audit(prod.instance, prod.instance.get_run_record_by_id(result.run_id))
    assert (audit.approved_plan, audit.failed_step, audit.arm_code) == (
        plan_id,
        "gate",
        "PlanChanged",
    )


def small_project(project: Project, **deployment: Any) -> None:
    path = project.write_template(
        "main.json",
        template(
            [
                {**storage("keep1"), "tags": {"planned_by": "[deployment().name]"}},
                storage("drop1"),
            ]
        ),
    )
    project.write_manifest("dev", template=path, deployment={"mode": "Complete", **deployment})
    project.write_manifest(
        "test", template=path, scope={"resource_group": "rg-test", "location": "westeurope"}
    )


def test_an_approved_destructive_plan_is_applied_without_allow_destructive(
    project: Project,
) -> None:
    small_project(project)
    assert project.run("deploy_dev").success  # the group exists: what-if names run-specific
    project.write_template(
        "main.json",
        template([{**storage("keep1"), "tags": {"planned_by": "[deployment().name]"}}]),
    )
    planned = project.run("plan_dev")
    saved = load_saved_plan(project.instance, planned.run_id)
    assert saved is not None and saved.what_if_deployment_name == f"dev-plan-{planned.run_id[:8]}"
    assert [c.change_type for c in saved.changes if "drop1" in c.resource_id] == ["Delete"]
    # keep1's tag is deployment().name: another name in every plan, not a difference
    applied = project.run("deploy_dev", run_config=approving(planned.run_id))
    assert applied.success, [e.message for e in applied.all_events if e.is_failure]
    assert gate_metadata(applied)["deleted_resources"] == [
        c.resource_id for c in saved.changes if c.change_type == "Delete"
    ]
    assert resource_names(project, "rg-dev") == ["keep1"]


def test_a_plan_of_another_environment_an_unknown_id_and_a_bad_id_are_refused(
    project: Project,
) -> None:
    small_project(project)
    test_plan = project.run("plan_test").run_id
    other = project.run("deploy_dev", run_config=approving(test_plan))
    failure = gate_failure(other)
    assert failure.metadata["arm_code"].text == "PlanOfAnotherEnvironment"
    assert message_of(failure).startswith(
        f"approved_plan: plan {test_plan} is a plan of environment 'test', not of 'dev'; "
    )
    unknown = project.run(
        "deploy_dev", run_config=approving("0" * 8 + "-0000-0000-0000-" + "0" * 12)
    )
    assert gate_failure(unknown).metadata["arm_code"].text == "PlanNotFound"
    bad = project.run("deploy_dev", run_config=approving("latest"))
    assert message_of(gate_failure(bad)).startswith(
        "approved_plan: 'latest' is not a plan id — a plan id is the Dagster run id of the run "
        "that made the plan (36 characters"
    )
    assert project.deployments("rg-dev") == []


def test_an_expired_plan_is_refused(project: Project) -> None:
    small_project(project, max_plan_age="1h30m")
    planned = project.run("plan_dev")
    saved = load_saved_plan(project.instance, planned.run_id)
    assert saved is not None
    spec = load_environment(project.root / "parameters" / "dev.yaml")
    fresh = planned.output_for_node("plan")
    made = datetime.fromisoformat(saved.created_at)
    metadata: dict[str, Any] = {}
    ok = check_approved_plan(
        fresh,
        saved,
        plan_id=saved.plan_id,
        spec=spec,
        now=made + timedelta(minutes=89),
        metadata=metadata,
    )
    assert ok.approved and ok.approved_plan == saved.plan_id
    with pytest.raises(dg.Failure) as refused:
        check_approved_plan(
            fresh,
            saved,
            plan_id=saved.plan_id,
            spec=spec,
            now=made + timedelta(hours=2, seconds=5),
            metadata=metadata,
        )
    assert refused.value.description == (
        f"approved_plan: plan {saved.plan_id} was made 2h5s ago ({saved.created_at}), longer "
        "ago than deployment.max_plan_age (1h30m) of parameters/dev.yaml allows; make a plan "
        "(`bicep-assets plan dev`, or launch plan_dev), review it, then apply it by its id "
        "(`bicep-assets apply dev --plan ID`, or launch deploy_dev with "
        "ops.gate.config.approved_plan: ID)."
    )


def change(rid: str, kind: str, **fields: Any) -> WhatIfChange:
    return WhatIfChange(
        resource_id=rid,
        resource_type="Microsoft.Storage/storageAccounts",
        change_type=kind,
        **fields,
    )


def tag_change(resource_id: str, before: str, after: str) -> WhatIfChange:
    """A Modify of the resource's ``tags.env`` from ``before`` to ``after``."""
    env = PropertyChange(path="env", change_type="Modify", before=before, after=after)
    tags = PropertyChange(path="tags", change_type="Modify", children=[env])
    return change(resource_id, "Modify", delta=[tags])


def test_comparison_ignores_order_and_bounds_the_record() -> None:
    modify = tag_change("/x/a", "old", "new")
    create = change("/x/b", "Create", after={"sku": {"name": "Standard_LRS"}, "big": "v" * 5000})
    delete = change("/x/c", "Delete", before={"sku": {"name": "Standard_LRS"}})
    plan = Plan(
        environment="dev", changes=[modify, create, delete], template_hash="t", parameters_hash="p"
    )
    now = datetime.now(timezone.utc)
    saved = saved_plan(
        plan, plan_id="p" * 36, job="plan_dev", created_at=now, max_detail_chars=1000
    )
    assert saved.truncated and [c.detail_omitted for c in saved.changes] == [False, True, False]
    assert saved.note.startswith(
        "The details of 1 of 3 changes were left out to keep this record under 1000 characters"
    )
    reordered = plan.model_copy(update={"changes": [delete, create, modify]})
    assert plan_differences(saved, reordered) == []
    # a resource added outside the template since (what-if leaves it alone: Ignore)
    added = change("/x/d", "Ignore")
    assert (
        plan_differences(saved, plan.model_copy(update={"changes": [*plan.changes, added]})) == []
    )
    # a Delete is its resource: its last state may change by itself
    moved = change("/x/c", "Delete", before={"sku": {"name": "Premium_LRS"}})
    assert (
        plan_differences(saved, plan.model_copy(update={"changes": [modify, create, moved]})) == []
    )
    bigger = change("/x/b", "Create", after={"sku": {"name": "Standard_LRS"}, "big": "w"})
    retagged = tag_change("/x/a", "old", "newer")
    assert plan_differences(
        saved, plan.model_copy(update={"changes": [retagged, bigger, delete]})
    ) == [
        '/x/a: tags.env: approved Modify "old" → "new", now Modify "old" → "newer"',
        "/x/b: property values differ (the saved plan kept only a fingerprint of this change, "
        "to bound its size)",
    ]
    diff = plan_markdown(plan)
    assert '+      + sku.name: "Standard_LRS"' in diff.splitlines()
    assert f'+      + big: "{"v" * 198}…' in diff.splitlines()
    assert diff.splitlines()[6:8] == ["!      ~ tags:", '!          ~ env: "old" → "new"']
    many = Plan(
        environment="dev",
        changes=[
            change(f"/x/{i}", "Create", after={f"p{j}": j for j in range(30)}) for i in range(80)
        ],
    )
    shown = plan_markdown(many).splitlines()
    assert len(shown) < 2100 and shown[-1] == (
        "420 property lines are left out of this diff (it shows at most 2000); the saved plan "
        "(plans/dev) has them."
    )


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        (
            "{max_plan_age: soon}",
            "deployment.max_plan_age: 'soon' is not a duration: a positive number of days, "
            "hours, minutes and seconds, largest first, e.g. '24h', '90m', '1d12h', '45s'",
        ),
        ("{max_plan_age: 0h}", "deployment.max_plan_age: '0h' is not a duration"),
        ("{require_approved_plan: maybe}", "deployment.require_approved_plan: "),
    ],
)
def test_manifest_errors_for_the_plan_keys_name_the_key(
    tmp_path: Path, deployment: str, message: str
) -> None:
    (tmp_path / "parameters").mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.json").write_text(json.dumps(template([])))
    manifest = tmp_path / "parameters" / "dev.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "template": "../infra/main.json",
                "scope": {"resource_group": "rg", "location": "westeurope"},
            }
        )
        + f"deployment: {deployment}\n"
    )
    with pytest.raises(ManifestError) as error:
        load_environment(manifest)
    assert message in str(error.value)
