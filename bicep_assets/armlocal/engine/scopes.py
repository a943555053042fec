"""Deployment scopes: which template schema fits which scope, and the context of a nested
deployment that targets another scope.

ARM deploys at four levels — tenant, management group, subscription, resource group — and
each has its own template schema (Microsoft's "Resource group / Subscription / Management
group / Tenant deployments with ARM templates" pages):

- resource group: ``deploymentTemplate.json`` (2014-04-01-preview, 2015-01-01, 2019-04-01)
- subscription: ``subscriptionDeploymentTemplate.json`` (2018-05-01)
- management group: ``managementGroupDeploymentTemplate.json`` (2019-08-01)
- tenant: ``tenantDeploymentTemplate.json`` (2019-08-01)

A deployment whose template's schema names another level's file is refused with ARM's
``InvalidTemplate`` "Template schema '…' is not supported. Supported versions are '…'". A
schema that names no known file (or none at all) is accepted, and nested templates are not
checked: Bicep writes ``deploymentTemplate.json`` into nested templates at any level.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .context import (
    MANAGEMENT_GROUP_PREFIX,
    DeploymentContext,
    ManagementGroup,
    ResourceGroup,
    ScopeLevel,
)
from .errors import ExpressionError, TemplateError
from .resource_ids import split_scope_id
from .template import SCHEMAS

SUPPORTED_VERSIONS: dict[ScopeLevel, str] = {
    "resourceGroup": "2014-04-01-preview,2015-01-01,2019-04-01",
    "subscription": "2018-05-01",
    "managementGroup": "2019-08-01",
    "tenant": "2019-08-01",
}
LEVEL_NAMES: dict[ScopeLevel, str] = {
    "resourceGroup": "resource group",
    "subscription": "subscription",
    "managementGroup": "management group",
    "tenant": "tenant",
}
_MG_SCOPE = re.compile(
    r"^/?providers/Microsoft\.Management/managementGroups/([^/]+)/?$", re.IGNORECASE
)
_RELATIVE_MG_SCOPE = re.compile(r"^Microsoft\.Management/managementGroups/([^/]+)/?$", re.I)


def schema_level(template: dict[str, Any]) -> ScopeLevel | None:
    """The level a template's ``$schema`` is for, or None when it names no known schema."""
    schema = template.get("$schema")
    if not isinstance(schema, str):
        return None
    return SCHEMAS.get(schema.strip().rstrip("#").rsplit("/", 1)[-1].lower())  # type: ignore[return-value]


def context_for_level(
    context: DeploymentContext,
    level: str,
    *,
    location: str = "westeurope",
    management_group: str = "management-group",
) -> DeploymentContext:
    """``context`` moved to ``level`` (e.g. the level a template's schema names), for
    expanding a template offline: a deployment location above resource groups, and a
    management group of that name at management group level."""
    if level == "resourceGroup":
        return context
    changes: dict[str, Any] = {"resource_group": None, "location": context.location or location}
    if level == "managementGroup":
        changes["management_group"] = ManagementGroup(management_group)
    elif level == "tenant":
        changes["at_tenant"] = True
    return replace(context, **changes)


def check_schema(template: dict[str, Any], context: DeploymentContext) -> None:
    """Refuse a template written for another deployment level than ``context``'s."""
    level = schema_level(template)
    if level is None or level == context.level:
        return
    raise TemplateError(
        f"Deployment template validation failed: 'Template schema '{template['$schema']}' is "
        f"not supported. Supported versions are '{SUPPORTED_VERSIONS[context.level]}'. Please "
        "see https://aka.ms/arm-template for usage details.'.",
        code="InvalidTemplate",
    )


def management_group_scope(scope: str) -> str | None:
    """The management group name of a scope id (``/providers/Microsoft.Management/
    managementGroups/{name}``), else None."""
    found = _MG_SCOPE.match(scope.strip())
    return found.group(1) if found else None


def absolute_scope(value: str) -> str | None:
    """A ``scope`` value that names a management group without a leading ``/`` (as Bicep
    writes a module's scope: ``Microsoft.Management/managementGroups/x``) is that group's
    id, whatever the current scope: management groups are tenant-level resources."""
    found = _RELATIVE_MG_SCOPE.match(value.strip())
    return f"{MANAGEMENT_GROUP_PREFIX}{found.group(1)}" if found else None


def context_at(
    context: DeploymentContext, scope_id: str, *, location: str | None
) -> DeploymentContext:
    """The context of a deployment into ``scope_id`` (tenant ``""``, a management group, a
    subscription or a resource group) made from within ``context``."""
    subscription, group_name = split_scope_id(scope_id)
    mg_name = management_group_scope(scope_id)
    if mg_name is not None:
        record = context.state.get_resource(f"{MANAGEMENT_GROUP_PREFIX}{mg_name}")
        return replace(
            context,
            resource_group=None,
            management_group=_management_group(context, mg_name, record),
            at_tenant=False,
            location=location,
        )
    if subscription is None:
        if scope_id.strip("/"):
            raise ExpressionError(
                f"The deployment scope '{scope_id}' is not valid: a nested deployment targets "
                "the tenant ('/'), a management group, a subscription or a resource group."
            )
        return replace(
            context, resource_group=None, management_group=None, at_tenant=True, location=location
        )
    group: ResourceGroup | None = None
    if group_name is not None:
        current = context.resource_group
        if (
            current is not None
            and current.name.lower() == group_name.lower()
            and (subscription.lower() == context.subscription_id.lower())
        ):
            group = current
        else:
            group = _group_from_state(context, subscription, group_name, current, location)
    return replace(
        context,
        subscription_id=subscription,
        resource_group=group,
        management_group=None,
        at_tenant=False,
        location=location,
    )


def _group_from_state(
    context: DeploymentContext,
    subscription: str,
    name: str,
    current: ResourceGroup | None,
    location: str | None,
) -> ResourceGroup:
    record = context.state.get_resource(f"/subscriptions/{subscription}/resourceGroups/{name}")
    if record and record.get("location"):
        return ResourceGroup(
            str(record.get("name") or name),
            str(record["location"]),
            dict(record.get("tags") or {}),
            record.get("managedBy"),
        )
    fallback = current.location if current else (location or context.location or "westeurope")
    return ResourceGroup(name=name, location=fallback)


def _management_group(
    context: DeploymentContext, name: str, record: dict[str, Any] | None
) -> ManagementGroup:
    """The group a nested deployment targets, with its parent's display name when the state
    holds the parent (``managementGroup().properties.details.parent``)."""
    group = ManagementGroup.from_record(name, record)
    if group.parent_name is None or group.parent_display_name is not None:
        return group
    parent = context.state.get_resource(f"{MANAGEMENT_GROUP_PREFIX}{group.parent_name}")
    display = ((parent or {}).get("properties") or {}).get("displayName")
    return replace(group, parent_display_name=display) if display else group
