"""What a resource provider adds to a resource it creates: the local ARM's per-type behaviors.

When the local ARM writes a resource, it stores *what the template asked for + what the
service adds at runtime* — the body a real GET would return — so that ``reference()``,
``list*()`` and outputs work (``reference(sa).primaryEndpoints.blob``) and what-if sees the
same read-only "noise" real ARM sees::

    stored = apply_runtime_properties(desired, previous, ctx)    # on every PUT
    read_only_paths(stored["type"])    # paths the service owns: what-if marks them NoEffect
    defaulted_paths(stored["type"])    # paths the service fills in when a PUT leaves them out
    write_only_paths(stored["type"])   # paths a GET never returns (secret values)
    invoke_action(stored, "listKeys", body, ctx)                  # POST actions, or None
    implicit_children(stored, ctx)     # resources the service creates alongside

Runtime values are deterministic functions of the resource id (GUIDs, keys, addresses), so
deploying again yields the same values; creation times are kept from ``previous``. Every
resource gets ``properties.provisioningState: "Succeeded"``; a resource whose ``identity``
asks for a system-assigned or user-assigned identity gets its principal (and client) ids.
Unknown types get nothing else.

Modelled types (from the Azure REST API reference's GET responses): storage accounts and
blob containers, App Service plans, web apps and slots, Container Apps environments and
container apps, Key Vault vaults/secrets/keys, user-assigned identities, Log Analytics
workspaces, Application Insights components, every Microsoft.Network type (etag, inline
sub-resource ids) with virtual networks, public IPs, NSGs, NICs, load balancers, application
gateways and private endpoints in detail, SQL servers and databases, Cosmos DB accounts,
Redis caches, container registries, Service Bus and Event Hubs namespaces and authorization
rules, Event Grid topics and domains, Web PubSub and SignalR services, DevTest Labs labs,
role assignments, and the endpoints and host names of the services in ``endpoints``
(Cognitive Services, AI Search, App Configuration, API Management, MySQL and PostgreSQL
flexible servers, AKS, static web apps, Communication Services, Digital Twins, Dev Center,
Databricks), and the write-only administrator password of virtual machines (``compute``).

Some properties a template may set are always in a GET because the service fills them in
when a PUT leaves them out (a storage account's ``kind``, a SQL database's ``sku``): those
are the *defaulted* paths. They are not read-only — a template that sets them owns them —
but a what-if should not call them deleted when the template is silent about them.

**The one deliberate departure from Azure's shape — web apps.** HTTP probes in demos and
tests make real network calls, so a web app must have an address the local ARM answers.
When ``ServiceContext.sites_base`` is set (``127.0.0.1:8443/sites``), a site's
``defaultHostName``, ``hostNames`` and ``enabledHostNames`` are
``{sites_base}/{subscriptionId}/{resourceGroup}/{siteName}`` (a slot's add
``/slots/{slot}``) instead of ``{siteName}.azurewebsites.net``. The usual template idiom
``format('https://{0}', reference(site).defaultHostName)`` then yields
``https://127.0.0.1:8443/sites/{sub}/{rg}/{site}``, which the local ARM serves;
:func:`parse_site_address` maps a request back to the site. Because of this, the path
segment ``slots`` right after a site's name addresses a slot, never the site itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from . import (
    authorization,
    compute,
    container_apps,
    containers,
    databases,
    devtestlab,
    endpoints,
    identity,
    keyvault,
    management,
    messaging,
    monitoring,
    network,
    realtime,
    storage,
    web,
)
from .model import (
    Behavior,
    Runtime,
    ServiceContext,
    path_matches,
    properties_of,
    remove_path,
    render_path,
)
from .web import SiteAddress, parse_site_address, site_host

__all__ = [
    "COMMON_READ_ONLY",
    "Behavior",
    "ServiceContext",
    "SiteAddress",
    "apply_runtime_properties",
    "behavior_for",
    "defaulted_paths",
    "implicit_children",
    "invoke_action",
    "is_read_only_path",
    "parse_site_address",
    "read_only_paths",
    "render_path",
    "site_host",
    "supported_types",
    "write_only_paths",
]

# Paths every resource provider owns.
COMMON_READ_ONLY = frozenset({"properties.provisioningState"}) | identity.IDENTITY_READ_ONLY

_DEFAULT = Behavior("*")


def _registry() -> dict[str, Behavior]:
    registry: dict[str, Behavior] = {}
    for module in (
        storage,
        web,
        keyvault,
        identity,
        monitoring,
        network,
        databases,
        containers,
        messaging,
        authorization,
        container_apps,
        realtime,
        devtestlab,
        management,
        endpoints,
        compute,
    ):
        for behavior in module.BEHAVIORS:
            key = behavior.resource_type.lower()
            if key in registry:
                raise RuntimeError(f"Two behaviors for the resource type '{key}'.")
            registry[key] = behavior
    return registry


_BEHAVIORS = _registry()


def supported_types() -> list[str]:
    """The resource types with a behavior of their own (``Namespace/*`` covers a namespace)."""
    return sorted(behavior.resource_type for behavior in _BEHAVIORS.values())


def behavior_for(resource_type: str) -> Behavior:
    """The behavior of ``resource_type`` (case-insensitive): its own, its namespace's, or the
    default (``provisioningState`` only)."""
    key = resource_type.lower()
    found = _BEHAVIORS.get(key) or _BEHAVIORS.get(key.split("/", 1)[0] + "/*")
    return found or _DEFAULT


def apply_runtime_properties(
    resource: Mapping[str, Any], previous: Mapping[str, Any] | None, ctx: ServiceContext
) -> dict[str, Any]:
    """The body to store for ``resource`` (``id``, ``type``, ``name``, ``location``,
    ``properties``… as PUT): a copy with the service's runtime properties added, write-only
    values removed, and the runtime values of ``previous`` (creation times) kept."""
    body = copy.deepcopy(dict(resource))
    behavior = behavior_for(str(body.get("type") or ""))
    rt = Runtime.of(body, ctx, previous)
    for path in behavior.write_only:
        remove_path(body, path)
    properties_of(body)["provisioningState"] = "Succeeded"
    if behavior.apply is not None:
        behavior.apply(body, rt)
    identity.fill_identity(body, rt)
    return body


def read_only_paths(resource_type: str) -> set[str]:
    """Path patterns the service owns for ``resource_type``: a dotted path covers its whole
    subtree, ``*`` stands for one object key and ``[*]`` for one array index
    (``properties.*[*].id``, ``identity.userAssignedIdentities.*.principalId``)."""
    return set(COMMON_READ_ONLY | behavior_for(resource_type).read_only)


def is_read_only_path(resource_type: str, path: str | Sequence[str | int]) -> bool:
    """Whether the property at ``path`` (``"properties.subnets[0].id"`` or
    ``["properties", "subnets", 0, "id"]``) of a ``resource_type`` is the service's.

    Pass a sequence when object keys may contain dots (user-assigned identity ids do)."""
    return path_matches(read_only_paths(resource_type), path)


def defaulted_paths(resource_type: str) -> set[str]:
    """Dotted paths a template may set for ``resource_type`` and the service fills in when the
    PUT leaves them out (``kind``, ``sku``, ``properties.capabilities``…): a resource stored
    without the template setting them has the service's value there. Each covers its
    subtree."""
    return set(behavior_for(resource_type).defaulted)


def write_only_paths(resource_type: str) -> set[str]:
    """Paths a GET never returns for ``resource_type`` (so they are never stored). What-if
    compares the template with the GET, as Azure's does, so a value written there is a
    ``Create`` on every redeploy; what-if answers mask it (``secure_answers``)."""
    return set(behavior_for(resource_type).write_only)


def invoke_action(
    resource: Mapping[str, Any], action: str, body: Any, ctx: ServiceContext
) -> Any | None:
    """The answer of POST ``{resource id}/{action}`` (``listKeys``, ``listAccountSas``,
    ``listCredentials``, ``listConnectionStrings`` …; case-insensitive) on the stored
    ``resource``; ``None`` when its type has no such action."""
    behavior = behavior_for(str(resource.get("type") or ""))
    handler = behavior.actions.get(action.lower())
    if handler is None:
        return None
    return handler(resource, body, Runtime.of(resource, ctx))


def implicit_children(resource: Mapping[str, Any], ctx: ServiceContext) -> list[dict[str, Any]]:
    """Resources the service creates together with ``resource`` (a Service Bus namespace's
    ``RootManageSharedAccessKey`` rule), each ready to store."""
    behavior = behavior_for(str(resource.get("type") or ""))
    if behavior.children is None:
        return []
    children = behavior.children(resource, Runtime.of(resource, ctx))
    return [apply_runtime_properties(child, None, ctx) for child in children]
