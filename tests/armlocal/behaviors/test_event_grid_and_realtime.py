"""Event Grid topics and domains; Web PubSub and SignalR services."""

from __future__ import annotations

import base64

import pytest

from bicep_assets.armlocal.service import behaviors

from .conftest import CTX, GUID, resource, stored

# -- Event Grid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "name", "metric_id"),
    [
        ("Microsoft.EventGrid/topics", "evgt-demo", "c3e31894-4b63-53f5-b057-4e1cb3a935ce"),
        ("Microsoft.EventGrid/domains", "EVGD-Demo", "99fd2ebf-193d-5c6c-a3b3-fd15dc4c8fca"),
    ],
    ids=["topic", "domain"],
)
def test_event_grid_endpoint_and_metric_id(resource_type: str, name: str, metric_id: str) -> None:
    props = stored(resource_type, name, properties={"inputSchema": "CloudEventSchemaV1_0"})[
        "properties"
    ]
    assert props["endpoint"] == (
        f"https://{name.lower()}.westeurope-1.eventgrid.azure.net/api/events"
    )
    assert props["inputSchema"] == "CloudEventSchemaV1_0"
    assert props["metricResourceId"] == metric_id


def test_event_grid_endpoint_follows_the_region() -> None:
    props = stored("Microsoft.EventGrid/topics", "evgt", location="East US 2", properties={})[
        "properties"
    ]
    assert props["endpoint"] == "https://evgt.eastus2-1.eventgrid.azure.net/api/events"


def test_event_grid_keys() -> None:
    topic = resource("Microsoft.EventGrid/topics", "evgt-demo")
    keys = behaviors.invoke_action(topic, "listKeys", None, CTX)
    assert keys == {
        "key1": "ZoNh0noeRwXkiQ7/jAt1KMAvceUJ66E/zECgbKGPQnw=",
        "key2": "o0v3hYiUQH2eRkSCE9SlSVmpsKz85FW4cY95Ugzl1Ro=",
    }
    other = behaviors.invoke_action(
        resource("Microsoft.EventGrid/domains", "d"), "listKeys", {}, CTX
    )
    assert len(base64.b64decode(other["key1"])) == 32
    assert other["key1"] not in keys.values()


def test_system_topic_metric_id() -> None:
    props = stored(
        "Microsoft.EventGrid/systemTopics",
        "st-events",
        properties={"source": "/subscriptions/x", "topicType": "Microsoft.Storage.StorageAccounts"},
    )["properties"]
    assert GUID.match(props["metricResourceId"])
    assert "endpoint" not in props


def test_namespace_sku_defaults_to_standard() -> None:
    bare = stored("Microsoft.ServiceBus/namespaces", "sb-demo", properties={})
    premium = stored("Microsoft.EventHub/namespaces", "eh", sku={"name": "Premium", "capacity": 2})
    assert bare["sku"] == {"name": "Standard", "tier": "Standard"}
    assert premium["sku"] == {"name": "Premium", "capacity": 2, "tier": "Premium"}
    assert behaviors.defaulted_paths("Microsoft.ServiceBus/namespaces") == {"sku"}
    assert behaviors.is_read_only_path("Microsoft.EventHub/namespaces", "sku.tier")
    assert not behaviors.is_read_only_path("Microsoft.EventHub/namespaces", "sku.name")


# -- Web PubSub and SignalR ---------------------------------------------------------------


def test_web_pubsub() -> None:
    service = stored(
        "Microsoft.SignalRService/webPubSub",
        "WPS-Demo",
        sku={"name": "Standard_S1", "capacity": 1},
        properties={"disableLocalAuth": False},
    )
    assert service["kind"] == "WebPubSub"
    assert service["sku"] == {
        "name": "Standard_S1",
        "capacity": 1,
        "tier": "Standard",
        "size": "S1",
    }
    assert service["properties"] == {
        "disableLocalAuth": False,
        "provisioningState": "Succeeded",
        "hostName": "wps-demo.webpubsub.azure.com",
        "hostNamePrefix": "WPS-Demo",
        "externalIP": "203.0.113.50",
        "publicPort": 443,
        "serverPort": 443,
        "version": "1.0",
    }


def test_signalr_host_and_kind() -> None:
    service = stored(
        "Microsoft.SignalRService/signalR",
        "sigr-demo",
        kind="RawWebSockets",
        sku={"name": "Free_F1"},
    )
    assert service["kind"] == "RawWebSockets"  # the template's kind stays
    assert service["sku"] == {"name": "Free_F1", "tier": "Free", "size": "F1"}
    assert service["properties"]["hostName"] == "sigr-demo.service.signalr.net"
    assert service["properties"]["externalIP"] == "203.0.113.186"


@pytest.mark.parametrize(
    ("resource_type", "name", "host", "primary"),
    [
        (
            "Microsoft.SignalRService/webPubSub",
            "WPS-Demo",
            "wps-demo.webpubsub.azure.com",
            "usah1QN+RUoXP8/tjEXTvwniS9SrZ3JJdxdlCIPvhkQ=",
        ),
        (
            "Microsoft.SignalRService/signalR",
            "sigr-demo",
            "sigr-demo.service.signalr.net",
            "48Qzm03KLgiSvCyb6PzwGMf8Lh1zWfcXrcaWSp4GFA0=",
        ),
    ],
    ids=["web-pubsub", "signalr"],
)
def test_realtime_keys_and_connection_strings(
    resource_type: str, name: str, host: str, primary: str
) -> None:
    keys = behaviors.invoke_action(resource(resource_type, name), "listKeys", None, CTX)
    secondary = keys["secondaryKey"]
    assert keys == {
        "primaryKey": primary,
        "secondaryKey": secondary,
        "primaryConnectionString": f"Endpoint=https://{host};AccessKey={primary};Version=1.0;",
        "secondaryConnectionString": f"Endpoint=https://{host};AccessKey={secondary};Version=1.0;",
    }
    assert secondary != primary
    assert len(base64.b64decode(secondary)) == 32


@pytest.mark.parametrize(
    ("path", "read_only"),
    [
        ("properties.externalIP", True),
        ("properties.hostName", True),
        ("properties.publicPort", True),
        ("properties.serverPort", True),
        ("sku.size", True),
        ("sku.name", False),
        ("kind", False),
        ("properties.networkACLs.defaultAction", False),
    ],
    ids=[
        "external-ip",
        "host",
        "public-port",
        "server-port",
        "sku-size",
        "sku-name",
        "kind",
        "acl",
    ],
)
def test_web_pubsub_read_only_paths(path: str, read_only: bool) -> None:
    assert behaviors.is_read_only_path("Microsoft.SignalRService/webPubSub", path) is read_only
