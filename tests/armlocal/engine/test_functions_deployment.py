"""Deployment and scope functions, asserted against the shapes and examples in Microsoft's
"Deployment functions" and "Scope functions" references for ARM templates."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, ResourceGroup, expand
from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

from .conftest import SCHEMA, template

SUB = "11111111-1111-1111-1111-111111111111"
TENANT = "22222222-2222-2222-2222-222222222222"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/examplegroup"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)


def context(**changes: Any) -> DeploymentContext:
    base: dict[str, Any] = {
        "subscription_id": SUB,
        "tenant_id": TENANT,
        "subscription_display_name": "Contoso production",
        "resource_group": ResourceGroup(name="examplegroup", location="southcentralus"),
        "deployment_name": "deployment",
    }
    base.update(changes)
    return DeploymentContext(**base)


def evaluate(text: str, **changes: Any) -> Any:
    return evaluate_expression(text, EvalContext(TemplateScope(deployment=context(**changes))))


def evaluate_in(scope: TemplateScope, text: str) -> Any:
    return evaluate_expression(text, EvalContext(scope))


# --- environment() ------------------------------------------------------------------------

# The object the documentation shows environment() returning in global Azure.
DOCUMENTED_ENVIRONMENT = {
    "name": "AzureCloud",
    "gallery": "https://gallery.azure.com/",
    "graph": "https://graph.windows.net/",
    "portal": "https://portal.azure.com",
    "graphAudience": "https://graph.windows.net/",
    "activeDirectoryDataLake": "https://datalake.azure.net/",
    "batch": "https://batch.core.windows.net/",
    "media": "https://rest.media.azure.net",
    "sqlManagement": "https://management.core.windows.net:8443/",
    "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/"
    "arm-compute/quickstart-templates/aliases.json",
    "resourceManager": "https://management.azure.com/",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.com/",
        "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "suffixes": {
        "acrLoginServer": ".azurecr.io",
        "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
        "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
        "azureFrontDoorEndpointSuffix": "azurefd.net",
        "keyvaultDns": ".vault.azure.net",
        "sqlServerHostname": ".database.windows.net",
        "storage": "core.windows.net",
    },
}


def test_environment_is_the_documented_azure_cloud_object() -> None:
    result = evaluate("[environment()]")
    assert result == DOCUMENTED_ENVIRONMENT
    assert list(result) == list(DOCUMENTED_ENVIRONMENT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[environment().suffixes.storage]", "core.windows.net"),
        ("[environment().authentication.audiences[1]]", "https://management.azure.com/"),
        ("[concat('kv', environment().suffixes.keyvaultDns)]", "kv.vault.azure.net"),
    ],
    ids=["storage-suffix", "second-audience", "keyvault-dns"],
)
def test_environment_properties(text: str, expected: str) -> None:
    assert evaluate(text) == expected


def test_environment_returns_a_fresh_object_each_time() -> None:
    first = evaluate("[environment()]")
    first["suffixes"]["storage"] = "changed"
    assert evaluate("[environment().suffixes.storage]") == "core.windows.net"


# --- subscription(), tenant(), deployer() ----------------------------------------------------


def test_subscription_has_the_documented_shape() -> None:
    result = evaluate("[subscription()]")
    assert result == {
        "id": f"/subscriptions/{SUB}",
        "subscriptionId": SUB,
        "tenantId": TENANT,
        "displayName": "Contoso production",
    }
    assert list(result) == ["id", "subscriptionId", "tenantId", "displayName"]


def test_subscription_works_at_subscription_scope() -> None:
    assert evaluate("[subscription().id]", resource_group=None) == f"/subscriptions/{SUB}"


def test_tenant_has_the_documented_shape() -> None:
    assert evaluate("[tenant()]") == {
        "countryCode": "US",
        "displayName": "Local ARM tenant",
        "id": f"/tenants/{TENANT}",
        "tenantId": TENANT,
    }


def test_deployer_has_object_id_tenant_id_and_user_principal_name() -> None:
    object_id = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
    assert evaluate("[deployer()]", deployer_object_id=object_id) == {
        "objectId": object_id,
        "tenantId": TENANT,
        "userPrincipalName": "",  # documented as possibly empty for service principals
    }


# --- resourceGroup() ------------------------------------------------------------------------


def test_resource_group_matches_the_documented_example() -> None:
    assert evaluate("[resourceGroup()]") == {
        "id": RG_ID,
        "name": "examplegroup",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "southcentralus",
        "properties": {"provisioningState": "Succeeded"},
    }


def test_resource_group_with_tags_and_managed_by_in_documented_order() -> None:
    manager = (
        f"/subscriptions/{SUB}/resourceGroups/apps/providers/Microsoft.Solutions/applications/app"
    )
    group = ResourceGroup("examplegroup", "westeurope", {"env": "prod"}, managed_by=manager)
    result = evaluate("[resourceGroup()]", resource_group=group)
    assert result == {
        "id": RG_ID,
        "name": "examplegroup",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westeurope",
        "managedBy": manager,
        "tags": {"env": "prod"},
        "properties": {"provisioningState": "Succeeded"},
    }
    assert list(result) == ["id", "name", "type", "location", "managedBy", "tags", "properties"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[resourceGroup().location]", "southcentralus"),
        ("[resourceGroup().name]", "examplegroup"),
        ("[resourceGroup().id]", RG_ID),
        ("[resourceGroup().properties.provisioningState]", "Succeeded"),
    ],
    ids=["location", "name", "id", "provisioning-state"],
)
def test_resource_group_properties(text: str, expected: str) -> None:
    assert evaluate(text) == expected


def test_tags_of_an_untagged_group_do_not_exist_as_in_arm() -> None:
    # ARM's message for a group created without tags (Azure/bicep issue 2101)
    with pytest.raises(
        ExpressionError,
        match=r"The language expression property 'tags' doesn't exist, available properties "
        r"are 'id, name, type, location, properties'\.$",
    ):
        evaluate("[resourceGroup().tags]")


def test_resource_group_tag_lookup() -> None:
    group = ResourceGroup("examplegroup", "westeurope", {"CostCenter": "12345"})
    assert evaluate("[resourceGroup().tags.costCenter]", resource_group=group) == "12345"


def test_resource_group_is_not_expected_at_subscription_scope() -> None:
    with pytest.raises(
        ExpressionError,
        match=r": The template function 'RESOURCEGROUP' is not expected at this location\. "
        r"Please see https://aka\.ms/arm-template-expressions for usage details\.$",
    ):
        evaluate("[resourceGroup()]", resource_group=None, location="westeurope")


# --- managementGroup() ----------------------------------------------------------------------


def test_management_group_is_not_expected_outside_management_group_deployments() -> None:
    with pytest.raises(
        ExpressionError, match=r"The template function 'MANAGEMENTGROUP' is not expected"
    ):
        evaluate("[managementGroup()]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[managementGroup('mg1')]", r"'managementGroup' expects exactly 0 parameters, but 1 was"),
        ("[subscription('x')]", r"'subscription' expects exactly 0 parameters, but 1 was"),
        ("[resourceGroup('rg')]", r"'resourceGroup' expects exactly 0 parameters, but 1 was"),
        ("[tenant(1, 2)]", r"'tenant' expects exactly 0 parameters, but 2 were"),
        ("[deployment('x')]", r"'deployment' expects exactly 0 parameters, but 1 was"),
        ("[environment(true())]", r"'environment' expects exactly 0 parameters, but 1 was"),
        ("[deployer('me')]", r"'deployer' expects exactly 0 parameters, but 1 was"),
    ],
    ids=[
        "management-group",
        "subscription",
        "resource-group",
        "tenant",
        "deployment",
        "env",
        "deployer",
    ],
)
def test_scope_functions_take_no_arguments(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(text)


# --- deployment() ---------------------------------------------------------------------------

DEPLOYMENT_EXAMPLE = {
    "$schema": SCHEMA,
    "contentVersion": "1.0.0.0",
    "resources": [],
    "outputs": {"deploymentOutput": {"type": "object", "value": "[deployment()]"}},
}


def deployment_scope(template_body: dict[str, Any], **changes: Any) -> TemplateScope:
    scope = TemplateScope(deployment=context(**changes))
    scope.template = template_body  # type: ignore[attr-defined]  # set by the expansion
    scope.template_hash = "13135986259522608210"
    return scope


def test_deployment_matches_the_documented_example() -> None:
    result = evaluate_in(deployment_scope(DEPLOYMENT_EXAMPLE), "[deployment()]")
    assert result == {
        "name": "deployment",
        "properties": {
            "template": {
                "$schema": SCHEMA,
                "contentVersion": "1.0.0.0",
                "resources": [],
                "outputs": {"deploymentOutput": {"type": "Object", "value": "[deployment()]"}},
            },
            "templateHash": "13135986259522608210",
            "parameters": {},
            "mode": "Incremental",
            "provisioningState": "Accepted",
        },
    }
    assert list(result["properties"]) == [
        "template",
        "templateHash",
        "parameters",
        "mode",
        "provisioningState",
    ]


def test_deployment_does_not_change_the_template_it_shows() -> None:
    body = {**DEPLOYMENT_EXAMPLE, "outputs": {"o": {"type": "object", "value": "x"}}}
    evaluate_in(deployment_scope(body), "[deployment()]")
    assert body["outputs"] == {"o": {"type": "object", "value": "x"}}


def test_deployment_at_subscription_scope_includes_location() -> None:
    body = {"$schema": SUB_SCHEMA, "contentVersion": "1.0.0.0", "resources": []}
    scope = deployment_scope(body, resource_group=None, location="westus2", mode="Incremental")
    result = evaluate_in(scope, "[deployment()]")
    assert list(result) == ["name", "location", "properties"]
    assert result["location"] == "westus2"
    assert result["properties"]["template"] == body


def test_remote_template_has_template_link_first() -> None:
    link = {"uri": "https://example.com/templates/main.json", "contentVersion": "1.0.0.0"}
    scope = deployment_scope(DEPLOYMENT_EXAMPLE, template_link=link)
    result = evaluate_in(scope, "[deployment()]")
    assert result["properties"]["templateLink"] == link
    assert list(result["properties"])[:2] == ["templateLink", "template"]
    shared = "[uri(deployment().properties.templateLink.uri, 'shared-resources.json')]"
    assert evaluate_in(scope, shared) == "https://example.com/templates/shared-resources.json"


def test_the_template_link_shown_never_carries_a_sas_token() -> None:
    """deployment() shows the link as the record answers it: no queryString, and the uri
    without a query written into it."""
    sas = "sv=2024-11-04&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZQ"
    for link in (
        {"uri": "https://example.com/t/main.json", "queryString": sas},
        {"uri": f"https://example.com/t/main.json?{sas}"},
    ):
        scope = deployment_scope(DEPLOYMENT_EXAMPLE, template_link=link)
        result = evaluate_in(scope, "[deployment()]")
        assert result["properties"]["templateLink"] == {"uri": "https://example.com/t/main.json"}
        assert "sig=" not in str(result)


def test_local_template_has_no_template_link() -> None:
    with pytest.raises(ExpressionError, match=r"property 'templateLink' doesn't exist"):
        evaluate_in(deployment_scope(DEPLOYMENT_EXAMPLE), "[deployment().properties.templateLink]")


def test_deployment_mode_and_name_come_from_the_context() -> None:
    scope = deployment_scope(DEPLOYMENT_EXAMPLE, deployment_name="release-42", mode="Complete")
    assert evaluate_in(scope, "[deployment().name]") == "release-42"
    assert evaluate_in(scope, "[deployment().properties.mode]") == "Complete"


LANGUAGE_2 = {
    "$schema": SCHEMA,
    "languageVersion": "2.0",
    "contentVersion": "1.0.0.1",
    "metadata": {"_generator": {"name": "bicep", "version": "0.30.0.0"}},
    "resources": {},
}


def test_language_version_2_sees_the_documented_subset() -> None:
    result = evaluate_in(deployment_scope(LANGUAGE_2), "[deployment()]")
    assert result == {
        "name": "deployment",
        "properties": {
            "template": {
                "contentVersion": "1.0.0.1",
                "metadata": {"_generator": {"name": "bicep", "version": "0.30.0.0"}},
            }
        },
    }


def test_language_version_2_at_subscription_scope_with_a_template_spec() -> None:
    spec = (
        f"/subscriptions/{SUB}/resourceGroups/specs/providers/"
        "Microsoft.Resources/templateSpecs/main/versions/1.0"
    )
    scope = deployment_scope(
        LANGUAGE_2, resource_group=None, location="westeurope", template_link={"id": spec}
    )
    assert evaluate_in(scope, "[deployment()]") == {
        "name": "deployment",
        "location": "westeurope",
        "properties": {
            "template": {
                "contentVersion": "1.0.0.1",
                "metadata": {"_generator": {"name": "bicep", "version": "0.30.0.0"}},
            },
            "templateLink": {"id": spec},
        },
    }


def test_language_version_2_has_no_template_hash() -> None:
    with pytest.raises(ExpressionError, match=r"property 'templateHash' doesn't exist"):
        evaluate_in(deployment_scope(LANGUAGE_2), "[deployment().properties.templateHash]")


def test_deployment_name_through_an_expansion() -> None:
    t = template(
        [],
        outputs={
            "name": {"type": "string", "value": "[deployment().name]"},
            "version": {
                "type": "string",
                "value": "[deployment().properties.template.contentVersion]",
            },
            "telemetry": {
                "type": "string",
                "value": "[substring(uniqueString(deployment().name), 0, 4)]",
            },
        },
    )
    expansion = expand(t, context=context(deployment_name="main"))
    outputs = expansion.evaluate_outputs()
    assert outputs["name"] == {"type": "string", "value": "main"}
    assert outputs["version"] == {"type": "string", "value": "1.0.0.0"}
    assert outputs["telemetry"]["value"] == evaluate("[substring(uniqueString('main'), 0, 4)]")
