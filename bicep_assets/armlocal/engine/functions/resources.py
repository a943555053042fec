"""Resource functions: the resourceId family, reference(), list*(), pickZones()."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import ExpressionError
from ..resource_ids import build_resource_id, parse_resource_id
from .registry import arm_function, expect_str

if TYPE_CHECKING:
    from ..evaluator import EvalContext

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _strings(fn: str, args: tuple[Any, ...]) -> list[str]:
    return [expect_str(fn, a, i) for i, a in enumerate(args)]


def _type_position(fn: str, args: list[str]) -> int:
    for i, arg in enumerate(args):
        if "/" in arg and "." in arg.split("/", 1)[0]:
            return i
    raise ExpressionError(
        f"The template language function '{fn}' expects a resource type such as "
        "'Microsoft.Storage/storageAccounts' among its parameters."
    )


@arm_function("resourceId", min_args=2, max_args=None)
def resource_id(ctx: EvalContext, *raw: Any) -> str:
    args = _strings("resourceId", raw)
    pos = _type_position("resourceId", args)
    dep = ctx.scope.deployment
    if pos > 2:
        raise ExpressionError(
            "The template language function 'resourceId' expects at most a subscription id "
            "and a resource group name before the resource type."
        )
    sub, group = dep.subscription_id, dep.resource_group.name if dep.resource_group else None
    if pos == 2:
        sub, group = args[0], args[1]
    elif pos == 1:
        if _GUID.match(args[0]) and dep.resource_group is None:
            sub, group = args[0], None
        else:
            group = args[0]
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{group}" if group else "")
    return build_resource_id(scope, args[pos], args[pos + 1 :])


@arm_function("subscriptionResourceId", min_args=2, max_args=None)
def subscription_resource_id(ctx: EvalContext, *raw: Any) -> str:
    args = _strings("subscriptionResourceId", raw)
    pos = _type_position("subscriptionResourceId", args)
    if pos > 1:
        raise ExpressionError(
            "The template language function 'subscriptionResourceId' expects at most a "
            "subscription id before the resource type."
        )
    sub = args[0] if pos == 1 else ctx.scope.deployment.subscription_id
    return build_resource_id(f"/subscriptions/{sub}", args[pos], args[pos + 1 :])


@arm_function("tenantResourceId", min_args=2, max_args=None)
def tenant_resource_id(ctx: EvalContext, *raw: Any) -> str:
    args = _strings("tenantResourceId", raw)
    return build_resource_id("", args[0], args[1:])


@arm_function("managementGroupResourceId", min_args=2, max_args=None)
def management_group_resource_id(ctx: EvalContext, *raw: Any) -> str:
    args = _strings("managementGroupResourceId", raw)
    pos = _type_position("managementGroupResourceId", args)
    group = args[0] if pos == 1 else ctx.scope.deployment.tenant_id
    scope = f"/providers/Microsoft.Management/managementGroups/{group}"
    return build_resource_id(scope, args[pos], args[pos + 1 :])


@arm_function("extensionResourceId", min_args=3, max_args=None)
def extension_resource_id(ctx: EvalContext, *raw: Any) -> str:
    args = _strings("extensionResourceId", raw)
    return build_resource_id(args[0], args[1], args[2:])


@arm_function("reference", min_args=1, max_args=3)
def reference(ctx: EvalContext, target: Any, *rest: Any) -> Any:
    target = expect_str("reference", target, 0)
    api_version = expect_str("reference", rest[0], 1) if rest else None
    full = len(rest) > 1 and str(rest[1]).lower() == "full"
    resolver = ctx.scope.resources
    if resolver is None:
        raise ExpressionError("The template function 'reference' is not expected at this location.")
    return resolver.reference(ctx, target, api_version, full)


@arm_function("pickZones", min_args=3, max_args=5)
def pick_zones(
    ctx: EvalContext, namespace: Any, resource_type: Any, location: Any, *rest: Any
) -> list[str]:
    expect_str("pickZones", namespace, 0)
    expect_str("pickZones", resource_type, 1)
    expect_str("pickZones", location, 2)
    count = rest[0] if rest else 1
    offset = rest[1] if len(rest) > 1 else 0
    zones = ["1", "2", "3"]  # the local ARM treats every location as zone-redundant
    return zones[offset : offset + count]


def resource_name_from_id(resource_id: str) -> str:
    return parse_resource_id(resource_id).name
