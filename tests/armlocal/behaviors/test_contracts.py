"""What every behavior guarantees: only read-only paths change, determinism, lookups."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bicep_assets.armlocal.service import behaviors
from bicep_assets.armlocal.service.behaviors.model import path_matches

from .conftest import (
    CTX,
    T1,
    TENANT,
    UAI_ID,
    ctx_at,
    leaf_changes,
    resource,
    rid,
)

# One sample per modelled type: (id for pytest, type, names, body).
SAMPLES: list[tuple[str, str, tuple[str, ...], dict[str, Any]]] = [
    (
        "storage",
        "Microsoft.Storage/storageAccounts",
        ("stdemo",),
        {"kind": "StorageV2", "sku": {"name": "Standard_RAGRS"}, "properties": {}},
    ),
    (
        "container",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        ("stdemo", "default", "c"),
        {},
    ),
    ("plan", "Microsoft.Web/serverfarms", ("plan",), {"sku": {"name": "S1", "capacity": 2}}),
    (
        "site",
        "Microsoft.Web/sites",
        ("app",),
        {
            "kind": "app",
            "identity": {
                "type": "SystemAssigned, UserAssigned",
                "userAssignedIdentities": {UAI_ID: {}},
            },
            "properties": {"serverFarmId": rid("Microsoft.Web/serverfarms", "plan")},
        },
    ),
    ("slot", "Microsoft.Web/sites/slots", ("app", "staging"), {"properties": {}}),
    ("vault", "Microsoft.KeyVault/vaults", ("kv-demo",), {"properties": {"tenantId": TENANT}}),
    (
        "secret",
        "Microsoft.KeyVault/vaults/secrets",
        ("kv-demo", "db"),
        {"properties": {"value": "s3cr3t"}},
    ),
    ("key", "Microsoft.KeyVault/vaults/keys", ("kv-demo", "k"), {"properties": {"kty": "RSA"}}),
    ("uai", "Microsoft.ManagedIdentity/userAssignedIdentities", ("id-app",), {}),
    (
        "workspace",
        "Microsoft.OperationalInsights/workspaces",
        ("log",),
        {"properties": {"retentionInDays": 30}},
    ),
    (
        "insights",
        "Microsoft.Insights/components",
        ("appi",),
        {"kind": "web", "properties": {"Application_Type": "web"}},
    ),
    (
        "vnet",
        "Microsoft.Network/virtualNetworks",
        ("vnet",),
        {
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [
                    {"name": "web", "properties": {"addressPrefix": "10.0.1.0/24"}},
                    {"name": "data", "properties": {"addressPrefix": "10.0.2.0/24"}},
                ],
            }
        },
    ),
    (
        "pip",
        "Microsoft.Network/publicIPAddresses",
        ("pip",),
        {
            "sku": {"name": "Standard"},
            "properties": {
                "publicIPAllocationMethod": "Static",
                "dnsSettings": {"domainNameLabel": "demo"},
            },
        },
    ),
    (
        "private-endpoint",
        "Microsoft.Network/privateEndpoints",
        ("pe",),
        {
            "properties": {
                "privateLinkServiceConnections": [
                    {"name": "c", "properties": {"groupIds": ["blob"]}}
                ]
            }
        },
    ),
    (
        "sql",
        "Microsoft.Sql/servers",
        ("sql-demo",),
        {"properties": {"administratorLogin": "a", "administratorLoginPassword": "p"}},
    ),
    ("sqldb", "Microsoft.Sql/servers/databases", ("sql-demo", "db"), {"sku": {"name": "S0"}}),
    ("acr", "Microsoft.ContainerRegistry/registries", ("AcrDemo",), {"sku": {"name": "Basic"}}),
    (
        "cosmos",
        "Microsoft.DocumentDB/databaseAccounts",
        ("cosmos-demo",),
        {
            "properties": {
                "databaseAccountOfferType": "Standard",
                "locations": [{"locationName": "West Europe", "failoverPriority": 0}],
            }
        },
    ),
    ("redis", "Microsoft.Cache/redis", ("redis-demo",), {"properties": {"sku": {"name": "Basic"}}}),
    ("servicebus", "Microsoft.ServiceBus/namespaces", ("sb-demo",), {"sku": {"name": "Standard"}}),
    ("eventhubs", "Microsoft.EventHub/namespaces", ("eh-demo",), {"sku": {"name": "Standard"}}),
    (
        "role-assignment",
        "Microsoft.Authorization/roleAssignments",
        ("3f2c1d1e-0000-4000-8000-000000000001",),
        {"properties": {"principalId": "p", "roleDefinitionId": "r"}},
    ),
    (
        "container-environment",
        "Microsoft.App/managedEnvironments",
        ("cae",),
        {"properties": {"zoneRedundant": False}},
    ),
    (
        "container-app",
        "Microsoft.App/containerApps",
        ("ca",),
        {
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "environmentId": rid("Microsoft.App/managedEnvironments", "cae"),
                "configuration": {"ingress": {"external": True, "targetPort": 80}},
                "template": {"containers": [{"name": "app", "image": "nginx"}]},
            },
        },
    ),
    ("event-grid-topic", "Microsoft.EventGrid/topics", ("evgt",), {"properties": {}}),
    ("event-grid-domain", "Microsoft.EventGrid/domains", ("evgd",), {"properties": {}}),
    (
        "web-pubsub",
        "Microsoft.SignalRService/webPubSub",
        ("wps",),
        {"kind": "WebPubSub", "sku": {"name": "Standard_S1", "capacity": 1}, "properties": {}},
    ),
    (
        "signalr",
        "Microsoft.SignalRService/signalR",
        ("sigr",),
        {"kind": "SignalR", "sku": {"name": "Free_F1"}, "properties": {}},
    ),
    (
        "devtest-lab",
        "Microsoft.DevTestLab/labs",
        ("lab",),
        {"properties": {"labStorageType": "Premium"}},
    ),
    (
        "cognitive-services",
        "Microsoft.CognitiveServices/accounts",
        ("ai",),
        {"kind": "AIServices", "properties": {"customSubDomainName": "ai"}},
    ),
    ("search", "Microsoft.Search/searchServices", ("srch",), {"properties": {}}),
    ("app-configuration", "Microsoft.AppConfiguration/configurationStores", ("appcs",), {}),
    ("api-management", "Microsoft.ApiManagement/service", ("apim",), {"properties": {}}),
    ("mysql-flexible", "Microsoft.DBforMySQL/flexibleServers", ("my",), {"properties": {}}),
    ("postgres-flexible", "Microsoft.DBforPostgreSQL/flexibleServers", ("pg",), {}),
    (
        "aks",
        "Microsoft.ContainerService/managedClusters",
        ("aks",),
        {"properties": {"dnsPrefix": "aks", "oidcIssuerProfile": {"enabled": True}}},
    ),
    ("static-site", "Microsoft.Web/staticSites", ("stapp",), {"properties": {}}),
    (
        "communication",
        "Microsoft.Communication/communicationServices",
        ("acs",),
        {"properties": {"dataLocation": "Europe"}},
    ),
    ("digital-twins", "Microsoft.DigitalTwins/digitalTwinsInstances", ("dt",), {}),
    ("dev-center", "Microsoft.DevCenter/devcenters", ("dc",), {"properties": {}}),
    ("databricks", "Microsoft.Databricks/workspaces", ("dbw",), {"properties": {}}),
    ("unknown", "Contoso.Widgets/gadgets", ("g1",), {"properties": {"size": 3}}),
]
SAMPLE_IDS = [sample[0] for sample in SAMPLES]

# -- contracts every type keeps --------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "names", "body"), [s[1:] for s in SAMPLES], ids=SAMPLE_IDS
)
def test_everything_added_is_read_only(resource_type: str, names: tuple, body: dict) -> None:
    """What-if of an unchanged template must say NoChange: every value the service adds or
    changes lies under one of the type's read-only paths — or fills in a defaulted path the
    template left out."""
    desired = resource(resource_type, *names, **copy.deepcopy(body))
    for path in behaviors.write_only_paths(resource_type):
        *parents, key = path.split(".")
        node = desired
        for part in parents:
            node = node.get(part, {})
        node.pop(key, None)
    added = leaf_changes(desired, behaviors.apply_runtime_properties(desired, None, CTX))
    assert added, "every resource gets at least provisioningState"
    defaulted = behaviors.defaulted_paths(resource_type)
    not_read_only = [
        p
        for p in added
        if not behaviors.is_read_only_path(resource_type, p) and not path_matches(defaulted, p)
    ]
    assert not_read_only == []


@pytest.mark.parametrize(
    ("resource_type", "names", "body", "path"),
    [
        ("Microsoft.Storage/storageAccounts", ("st",), {"kind": "BlobStorage"}, ("kind",)),
        (
            "Microsoft.Storage/storageAccounts",
            ("st",),
            {"sku": {"name": "Premium_ZRS"}},
            ("sku", "name"),
        ),
        ("Microsoft.Web/sites", ("fn",), {"kind": "functionapp,linux"}, ("kind",)),
        (
            "Microsoft.Sql/servers/databases",
            ("sql", "db"),
            {"sku": {"name": "S2"}},
            ("sku", "name"),
        ),
        (
            "Microsoft.DocumentDB/databaseAccounts",
            ("cosmos",),
            {"properties": {"capabilities": [{"name": "EnableServerless"}]}},
            ("properties", "capabilities"),
        ),
        (
            "Microsoft.ServiceBus/namespaces",
            ("sb",),
            {"sku": {"name": "Premium", "capacity": 2}},
            ("sku", "capacity"),
        ),
        (
            "Microsoft.Network/privateEndpoints",
            ("pe",),
            {"properties": {"customDnsConfigs": [{"fqdn": "st.blob.core.windows.net"}]}},
            ("properties", "customDnsConfigs"),
        ),
        (
            "Microsoft.App/containerApps",
            ("ca",),
            {"properties": {"managedEnvironmentId": "/subscriptions/s/resourceGroups/r/x"}},
            ("properties", "managedEnvironmentId"),
        ),
        ("Microsoft.SignalRService/webPubSub", ("wps",), {"kind": "SocketIO"}, ("kind",)),
        (
            "Microsoft.DevTestLab/labs",
            ("lab",),
            {"properties": {"artifactsStorageAccount": "/subscriptions/s/x/mine"}},
            ("properties", "artifactsStorageAccount"),
        ),
    ],
    ids=[
        "storage-kind",
        "storage-sku",
        "site-kind",
        "sql-database-sku",
        "cosmos-capabilities",
        "servicebus-sku",
        "private-endpoint-dns",
        "container-app-environment",
        "web-pubsub-kind",
        "lab-artifacts-account",
    ],
)
def test_defaulted_values_the_template_sets_are_kept(
    resource_type: str, names: tuple, body: dict, path: tuple
) -> None:
    """A defaulted path is the template's when it sets it: the service keeps the value."""
    desired = resource(resource_type, *names, **copy.deepcopy(body))
    stored_body = behaviors.apply_runtime_properties(desired, None, CTX)
    given, kept = desired, stored_body
    for key in path:
        given, kept = given[key], kept[key]
    assert kept == given
    assert path_matches(behaviors.defaulted_paths(resource_type), list(path))
    assert not behaviors.is_read_only_path(resource_type, list(path))


@pytest.mark.parametrize(
    ("resource_type", "names", "body"), [s[1:] for s in SAMPLES], ids=SAMPLE_IDS
)
def test_deterministic_and_creation_times_kept(
    resource_type: str, names: tuple, body: dict
) -> None:
    desired = resource(resource_type, *names, **body)
    first = behaviors.apply_runtime_properties(desired, None, CTX)
    assert behaviors.apply_runtime_properties(desired, None, CTX) == first
    later = behaviors.apply_runtime_properties(desired, first, ctx_at(T1))
    changed = {behaviors.render_path(p) for p in leaf_changes(first, later)}
    # Only what a service re-stamps on every write moves; ids, keys, GUIDs and creation
    # times stay as they were.
    moving = {
        "properties.lastModifiedTimeUtc",
        "properties.modifiedDate",
        "properties.updatedAt",
        "properties.updatedOn",
        "properties.lastModifiedTime",
        "properties.attributes.updated",
        "properties.secretUriWithVersion",
        "properties.keyUriWithVersion",
    }
    assert changed <= moving


@pytest.mark.parametrize(
    ("resource_type", "names", "body"), [s[1:] for s in SAMPLES], ids=SAMPLE_IDS
)
def test_input_not_mutated_and_provisioning_state(
    resource_type: str, names: tuple, body: dict
) -> None:
    desired = resource(resource_type, *names, **body)
    snapshot = copy.deepcopy(desired)
    result = behaviors.apply_runtime_properties(desired, None, CTX)
    assert desired == snapshot
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert result["id"] == desired["id"]


def test_unknown_type_gets_provisioning_state_only() -> None:
    desired = resource("Contoso.Widgets/gadgets", "g1", tags={"a": "b"}, properties={"size": 3})
    result = behaviors.apply_runtime_properties(desired, None, CTX)
    assert result == {**desired, "properties": {"size": 3, "provisioningState": "Succeeded"}}
    assert behaviors.read_only_paths("Contoso.Widgets/gadgets") == set(behaviors.COMMON_READ_ONLY)


def test_missing_properties_object_is_created() -> None:
    result = behaviors.apply_runtime_properties(resource("Contoso.Widgets/gadgets", "g"), None, CTX)
    assert result["properties"] == {"provisioningState": "Succeeded"}


@pytest.mark.parametrize(
    "action",
    ["listKeys", "listSecrets", "regenerateKey"],
    ids=["listKeys", "listSecrets", "regenerateKey"],
)
def test_unknown_type_has_no_actions(action: str) -> None:
    assert (
        behaviors.invoke_action(resource("Contoso.Widgets/gadgets", "g"), action, None, CTX) is None
    )


@pytest.mark.parametrize(
    ("resource_type", "names", "action"),
    [
        ("Microsoft.Storage/storageAccounts", ("st",), "listSecrets"),
        ("Microsoft.Web/sites", ("app",), "listKeys"),
        ("Microsoft.KeyVault/vaults", ("kv",), "listKeys"),
        ("Microsoft.Network/virtualNetworks", ("vnet",), "listKeys"),
        ("Microsoft.ServiceBus/namespaces", ("sb",), "listKeys"),
    ],
    ids=["storage-listSecrets", "site-listKeys", "vault-listKeys", "vnet-listKeys", "sb-namespace"],
)
def test_actions_a_type_does_not_have_return_none(
    resource_type: str, names: tuple, action: str
) -> None:
    assert behaviors.invoke_action(resource(resource_type, *names), action, {}, CTX) is None


def test_type_lookup_is_case_insensitive() -> None:
    lower = behaviors.apply_runtime_properties(
        {
            **resource("Microsoft.Storage/storageAccounts", "st"),
            "type": "microsoft.storage/STORAGEACCOUNTS",
        },
        None,
        CTX,
    )
    assert lower["properties"]["primaryEndpoints"]["blob"] == "https://st.blob.core.windows.net/"
    assert "properties.primaryEndpoints" in behaviors.read_only_paths(
        "MICROSOFT.STORAGE/storageaccounts"
    )


def test_supported_types_cover_the_common_ones() -> None:
    required = {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.KeyVault/vaults",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Sql/servers",
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.DocumentDB/databaseAccounts",
    }
    assert required <= set(behaviors.supported_types())


# -- read-only paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "expected"),
    [
        (
            "Microsoft.Storage/storageAccounts",
            {
                "properties.primaryEndpoints",
                "properties.creationTime",
                "properties.keyCreationTime",
                "sku.tier",
            },
        ),
        (
            "Microsoft.Web/sites",
            {
                "properties.defaultHostName",
                "properties.hostNames",
                "properties.outboundIpAddresses",
            },
        ),
        ("Microsoft.Web/serverfarms", {"properties.status", "properties.maximumNumberOfWorkers"}),
        ("Microsoft.KeyVault/vaults", {"properties.vaultUri"}),
        (
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            {"properties.principalId", "properties.clientId", "properties.tenantId"},
        ),
        ("Microsoft.OperationalInsights/workspaces", {"properties.customerId"}),
        (
            "Microsoft.Insights/components",
            {"properties.InstrumentationKey", "properties.ConnectionString", "properties.AppId"},
        ),
        (
            "Microsoft.Network/virtualNetworks",
            {"etag", "properties.resourceGuid", "properties.*[*].id"},
        ),
        (
            "Microsoft.Network/publicIPAddresses",
            {"properties.ipAddress", "properties.dnsSettings.fqdn"},
        ),
        ("Microsoft.Network/routeTables", {"etag", "properties.*[*].id"}),
        ("Microsoft.Sql/servers", {"properties.fullyQualifiedDomainName"}),
        ("Microsoft.ContainerRegistry/registries", {"properties.loginServer"}),
        ("Microsoft.DocumentDB/databaseAccounts", {"properties.documentEndpoint"}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_read_only_paths(resource_type: str, expected: set[str]) -> None:
    paths = behaviors.read_only_paths(resource_type)
    assert expected <= paths
    assert paths >= behaviors.COMMON_READ_ONLY


@pytest.mark.parametrize(
    ("resource_type", "path", "read_only"),
    [
        ("Microsoft.Storage/storageAccounts", "properties.primaryEndpoints.blob", True),
        ("Microsoft.Storage/storageAccounts", "Properties.PrimaryEndpoints", True),
        ("Microsoft.Storage/storageAccounts", "properties.primaryEndpointsX", False),
        ("Microsoft.Storage/storageAccounts", "properties.accessTier", False),
        ("Microsoft.Storage/storageAccounts", "properties.provisioningState", True),
        ("Microsoft.Network/virtualNetworks", "properties.subnets[0].id", True),
        (
            "Microsoft.Network/virtualNetworks",
            ["properties", "subnets", 1, "properties", "provisioningState"],
            True,
        ),
        (
            "Microsoft.Network/virtualNetworks",
            "properties.subnets[0].properties.addressPrefix",
            False,
        ),
        ("Microsoft.Network/virtualNetworks", "properties.addressSpace.addressPrefixes[0]", False),
        ("Microsoft.Network/virtualNetworks", "properties.ddosProtectionPlan.id", False),
        (
            "Microsoft.Web/sites",
            ["identity", "userAssignedIdentities", UAI_ID, "principalId"],
            True,
        ),
        ("Microsoft.Web/sites", ["identity", "userAssignedIdentities", UAI_ID], False),
        ("Microsoft.Web/sites", "identity.type", False),
        ("Microsoft.Web/sites", "properties.siteConfig.appSettings[0].value", False),
        ("Contoso.Widgets/gadgets", "identity.principalId", True),
        ("Contoso.Widgets/gadgets", "properties.size", False),
    ],
    ids=[
        "storage-endpoint-subtree",
        "storage-case-insensitive",
        "storage-lookalike-key",
        "storage-user-setting",
        "common-provisioning-state",
        "subnet-id",
        "subnet-state-segments",
        "subnet-prefix",
        "address-prefix",
        "user-reference-id",
        "assigned-identity-principal",
        "assigned-identity-entry",
        "identity-type",
        "app-setting",
        "unknown-identity-principal",
        "unknown-property",
    ],
)
def test_is_read_only_path(resource_type: str, path: Any, read_only: bool) -> None:
    assert behaviors.is_read_only_path(resource_type, path) is read_only


@pytest.mark.parametrize(
    ("resource_type", "expected"),
    [
        ("Microsoft.KeyVault/vaults/secrets", {"properties.value"}),
        ("Microsoft.Sql/servers", {"properties.administratorLoginPassword"}),
        ("Microsoft.DBforPostgreSQL/flexibleServers", {"properties.administratorLoginPassword"}),
        ("Microsoft.Compute/virtualMachines", {"properties.osProfile.adminPassword"}),
        ("Microsoft.Storage/storageAccounts", set()),
        ("Contoso.Widgets/gadgets", set()),
    ],
    ids=["secret", "sql-server", "postgres-flexible", "vm", "storage", "unknown"],
)
def test_write_only_paths(resource_type: str, expected: set[str]) -> None:
    assert behaviors.write_only_paths(resource_type) == expected


def test_a_virtual_machine_is_stored_without_its_admin_password() -> None:
    """As the specification's VM created with password authentication answers: the rest of
    ``osProfile`` is kept."""
    os_profile = {"adminUsername": "azureuser", "computerName": "vm1", "adminPassword": "Pw-1x"}
    desired = resource(
        "Microsoft.Compute/virtualMachines", "vm1", properties={"osProfile": os_profile}
    )
    stored = behaviors.apply_runtime_properties(desired, None, CTX)
    assert stored["properties"]["osProfile"] == {
        "adminUsername": "azureuser",
        "computerName": "vm1",
    }
    assert "Pw-1x" not in repr(stored)
