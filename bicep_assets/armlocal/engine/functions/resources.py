"""Resource functions: the resourceId family, reference(), references(), pickZones().

The id functions follow ARM's argument rules: exactly one argument contains a ``/`` and it is
the fully qualified resource type; the arguments before it are the scope (subscription id,
resource group or management group name, as the function allows), those after it are the
resource names, one per type segment (``'vnet/subnet'`` as one name is an error in ARM).
``list*()`` calls are answered by the evaluator and the expansion's resolver.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import ExpressionError
from ..evaluator import Deferred, EvalContext
from ..resource_ids import build_resource_id, parse_resource_id
from .registry import arm_function, expect_int, expect_str

_LEVEL_NAMES = {
    "resourceGroup": "resource group",
    "subscription": "subscription",
    "managementGroup": "management group",
    "tenant": "tenant",
}
_ORDINALS = ("the first argument", "one of first two arguments", "one of first three arguments")


def _usage(fn: str) -> str:
    return f"Please see https://aka.ms/arm-resource-functions/#{fn.lower()} for usage details."


def _id_arguments(fn: str, raw: tuple[Any, ...]) -> tuple[list[str], str, list[str]]:
    """Split id-function arguments into (scope arguments, resource type, names)."""
    args = [expect_str(fn, a, i) for i, a in enumerate(raw)]
    typed = [i for i, a in enumerate(args) if "/" in a]
    if len(typed) != 1:
        raise ExpressionError(
            f"Unable to evaluate template language function '{fn}': function requires "
            "exactly one multi-segmented argument which must be resource type including "
            f"resource provider namespace. Current function arguments '{','.join(args)}'. "
            + _usage(fn)
        )
    pos = typed[0]
    return args[:pos], args[pos], args[pos + 1 :]


def _too_many_scope_arguments(fn: str, resource_type: str, allowed: int, suffix: str = "") -> str:
    return (
        f"Unable to evaluate template language function '{fn}': function requires fully "
        f"qualified resource type '{resource_type}' as {_ORDINALS[allowed]}{suffix}. " + _usage(fn)
    )


@arm_function("resourceId", min_args=2, max_args=None)
def resource_id(ctx: EvalContext, *raw: Any) -> str:
    """``resourceId([subscriptionId], [resourceGroupName], resourceType, name1, ...)``.

    The id's format depends on the deployment's scope (Microsoft's template-functions-resource
    "resourceId"): under the resource group of a resource group deployment, under the
    subscription of a subscription deployment, and ``/providers/{type}/{name}`` at management
    group or tenant scope. At most two scope arguments precede the type: two are a
    subscription id and a resource group name (also at subscription scope, the form templates
    use there for a resource in a resource group); one is the resource group at resource group
    scope and the subscription id elsewhere. A subscription id must be a GUID, as ARM checks.
    """
    leading, resource_type, names = _id_arguments("resourceId", raw)
    dep = ctx.scope.deployment
    level = dep.level
    if len(leading) > 2:
        raise ExpressionError(
            _too_many_scope_arguments(
                "resourceId",
                resource_type,
                2,
                " for resource at resource group scope, or first two arguments for resource "
                "at subscription scope",
            )
        )
    subscription: str | None = dep.subscription_id
    group = dep.resource_group.name if dep.resource_group is not None else None
    if len(leading) == 2:
        subscription, group = leading
        _check_subscription_id(subscription)
    elif len(leading) == 1 and level == "resourceGroup":
        group = leading[0]
    elif len(leading) == 1:
        subscription = leading[0]
        _check_subscription_id(subscription)
    elif level in ("managementGroup", "tenant"):
        subscription = None  # /providers/{type}/{name}
    if subscription is None:
        return build_resource_id("", resource_type, names, function="resourceId")
    scope = f"/subscriptions/{subscription}" + (f"/resourceGroups/{group}" if group else "")
    return build_resource_id(scope, resource_type, names, function="resourceId")


def _check_subscription_id(value: str) -> None:
    """ARM refuses a subscription id argument that is not a GUID (its message)."""
    try:
        uuid.UUID(value)
        valid = len(value) == 36
    except ValueError:
        valid = False
    if not valid:
        raise ExpressionError(
            f"The provided value '{value}' is not valid subscription identifier. Please see "
            "https://aka.ms/arm-template-expressions/#resourceid for usage details."
        )


@arm_function("subscriptionResourceId", min_args=2, max_args=None)
def subscription_resource_id(ctx: EvalContext, *raw: Any) -> str:
    """``subscriptionResourceId([subscriptionId], resourceType, name1, ...)``; at management
    group and tenant scope there is no current subscription, so it must be named."""
    fn = "subscriptionResourceId"
    leading, resource_type, names = _id_arguments(fn, raw)
    if len(leading) > 1:
        raise ExpressionError(_too_many_scope_arguments(fn, resource_type, 1))
    dep = ctx.scope.deployment
    if not leading and dep.level in ("managementGroup", "tenant"):
        raise ExpressionError(
            f"Unable to evaluate template language function '{fn}': there is no current "
            f"subscription at {_LEVEL_NAMES[dep.level]} scope; pass the subscription id as "
            "the first argument. " + _usage(fn)
        )
    subscription = leading[0] if leading else dep.subscription_id
    return build_resource_id(f"/subscriptions/{subscription}", resource_type, names, function=fn)


@arm_function("tenantResourceId", min_args=2, max_args=None)
def tenant_resource_id(ctx: EvalContext, *raw: Any) -> str:
    """``tenantResourceId(resourceType, name1, ...)``: ``/providers/{type}/{name}``."""
    fn = "tenantResourceId"
    leading, resource_type, names = _id_arguments(fn, raw)
    if leading:
        raise ExpressionError(_too_many_scope_arguments(fn, resource_type, 0))
    return build_resource_id("", resource_type, names, function=fn)


@arm_function("managementGroupResourceId", min_args=2, max_args=None)
def management_group_resource_id(ctx: EvalContext, *raw: Any) -> str:
    """``managementGroupResourceId([managementGroupName], resourceType, name1, ...)``: the
    current management group by default, which only a management group deployment has."""
    fn = "managementGroupResourceId"
    leading, resource_type, names = _id_arguments(fn, raw)
    if len(leading) > 1:
        raise ExpressionError(_too_many_scope_arguments(fn, resource_type, 1))
    dep = ctx.scope.deployment
    if leading:
        group = leading[0]
    elif dep.management_group is not None:
        group = dep.management_group.name
    else:
        raise ExpressionError(
            f"Unable to evaluate template language function '{fn}': there is no current "
            f"management group at {_LEVEL_NAMES[dep.level]} scope; pass the management group "
            "name as the first argument. " + _usage(fn)
        )
    scope = f"/providers/Microsoft.Management/managementGroups/{group}"
    return build_resource_id(scope, resource_type, names, function=fn)


@arm_function("extensionResourceId", min_args=3, max_args=None)
def extension_resource_id(ctx: EvalContext, *raw: Any) -> str:
    """``extensionResourceId(baseResourceId, resourceType, name1, ...)``."""
    fn = "extensionResourceId"
    base = expect_str(fn, raw[0], 0)
    if not base.startswith("/"):
        raise ExpressionError(
            f"Unable to evaluate template language function '{fn}': the base resource id "
            f"'{base}' is not a fully qualified resource id (it must start with '/'). " + _usage(fn)
        )
    leading, resource_type, names = _id_arguments(fn, raw[1:])
    if leading:
        raise ExpressionError(
            f"Unable to evaluate template language function '{fn}': function requires "
            f"fully qualified resource type '{resource_type}' as the second argument. " + _usage(fn)
        )
    return build_resource_id(base, resource_type, names, function=fn)


@arm_function("reference", min_args=1, max_args=3)
def reference(ctx: EvalContext, target: Any, *rest: Any) -> Any:
    """``reference(nameOrId, [apiVersion], ['Full'])``: a resource's runtime state.

    Without ``'Full'`` only the ``properties`` object is returned. ``'Full'`` is compared
    ignoring case; any other third argument selects the properties.
    """
    target = expect_str("reference", target, 0)
    api_version = expect_str("reference", rest[0], 1) if rest else None
    full = len(rest) > 1 and expect_str("reference", rest[1], 2).lower() == "full"
    resolver = ctx.scope.resources
    if resolver is None:
        raise ExpressionError(
            "The template function 'reference' is not expected at this location. It can only "
            "be used in the outputs of a template and the properties of a resource."
        )
    return resolver.reference(ctx, target, api_version, full)


@arm_function("references", min_args=1, max_args=2)
def references(ctx: EvalContext, name: Any, *rest: Any) -> Any:
    """``references(symbolicName, ['Full' | 'Properties'])``: a resource collection's states.

    Only in languageVersion 2.0 templates; the members are in copy index order and
    conditionally skipped members are left out.
    """
    name = expect_str("references", name, 0)
    mode = expect_str("references", rest[0], 1).lower() if rest else "properties"
    if mode not in ("full", "properties"):
        raise ExpressionError(
            "The template language function 'references' expects its second parameter to be "
            f"'Full' or 'Properties', not '{rest[0]}'."
        )
    resolver = ctx.scope.resources
    if resolver is None:
        raise ExpressionError(
            "The template function 'references' is not expected at this location."
        )
    if not str(getattr(resolver, "language", "1.0")).startswith("2"):
        raise ExpressionError(
            "The template function 'references' requires a template with languageVersion "
            "'2.0' (symbolic resource names)."
        )
    declared = getattr(resolver, "by_symbol", {})
    if name.lower() not in declared:
        raise ExpressionError(
            f"The template function 'references' expects the symbolic name of a resource "
            f"collection of this template; '{name}' is not one."
        )
    members = [r for r in resolver.find(name) if (r.symbolic_name or "").lower() == name.lower()]
    members.sort(key=lambda r: r.copy_index if r.copy_index is not None else -1)
    values = [resolver.reference(ctx, member.id, None, mode == "full") for member in members]
    for value in values:
        if type(value) is Deferred:
            return value
    return values


# Regions with availability zones (Microsoft's "Azure regions list"; programmatic names).
ZONE_REGIONS = frozenset(
    {
        "australiaeast", "austriaeast", "belgiumcentral", "brazilsouth", "canadacentral",
        "centralindia", "centralus", "chilecentral", "eastasia", "eastus", "eastus2",
        "francecentral", "germanywestcentral", "indonesiacentral", "israelcentral",
        "italynorth", "japaneast", "japanwest", "koreacentral", "malaysiawest",
        "mexicocentral", "newzealandnorth", "northeurope", "norwayeast", "polandcentral",
        "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "spaincentral",
        "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "westeurope", "westus2",
        "westus3",
    }
)  # fmt: skip

# Resource providers / types that are global (not regional), hence never zonal.
_GLOBAL_NAMESPACES = frozenset({"microsoft.cdn"})
_GLOBAL_TYPES = frozenset(
    {
        "microsoft.network/dnszones",
        "microsoft.network/frontdoors",
        "microsoft.network/privatednszones",
        "microsoft.network/trafficmanagerprofiles",
    }
)
_ZONE_COUNT = 3


@arm_function("pickZones", min_args=3, max_args=5)
def pick_zones(
    ctx: EvalContext, namespace: Any, resource_type: Any, location: Any, *rest: Any
) -> list[str]:
    """``pickZones(providerNamespace, resourceType, location, [numberOfZones], [offset])``.

    The local ARM models every regional resource type as zonal in the regions that have
    availability zones, and global types (CDN, DNS, Front Door, Traffic Manager) as not.
    """
    fn = "pickZones"
    namespace = expect_str(fn, namespace, 0)
    resource_type = expect_str(fn, resource_type, 1)
    location = expect_str(fn, location, 2)
    count = expect_int(fn, rest[0], 3) if rest else 1
    offset = expect_int(fn, rest[1], 4) if len(rest) > 1 else 0
    if not 1 <= count <= _ZONE_COUNT:
        raise ExpressionError(
            f"The template language function '{fn}' expects the number of zones to be a "
            f"positive integer from 1 to {_ZONE_COUNT}; got {count}."
        )
    if offset < 0:
        raise ExpressionError(
            f"The template language function '{fn}' expects the offset to be a non-negative "
            f"integer; got {offset}."
        )
    full_type = f"{namespace}/{resource_type}".lower()
    region = location.replace(" ", "").lower()
    if (
        region not in ZONE_REGIONS
        or namespace.lower() in _GLOBAL_NAMESPACES
        or full_type in _GLOBAL_TYPES
    ):
        return []
    if offset + count > _ZONE_COUNT:
        raise ExpressionError(
            f"The template language function '{fn}' cannot pick {count} zone(s) at offset "
            f"{offset}: '{namespace}/{resource_type}' supports {_ZONE_COUNT} zones in "
            f"'{location}'."
        )
    return [str(zone) for zone in range(offset + 1, offset + count + 1)]


@arm_function("providers", min_args=1, max_args=2)
def providers(ctx: EvalContext, namespace: Any, *rest: Any) -> Any:
    """``providers()`` is deprecated in ARM templates; the local ARM keeps no provider registry."""
    namespace = expect_str("providers", namespace, 0)
    raise ExpressionError(
        f"The template function 'providers' (here for '{namespace}') is deprecated and not "
        "supported by the local ARM: it has no resource provider registry. Give the resource "
        "an explicit apiVersion instead."
    )


def resource_name_from_id(resource_id: str) -> str:
    return parse_resource_id(resource_id).name
