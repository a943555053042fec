"""The review path in the UI, in process: the plan step's summary line and apply link (whose
config is what deploy_<env> accepts), and the deploy outputs as text entries."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from bicep_assets.pipeline.jobs import default_run_config
from bicep_assets.pipeline.review_link import apply_link

from .conftest import Project, storage, template
from .test_jobs import metadata_of

LAUNCHPAD = "/locations/__repository__@bicep_assets.definitions/jobs/deploy_dev/playground/setup"


def tagged(name: str) -> dict[str, Any]:
    return {**storage(name), "tags": {"owner": "[parameters('owner')]"}}


def linked_config(link: str) -> dict[str, Any]:
    (config,) = parse_qs(urlsplit(link).query, strict_parsing=True)["config"]
    return yaml.safe_load(config)


def test_plan_logs_its_summary_and_links_to_the_launchpad_with_its_id(project: Project) -> None:
    body = template(
        [tagged("keep1")],
        parameters={"owner": {"type": "string", "defaultValue": "a"}},
        outputs={
            "owner": {"type": "string", "value": "[parameters('owner')]"},
            "sizes": {"type": "array", "value": [1, 2]},
        },
    )
    project.write_manifest("dev", template=project.write_template("main.json", body))
    assert project.run("deploy_dev").success
    body["resources"] += [storage("new1"), storage("new2")]
    project.write_template("main.json", body)
    overrides = {"owner": "b"}  # keep1's tag changes: a Modify
    planned = project.run(
        "plan_dev",
        run_config={"ops": {"lint": {"config": {"parameter_overrides": overrides}}}},
    )
    assert planned.success
    plan_id = planned.run_id
    messages = [e.user_message for e in project.instance.all_logs(plan_id) if e.step_key == "plan"]
    assert f"2 to create, 1 to modify, 0 to delete (plan {plan_id})" in messages
    metadata = metadata_of(planned, "plan")
    assert metadata["plan_id"] == plan_id and len(plan_id) == 36
    link = metadata["apply_this_plan"]
    assert urlsplit(link).path == LAUNCHPAD and not urlsplit(link).netloc
    config = linked_config(link)
    assert config == {
        "ops": {
            "lint": {"config": {"allow_warnings": False, "parameter_overrides": overrides}},
            "gate": {"config": {"allow_destructive": False, "approved_plan": plan_id}},
        }
    }
    # what the launchpad fills in is a valid deploy_dev config: launched, it applies the plan
    applied = project.run("deploy_dev", run_config=config)
    assert applied.success, [e.message for e in applied.all_events if e.is_failure]
    assert metadata_of(applied, "deploy")["output owner"] == "b"
    assert metadata_of(applied, "deploy")["output sizes"] == "[1, 2]"
    assert metadata_of(applied, "deploy")["outputs"] == {"owner": "b", "sizes": [1, 2]}


def test_the_link_names_the_ui_base_when_one_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BICEP_ASSETS_UI_URL", "https://dagster.example.com/ops/")
    link = apply_link("prod", "0" * 36, location="loc", repository="repo")
    assert link.startswith(
        "https://dagster.example.com/ops/locations/repo@loc/jobs/deploy_prod/playground/setup?"
    )
    assert linked_config(link)["ops"]["gate"]["config"]["approved_plan"] == "0" * 36


def test_the_launchpad_defaults_name_every_flag() -> None:
    assert default_run_config(with_gate=True)["ops"]["gate"] == {
        "config": {"allow_destructive": False, "approved_plan": ""}
    }
