"""Issue 16: the Tags API (``Microsoft.Resources/tags``) and the subscription's tag names,
through the official SDK over HTTPS, and deployments of a ``Microsoft.Resources/tags``
resource."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.locks import ManagementLockClient

from bicep_assets.armlocal import LocalArm

from .conftest import deploy_body, raw, storage, template

SUB = "00000000-0000-0000-0000-000000000000"
SUB_ID = f"/subscriptions/{SUB}"
RG_ID = f"{SUB_ID}/resourceGroups/rg-test"
ST_ID = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/sttags01"
TAGS = "providers/Microsoft.Resources/tags/default"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)


@pytest.fixture
def account(arm: LocalArm, group: str) -> str:
    put = raw(arm, "PUT", ST_ID, "2023-01-01", {**storage("sttags01"), "tags": {"Env": "dev"}})
    assert put.status_code in (200, 201, 202)
    arm.backend.runner.wait_idle()
    return ST_ID


def tags_of(result: Any) -> dict[str, str]:
    return dict(result.properties.tags or {})


# -- tags at a scope ---------------------------------------------------------------------------
def test_put_replaces_a_resources_tags_and_its_get_shows_them(resources: Any, account: str) -> None:
    answer = resources.tags.begin_create_or_update_at_scope(
        account, {"properties": {"tags": {"team": "a", "cost": "1"}}}
    ).result()
    assert answer.id == f"{account}/{TAGS}"
    assert (answer.name, answer.type) == ("default", "Microsoft.Resources/tags")
    assert tags_of(answer) == {"team": "a", "cost": "1"}  # Env is gone: the set is replaced
    assert resources.resources.get_by_id(account, api_version="2023-01-01").tags == {
        "team": "a",
        "cost": "1",
    }
    assert tags_of(resources.tags.get_at_scope(account)) == {"team": "a", "cost": "1"}


def test_patch_merges_replaces_and_deletes(resources: Any, group: str) -> None:
    resources.resource_groups.create_or_update(
        group, {"location": "westeurope", "tags": {"Env": "dev", "owner": "x"}}
    )
    update = resources.tags.begin_update_at_scope
    # Merge: a name in another case updates the existing tag, which keeps its spelling
    merged = update(
        RG_ID, {"operation": "Merge", "properties": {"tags": {"env": "prod", "n": "1"}}}
    )
    assert tags_of(merged.result()) == {"Env": "prod", "owner": "x", "n": "1"}
    # Delete: a name with a value only when the value matches (values are case-sensitive)
    kept = update(RG_ID, {"operation": "Delete", "properties": {"tags": {"ENV": "Prod"}}})
    assert tags_of(kept.result()) == {"Env": "prod", "owner": "x", "n": "1"}
    gone = update(RG_ID, {"operation": "Delete", "properties": {"tags": {"ENV": "prod", "n": ""}}})
    assert tags_of(gone.result()) == {"owner": "x"}
    replaced = update(RG_ID, {"operation": "Replace", "properties": {"tags": {"only": "1"}}})
    assert tags_of(replaced.result()) == {"only": "1"}
    assert resources.resource_groups.get(group).tags == {"only": "1"}


def test_delete_removes_every_tag(arm: LocalArm, resources: Any, account: str) -> None:
    resources.tags.begin_delete_at_scope(account).result()
    assert tags_of(resources.tags.get_at_scope(account)) == {}
    assert raw(arm, "DELETE", f"{account}/{TAGS}", "2025-04-01").status_code == 200


def test_subscription_tags_are_the_subscriptions(arm: LocalArm, resources: Any) -> None:
    assert tags_of(resources.tags.get_at_scope(SUB_ID)) == {}
    resources.tags.begin_create_or_update_at_scope(
        SUB_ID, {"properties": {"tags": {"costCenter": "42"}}}
    ).result()
    subscription = raw(arm, "GET", SUB_ID, "2022-12-01").json()
    assert subscription["tags"] == {"costCenter": "42"}
    resources.tags.begin_delete_at_scope(SUB_ID).result()
    assert raw(arm, "GET", SUB_ID, "2022-12-01").json()["tags"] == {}


@pytest.mark.parametrize(
    ("tags", "status", "code"),
    [
        ({f"t{i}": "v" for i in range(51)}, 400, "InvalidTagCount"),
        ({"n" * 513: "v"}, 400, "InvalidTagNameLength"),
        ({"ok": "v" * 257}, 400, "InvalidTagValueLength"),
        ({"a/b": "v"}, 400, "InvalidTagNameCharacters"),
        ({"a": 1}, 400, "InvalidRequestContent"),
    ],
)
def test_documented_limits_are_refused(
    arm: LocalArm, group: str, tags: dict[str, Any], status: int, code: str
) -> None:
    answer = raw(arm, "PUT", f"{RG_ID}/{TAGS}", "2025-04-01", {"properties": {"tags": tags}})
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_fifty_tags_are_accepted_and_a_merge_past_fifty_is_refused(
    arm: LocalArm, group: str
) -> None:
    fifty = {f"t{i}": "v" for i in range(50)}
    assert raw(arm, "PUT", f"{RG_ID}/{TAGS}", "2025-04-01", {"properties": {"tags": fifty}}).ok
    merge = {"operation": "Merge", "properties": {"tags": {"one": "more"}}}
    answer = raw(arm, "PATCH", f"{RG_ID}/{TAGS}", "2025-04-01", merge)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "InvalidTagCount")


def test_unknown_operation_and_missing_scopes(arm: LocalArm, group: str) -> None:
    bad = raw(arm, "PATCH", f"{RG_ID}/{TAGS}", "2025-04-01",
              {"operation": "Upsert", "properties": {"tags": {}}})  # fmt: skip
    assert (
        bad.status_code == 400 and "'Replace', 'Merge', 'Delete'" in bad.json()["error"]["message"]
    )
    missing_group = raw(arm, "GET", f"{SUB_ID}/resourceGroups/nope/{TAGS}", "2025-04-01")
    assert (missing_group.status_code, missing_group.json()["error"]["code"]) == (
        404,
        "ResourceGroupNotFound",
    )
    missing = raw(arm, "GET", f"{ST_ID}/{TAGS}", "2025-04-01")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ResourceNotFound")
    # the operations at a scope appeared in 2019-10-01
    old = raw(arm, "GET", f"{RG_ID}/{TAGS}", "2019-08-01")
    assert old.status_code == 400
    assert old.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_locks_refuse_tag_writes_and_deletes(arm: LocalArm, resources: Any, account: str) -> None:
    locks = ManagementLockClient(**arm.connection.client_kwargs())
    locks.management_locks.create_or_update_at_resource_group_level(
        "rg-test", "nodelete", {"level": "CanNotDelete"}
    )
    # CanNotDelete: tags can be written, not deleted (a delete of an extension resource of
    # the locked scope)
    resources.tags.begin_create_or_update_at_scope(
        account, {"properties": {"tags": {"a": "1"}}}
    ).result()
    with pytest.raises(HttpResponseError) as refused:
        resources.tags.begin_delete_at_scope(account).result()
    assert refused.value.error.code == "ScopeLocked"
    assert "cannot perform delete operation" in refused.value.message
    locks.management_locks.create_or_update_at_resource_group_level(
        "rg-test", "readonly", {"level": "ReadOnly"}
    )
    with pytest.raises(HttpResponseError) as read_only:
        resources.tags.begin_update_at_scope(
            account, {"operation": "Merge", "properties": {"tags": {"b": "2"}}}
        ).result()
    assert read_only.value.error.code == "ScopeLocked"
    assert "cannot perform write operation" in read_only.value.message
    assert tags_of(resources.tags.get_at_scope(account)) == {"a": "1"}


# -- tag names ---------------------------------------------------------------------------------
def test_tag_names_count_every_use_and_the_predefined_ones(resources: Any, account: str) -> None:
    resources.resource_groups.create_or_update(
        "rg-test", {"location": "westeurope", "tags": {"env": "prod"}}
    )
    resources.tags.begin_create_or_update_at_scope(
        SUB_ID, {"properties": {"tags": {"Env": "prod"}}}
    ).result()
    created = resources.tags.create_or_update("costCenter")
    assert (created.id, created.tag_name) == (f"{SUB_ID}/tagNames/costCenter", "costCenter")
    assert created.count.value == 0 and created["values"] == []  # (`values` is a method)
    value = resources.tags.create_or_update_value("costCenter", "cc1")
    assert (value.id, value.tag_value) == (f"{SUB_ID}/tagNames/costCenter/tagValues/cc1", "cc1")
    listed = {d.tag_name: d for d in resources.tags.list()}
    assert sorted(listed) == ["Env", "costCenter"]  # env/Env: one name, counted without case
    env = listed["Env"]
    assert (env.count.type, env.count.value) == ("Total", 3)  # subscription, group, account
    assert {v["tagValue"]: v["count"]["value"] for v in env["values"]} == {"dev": 1, "prod": 2}
    assert [(v["tagValue"], v["count"]["value"]) for v in listed["costCenter"]["values"]] == [
        ("cc1", 0)
    ]


def test_predefined_names_follow_the_specification(arm: LocalArm, resources: Any) -> None:
    first = raw(arm, "PUT", f"{SUB_ID}/tagNames/team", "2025-04-01")
    again = raw(arm, "PUT", f"{SUB_ID}/tagNames/team", "2025-04-01")
    assert (first.status_code, again.status_code) == (201, 200)
    reserved = raw(arm, "PUT", f"{SUB_ID}/tagNames/azureThing", "2025-04-01")
    assert reserved.status_code == 400
    assert "'microsoft', 'azure' or 'windows'" in reserved.json()["error"]["message"]
    no_name = raw(arm, "PUT", f"{SUB_ID}/tagNames/nobody/tagValues/v", "2025-04-01")
    assert no_name.status_code == 404
    raw(arm, "PUT", f"{SUB_ID}/tagNames/team/tagValues/blue", "2025-04-01")
    # a name with values is not deleted; its values first, then the name
    assert raw(arm, "DELETE", f"{SUB_ID}/tagNames/team", "2025-04-01").status_code == 409
    assert (
        raw(arm, "DELETE", f"{SUB_ID}/tagNames/team/tagValues/blue", "2025-04-01").status_code
        == 200
    )
    assert (
        raw(arm, "DELETE", f"{SUB_ID}/tagNames/team/tagValues/blue", "2025-04-01").status_code
        == 204
    )
    resources.tags.delete("team")
    assert raw(arm, "DELETE", f"{SUB_ID}/tagNames/team", "2025-04-01").status_code == 204
    assert [d.tag_name for d in resources.tags.list()] == []


def test_a_predefined_name_in_use_is_not_deleted(arm: LocalArm, resources: Any, group: str) -> None:
    resources.tags.create_or_update("owner")
    resources.tags.begin_create_or_update_at_scope(
        RG_ID, {"properties": {"tags": {"owner": "me"}}}
    ).result()
    answer = raw(arm, "DELETE", f"{SUB_ID}/tagNames/owner", "2025-04-01")
    assert answer.status_code == 409 and "in use" in answer.json()["error"]["message"]


# -- deployments of Microsoft.Resources/tags ------------------------------------------------------
def _tags_resource(tags: dict[str, str] | str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/tags",
        "apiVersion": "2021-04-01",
        "name": "default",
        "properties": {"tags": tags},
        **extra,
    }


def test_a_deployment_tags_its_group_and_a_scoped_resource(
    resources: Any, deployments: Any, group: str
) -> None:
    resources.resource_groups.create_or_update(
        group, {"location": "westeurope", "tags": {"old": "1"}}
    )
    tpl = template(
        [
            storage("sttags01", tags={"fromTemplate": "1"}),
            _tags_resource({"costCenter": "42"}),
            _tags_resource(
                {"owner": "team-a"},
                scope="Microsoft.Storage/storageAccounts/sttags01",
                dependsOn=["[resourceId('Microsoft.Storage/storageAccounts', 'sttags01')]"],
            ),
        ]
    )
    body = deploy_body(tpl)
    plan = deployments.deployments.begin_what_if(group, "tags", body).result()
    changes = {c.resource_id: c for c in plan.changes}
    on_group = changes[f"{RG_ID}/{TAGS}"]
    assert on_group.change_type == "Modify"  # the group exists: its tags change
    assert {(d.path, d.property_change_type) for d in on_group.delta} == {
        ("properties.tags.old", "Delete"),
        ("properties.tags.costCenter", "Create"),
    }
    assert changes[f"{ST_ID}/{TAGS}"].change_type == "Create"  # its account is created too
    done = deployments.deployments.begin_create_or_update(group, "tags", body).result()
    assert done.properties.provisioning_state == "Succeeded"
    assert resources.resource_groups.get(group).tags == {"costCenter": "42"}  # replaced
    assert resources.resources.get_by_id(ST_ID, api_version="2023-01-01").tags == {
        "owner": "team-a"
    }
    # nothing is stored for the group's tags resource but the group's tags
    assert resources.tags.get_at_scope(RG_ID).id == f"{RG_ID}/{TAGS}"
    again = deployments.deployments.begin_what_if(group, "tags", body).result()
    assert {c.resource_id: c.change_type for c in again.changes}[f"{RG_ID}/{TAGS}"] == "NoChange"


def test_reference_to_the_tags_resource_reads_the_scopes_tags(
    resources: Any, deployments: Any, group: str
) -> None:
    """Bicep's ``existing`` tags resource merged with ``union()``: the merge pattern of
    Microsoft's "Apply tags with Bicep"."""
    resources.resource_groups.create_or_update(
        group, {"location": "westeurope", "tags": {"keep": "1"}}
    )
    current = "[reference(resourceId('Microsoft.Resources/tags', 'default'), '2021-04-01')]"
    tpl = template(
        [
            _tags_resource(
                "[union(reference(resourceId('Microsoft.Resources/tags', 'default'), "
                "'2021-04-01').tags, createObject('added', '2'))]"
            )
        ],
        outputs={"after": {"type": "object", "value": current}},
    )
    done = deployments.deployments.begin_create_or_update(group, "merge", deploy_body(tpl))
    # outputs are evaluated once the resources are deployed: the merged set
    assert done.result().properties.outputs["after"]["value"]["tags"] == {"keep": "1", "added": "2"}
    assert resources.resource_groups.get(group).tags == {"keep": "1", "added": "2"}


def test_a_subscription_deployment_tags_the_subscription(arm: LocalArm, deployments: Any) -> None:
    tpl = template([_tags_resource({"env": "prod"})])
    tpl["$schema"] = SUB_SCHEMA
    body = {"location": "westeurope", **deploy_body(tpl)}
    done = deployments.deployments.begin_create_or_update_at_subscription_scope("subtags", body)
    assert done.result().properties.provisioning_state == "Succeeded"
    assert raw(arm, "GET", SUB_ID, "2022-12-01").json()["tags"] == {"env": "prod"}


def test_a_deployment_of_too_many_tags_fails_its_operation(deployments: Any, group: str) -> None:
    body = deploy_body(template([_tags_resource({f"t{i}": "v" for i in range(51)})]))
    with pytest.raises(HttpResponseError) as failed:
        deployments.deployments.begin_create_or_update(group, "many", body).result()
    assert "InvalidTagCount" in str(failed.value)
