"""Microsoft.Web: App Service plans, web apps (and function apps) and their slots.

Web apps are the one deliberate departure from Azure's shape: when the local ARM serves web
apps (``ServiceContext.sites_base`` set), a site's host name is
``{sites_base}/{subscription}/{resourceGroup}/{site}`` (a slot's adds ``/slots/{slot}``), so
``format('https://{0}', reference(site).defaultHostName)`` is a URL the local ARM answers.
:func:`parse_site_address` maps such a URL back to the site.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import regions, values
from .model import Behavior, Runtime, ServiceContext, properties_of, set_default

SITES = "Microsoft.Web/sites"
SLOTS = "Microsoft.Web/sites/slots"
SERVER_FARMS = "Microsoft.Web/serverfarms"

# App Service plan SKU → (tier, maximum number of workers): keyed by (letters, suffix) of
# names like "S1", "P1v3", "EP1", "Y1", "I1v2".
_PLAN_TIERS: dict[tuple[str, str], tuple[str, int]] = {
    ("F", ""): ("Free", 1),
    ("D", ""): ("Shared", 1),
    ("B", ""): ("Basic", 3),
    ("S", ""): ("Standard", 10),
    ("P", ""): ("Premium", 20),
    ("P", "v2"): ("PremiumV2", 30),
    ("P", "v3"): ("PremiumV3", 30),
    ("P", "mv3"): ("PremiumMV3", 30),
    ("P", "v4"): ("PremiumV4", 30),
    ("I", ""): ("Isolated", 100),
    ("I", "v2"): ("IsolatedV2", 100),
    ("Y", ""): ("Dynamic", 200),
    ("EP", ""): ("ElasticPremium", 100),
    ("WS", ""): ("WorkflowStandard", 20),
    ("FC", ""): ("FlexConsumption", 1000),
}


def plan_sku(name: str) -> dict[str, Any]:
    """``"P1v3"`` → ``{"tier": "PremiumV3", "size": "P1v3", "family": "Pv3"}`` (what the
    service fills in beside the name); unknown names give only ``size``."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)([A-Za-z0-9]*)", name)
    result: dict[str, Any] = {"size": name}
    if match:
        letters, _, suffix = match.groups()
        result["family"] = letters + suffix
        tier = _PLAN_TIERS.get((letters.upper(), suffix.lower()))
        if tier:
            result["tier"] = tier[0]
    return result


def _max_workers(sku: Mapping[str, Any]) -> int:
    match = re.fullmatch(r"([A-Za-z]+)(\d+)([A-Za-z0-9]*)", str(sku.get("name") or ""))
    if match:
        tier = _PLAN_TIERS.get((match.group(1).upper(), match.group(3).lower()))
        if tier:
            return tier[1]
    return 10


def _apply_plan(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    sku = body.get("sku")
    if isinstance(sku, dict) and isinstance(sku.get("name"), str):
        for key, value in plan_sku(sku["name"]).items():
            sku.setdefault(key, value)
    sku = sku if isinstance(sku, Mapping) else {}
    props["status"] = "Ready"
    props["geoRegion"] = regions.display_name(rt.location)
    capacity = sku.get("capacity")
    props["numberOfWorkers"] = capacity if isinstance(capacity, int) else 1
    props["maximumNumberOfWorkers"] = _max_workers(sku)


def site_host(resource: Mapping[str, Any], ctx: ServiceContext) -> str | None:
    """The default host name of a web app or slot (see the module docstring); ``None`` for
    other resource types."""
    resource_type = str(resource.get("type") or "").lower()
    if resource_type not in (SITES.lower(), SLOTS.lower()):
        return None
    rt = Runtime.of(resource, ctx)
    return _host(rt)


def _host(rt: Runtime) -> str:
    site = rt.names[0] if rt.names else rt.name
    slot = rt.names[1] if len(rt.names) > 1 else None
    base = rt.ctx.sites_base.rstrip("/")
    if not base:
        label = f"{site}-{slot}" if slot else site
        return f"{label.lower()}.azurewebsites.net"
    host = f"{base}/{rt.subscription_id}/{rt.resource_group}/{site}"
    return f"{host}/slots/{slot}" if slot else host


def _outbound_ips(rt: Runtime, props: Mapping[str, Any], count: int) -> str:
    # Apps on one plan share their outbound addresses, as apps on one App Service stamp do.
    farm = props.get("serverFarmId")
    key = farm if isinstance(farm, str) and farm else rt.resource_id
    return ",".join(values.documentation_ips("outboundIpAddresses", key, count, block=0))


def custom_domain_verification_id(subscription_id: str) -> str:
    """The id a subscription proves domain ownership with (64 upper-case hex digits): one per
    subscription, shared by its web apps and container apps."""
    return values.stable_hex("customDomainVerificationId", subscription_id, 64).upper()


def _apply_site(body: dict[str, Any], rt: Runtime) -> None:
    set_default(body, "kind", "app")  # a web app, unless the template says otherwise
    props = properties_of(body)
    host = _host(rt)
    props["defaultHostName"] = host
    props["hostNames"] = [host]
    props["enabledHostNames"] = [host]
    props["state"] = "Running"
    props["usageState"] = "Normal"
    props["availabilityState"] = "Normal"
    props["repositorySiteName"] = rt.names[0] if rt.names else rt.name
    props["resourceGroup"] = rt.resource_group
    props["lastModifiedTimeUtc"] = rt.now_iso
    props["outboundIpAddresses"] = _outbound_ips(rt, props, 4)
    props["possibleOutboundIpAddresses"] = _outbound_ips(rt, props, 8)
    props["customDomainVerificationId"] = custom_domain_verification_id(rt.subscription_id)


_SITE_READ_ONLY = frozenset(
    f"properties.{name}"
    for name in (
        "defaultHostName",
        "hostNames",
        "enabledHostNames",
        "state",
        "usageState",
        "availabilityState",
        "repositorySiteName",
        "resourceGroup",
        "lastModifiedTimeUtc",
        "outboundIpAddresses",
        "possibleOutboundIpAddresses",
        "customDomainVerificationId",
    )
)


@dataclass(frozen=True)
class SiteAddress:
    """A request to a web app served by the local ARM, taken apart."""

    subscription_id: str
    resource_group: str
    site: str
    slot: str | None
    path: str  # the rest of the request path, starting with "/"

    @property
    def resource_id(self) -> str:
        site_id = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{SITES}/{self.site}"
        )
        return f"{site_id}/slots/{self.slot}" if self.slot else site_id


def parse_site_address(url_or_path: str, ctx: ServiceContext) -> SiteAddress | None:
    """The web app a URL (``https://127.0.0.1:8443/sites/{sub}/{rg}/{site}/health``) or a
    request path (``/sites/{sub}/{rg}/{site}/health``) addresses; ``None`` when it is not
    under ``ctx.sites_base``. ``/slots/{slot}`` right after the site name selects a slot."""
    base_path = urlsplit(f"//{ctx.sites_base}").path.rstrip("/") if ctx.sites_base else ""
    path = urlsplit(url_or_path).path if "://" in url_or_path else url_or_path.split("?")[0]
    if base_path:
        if path.lower() != base_path.lower() and not path.lower().startswith(
            base_path.lower() + "/"
        ):
            return None
        path = path[len(base_path) :]
    segments = path.split("/")[1:]  # path starts with "/"
    if len(segments) < 3 or not all(segments[:3]):
        return None
    subscription_id, resource_group, site, *rest = segments
    slot = None
    if len(rest) >= 2 and rest[0].lower() == "slots" and rest[1]:
        slot, rest = rest[1], rest[2:]
    return SiteAddress(subscription_id, resource_group, site, slot, "/" + "/".join(rest))


BEHAVIORS = [
    Behavior(
        SERVER_FARMS,
        apply=_apply_plan,
        read_only=frozenset(
            {
                "sku.tier",
                "sku.size",
                "sku.family",
                "properties.status",
                "properties.geoRegion",
                "properties.numberOfWorkers",
                "properties.maximumNumberOfWorkers",
            }
        ),
    ),
    Behavior(SITES, apply=_apply_site, read_only=_SITE_READ_ONLY, defaulted=frozenset({"kind"})),
    Behavior(SLOTS, apply=_apply_site, read_only=_SITE_READ_ONLY, defaulted=frozenset({"kind"})),
]
