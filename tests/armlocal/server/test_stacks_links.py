"""Issue 16: deployment stacks from a linked template (``templateLink.uri`` with
``queryString``, ``relativePath`` children, ``parametersLink``) served by a local HTTP server,
and from a template spec version (``templateLink.id``) — fetched by the same code as a
deployment's links — through the official stacks SDK. A SAS token never comes back."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.templatespecs import TemplateSpecsClient

from bicep_assets.armlocal import LocalArm

from .conftest import storage, template
from .test_linked_templates import SAS, SECRET, Files, files, nested_link, requests_log, state_dump

__all__ = ["files"]  # the fixture, imported for this module's tests

SUB = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def stacks(arm: LocalArm) -> Any:
    return arm.connection.stacks_client().deployment_stacks


def linked_body(**links: Any) -> dict[str, Any]:
    return {
        "properties": {
            **links,
            "actionOnUnmanage": {"resources": "delete"},
            "denySettings": {"mode": "none"},
        }
    }


def names(references: Any) -> list[str]:
    return sorted(r.id.rsplit("/", 1)[1] for r in references or [])


def test_a_stack_deploys_a_linked_template_and_its_parameters_file(
    arm: LocalArm,
    stacks: Any,
    files: Files,
    group: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    files.files["/t/main.json"] = template(
        [storage("[parameters('name')]"), nested_link("child", relativePath="nested/child.json")],
        parameters={"name": {"type": "string"}},
        outputs={"link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"}},
    )
    files.files["/t/nested/child.json"] = template([storage("stklchild1")])
    files.files["/p/main.parameters.json"] = {"parameters": {"name": {"value": "stklmain1"}}}
    body = linked_body(
        templateLink={"uri": f"{files.base}/t/main.json", "queryString": SAS},
        parametersLink={"uri": f"{files.base}/p/main.parameters.json?{SAS}"},
    )
    answers: list[Any] = []
    validated = stacks.begin_validate_stack_at_resource_group(group, "linked", body).result()
    answers.append(validated.as_dict())
    assert names(validated.properties.validated_resources) == ["child", "stklchild1", "stklmain1"]
    assert validated.properties.parameters["name"].value == "stklmain1"
    stack = stacks.begin_create_or_update_at_resource_group(group, "linked", body).result()
    assert stack.properties.provisioning_state == "succeeded"
    assert names(stack.properties.resources) == ["stklchild1", "stklmain1"]
    # fetched with the SAS: the template, the parameters file, the relative child
    assert set(files.asked) == {
        f"/t/main.json?{SAS}",
        f"/p/main.parameters.json?{SAS}",
        f"/t/nested/child.json?{SAS}",
    }
    got = stacks.get_at_resource_group(group, "linked")
    assert got.properties.outputs["link"]["value"] == f"{files.base}/t/main.json"
    assert got.properties.parameters["name"].value == "stklmain1"
    # parametersLink is answered (its address without the query), templateLink is write-only
    assert got.properties.parameters_link.uri == f"{files.base}/p/main.parameters.json"
    assert got.properties.template_link is None
    exported = stacks.export_template_at_resource_group(group, "linked")
    assert exported.template["resources"][0]["name"] == "[parameters('name')]"
    assert exported.template_link.as_dict() == {
        "uri": f"{files.base}/t/main.json",
        "contentVersion": "1.0.0.0",
    }
    answers += [got.as_dict(), exported.as_dict()]
    answers += [s.as_dict() for s in stacks.list_at_resource_group(group)]
    assert all(SECRET not in json.dumps(a, default=str) for a in answers)
    assert SECRET not in state_dump(arm)
    assert SECRET not in requests_log(arm) and SECRET not in caplog.text
    # an update from the same link with a file less: the dropped resource is deleted
    files.files["/t/main.json"]["resources"] = [storage("[parameters('name')]")]
    updated = stacks.begin_create_or_update_at_resource_group(group, "linked", body).result()
    assert names(updated.properties.deleted_resources) == ["stklchild1"]


def test_a_stack_from_a_template_spec_version(
    arm: LocalArm, stacks: Any, group: str, files: Files
) -> None:
    specs = TemplateSpecsClient(**arm.connection.client_kwargs())
    specs.template_specs.create_or_update(group, "stack-spec", {"location": "westeurope"})
    version = specs.template_spec_versions.create_or_update(
        group,
        "stack-spec",
        "2.0",
        {
            "location": "westeurope",
            "properties": {
                "mainTemplate": template(
                    [storage("stklspec1"), nested_link("inner", relativePath="inner.json")]
                ),
                "linkedTemplates": [
                    {"path": "inner.json", "template": template([storage("stklspec2")])}
                ],
            },
        },
    )
    stack = stacks.begin_create_or_update_at_resource_group(
        group, "from-spec", linked_body(templateLink={"id": version.id})
    ).result()
    assert stack.properties.provisioning_state == "succeeded"
    assert names(stack.properties.resources) == ["stklspec1", "stklspec2"]
    exported = stacks.export_template_at_resource_group(group, "from-spec")
    assert exported.template_link.id == version.id
    assert exported.template["resources"][0]["name"] == "stklspec1"
    # a version that does not exist, an address that answers 404: refused, no stack
    missing = version.id.replace("/2.0", "/9.9")
    for link, code in (
        ({"id": missing}, "TemplateSpecVersionNotFound"),
        ({"uri": f"{files.base}/none.json", "queryString": SAS}, "InvalidContentLink"),
    ):
        with pytest.raises(HttpResponseError) as info:
            stacks.begin_create_or_update_at_resource_group(
                group, "refused", linked_body(templateLink=link)
            ).result()
        assert (info.value.status_code, info.value.error.code) == (400, code)
        assert SECRET not in info.value.response.text()
    assert info.value.error.message == (
        f"Unable to download deployment content from '{files.base}/none.json': the server "
        "answered 404. Please see https://aka.ms/arm-deploy for usage details."
    )
    with pytest.raises(ResourceNotFoundError):
        stacks.get_at_resource_group(group, "refused")
    # parameters and parametersLink together: refused as a deployment's are
    with pytest.raises(HttpResponseError) as info:
        stacks.begin_create_or_update_at_resource_group(
            group,
            "both",
            linked_body(
                templateLink={"id": version.id},
                parameters={},
                parametersLink={"uri": f"{files.base}/p.json"},
            ),
        ).result()
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidDeploymentParameters")
