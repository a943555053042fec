"""Resource functions: the resourceId family, reference(), references(), pickZones(),
providers(). Expected values are Microsoft's documented examples and formats; error
messages are the ones ARM reports (quoted in the cited issues) where they are known."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, ResourceGroup, expand
from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression

from .conftest import DictState, template

SUB = "11111111-2222-3333-4444-555555555555"
OTHER_SUB = "11111111-1111-1111-1111-111111111111"
RG = f"/subscriptions/{SUB}/resourceGroups/examplegroup"
MG = "/providers/Microsoft.Management/managementGroups"


def context(**changes: Any) -> DeploymentContext:
    base: dict[str, Any] = {
        "subscription_id": SUB,
        "resource_group": ResourceGroup(name="examplegroup", location="westus2"),
    }
    base.update(changes)
    return DeploymentContext(**base)


def evaluate(text: str, scope: TemplateScope | None = None, **changes: Any) -> Any:
    scope = scope or TemplateScope(deployment=context(**changes))
    return evaluate_expression(text, EvalContext(scope))


def at_subscription(text: str) -> Any:
    return evaluate(text, resource_group=None, location="westus2")


# --- resourceId -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[resourceId('Microsoft.Storage/storageAccounts','examplestorage')]",
            f"{RG}/providers/Microsoft.Storage/storageAccounts/examplestorage",
        ),
        (
            "[resourceId('otherResourceGroup', "
            "'Microsoft.Storage/storageAccounts','examplestorage')]",
            f"/subscriptions/{SUB}/resourceGroups/otherResourceGroup/providers/"
            "Microsoft.Storage/storageAccounts/examplestorage",
        ),
        (
            f"[resourceId('{OTHER_SUB}', 'otherResourceGroup', "
            "'Microsoft.Storage/storageAccounts','examplestorage')]",
            f"/subscriptions/{OTHER_SUB}/resourceGroups/otherResourceGroup/providers/"
            "Microsoft.Storage/storageAccounts/examplestorage",
        ),
        (
            "[resourceId('Microsoft.SQL/servers/databases', 'serverName', 'databaseName')]",
            f"{RG}/providers/Microsoft.SQL/servers/serverName/databases/databaseName",
        ),
    ],
    ids=["same-group", "other-group", "other-subscription", "nested-resource"],
)
def test_resource_id_documented_examples(text: str, expected: str) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[resourceId('Microsoft.ServiceBus/namespaces', 'namespace1')]",
            f"{RG}/providers/Microsoft.ServiceBus/namespaces/namespace1",
        ),
        (
            "[resourceId('Microsoft.ServiceBus/namespaces/queues/authorizationRules', "
            "'namespace1', 'queue1', 'auth1')]",
            f"{RG}/providers/Microsoft.ServiceBus/namespaces/namespace1/queues/queue1/"
            "authorizationRules/auth1",
        ),
        (
            "[resourceId('Microsoft.Network/networkSecurityGroups/', 'nsg')]",
            f"{RG}/providers/Microsoft.Network/networkSecurityGroups/nsg",
        ),
        (
            "[resourceId('Microsoft.OperationalInsights/workspaces/providers/contentPackages', "
            "'ws', 'Microsoft.SecurityInsights', 'pkg')]",
            f"{RG}/providers/Microsoft.OperationalInsights/workspaces/ws/providers/"
            "Microsoft.SecurityInsights/contentPackages/pkg",
        ),
        (
            "[resourceId('microsoft.storage/storageaccounts', 'MixedCase')]",
            f"{RG}/providers/microsoft.storage/storageaccounts/MixedCase",
        ),
    ],
    ids=["parent", "grandchild", "trailing-slash-type", "providers-segment-type", "case-kept"],
)
def test_resource_id_types_and_names(text: str, expected: str) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[resourceId('Microsoft.Authorization/policyAssignments', 'audit')]",
            f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/audit",
        ),
        (
            f"[resourceId('{OTHER_SUB}', 'Microsoft.Authorization/policyAssignments', 'audit')]",
            f"/subscriptions/{OTHER_SUB}/providers/Microsoft.Authorization/policyAssignments/audit",
        ),
    ],
    ids=["current-subscription", "named-subscription"],
)
def test_resource_id_at_subscription_scope_has_no_resource_group(text: str, expected: str) -> None:
    assert at_subscription(text) == expected


# --- subscriptionResourceId, tenantResourceId, managementGroupResourceId ---------------------

ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{ROLE}')]",
            f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ROLE}",
        ),
        (
            f"[subscriptionResourceId('{OTHER_SUB}', 'Microsoft.Authorization/roleDefinitions', "
            f"'{ROLE}')]",
            f"/subscriptions/{OTHER_SUB}/providers/Microsoft.Authorization/roleDefinitions/{ROLE}",
        ),
        (
            "[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'workspaces')]",
            f"/subscriptions/{SUB}/resourceGroups/workspaces",
        ),
        (
            "[subscriptionResourceId('Microsoft.Resources/deployments', 'sub-level')]",
            f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/sub-level",
        ),
        (
            "[tenantResourceId('Microsoft.Authorization/policyDefinitions', "
            "'06a78e20-9358-41c9-923c-fb736d382a4d')]",
            "/providers/Microsoft.Authorization/policyDefinitions/"
            "06a78e20-9358-41c9-923c-fb736d382a4d",
        ),
        (
            "[tenantResourceId('Microsoft.Management/managementGroups', 'targetMG')]",
            f"{MG}/targetMG",
        ),
        (
            f"[tenantResourceId('Microsoft.Resources/subscriptions', '{OTHER_SUB}')]",
            f"/subscriptions/{OTHER_SUB}",
        ),
        (
            "[managementGroupResourceId('targetMG', 'Microsoft.Authorization/policyDefinitions', "
            "'LocationRestriction')]",
            f"{MG}/targetMG/providers/Microsoft.Authorization/policyDefinitions/"
            "LocationRestriction",
        ),
    ],
    ids=[
        "subscription-role",
        "subscription-named",
        "resource-group-id",
        "subscription-deployment",
        "tenant-policy",
        "tenant-management-group",
        "tenant-subscription",
        "management-group",
    ],
)
def test_scope_id_functions(text: str, expected: str) -> None:
    assert evaluate(text) == expected


# --- extensionResourceId --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[extensionResourceId(resourceGroup().Id , 'Microsoft.Authorization/locks', 'lock1')]",
            f"{RG}/providers/Microsoft.Authorization/locks/lock1",
        ),
        (
            "[extensionResourceId(resourceId('Microsoft.Storage/storageAccounts', 'sa'), "
            "'Microsoft.Insights/diagnosticSettings', 'logs')]",
            f"{RG}/providers/Microsoft.Storage/storageAccounts/sa/providers/"
            "Microsoft.Insights/diagnosticSettings/logs",
        ),
        (
            "[extensionResourceId(subscription().id, 'Microsoft.Authorization/roleAssignments', "
            "'ra')]",
            f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/ra",
        ),
        (
            "[extensionResourceId(tenantResourceId('Microsoft.Management/managementGroups', "
            "'mg1'), 'Microsoft.Authorization/policyDefinitions', 'deny')]",
            f"{MG}/mg1/providers/Microsoft.Authorization/policyDefinitions/deny",
        ),
        (
            f"[extensionResourceId('{RG}/', 'Microsoft.Authorization/locks', 'lock1')]",
            f"{RG}/providers/Microsoft.Authorization/locks/lock1",
        ),
    ],
    ids=["resource-group", "resource", "subscription", "management-group", "trailing-slash"],
)
def test_extension_resource_id_formats(text: str, expected: str) -> None:
    assert evaluate(text) == expected


# --- id function errors ---------------------------------------------------------------------


def test_a_name_with_a_slash_is_a_second_multi_segmented_argument() -> None:
    # the message ARM returned for exactly this call (quoted in a public deployment log)
    text = (
        "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'management-prd-vnet', "
        "'10.20.20.0/25')]"
    )
    expected = (
        "Unable to evaluate template language function 'resourceId': function requires "
        "exactly one multi-segmented argument which must be resource type including resource "
        "provider namespace. Current function arguments "
        "'Microsoft.Network/virtualNetworks/subnets,management-prd-vnet,10.20.20.0/25'. "
        "Please see https://aka.ms/arm-resource-functions/#resourceid for usage details."
    )
    with pytest.raises(ExpressionError) as info:
        evaluate(text)
    assert info.value.message == expected


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        (
            "[resourceId('Microsoft.ServiceBus/namespaces/queues/authorizationRules',"
            "'my-namespace-name/my-queue-name/my-role-name')]",
            "Microsoft.ServiceBus/namespaces/queues/authorizationRules,"
            "my-namespace-name/my-queue-name/my-role-name",
        ),
        (
            "[resourceId('test-group','Microsoft.Network/virtualNetworks','test-vnet',"
            "'subnets/default')]",
            "test-group,Microsoft.Network/virtualNetworks,test-vnet,subnets/default",
        ),
        ("[resourceId('storageAccounts', 'sa')]", "storageAccounts,sa"),
    ],
    ids=["joined-names", "child-in-name", "type-without-namespace"],
)
def test_resource_id_needs_exactly_one_multi_segmented_argument(text: str, arguments: str) -> None:
    with pytest.raises(
        ExpressionError,
        match=r"'resourceId': function requires exactly one multi-segmented argument .* "
        rf"Current function arguments '{arguments}'\.",
    ):
        evaluate(text)


@pytest.mark.parametrize(
    ("text", "resource_type", "count", "function"),
    [
        ("[resourceId('Microsoft.Storage/storageAccounts')]", "", 0, "arity"),
        (
            "[resourceId('examplegroup', 'Microsoft.Storage/storageAccounts')]",
            "Microsoft.Storage/storageAccounts",
            1,
            "resourceId",
        ),
        (
            "[resourceId('Microsoft.Network/applicationGateways/httpListeners', 'gw')]",
            "Microsoft.Network/applicationGateways/httpListeners",
            2,
            "resourceId",
        ),
        (
            "[resourceId('Microsoft.Storage/storageAccounts', 'a', 'b')]",
            "Microsoft.Storage/storageAccounts",
            1,
            "resourceId",
        ),
        (
            "[extensionResourceId(resourceGroup().id, "
            "'Microsoft.OperationalInsights/workspaces/providers/contentPackages', 'ws', 'p')]",
            "Microsoft.OperationalInsights/workspaces/providers/contentPackages",
            3,
            "extensionResourceId",
        ),
        (
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions/x', 'r')]",
            "Microsoft.Authorization/roleDefinitions/x",
            2,
            "subscriptionResourceId",
        ),
    ],
    ids=["type-only", "no-name", "too-few-names", "too-many-names", "extension", "subscription"],
)
def test_name_count_must_match_the_type(
    text: str, resource_type: str, count: int, function: str
) -> None:
    if function == "arity":
        with pytest.raises(ExpressionError, match=r"'resourceId' expects at least 2 parameters"):
            evaluate(text)
        return
    with pytest.raises(ExpressionError) as info:
        evaluate(text)
    assert info.value.message == (
        f"Unable to evaluate template language function '{function}': the type "
        f"'{resource_type}' requires '{count}' resource name argument(s). Please see "
        f"https://aka.ms/arm-resource-functions/#{function.lower()} for usage details."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"[resourceId('{SUB}', 'MyRg', 'Microsoft.Network/virtualNetworks/subnets', "
            "'MyVnet', 'MySubnet')]",
            f"/subscriptions/{SUB}/resourceGroups/MyRg/providers/Microsoft.Network/"
            "virtualNetworks/MyVnet/subnets/MySubnet",
        ),
        (
            "[resourceId(subscription().subscriptionId, 'MyRg', "
            "'Microsoft.Storage/storageAccounts', 'sa')]",
            f"/subscriptions/{SUB}/resourceGroups/MyRg/providers/Microsoft.Storage/"
            "storageAccounts/sa",
        ),
        (
            f"[resourceId('{OTHER_SUB}', 'MyRg', 'Microsoft.Storage/storageAccounts', 'sa')]",
            f"/subscriptions/{OTHER_SUB}/resourceGroups/MyRg/providers/Microsoft.Storage/"
            "storageAccounts/sa",
        ),
    ],
    ids=["literal-subscription", "current-subscription", "other-subscription"],
)
def test_resource_id_subscription_and_group_accepted_at_subscription_scope(
    text: str, expected: str
) -> None:
    # a subscription deployment names a resource of a resource group with the subscription id
    # and the group name (Microsoft's resourceId reference: "To get the resource ID for a
    # resource in a different subscription and resource group, provide the subscription ID
    # and resource group name"); ARM refused this form in 2021 (Azure/bicep issue 3619) and
    # accepts it now: the Azure Verified Modules at subscription scope rely on it
    assert at_subscription(text) == expected
    assert evaluate(text) == expected  # and the same in a resource group deployment


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[resourceId('MyRg', 'Microsoft.Storage/storageAccounts', 'sa')]", "MyRg"),
        (
            "[resourceId('not-a-guid', 'MyRg', 'Microsoft.Storage/storageAccounts', 'sa')]",
            "not-a-guid",
        ),
    ],
    ids=["one-argument-is-the-subscription", "two-arguments"],
)
def test_resource_id_subscription_argument_must_be_a_guid(text: str, value: str) -> None:
    # at subscription scope the one scope argument is the subscription id, not a group name;
    # ARM's message for a value that is not one
    with pytest.raises(ExpressionError) as info:
        at_subscription(text)
    assert info.value.message == (
        f"The provided value '{value}' is not valid subscription identifier. Please see "
        "https://aka.ms/arm-template-expressions/#resourceid for usage details."
    )


def test_resource_id_takes_at_most_two_scope_arguments_at_subscription_scope() -> None:
    text = "[resourceId('a', 'b', 'c', 'Microsoft.Storage/storageAccounts', 'sa')]"
    with pytest.raises(ExpressionError) as info:
        at_subscription(text)
    assert info.value.message == (
        "Unable to evaluate template language function 'resourceId': function requires fully "
        "qualified resource type 'Microsoft.Storage/storageAccounts' as one of first "
        "three arguments for resource at resource group scope, or first two arguments for "
        "resource at subscription scope. Please see "
        "https://aka.ms/arm-resource-functions/#resourceid for usage details."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[resourceId('a', 'b', 'c', 'Microsoft.Storage/storageAccounts', 'sa')]",
            r"'Microsoft\.Storage/storageAccounts' as one of first three arguments",
        ),
        (
            f"[subscriptionResourceId('{SUB}', 'rg', 'Microsoft.Authorization/locks', 'l')]",
            r"'subscriptionResourceId': function requires fully qualified resource type "
            r"'Microsoft\.Authorization/locks' as one of first two arguments\.",
        ),
        (
            "[tenantResourceId('root', 'Microsoft.Authorization/policyDefinitions', 'p')]",
            r"'tenantResourceId': function requires fully qualified resource type "
            r"'Microsoft\.Authorization/policyDefinitions' as the first argument\.",
        ),
        (
            "[managementGroupResourceId('a', 'b', 'Microsoft.Authorization/policyDefinitions', "
            "'p')]",
            r"'managementGroupResourceId': .* as one of first two arguments\.",
        ),
        (
            "[managementGroupResourceId('Microsoft.Authorization/policyDefinitions', 'p')]",
            r"'managementGroupResourceId': there is no current management group",
        ),
        (
            "[extensionResourceId('examplegroup', 'Microsoft.Authorization/locks', 'l')]",
            r"the base resource id 'examplegroup' is not a fully qualified resource id",
        ),
        (
            "[extensionResourceId(resourceGroup().id, 'x', 'Microsoft.Authorization/locks', 'l')]",
            r"'Microsoft\.Authorization/locks' as the second argument\.",
        ),
        (
            "[resourceId('Microsoft.Storage/storageAccounts', 1)]",
            r"'resourceId' expects its parameter 2 to be a string\. The provided value is of "
            r"type 'Integer'\.",
        ),
        (
            "[resourceId(json('null'), 'Microsoft.Storage/storageAccounts', 'sa')]",
            r"'resourceId' expects its parameter 1 to be a string\. The provided value is of "
            r"type 'Null'\.",
        ),
        (
            "[extensionResourceId(createArray(), 'Microsoft.Authorization/locks', 'l')]",
            r"'extensionResourceId' expects its parameter 1 to be a string",
        ),
        (
            "[tenantResourceId('Microsoft.Authorization/policyDefinitions')]",
            r"'tenantResourceId' expects at least 2 parameters, but 1 was provided",
        ),
        (
            "[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks')]",
            r"'extensionResourceId' expects at least 3 parameters, but 2 were provided",
        ),
    ],
    ids=[
        "resource-id-three-scope-args",
        "subscription-id-two-scope-args",
        "tenant-id-scope-arg",
        "management-group-two-scope-args",
        "management-group-not-current",
        "extension-base-not-an-id",
        "extension-extra-argument",
        "integer-name",
        "null-scope",
        "array-base",
        "tenant-arity",
        "extension-arity",
    ],
)
def test_id_function_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(text)


# --- reference() ----------------------------------------------------------------------------


class RecordingResolver:
    """Stands in for the expansion's resolver: records what reference() asked for."""

    language = "1.0"

    def reference(self, ctx: EvalContext, target: str, api_version: str | None, full: bool) -> Any:
        return {"target": target, "apiVersion": api_version, "full": full}


def with_resolver(resolver: Any) -> TemplateScope:
    return TemplateScope(deployment=context(), resources=resolver)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[reference('sa')]", {"target": "sa", "apiVersion": None, "full": False}),
        (
            "[reference('sa', '2022-09-01')]",
            {"target": "sa", "apiVersion": "2022-09-01", "full": False},
        ),
        (
            "[reference('sa', '2022-09-01', 'Full')]",
            {"target": "sa", "apiVersion": "2022-09-01", "full": True},
        ),
        (
            "[reference('sa', '2022-09-01', 'full')]",
            {"target": "sa", "apiVersion": "2022-09-01", "full": True},
        ),
        (
            "[reference('sa', '2022-09-01', 'Properties')]",
            {"target": "sa", "apiVersion": "2022-09-01", "full": False},
        ),
        (
            "[reference(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2022-09-01')]",
            {
                "target": f"{RG}/providers/Microsoft.Storage/storageAccounts/sa",
                "apiVersion": "2022-09-01",
                "full": False,
            },
        ),
    ],
    ids=["name", "api-version", "full", "full-lowercase", "properties", "resource-id"],
)
def test_reference_arguments(text: str, expected: dict[str, Any]) -> None:
    assert evaluate(text, with_resolver(RecordingResolver())) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[reference(1)]", r"'reference' expects its parameter 1 to be a string"),
        ("[reference('sa', 2022)]", r"'reference' expects its parameter 2 to be a string"),
        ("[reference('sa', '2022-09-01', true())]", r"'reference' expects its parameter 3"),
        ("[reference()]", r"'reference' expects between 1 and 3 parameters, but 0 were"),
        ("[reference('a', 'b', 'Full', 'd')]", r"between 1 and 3 parameters, but 4 were"),
    ],
    ids=["integer-target", "integer-api-version", "boolean-full", "no-args", "four-args"],
)
def test_reference_argument_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(text, with_resolver(RecordingResolver()))


def test_reference_without_resources_is_not_expected() -> None:
    with pytest.raises(ExpressionError, match=r"'reference' is not expected at this location"):
        evaluate("[reference('sa')]")


# --- references() ---------------------------------------------------------------------------

WORKER = "Microsoft.ContainerInstance/containerGroups"


def workers_template(outputs: dict[str, Any]) -> dict[str, Any]:
    return template(
        {
            "containerWorkers": {
                "copy": {"name": "containerWorkers", "count": 3},
                "condition": "[not(equals(copyIndex(), 1))]",
                "type": WORKER,
                "apiVersion": "2023-05-01",
                "name": "[format('worker-{0}', copyIndex())]",
                "location": "westus",
                "properties": {},
            }
        },
        language="2.0",
        outputs=outputs,
    )


def deployed_workers() -> DictState:
    return DictState(
        {
            f"{RG}/providers/{WORKER}/worker-{i}": {
                "id": f"{RG}/providers/{WORKER}/worker-{i}",
                "name": f"worker-{i}",
                "properties": {"ipAddress": {"ip": f"10.0.0.{i}"}},
            }
            for i in range(3)
        }
    )


def test_references_lists_deployed_members_in_copy_index_order() -> None:
    t = workers_template(
        {
            "ips": {
                "type": "string",
                "value": "[join(map(references('containerWorkers'), "
                "lambda('w', lambdaVariables('w').ipAddress.ip)), ',')]",
            },
            "names": {
                "type": "array",
                "value": "[map(references('containerWorkers', 'Full'), "
                "lambda('w', lambdaVariables('w').name))]",
            },
        }
    )
    expansion = expand(t, context=context())
    before = expansion.evaluate_outputs()
    assert before["ips"]["value"].startswith("[join(map(references('containerWorkers')")
    after = expansion.evaluate_outputs(deployed_workers())
    assert after["ips"] == {"type": "string", "value": "10.0.0.0,10.0.0.2"}  # worker-1 skipped
    assert after["names"] == {"type": "array", "value": ["worker-0", "worker-2"]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[references('containerWorkers', 'Summary')]", r"'Full' or 'Properties', not 'Summary'"),
        ("[references('nothing')]", r"'nothing' is not one"),
        ("[references(1)]", r"'references' expects its parameter 1 to be a string"),
    ],
    ids=["bad-mode", "unknown-symbol", "integer-name"],
)
def test_references_errors(value: str, message: str) -> None:
    t = workers_template({"o": {"type": "array", "value": value}})
    with pytest.raises(ExpressionError, match=message):
        expand(t, context=context()).evaluate_outputs(deployed_workers())


def test_references_needs_language_version_2() -> None:
    with pytest.raises(ExpressionError, match=r"requires a template with languageVersion '2\.0'"):
        evaluate("[references('workers')]", with_resolver(RecordingResolver()))


# --- pickZones() ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2')]", ["1"]),
        ("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus')]", []),
        ("[pickZones('Microsoft.Compute', 'virtualMachines', 'northcentralus')]", []),
        ("[pickZones('Microsoft.Cdn', 'profiles', 'westus2')]", []),
        ("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 3)]", ["1", "2", "3"]),
        ("[pickZones('Microsoft.Network', 'publicIPAddresses', 'eastus', 2, 1)]", ["2", "3"]),
        ("[pickZones('Microsoft.Storage', 'storageAccounts', 'West Europe')]", ["1"]),
        ("[pickZones('Microsoft.Network', 'dnsZones', 'eastus')]", []),
        ("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus', 3, 2)]", []),
    ],
    ids=[
        "supported",
        "not-supported-region",
        "not-supported-region-2",
        "not-supported-type",
        "three-zones",
        "offset",
        "display-name-location",
        "global-type",
        "unsupported-ignores-count",
    ],
)
def test_pick_zones(text: str, expected: list[str]) -> None:
    assert evaluate(text) == expected


def test_pick_zones_decides_zone_redundancy() -> None:
    text = (
        "[if(not(empty(pickZones('Microsoft.Compute', 'virtualMachines', 'westus2'))), "
        "string(add(mod(2, 3), 1)), json('null'))]"
    )
    assert evaluate(text) == "3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 0)]",
            r"from 1 to 3; got 0",
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 4)]",
            r"from 1 to 3; got 4",
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 2, 2)]",
            r"cannot pick 2 zone\(s\) at offset 2",
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 1, -1)]",
            r"non-negative integer; got -1",
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', '2')]",
            r"'pickZones' expects its parameter 4 to be an integer",
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', true())]",
            r"'pickZones' expects its parameter 4 to be an integer\. The provided value is of "
            r"type 'Boolean'",
        ),
        ("[pickZones('Microsoft.Compute', 1, 'westus2')]", r"parameter 2 to be a string"),
        ("[pickZones('Microsoft.Compute', 'virtualMachines')]", r"between 3 and 5 parameters"),
    ],
    ids=[
        "zero-zones",
        "four-zones",
        "past-last-zone",
        "negative-offset",
        "string-count",
        "boolean-count",
        "integer-type",
        "arity",
    ],
)
def test_pick_zones_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(text)


# --- providers() ----------------------------------------------------------------------------


def test_providers_is_deprecated_and_says_what_to_do() -> None:
    with pytest.raises(
        ExpressionError, match=r"'providers' .*deprecated.*Give the resource an explicit apiVersion"
    ):
        evaluate("[providers('Microsoft.Storage', 'storageAccounts').apiVersions[0]]")
