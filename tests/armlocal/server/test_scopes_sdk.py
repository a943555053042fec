"""Management groups and deployments at management group and tenant scope, through the
official SDK clients (``azure-mgmt-managementgroups``, ``azure-mgmt-resource-deployments``)
over HTTPS — the requests az sends for ``az account management-group …`` and
``az deployment mg|tenant …``."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from bicep_assets.armlocal import LocalArm

from ..engine.conftest import nested
from .conftest import deploy_body, storage

TENANT = "00000000-0000-0000-0000-000000000001"
SUB = "00000000-0000-0000-0000-000000000000"
MG = "/providers/Microsoft.Management/managementGroups/"
SCHEMA = "https://schema.management.azure.com/schemas/"
SCHEMAS = {
    "rg": SCHEMA + "2019-04-01/deploymentTemplate.json#",
    "sub": SCHEMA + "2018-05-01/subscriptionDeploymentTemplate.json#",
    "mg": SCHEMA + "2019-08-01/managementGroupDeploymentTemplate.json#",
    "tenant": SCHEMA + "2019-08-01/tenantDeploymentTemplate.json#",
}


@pytest.fixture
def groups(arm: LocalArm) -> Any:
    return arm.connection.management_groups_client()


def create_group(groups: Any, name: str, parent: str | None = None, display: str = "") -> Any:
    details = {"parent": {"id": MG + parent}} if parent else {}
    body = {"properties": {"displayName": display or name.upper(), "details": details}}
    return groups.management_groups.begin_create_or_update(name, body).result()


def tpl(level: str, resources: Any = (), **sections: Any) -> dict[str, Any]:
    return {"$schema": SCHEMAS[level], "contentVersion": "1.0.0.0", "resources": list(resources),
            **sections}  # fmt: skip


def scoped_body(template: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"location": "westeurope", **deploy_body(template, **properties)}


POLICY = {
    "type": "Microsoft.Authorization/policyDefinitions",
    "apiVersion": "2021-06-01",
    "name": "deny-public-ip",
    "properties": {"policyType": "Custom", "mode": "All", "policyRule": {"if": {}, "then": {}}},
}


# --- the management group hierarchy ------------------------------------------------------------


def test_management_groups_form_a_hierarchy_under_the_tenant_root_group(groups: Any) -> None:
    created = create_group(groups, "mg-a", display="Group A")
    assert created.id == MG + "mg-a" and created.type == "Microsoft.Management/managementGroups"
    assert created.properties.tenant_id == TENANT
    assert created.properties.details.parent.as_dict() == {
        "id": MG + TENANT,
        "name": TENANT,
        "displayName": "Tenant Root Group",
    }
    create_group(groups, "mg-b", parent="mg-a")
    root = groups.management_groups.get(TENANT, expand="children", recurse=True).as_dict()
    assert root["properties"]["displayName"] == "Tenant Root Group"
    (child_a, subscription) = root["properties"]["children"]
    assert (child_a["name"], child_a["displayName"]) == ("mg-a", "Group A")
    assert [c["name"] for c in child_a["children"]] == ["mg-b"]
    assert subscription == {"type": "/subscriptions", "id": f"/subscriptions/{SUB}",
                            "name": SUB, "displayName": SUB}  # fmt: skip
    one_level = groups.management_groups.get(TENANT, expand="children").as_dict()
    assert "children" not in one_level["properties"]["children"][0]
    path = groups.management_groups.get("mg-b", expand="path").as_dict()["properties"]["details"]
    assert [p["name"] for p in path["path"]] == [TENANT, "mg-a"]
    assert path["parent"]["displayName"] == "Group A"
    # $expand=ancestors: the names, and the chain with display names (ManagementGroupDetails)
    up = groups.management_groups.get("mg-b", expand="ancestors").properties.details
    assert up.management_group_ancestors == ["mg-a", TENANT]
    assert [(a.name, a.display_name) for a in up.management_group_ancestors_chain] == [
        ("mg-a", "Group A"),
        (TENANT, "Tenant Root Group"),
    ]
    assert sorted(g.name for g in groups.management_groups.list()) == sorted([TENANT, "mg-a",
                                                                              "mg-b"])  # fmt: skip


def test_a_management_group_with_children_is_not_deleted(groups: Any) -> None:
    create_group(groups, "mg-a")
    create_group(groups, "mg-b", parent="mg-a")
    with pytest.raises(HttpResponseError) as info:
        groups.management_groups.begin_delete("mg-a").result()
    assert info.value.error.code == "BadRequest"
    assert info.value.error.message == (
        "The management group 'mg-a' has children: move or delete its management groups and "
        "subscriptions first."
    )
    groups.management_groups.begin_delete("mg-b").result()
    groups.management_groups.begin_delete("mg-a").result()
    assert [g.name for g in groups.management_groups.list()] == [TENANT]
    with pytest.raises(ResourceNotFoundError) as missing:
        groups.management_groups.get("mg-a")
    assert missing.value.error.code == "NotFound"
    assert missing.value.error.message == f"'{MG}mg-a' not found"


def test_a_parent_that_does_not_exist_or_a_cycle_is_refused(groups: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        create_group(groups, "mg-x", parent="nowhere")
    assert info.value.error.code == "ManagementGroupNotFound"
    assert info.value.error.message == "The management group 'nowhere' cannot be found."
    create_group(groups, "mg-a")
    create_group(groups, "mg-b", parent="mg-a")
    with pytest.raises(HttpResponseError) as cycle:
        create_group(groups, "mg-a", parent="mg-b")
    assert cycle.value.error.message == (
        "The management group 'mg-a' cannot be moved under 'mg-b': that would make it its own "
        "ancestor."
    )


def test_a_subscription_moves_between_management_groups(groups: Any) -> None:
    create_group(groups, "mg-a")
    groups.management_group_subscriptions.create("mg-a", SUB)
    children = groups.management_groups.get("mg-a", expand="children").as_dict()
    assert [c["id"] for c in children["properties"]["children"]] == [f"/subscriptions/{SUB}"]
    root = groups.management_groups.get(TENANT, expand="children").as_dict()
    assert [c["name"] for c in root["properties"]["children"]] == ["mg-a"]


# --- deployments at management group scope -----------------------------------------------------


def test_management_group_deployment_lifecycle(groups: Any, deployments: Any, arm: Any) -> None:
    create_group(groups, "mg-dep", display="Deployments")
    template = tpl(
        "mg",
        [POLICY],
        outputs={
            "mg": {"type": "object", "value": "[managementGroup()]"},
            "policy": {
                "type": "string",
                "value": "[managementGroupResourceId('Microsoft.Authorization/policyDefinitions',"
                " 'deny-public-ip')]",
            },
        },
    )
    ops = deployments.deployments
    validated = ops.begin_validate_at_management_group_scope(
        "mg-dep", "pol", scoped_body(template)
    ).result()
    policy_id = f"{MG}mg-dep/providers/Microsoft.Authorization/policyDefinitions/deny-public-ip"
    assert [r.id for r in validated.properties.validated_resources] == [policy_id]
    planned = ops.begin_what_if_at_management_group_scope(
        "mg-dep", "pol", scoped_body(template)
    ).result()
    assert [(c.change_type, c.resource_id) for c in planned.changes] == [("Create", policy_id)]
    result = ops.begin_create_or_update_at_management_group_scope(
        "mg-dep", "pol", scoped_body(template)
    ).result()
    assert result.id == f"{MG}mg-dep/providers/Microsoft.Resources/deployments/pol"
    assert result.location == "westeurope"
    outputs = result.properties.outputs
    assert outputs["policy"]["value"] == policy_id
    assert outputs["mg"]["value"]["properties"]["displayName"] == "Deployments"
    assert outputs["mg"]["value"]["properties"]["details"]["parent"]["name"] == TENANT
    again = ops.begin_what_if_at_management_group_scope(
        "mg-dep", "pol", scoped_body(template)
    ).result()
    assert [c.change_type for c in again.changes] == ["NoChange"]
    assert ops.check_existence_at_management_group_scope("mg-dep", "pol") is True
    assert [d.name for d in ops.list_at_management_group_scope("mg-dep")] == ["pol"]
    exported = ops.export_template_at_management_group_scope("mg-dep", "pol")
    assert exported.template["resources"] == [POLICY]
    (operation,) = deployments.deployment_operations.list_at_management_group_scope("mg-dep", "pol")
    assert operation.properties.target_resource.id == policy_id
    fetched = arm.connection.resource_client().resources.get_by_id(
        policy_id, api_version="2021-06-01"
    )
    assert fetched.properties["policyType"] == "Custom"
    with pytest.raises(HttpResponseError) as info:
        ops.cancel_at_management_group_scope("mg-dep", "pol")
    assert info.value.error.code == "DeploymentCannotBeCancelled"
    ops.begin_delete_at_management_group_scope("mg-dep", "pol").result()
    assert ops.check_existence_at_management_group_scope("mg-dep", "pol") is False


def test_a_management_group_that_does_not_exist_is_arms_error(deployments: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        deployments.deployments.begin_create_or_update_at_management_group_scope(
            "mg-missing", "d", scoped_body(tpl("mg"))
        ).result()
    assert info.value.error.code == "ManagementGroupNotFound"
    assert info.value.error.message == "The management group 'mg-missing' cannot be found."


@pytest.mark.parametrize(
    ("call", "level"),
    [
        pytest.param("begin_create_or_update_at_tenant_scope", "tenant", id="tenant"),
        pytest.param("begin_validate_at_tenant_scope", "tenant", id="tenant-validate"),
    ],
)
def test_deployments_above_resource_groups_need_a_location(
    deployments: Any, call: str, level: str
) -> None:
    with pytest.raises(HttpResponseError) as info:
        getattr(deployments.deployments, call)("d", deploy_body(tpl("tenant"))).result()
    assert info.value.error.code == "LocationRequired"
    assert info.value.error.message == (
        "The location property is required for a deployment at tenant scope."
    )


def test_a_template_of_another_scope_is_refused(groups: Any, deployments: Any) -> None:
    create_group(groups, "mg-a")
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update_at_management_group_scope(
            "mg-a", "d", scoped_body(tpl("rg", [storage("stwrong")]))
        ).result()
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidTemplate"
    assert info.value.error.message == (
        f"Deployment template validation failed: 'Template schema '{SCHEMAS['rg']}' is not "
        "supported. Supported versions are '2019-08-01'. Please see https://aka.ms/arm-template "
        "for usage details.'."
    )


def test_subscription_is_not_expected_at_management_group_scope(
    groups: Any, deployments: Any
) -> None:
    create_group(groups, "mg-a")
    policy = {
        **POLICY,
        "properties": {**POLICY["properties"], "description": "[subscription().id]"},
    }
    template = tpl("mg", [policy])
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_validate_at_management_group_scope(
            "mg-a", "d", scoped_body(template)
        ).result()
    assert info.value.error.code == "InvalidTemplate"
    assert "The template function 'SUBSCRIPTION' is not expected at this location." in (
        info.value.error.message
    )


# --- tenant deployments nesting across every scope ---------------------------------------------


def landing_zone() -> dict[str, Any]:
    """Tenant → a management group it creates → the subscription → a resource group the
    subscription deployment creates → a storage account; each level's output flows back up,
    in the shape Bicep compiles modules to."""
    rg_level = tpl(
        "rg",
        [storage("stlz")],
        outputs={
            "blob": {"type": "string", "value": "[reference('stlz').primaryEndpoints.blob]"},
            "group": {"type": "string", "value": "[resourceGroup().name]"},
        },
    )
    sub_level = tpl(
        "sub",
        [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": "rg-lz",
                "location": "[deployment().location]",
            },
            nested(
                "to-rg",
                rg_level,
                resourceGroup="rg-lz",
                dependsOn=[
                    "[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg-lz')]"
                ],
            ),
        ],
        outputs={
            "blob": {"type": "string", "value": "[reference('to-rg').outputs.blob.value]"},
            "sub": {"type": "string", "value": "[subscription().subscriptionId]"},
        },
    )
    mg_level = tpl(
        "mg",
        [
            POLICY,
            nested("to-sub", sub_level, subscriptionId=SUB, location="[deployment().location]"),
        ],
        outputs={
            "blob": {"type": "string", "value": "[reference('to-sub').outputs.blob.value]"},
            "mg": {"type": "string", "value": "[managementGroup().properties.displayName]"},
        },
    )
    return tpl(
        "tenant",
        [
            {
                "type": "Microsoft.Management/managementGroups",
                "apiVersion": "2023-04-01",
                "name": "mg-lz",
                "properties": {"displayName": "Landing zones"},
            },
            nested(
                "to-mg",
                mg_level,
                scope="[format('Microsoft.Management/managementGroups/{0}', 'mg-lz')]",
                location="[deployment().location]",
                dependsOn=["[tenantResourceId('Microsoft.Management/managementGroups', 'mg-lz')]"],
            ),
        ],
        outputs={
            "blob": {"type": "string", "value": "[reference('to-mg').outputs.blob.value]"},
            "mg": {"type": "string", "value": "[reference('to-mg').outputs.mg.value]"},
        },
    )


def test_a_tenant_deployment_nests_down_to_a_resource_group(
    deployments: Any, groups: Any, resources: Any
) -> None:
    ops = deployments.deployments
    planned = ops.begin_what_if_at_tenant_scope("lz", scoped_body(landing_zone())).result()
    assert [(c.change_type, c.resource_id) for c in planned.changes] == [
        ("Create", MG + "mg-lz"),
        ("Create", f"{MG}mg-lz/providers/Microsoft.Authorization/policyDefinitions/deny-public-ip"),
        ("Create", f"/subscriptions/{SUB}/resourceGroups/rg-lz"),
        ("Create", f"/subscriptions/{SUB}/resourceGroups/rg-lz/providers/Microsoft.Storage/"
                   "storageAccounts/stlz"),
    ]  # fmt: skip
    result = ops.begin_create_or_update_at_tenant_scope("lz", scoped_body(landing_zone())).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.id == "/providers/Microsoft.Resources/deployments/lz"
    assert result.properties.outputs["mg"]["value"] == "Landing zones"
    assert result.properties.outputs["blob"]["value"].startswith("https://stlz.blob.")
    assert groups.management_groups.get("mg-lz").properties.display_name == "Landing zones"
    assert [r.name for r in resources.resources.list_by_resource_group("rg-lz")] == ["stlz"]
    assert [d.name for d in ops.list_at_tenant_scope()] == ["lz"]
    assert [d.name for d in ops.list_at_management_group_scope("mg-lz")] == ["to-mg"]
    assert "to-sub" in [d.name for d in ops.list_at_subscription_scope()]
    assert ops.get("rg-lz", "to-rg").properties.outputs["group"]["value"] == "rg-lz"
    targets = [
        o.properties.target_resource.id
        for o in deployments.deployment_operations.list_at_tenant_scope("lz")
    ]
    assert targets == [MG + "mg-lz", f"{MG}mg-lz/providers/Microsoft.Resources/deployments/to-mg"]
    again = ops.begin_what_if_at_tenant_scope("lz", scoped_body(landing_zone())).result()
    assert {c.change_type for c in again.changes} <= {"NoChange", "Ignore"}
    assert ops.export_template_at_tenant_scope("lz").template == landing_zone()


def test_a_nested_deployment_into_a_missing_management_group_is_refused(
    deployments: Any,
) -> None:
    """ARM's preflight: a management group the template deploys into but neither finds nor
    creates (ManagementGroupNotFound, inside InvalidTemplateDeployment)."""
    template = tpl(
        "tenant",
        [nested("to-mg", tpl("mg"), scope="Microsoft.Management/managementGroups/ghost",
                location="westeurope")],
    )  # fmt: skip
    for call in ("begin_validate_at_tenant_scope", "begin_create_or_update_at_tenant_scope"):
        with pytest.raises(HttpResponseError) as info:
            getattr(deployments.deployments, call)("ghostly", scoped_body(template)).result()
        assert info.value.error.code == "InvalidTemplateDeployment"
        (detail,) = info.value.error.details
        assert (detail.code, detail.message) == (
            "ManagementGroupNotFound",
            "The management group 'ghost' cannot be found.",
        )
        assert detail.target == f"{MG}ghost/providers/Microsoft.Resources/deployments/to-mg"
    assert deployments.deployments.check_existence_at_tenant_scope("ghostly") is False


def test_a_deployment_name_keeps_its_location_above_resource_groups(deployments: Any) -> None:
    """Microsoft's "Subscription deployments": for each deployment name the location is
    immutable (InvalidDeploymentLocation)."""
    ops = deployments.deployments
    ops.begin_create_or_update_at_tenant_scope("pinned", scoped_body(tpl("tenant"))).result()
    moved = {**scoped_body(tpl("tenant")), "location": "northeurope"}
    with pytest.raises(HttpResponseError) as info:
        ops.begin_create_or_update_at_tenant_scope("pinned", moved).result()
    assert info.value.error.code == "InvalidDeploymentLocation"
    assert info.value.error.message == (
        "Invalid deployment location 'northeurope'. The deployment 'pinned' already exists in "
        "location 'westeurope'."
    )
    same = {**scoped_body(tpl("tenant")), "location": "West Europe"}
    assert ops.begin_create_or_update_at_tenant_scope("pinned", same).result().name == "pinned"


def test_a_nested_management_group_deployment_sees_its_parent(
    groups: Any, deployments: Any
) -> None:
    create_group(groups, "mg-top", display="Top")
    create_group(groups, "mg-low", parent="mg-top")
    inner = tpl("mg", outputs={"mg": {"type": "object", "value": "[managementGroup()]"}})
    outer = tpl(
        "tenant",
        [nested("down", inner, scope="Microsoft.Management/managementGroups/mg-low",
                location="westeurope")],
        outputs={"parent": {"type": "object",
                            "value": "[reference('down').outputs.mg.value.properties.details"
                                     ".parent]"}},
    )  # fmt: skip
    result = deployments.deployments.begin_create_or_update_at_tenant_scope(
        "down", scoped_body(outer)
    ).result()
    assert result.properties.outputs["parent"]["value"] == {
        "displayName": "Top",
        "id": MG + "mg-top",
        "name": "mg-top",
    }


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/"
            "storageAccounts/sa",
            id="a-resource",
        ),
        pytest.param("/providers/Microsoft.Foo/bars/b", id="an-unknown-tenant-path"),
    ],
)
def test_a_deployment_at_an_unknown_scope_is_refused(deployments: Any, scope: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update_at_scope(
            scope, "d", scoped_body(tpl("tenant"))
        ).result()
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidDeploymentScope"
    assert info.value.error.message.startswith(f"The scope '{scope}' is not a deployment scope")
    with pytest.raises(ResourceNotFoundError) as missing:  # a management group is a scope
        deployments.deployments.begin_create_or_update_at_scope(
            f"{MG}mg-none", "d", scoped_body(tpl("mg"))
        ).result()
    assert missing.value.error.code == "ManagementGroupNotFound"


def test_resources_above_resource_groups_are_served_by_id(deployments: Any, resources: Any) -> None:
    assignment = {
        "type": "Microsoft.Authorization/policyAssignments",
        "apiVersion": "2022-06-01",
        "name": "audit-all",
        "properties": {"policyDefinitionId": "[tenantResourceId("
                       "'Microsoft.Authorization/policyDefinitions', 'builtin')]"},
    }  # fmt: skip
    deployments.deployments.begin_create_or_update_at_subscription_scope(
        "assign", scoped_body(tpl("sub", [assignment]))
    ).result()
    rid = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/audit-all"
    found = resources.resources.get_by_id(rid, api_version="2022-06-01")
    assert found.properties["policyDefinitionId"] == (
        "/providers/Microsoft.Authorization/policyDefinitions/builtin"
    )
    assert resources.resources.check_existence_by_id(rid, api_version="2022-06-01") is True
    resources.resources.begin_delete_by_id(rid, api_version="2022-06-01").result()
    assert resources.resources.check_existence_by_id(rid, api_version="2022-06-01") is False


def test_management_group_put_is_long_running_as_the_rest_api_says(groups: Any) -> None:
    """ManagementGroups_CreateOrUpdate: 202 with ``Azure-AsyncOperation``; the status it
    points at names the group (AzureAsyncOperationResults) and ends ``Succeeded``."""
    url = f"{MG}mg-raw?api-version=2021-04-01"
    put = groups.send_request(HttpRequest("PUT", url, json={"properties": {"displayName": "Raw"}}))
    assert put.status_code == 202
    assert put.json() == {"id": MG + "mg-raw", "type": "Microsoft.Management/managementGroups",
                          "name": "mg-raw", "status": "NotStarted"}  # fmt: skip
    status = groups.send_request(HttpRequest("GET", put.headers["Azure-AsyncOperation"])).json()
    assert (status["id"], status["name"], status["status"]) == (MG + "mg-raw", "mg-raw",
                                                                "Succeeded")  # fmt: skip
    assert status["properties"]["displayName"] == "Raw"


def test_children_without_subscriptions(groups: Any) -> None:
    """ManagementGroups_Get: ``$filter=children.childType ne Subscription`` leaves the
    subscriptions out."""
    create_group(groups, "mg-a")
    root = groups.management_groups.get(
        TENANT, expand="children", filter="children.childType ne Subscription"
    ).as_dict()
    assert [c["name"] for c in root["properties"]["children"]] == ["mg-a"]
    with pytest.raises(HttpResponseError) as info:
        groups.management_groups.get(TENANT, expand="children", filter="name eq 'x'")
    assert info.value.error.code == "InvalidFilterInQueryString"


def test_a_new_management_group_needs_its_parent(deployments: Any, groups: Any) -> None:
    def group(name: str, parent: str) -> dict[str, Any]:
        return {
            "type": "Microsoft.Management/managementGroups",
            "apiVersion": "2023-04-01",
            "name": name,
            "properties": {"details": {"parent": {"id": MG + parent}}},
        }

    orphan = tpl("tenant", [group("mg-orphan", "mg-nowhere")])
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_validate_at_tenant_scope(
            "orphan", scoped_body(orphan)
        ).result()
    (detail,) = info.value.error.details
    assert (detail.code, detail.message) == (
        "ManagementGroupNotFound",
        "The management group 'mg-nowhere' cannot be found.",
    )
    family = tpl("tenant", [group("mg-parent", TENANT), group("mg-kid", "mg-parent")])
    family["resources"][1]["dependsOn"] = [
        "[tenantResourceId('Microsoft.Management/managementGroups', 'mg-parent')]"
    ]
    deployments.deployments.begin_create_or_update_at_tenant_scope(
        "family", scoped_body(family)
    ).result()
    kid = groups.management_groups.get("mg-kid", expand="path").as_dict()["properties"]
    assert [p["name"] for p in kid["details"]["path"]] == [TENANT, "mg-parent"]


def test_the_tenant_root_group_is_a_deployment_scope(deployments: Any) -> None:
    template = tpl(
        "mg",
        [POLICY],
        outputs={"mg": {"type": "object", "value": "[managementGroup()]"}},
    )
    result = deployments.deployments.begin_create_or_update_at_management_group_scope(
        TENANT, "at-root", scoped_body(template)
    ).result()
    group = result.properties.outputs["mg"]["value"]
    assert (group["name"], group["properties"]["displayName"]) == (TENANT, "Tenant Root Group")
    assert "parent" not in group["properties"]["details"]  # the root has none
