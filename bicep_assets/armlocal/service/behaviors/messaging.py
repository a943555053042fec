"""Service Bus and Event Hubs: namespaces (endpoint, state, SKU, the root access rule the
service creates with them) and the keys of shared access authorization rules; Event Grid
topics and domains (endpoint, metric id, access keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import regions
from .model import Behavior, Runtime, properties_of, set_default

ROOT_RULE = "RootManageSharedAccessKey"
_NAMESPACES = ("Microsoft.ServiceBus/namespaces", "Microsoft.EventHub/namespaces")
# Rules on the namespace, and on its queues/topics/event hubs (their keys add an EntityPath).
_RULE_PARENTS = {
    "Microsoft.ServiceBus/namespaces": ("", "queues", "topics"),
    "Microsoft.EventHub/namespaces": ("", "eventhubs"),
}


def _apply_namespace(body: dict[str, Any], rt: Runtime) -> None:
    # A namespace whose PUT names no SKU is a Standard one; the tier echoes the name.
    sku = set_default(body, "sku", {"name": "Standard"})
    if isinstance(sku, dict) and isinstance(sku.get("name"), str):
        sku.setdefault("tier", sku["name"])
    props = properties_of(body)
    props["serviceBusEndpoint"] = f"https://{rt.name}.servicebus.windows.net:443/"
    props["metricId"] = f"{rt.subscription_id}:{rt.name.lower()}"
    props["status"] = "Active"
    props["createdAt"] = rt.created("properties.createdAt")
    props["updatedAt"] = rt.now_iso


def _root_rule(resource: Mapping[str, Any], rt: Runtime) -> list[dict[str, Any]]:
    """The namespace-wide rule the service creates with every namespace."""
    return [
        {
            "id": f"{rt.resource_id}/authorizationRules/{ROOT_RULE}",
            "name": ROOT_RULE,
            "type": f"{resource.get('type')}/authorizationRules",
            "location": rt.location,
            "properties": {"rights": ["Listen", "Manage", "Send"]},
        }
    ]


def _rule_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, Any]:
    namespace, rule = rt.names[0], rt.name
    entity = rt.names[1] if len(rt.names) == 3 else None
    primary = rt.key("sas-primaryKey", 32)
    secondary = rt.key("sas-secondaryKey", 32)

    def connection(key: str) -> str:
        text = (
            f"Endpoint=sb://{namespace}.servicebus.windows.net/;"
            f"SharedAccessKeyName={rule};SharedAccessKey={key}"
        )
        return f"{text};EntityPath={entity}" if entity else text

    return {
        "primaryConnectionString": connection(primary),
        "secondaryConnectionString": connection(secondary),
        "primaryKey": primary,
        "secondaryKey": secondary,
        "keyName": rule,
    }


def _rule_behaviors() -> list[Behavior]:
    result = []
    for namespace, parents in _RULE_PARENTS.items():
        for parent in parents:
            rule_type = "/".join(p for p in (namespace, parent, "authorizationRules") if p)
            result.append(Behavior(rule_type, actions={"listkeys": _rule_keys}))
    return result


EVENT_GRID_TOPICS = "Microsoft.EventGrid/topics"
EVENT_GRID_DOMAINS = "Microsoft.EventGrid/domains"


def event_grid_endpoint(name: str, location: str) -> str:
    """Where a topic or domain accepts events: ``https://{name}.{region}-1.eventgrid.azure.net
    /api/events``."""
    return f"https://{name.lower()}.{regions.normalize(location)}-1.eventgrid.azure.net/api/events"


def _apply_event_grid(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["endpoint"] = event_grid_endpoint(rt.name, rt.location)
    props["metricResourceId"] = rt.guid("metricResourceId")


def _event_grid_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, str]:
    return {"key1": rt.key("eventgrid-key1", 32), "key2": rt.key("eventgrid-key2", 32)}


def _apply_system_topic(body: dict[str, Any], rt: Runtime) -> None:
    properties_of(body)["metricResourceId"] = rt.guid("metricResourceId")


BEHAVIORS = [
    *(
        Behavior(
            namespace,
            apply=_apply_namespace,
            read_only=frozenset(
                f"properties.{name}"
                for name in ("serviceBusEndpoint", "metricId", "status", "createdAt", "updatedAt")
            )
            | {"sku.tier"},
            defaulted=frozenset({"sku"}),
            children=_root_rule,
        )
        for namespace in _NAMESPACES
    ),
    *_rule_behaviors(),
    *(
        Behavior(
            resource_type,
            apply=_apply_event_grid,
            read_only=frozenset({"properties.endpoint", "properties.metricResourceId"}),
            actions={"listkeys": _event_grid_keys},
        )
        for resource_type in (EVENT_GRID_TOPICS, EVENT_GRID_DOMAINS)
    ),
    Behavior(
        "Microsoft.EventGrid/systemTopics",
        apply=_apply_system_topic,
        read_only=frozenset({"properties.metricResourceId"}),
    ),
]
