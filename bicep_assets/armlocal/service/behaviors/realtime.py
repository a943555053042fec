"""Microsoft.SignalRService: Azure Web PubSub and Azure SignalR Service instances (host name,
public address and ports, SKU details, access keys and connection strings)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import values
from .model import Behavior, Runtime, properties_of, set_default

WEB_PUBSUB = "Microsoft.SignalRService/webPubSub"
SIGNALR = "Microsoft.SignalRService/signalR"

# Resource type → (DNS zone of its host names, the kind a GET reports when none was given).
_SERVICES = {
    WEB_PUBSUB.lower(): ("webpubsub.azure.com", "WebPubSub"),
    SIGNALR.lower(): ("service.signalr.net", "SignalR"),
}
PORT = 443  # clients and servers both connect over HTTPS
VERSION = "1.0"


def host_name(resource_type: str, name: str) -> str:
    """``myhub.webpubsub.azure.com`` for a Web PubSub named ``MyHub`` (SignalR:
    ``myhub.service.signalr.net``)."""
    zone, _ = _SERVICES[resource_type.lower()]
    return f"{name.lower()}.{zone}"


def _apply_service(body: dict[str, Any], rt: Runtime) -> None:
    _, kind = _SERVICES[rt.resource_type.lower()]
    set_default(body, "kind", kind)
    sku = body.get("sku")
    if isinstance(sku, dict) and isinstance(sku.get("name"), str):
        # "Standard_S1" → tier "Standard", size "S1"
        match = re.fullmatch(r"([A-Za-z]+)_([A-Za-z0-9]+)", sku["name"])
        if match:
            sku.setdefault("tier", match.group(1))
            sku.setdefault("size", match.group(2))
    props = properties_of(body)
    props["hostName"] = host_name(rt.resource_type, rt.name)
    props["hostNamePrefix"] = rt.name
    props["externalIP"] = values.documentation_ips("externalIP", rt.resource_id, block=2)[0]
    props["publicPort"] = PORT
    props["serverPort"] = PORT
    props["version"] = VERSION


def _list_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, str]:
    host = host_name(rt.resource_type, rt.name)
    primary = rt.key("realtime-primaryKey", 32)
    secondary = rt.key("realtime-secondaryKey", 32)
    return {
        "primaryKey": primary,
        "secondaryKey": secondary,
        "primaryConnectionString": f"Endpoint=https://{host};AccessKey={primary};Version=1.0;",
        "secondaryConnectionString": f"Endpoint=https://{host};AccessKey={secondary};Version=1.0;",
    }


BEHAVIORS = [
    Behavior(
        resource_type,
        apply=_apply_service,
        read_only=frozenset(
            {"sku.tier", "sku.size"}
            | {
                f"properties.{name}"
                for name in (
                    "hostName",
                    "hostNamePrefix",
                    "externalIP",
                    "publicPort",
                    "serverPort",
                    "version",
                )
            }
        ),
        defaulted=frozenset({"kind"}),
        actions={"listkeys": _list_keys},
    )
    for resource_type in (WEB_PUBSUB, SIGNALR)
]
