"""The four deployment scopes in the engine, from Microsoft's documentation:

- "ARM template functions in deployment scopes" (scope-functions): which scope functions
  each scope supports, and how ids are built at each;
- "Scope functions for ARM templates" (template-functions-scope): ``managementGroup()``'s
  documented example object;
- "Resource functions" (template-functions-resource): the formats ``resourceId()`` returns
  per scope, ``subscriptionResourceId()``, ``managementGroupResourceId()``,
  ``tenantResourceId()``, ``extensionResourceId()``;
- "Management group deployments" / "Tenant deployments with ARM templates": resources at
  those scopes (policy definitions, management groups with ``scope: '/'``) and nested
  deployments across scopes.

Each test id names the rule it checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine import (
    DeploymentContext,
    ManagementGroup,
    ResourceGroup,
    TemplateError,
    expand,
)
from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

from .conftest import DictState, nested

SUB = "11111111-1111-1111-1111-111111111111"
TENANT = "22222222-2222-2222-2222-222222222222"
MG_ID = "/providers/Microsoft.Management/managementGroups/examplemg1"
SCHEMAS = {
    "resourceGroup": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "subscription": "https://schema.management.azure.com/schemas/2018-05-01/"
    "subscriptionDeploymentTemplate.json#",
    "managementGroup": "https://schema.management.azure.com/schemas/2019-08-01/"
    "managementGroupDeploymentTemplate.json#",
    "tenant": "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
}
LEVELS = ("resourceGroup", "subscription", "managementGroup", "tenant")


def context(level: str, **changes: Any) -> DeploymentContext:
    base: dict[str, Any] = {
        "subscription_id": SUB,
        "tenant_id": TENANT,
        "deployment_name": "deployment",
        "resource_group": None,
        "location": "westeurope",
    }
    if level == "resourceGroup":
        base["resource_group"] = ResourceGroup("examplegroup", "southcentralus")
    elif level == "managementGroup":
        base["management_group"] = ManagementGroup(
            "examplemg1",
            display_name="Example MG 1",
            updated_time="2020-07-23T21:05:52.661306Z",
            updated_by="00000000-0000-0000-0000-000000000000",
        )
    elif level == "tenant":
        base["at_tenant"] = True
    base.update(changes)
    return DeploymentContext(**base)


def evaluate(level: str, text: str, **changes: Any) -> Any:
    scope = TemplateScope(deployment=context(level, **changes))
    return evaluate_expression(text, EvalContext(scope))


def not_expected(function: str) -> str:
    return (
        f"The template function '{function.upper()}' is not expected at this location. "
        "Please see https://aka.ms/arm-template-expressions for usage details."
    )


# --- which scope functions each scope supports ----------------------------------------------


def test_management_group_returns_the_documented_object() -> None:
    """template-functions-scope: managementGroup()'s example output, a group directly under
    the Tenant Root Group."""
    value = evaluate("managementGroup", "[managementGroup()]", tenant_id=TENANT)
    assert value == {
        "id": MG_ID,
        "name": "examplemg1",
        "properties": {
            "details": {
                "parent": {
                    "displayName": "Tenant Root Group",
                    "id": f"/providers/Microsoft.Management/managementGroups/{TENANT}",
                    "name": TENANT,
                },
                "updatedBy": "00000000-0000-0000-0000-000000000000",
                "updatedTime": "2020-07-23T21:05:52.661306Z",
                "version": "1",
            },
            "displayName": "Example MG 1",
            "tenantId": TENANT,
        },
        "type": "/providers/Microsoft.Management/managementGroups",
    }


def test_management_group_names_its_own_parent() -> None:
    group = ManagementGroup("child", parent_name="parent", parent_display_name="Parent MG")
    value = evaluate("managementGroup", "[managementGroup().properties.details.parent]",
                     management_group=group)  # fmt: skip
    assert value == {
        "displayName": "Parent MG",
        "id": "/providers/Microsoft.Management/managementGroups/parent",
        "name": "parent",
    }


@pytest.mark.parametrize(
    ("function", "supported"),
    [
        pytest.param("resourceGroup", {"resourceGroup"}, id="resourceGroup-only-in-rg-deployments"),
        pytest.param(
            "subscription",
            {"resourceGroup", "subscription"},
            id="subscription-only-in-rg-and-subscription-deployments",
        ),
        pytest.param(
            "managementGroup", {"managementGroup"}, id="managementGroup-only-in-mg-deployments"
        ),
        pytest.param("tenant", set(LEVELS), id="tenant-at-every-scope"),
    ],
)
def test_scope_functions_are_supported_where_documented(function: str, supported: set) -> None:
    """scope-functions: "The resourceGroup() function is supported for resource group
    deployments. The subscription() function is supported for resource group and
    subscription deployments." managementGroup() "can only be used on a management group
    deployments"."""
    for level in LEVELS:
        if level in supported:
            assert isinstance(evaluate(level, f"[{function}()]"), dict), level
        else:
            with pytest.raises(ExpressionError) as info:
                evaluate(level, f"[{function}()]")
            assert info.value.message == not_expected(function), level


def test_tenant_is_the_same_at_every_scope() -> None:
    values = [evaluate(level, "[tenant()]") for level in LEVELS]
    assert all(v == values[0] for v in values)
    assert values[0]["tenantId"] == TENANT and values[0]["id"] == f"/tenants/{TENANT}"


def test_deployment_has_the_location_above_resource_groups() -> None:
    """deployment(): the location is returned for subscription, management group and tenant
    deployments."""
    for level in ("subscription", "managementGroup", "tenant"):
        assert evaluate(level, "[deployment().location]") == "westeurope", level
    assert "location" not in evaluate("resourceGroup", "[deployment()]")


# --- ids per scope ----------------------------------------------------------------------------

ID_CASES = [
    pytest.param(
        "resourceGroup",
        f"/subscriptions/{SUB}/resourceGroups/examplegroup/providers/Microsoft.Network/"
        "virtualNetworks/vnet",
        id="resourceId-at-rg-scope-is-under-the-group",
    ),
    pytest.param(
        "subscription",
        f"/subscriptions/{SUB}/providers/Microsoft.Network/virtualNetworks/vnet",
        id="resourceId-at-subscription-scope-is-under-the-subscription",
    ),
    pytest.param(
        "managementGroup",
        "/providers/Microsoft.Network/virtualNetworks/vnet",
        id="resourceId-at-mg-scope-is-providers-type-name",
    ),
    pytest.param(
        "tenant",
        "/providers/Microsoft.Network/virtualNetworks/vnet",
        id="resourceId-at-tenant-scope-is-providers-type-name",
    ),
]


@pytest.mark.parametrize(("level", "expected"), ID_CASES)
def test_resource_id_format_depends_on_the_scope(level: str, expected: str) -> None:
    """template-functions-resource, resourceId: "The resource ID is returned in different
    formats at different scopes"."""
    assert evaluate(level, "[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]") == expected


@pytest.mark.parametrize("level", ["managementGroup", "tenant"])
def test_resource_id_with_subscription_and_group_names_them_at_any_scope(level: str) -> None:
    """scope-functions: "Use resourceId() to get the ID for a resource deployed at the
    resource group" — with the subscription and group given, from above subscriptions too."""
    sub = "11111111-2222-3333-4444-555555555555"  # ARM checks that it is a GUID
    text = f"[resourceId('{sub}', 'rg1', 'Microsoft.Storage/storageAccounts', 'sa')]"
    assert evaluate(level, text) == (
        f"/subscriptions/{sub}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sa"
    )


def test_subscription_resource_id_needs_a_subscription_above_subscriptions() -> None:
    """scope-functions: subscriptionResourceId() gets "the ID for a resource deployed at the
    subscription"; a management group or tenant deployment has no current one."""
    text = "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r1')]"
    assert evaluate("subscription", text) == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r1"
    )
    for level in ("managementGroup", "tenant"):
        with pytest.raises(ExpressionError, match="no current subscription"):
            evaluate(level, text)
    named = "[subscriptionResourceId('s2', 'Microsoft.Authorization/roleDefinitions', 'r1')]"
    assert evaluate("tenant", named) == (
        "/subscriptions/s2/providers/Microsoft.Authorization/roleDefinitions/r1"
    )


def test_management_group_resource_id_defaults_to_the_current_group() -> None:
    """template-functions-resource, managementGroupResourceId: the management group name
    "Default value is the current management group"."""
    text = "[managementGroupResourceId('Microsoft.Authorization/policyDefinitions', 'p1')]"
    assert evaluate("managementGroup", text) == (
        f"{MG_ID}/providers/Microsoft.Authorization/policyDefinitions/p1"
    )
    with pytest.raises(ExpressionError, match="no current management group at tenant scope"):
        evaluate("tenant", text)
    named = "[managementGroupResourceId('mg2', 'Microsoft.Authorization/policyDefinitions', 'p1')]"
    assert evaluate("tenant", named) == (
        "/providers/Microsoft.Management/managementGroups/mg2/providers/"
        "Microsoft.Authorization/policyDefinitions/p1"
    )


def test_extension_resource_id_of_a_management_group() -> None:
    """scope-functions: custom policy definitions deployed to a management group are
    extensions of it — extensionResourceId(tenantResourceId(mg), type, name)."""
    text = (
        "[extensionResourceId(tenantResourceId('Microsoft.Management/managementGroups', "
        "'examplemg1'), 'Microsoft.Authorization/policyDefinitions', 'p1')]"
    )
    assert evaluate("managementGroup", text) == (
        f"{MG_ID}/providers/Microsoft.Authorization/policyDefinitions/p1"
    )


# --- resources at each scope -------------------------------------------------------------------


def policy_definition(**extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Authorization/policyDefinitions",
        "apiVersion": "2021-06-01",
        "name": "deny-public-ip",
        "properties": {"policyType": "Custom", "policyRule": {"if": {}, "then": {}}},
        **extra,
    }


def scope_template(level: str, resources: list[dict[str, Any]], **sections: Any) -> dict:
    return {"$schema": SCHEMAS[level], "contentVersion": "1.0.0.0", "resources": resources,
            **sections}  # fmt: skip


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        pytest.param(
            "managementGroup",
            f"{MG_ID}/providers/Microsoft.Authorization/policyDefinitions/deny-public-ip",
            id="mg-resources-are-extensions-of-the-management-group",
        ),
        pytest.param(
            "subscription",
            f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyDefinitions/"
            "deny-public-ip",
            id="subscription-resources-are-under-the-subscription",
        ),
        pytest.param(
            "tenant",
            "/providers/Microsoft.Authorization/policyDefinitions/deny-public-ip",
            id="tenant-resources-are-under-providers",
        ),
    ],
)
def test_a_resource_lives_in_the_scope_deployed_to(level: str, expected: str) -> None:
    expansion = expand(scope_template(level, [policy_definition()]), {}, context(level))
    assert [r.id for r in expansion.resources] == [expected]


def test_a_management_group_created_from_a_management_group_deployment_is_tenant_scoped() -> None:
    """Management group deployments: "you can create management groups in a management group
    deployment by setting the scope of the new management group to the tenant"."""
    group = {
        "type": "Microsoft.Management/managementGroups",
        "apiVersion": "2021-04-01",
        "name": "child",
        "scope": "/",
        "properties": {"details": {"parent": {"id": "[managementGroup().id]"}}},
    }
    expansion = expand(scope_template("managementGroup", [group]), {}, context("managementGroup"))
    (resource,) = expansion.resources
    assert resource.id == "/providers/Microsoft.Management/managementGroups/child"
    assert resource.properties["details"]["parent"]["id"] == MG_ID


# --- nested deployments across scopes ----------------------------------------------------------


def names_output(level: str) -> dict[str, Any]:
    functions = {
        "tenant": "[tenant().tenantId]",
        "managementGroup": "[managementGroup().name]",
        "subscription": "[subscription().subscriptionId]",
        "resourceGroup": "[resourceGroup().name]",
    }
    return {"where": {"type": "string", "value": functions[level]}}


def test_nested_deployments_descend_from_tenant_to_resource_group_as_bicep_writes_them() -> None:
    """Bicep modules: a management group module's scope is
    ``Microsoft.Management/managementGroups/{name}``, a subscription module's the
    ``subscriptionId`` property, a resource group module's ``subscriptionId`` and
    ``resourceGroup``; each nested template sees its own scope's functions."""
    rg_level = scope_template(
        "resourceGroup",
        [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",
          "name": "stdeep", "location": "westeurope", "sku": {"name": "Standard_LRS"},
          "kind": "StorageV2"}],
        outputs=names_output("resourceGroup"),
    )  # fmt: skip
    sub_level = scope_template(
        "subscription",
        [nested("to-rg", rg_level, subscriptionId="s9", resourceGroup="rg9")],
        outputs=names_output("subscription"),
    )
    mg_level = scope_template(
        "managementGroup",
        [nested("to-sub", sub_level, subscriptionId="s9", location="[deployment().location]")],
        outputs=names_output("managementGroup"),
    )
    tenant_level = scope_template(
        "tenant",
        [
            nested(
                "to-mg",
                mg_level,
                scope="[format('Microsoft.Management/managementGroups/{0}', 'platform')]",
                location="[deployment().location]",
            )
        ],
    )
    state = DictState(
        {"/subscriptions/s9/resourceGroups/rg9": {"name": "rg9", "location": "northeurope"}}
    )
    expansion = expand(tenant_level, {}, context("tenant", state=state))
    (to_mg,) = expansion.resources
    assert (
        to_mg.id == "/providers/Microsoft.Management/managementGroups/platform/providers/"
        "Microsoft.Resources/deployments/to-mg"
    )
    mg = to_mg.nested
    assert mg is not None and mg.context.level == "managementGroup"
    (to_sub,) = mg.resources
    assert to_sub.id == "/subscriptions/s9/providers/Microsoft.Resources/deployments/to-sub"
    sub = to_sub.nested
    assert sub is not None and sub.context.level == "subscription"
    assert sub.context.location == "westeurope"  # the module's location, from deployment()
    (to_rg,) = sub.resources
    assert (
        to_rg.id
        == "/subscriptions/s9/resourceGroups/rg9/providers/Microsoft.Resources/deployments/to-rg"
    )
    rg = to_rg.nested
    assert rg is not None and rg.context.resource_group is not None
    assert (rg.context.resource_group.name, rg.context.resource_group.location) == (
        "rg9",
        "northeurope",  # the target group's own location, from the state
    )
    assert [r.id for r in rg.resources] == [
        "/subscriptions/s9/resourceGroups/rg9/providers/Microsoft.Storage/storageAccounts/stdeep"
    ]
    assert rg.evaluate_outputs()["where"]["value"] == "rg9"
    assert sub.evaluate_outputs()["where"]["value"] == "s9"
    assert mg.evaluate_outputs()["where"]["value"] == "platform"


def test_a_nested_deployment_to_the_tenant_from_a_management_group() -> None:
    """A Bicep module with ``scope: tenant()`` compiles to ``"scope": "/"``."""
    inner = scope_template("tenant", [policy_definition()], outputs=names_output("tenant"))
    outer = scope_template("managementGroup", [nested("up", inner, scope="/", location="x")])
    (up,) = expand(outer, {}, context("managementGroup")).resources
    assert up.id == "/providers/Microsoft.Resources/deployments/up"
    assert up.nested is not None and up.nested.context.level == "tenant"
    assert [r.id for r in up.nested.resources] == [
        "/providers/Microsoft.Authorization/policyDefinitions/deny-public-ip"
    ]


def test_a_nested_deployment_scoped_to_a_resource_is_refused() -> None:
    inner = scope_template("resourceGroup", [])
    outer = scope_template(
        "tenant",
        [nested("bad", inner, scope="/subscriptions/s/resourceGroups/g/providers/A.B/c/d")],
    )
    with pytest.raises(TemplateError) as info:
        expand(outer, {}, context("tenant"))
    assert info.value.code == "InvalidTemplate"
    assert "The deployment scope '/subscriptions/s/resourceGroups/g/providers/A.B/c/d' is not " \
        "valid" in info.value.message  # fmt: skip


# --- schemas per scope -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema_level", "level", "versions"),
    [
        pytest.param("resourceGroup", "managementGroup", "2019-08-01", id="rg-schema-at-mg"),
        pytest.param(
            "subscription",
            "resourceGroup",
            "2014-04-01-preview,2015-01-01,2019-04-01",
            id="subscription-schema-at-rg",
        ),
        pytest.param("managementGroup", "tenant", "2019-08-01", id="mg-schema-at-tenant"),
        pytest.param("tenant", "subscription", "2018-05-01", id="tenant-schema-at-subscription"),
    ],
)
def test_a_template_for_another_scope_is_refused(
    schema_level: str, level: str, versions: str
) -> None:
    """ARM's InvalidTemplate "Template schema '…' is not supported. Supported versions are
    '…'" (Microsoft's "Resolve errors for invalid template")."""
    with pytest.raises(TemplateError) as info:
        expand(scope_template(schema_level, []), {}, context(level))
    assert info.value.code == "InvalidTemplate"
    assert info.value.message == (
        f"Deployment template validation failed: 'Template schema '{SCHEMAS[schema_level]}' is "
        f"not supported. Supported versions are '{versions}'. Please see "
        "https://aka.ms/arm-template for usage details.'."
    )


def test_nested_templates_schemas_are_not_checked() -> None:
    """Bicep writes deploymentTemplate.json into nested templates at any level (Azure Verified
    Modules' telemetry deployment at management group scope), and ARM deploys them."""
    inner = scope_template("resourceGroup", [])
    outer = scope_template("managementGroup", [nested("telemetry", inner, location="x")])
    assert expand(outer, {}, context("managementGroup")).resources[0].nested is not None
