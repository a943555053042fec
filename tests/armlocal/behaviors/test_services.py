"""Monitoring, data services, registries, messaging and role assignments."""

from __future__ import annotations

import base64

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import (
    CTX,
    GUID,
    SUB,
    T0_ISO,
    resource,
    rid,
    stored,
)

# -- monitoring ---------------------------------------------------------------------------


def test_log_analytics_workspace() -> None:
    props = stored(
        "Microsoft.OperationalInsights/workspaces", "log", properties={"retentionInDays": 30}
    )["properties"]
    assert GUID.match(props["customerId"])
    assert props["createdDate"] == props["modifiedDate"] == T0_ISO
    assert props["retentionInDays"] == 30
    workspace = resource("Microsoft.OperationalInsights/workspaces", "log")
    keys = behaviors.invoke_action(workspace, "listKeys", None, CTX)
    assert set(keys) == {"primarySharedKey", "secondarySharedKey"}
    assert behaviors.invoke_action(workspace, "sharedKeys", None, CTX) == keys
    assert keys["primarySharedKey"] != keys["secondarySharedKey"]


def test_application_insights_component() -> None:
    props = stored(
        "Microsoft.Insights/components", "appi", kind="web", properties={"Application_Type": "web"}
    )["properties"]
    key, app_id = props["InstrumentationKey"], props["AppId"]
    assert GUID.match(key) and GUID.match(app_id) and key != app_id
    assert props["ConnectionString"] == (
        f"InstrumentationKey={key};IngestionEndpoint=https://westeurope-0.in.applicationinsights.azure.com/;"
        f"LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId={app_id}"
    )
    assert props["ApplicationId"] == props["Name"] == "appi"
    assert props["TenantId"] == SUB
    assert props["CreationDate"] == "2024-05-01T12:00:00.0000000+00:00"


# -- data services, registries, messaging, authorization ----------------------------------


def test_sql_server_and_database() -> None:
    server = stored(
        "Microsoft.Sql/servers",
        "sql-demo",
        properties={"administratorLogin": "a", "administratorLoginPassword": "p@ss"},
    )
    assert server["properties"] == {
        "administratorLogin": "a",
        "provisioningState": "Succeeded",
        "fullyQualifiedDomainName": "sql-demo.database.windows.net",
        "state": "Ready",
    }
    database = stored("Microsoft.Sql/servers/databases", "sql-demo", "db", sku={"name": "S0"})[
        "properties"
    ]
    assert database["status"] == "Online"
    assert database["currentServiceObjectiveName"] == "S0"
    assert database["creationDate"] == T0_ISO
    assert GUID.match(database["databaseId"])


def test_container_registry() -> None:
    registry = resource("Microsoft.ContainerRegistry/registries", "AcrDemo", sku={"name": "Basic"})
    props = behaviors.apply_runtime_properties(registry, None, CTX)["properties"]
    assert props["loginServer"] == "acrdemo.azurecr.io"
    assert props["creationDate"] == T0_ISO
    credentials = behaviors.invoke_action(registry, "listCredentials", None, CTX)
    assert credentials["username"] == "AcrDemo"
    assert [p["name"] for p in credentials["passwords"]] == ["password", "password2"]
    assert credentials["passwords"][0]["value"] != credentials["passwords"][1]["value"]


def test_cosmos_account() -> None:
    account = resource(
        "Microsoft.DocumentDB/databaseAccounts",
        "cosmos-demo",
        properties={
            "databaseAccountOfferType": "Standard",
            "locations": [
                {"locationName": "West Europe", "failoverPriority": 0},
                {"locationName": "northeurope", "failoverPriority": 1},
            ],
        },
    )
    props = behaviors.apply_runtime_properties(account, None, CTX)["properties"]
    assert props["documentEndpoint"] == "https://cosmos-demo.documents.azure.com:443/"
    assert [(loc["id"], loc["documentEndpoint"]) for loc in props["locations"]] == [
        ("cosmos-demo-westeurope", "https://cosmos-demo-westeurope.documents.azure.com:443/"),
        ("cosmos-demo-northeurope", "https://cosmos-demo-northeurope.documents.azure.com:443/"),
    ]
    assert [loc["locationName"] for loc in props["writeLocations"]] == ["West Europe"]
    assert [loc["locationName"] for loc in props["readLocations"]] == [
        "West Europe",
        "North Europe",
    ]
    keys = behaviors.invoke_action(account, "listKeys", None, CTX)
    assert set(keys) == {
        "primaryMasterKey",
        "secondaryMasterKey",
        "primaryReadonlyMasterKey",
        "secondaryReadonlyMasterKey",
    }
    assert len(set(keys.values())) == 4
    readonly = behaviors.invoke_action(account, "readonlykeys", None, CTX)
    assert readonly == {
        k: keys[k] for k in ("primaryReadonlyMasterKey", "secondaryReadonlyMasterKey")
    }
    strings = behaviors.invoke_action(account, "listConnectionStrings", None, CTX)[
        "connectionStrings"
    ]
    assert strings[0] == {
        "connectionString": f"AccountEndpoint=https://cosmos-demo.documents.azure.com:443/;AccountKey={keys['primaryMasterKey']};",
        "description": "Primary SQL Connection String",
        "keyKind": "Primary",
        "type": "Sql",
    }
    assert len(strings) == 4


def test_cosmos_account_without_locations_lives_in_its_own_region() -> None:
    props = stored("Microsoft.DocumentDB/databaseAccounts", "c2", properties={})["properties"]
    assert [loc["id"] for loc in props["readLocations"]] == ["c2-westeurope"]


def test_redis_cache() -> None:
    cache = resource("Microsoft.Cache/redis", "redis-demo")
    props = behaviors.apply_runtime_properties(cache, None, CTX)["properties"]
    assert (props["hostName"], props["port"], props["sslPort"]) == (
        "redis-demo.redis.cache.windows.net",
        6379,
        6380,
    )
    keys = behaviors.invoke_action(cache, "listKeys", None, CTX)
    assert set(keys) == {"primaryKey", "secondaryKey"}
    assert len(base64.b64decode(keys["primaryKey"])) == 32


@pytest.mark.parametrize(
    ("namespace_type", "name"),
    [("Microsoft.ServiceBus/namespaces", "sb-demo"), ("Microsoft.EventHub/namespaces", "eh-demo")],
    ids=["servicebus", "eventhubs"],
)
def test_messaging_namespace_and_root_rule(namespace_type: str, name: str) -> None:
    namespace = resource(namespace_type, name, sku={"name": "Standard"})
    props = behaviors.apply_runtime_properties(namespace, None, CTX)["properties"]
    assert props["serviceBusEndpoint"] == f"https://{name}.servicebus.windows.net:443/"
    assert props["metricId"] == f"{SUB}:{name}"
    assert props["status"] == "Active"
    assert props["createdAt"] == props["updatedAt"] == T0_ISO
    [rule] = behaviors.implicit_children(namespace, CTX)
    assert rule["id"] == f"{namespace['id']}/authorizationRules/RootManageSharedAccessKey"
    assert rule["properties"] == {
        "rights": ["Listen", "Manage", "Send"],
        "provisioningState": "Succeeded",
    }
    keys = behaviors.invoke_action(rule, "listKeys", None, CTX)
    assert keys["keyName"] == "RootManageSharedAccessKey"
    assert keys["primaryConnectionString"] == (
        f"Endpoint=sb://{name}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
        f"SharedAccessKey={keys['primaryKey']}"
    )
    assert keys["primaryKey"] != keys["secondaryKey"]


def test_entity_rule_keys_name_the_entity() -> None:
    rule = resource(
        "Microsoft.ServiceBus/namespaces/queues/authorizationRules", "sb-demo", "orders", "send"
    )
    keys = behaviors.invoke_action(rule, "listKeys", None, CTX)
    assert keys["secondaryConnectionString"].endswith(
        f"SharedAccessKeyName=send;SharedAccessKey={keys['secondaryKey']};EntityPath=orders"
    )


def test_no_implicit_children_for_other_types() -> None:
    assert (
        behaviors.implicit_children(resource("Microsoft.Storage/storageAccounts", "st"), CTX) == []
    )


def test_role_assignment_scope() -> None:
    scoped = {
        **resource("Microsoft.Authorization/roleAssignments", "ra"),
        "id": rid("Microsoft.Storage/storageAccounts", "st")
        + "/providers/Microsoft.Authorization/roleAssignments/ra",
    }
    props = behaviors.apply_runtime_properties(scoped, None, CTX)["properties"]
    assert props["scope"] == rid("Microsoft.Storage/storageAccounts", "st")
    assert props["createdOn"] == props["updatedOn"] == T0_ISO
