"""Microsoft.Network: what the network provider adds to every resource it owns (an ``etag``,
ids and states of the sub-resources declared inline, such as a virtual network's subnets),
plus resource GUIDs and public IP addresses."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import regions, values
from .model import Apply, Behavior, Runtime, properties_of, set_default

NAMESPACE = "Microsoft.Network"

# Sub-resources declared inline (``properties.subnets[0]``…) and the top-level etag.
NETWORK_READ_ONLY = frozenset(
    {
        "etag",
        "properties.*[*].id",
        "properties.*[*].etag",
        "properties.*[*].type",
        "properties.*[*].properties.provisioningState",
    }
)


def _etag(body: dict[str, Any], rt: Runtime) -> str:
    # The network provider issues a new etag whenever the resource changes.
    content = json.dumps(body, sort_keys=True, default=str)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    return f'W/"{values.stable_guid("etag", f"{rt.resource_id}#{digest}")}"'


def _apply_network(body: dict[str, Any], rt: Runtime) -> None:
    """Every network resource: an etag; every inline sub-resource (a list item with a
    ``name``): its id ``{resource id}/{collection}/{name}``, type, etag and state."""
    etag = _etag(body, rt)
    body["etag"] = etag
    props = properties_of(body)
    for collection, items in props.items():
        if not isinstance(items, list) or not items:
            continue
        if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in items):
            continue
        for item in items:
            item["id"] = f"{rt.resource_id}/{collection}/{item['name']}"
            item["type"] = f"{rt.resource_type}/{collection}"
            item["etag"] = etag
            properties_of(item)["provisioningState"] = "Succeeded"


def _then_network(extra: Apply) -> Apply:
    """``extra``, then the behavior of every network resource."""

    def apply(body: dict[str, Any], rt: Runtime) -> None:
        extra(body, rt)
        _apply_network(body, rt)

    return apply


def _with_guid(extra: Apply | None = None) -> Apply:
    """The network behavior plus ``properties.resourceGuid`` (and ``extra``)."""

    def apply(body: dict[str, Any], rt: Runtime) -> None:
        if extra is not None:
            extra(body, rt)
        properties_of(body)["resourceGuid"] = rt.guid("resourceGuid")
        _apply_network(body, rt)

    return apply


def _apply_public_ip(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    sku = body.get("sku")
    standard = isinstance(sku, dict) and str(sku.get("name") or "").lower() == "standard"
    static = str(props.get("publicIPAllocationMethod") or "").lower() == "static"
    # A dynamic address of the basic SKU is assigned only once something uses it.
    if static or standard:
        props["ipAddress"] = values.documentation_ips("ipAddress", rt.resource_id)[0]
    dns = props.get("dnsSettings")
    if isinstance(dns, dict) and isinstance(dns.get("domainNameLabel"), str):
        region = regions.normalize(rt.location)
        dns["fqdn"] = f"{dns['domainNameLabel']}.{region}.cloudapp.azure.com"


def _apply_private_endpoint(body: dict[str, Any], rt: Runtime) -> None:
    """The network interface the service creates for the endpoint (named
    ``customNetworkInterfaceName``, else ``{endpoint}.nic.{guid}``, in the endpoint's group),
    and the custom DNS configurations unless the template gives them — none here: the local
    ARM does not allocate the private addresses they would list."""
    props = properties_of(body)
    nic = props.get("customNetworkInterfaceName")
    if not isinstance(nic, str) or not nic:
        nic = f"{rt.name}.nic.{rt.guid('networkInterface')}"
    group = f"/subscriptions/{rt.subscription_id}/resourceGroups/{rt.resource_group}"
    props["networkInterfaces"] = [{"id": f"{group}/providers/{NAMESPACE}/networkInterfaces/{nic}"}]
    set_default(props, "customDnsConfigs", [])


def _typed(resource_type: str, apply: Apply, read_only: frozenset[str] = frozenset()) -> Behavior:
    return Behavior(
        f"{NAMESPACE}/{resource_type}",
        apply=apply,
        read_only=NETWORK_READ_ONLY | {"properties.resourceGuid"} | read_only,
    )


_GUID_TYPES = (
    "virtualNetworks",
    "networkSecurityGroups",
    "networkInterfaces",
    "loadBalancers",
    "applicationGateways",
)

BEHAVIORS = [
    # Any other Microsoft.Network type.
    Behavior(f"{NAMESPACE}/*", apply=_apply_network, read_only=NETWORK_READ_ONLY),
    *(_typed(name, _with_guid()) for name in _GUID_TYPES),
    _typed(
        "publicIPAddresses",
        _with_guid(_apply_public_ip),
        frozenset({"properties.ipAddress", "properties.dnsSettings.fqdn"}),
    ),
    Behavior(
        f"{NAMESPACE}/privateEndpoints",
        apply=_then_network(_apply_private_endpoint),
        read_only=NETWORK_READ_ONLY | {"properties.networkInterfaces"},
        defaulted=frozenset({"properties.customDnsConfigs"}),
    ),
]
