"""What the environment's scope means for the steps: the template schema each scope needs
(lint), the subscription-scope what-if of a resource group that does not exist yet (plan),
and where ARM may be asked for a management group first.

The four schemas are ARM's deployment template schemas, one per scope (Microsoft's "Resource
group / Subscription / Management group / Tenant deployments with ARM templates" pages);
Bicep's ``targetScope`` compiles to the same four.
"""

from __future__ import annotations

from typing import Any

from ..armlocal.engine.scopes import schema_level
from ..environments import Scope, ScopeKind
from ..models import Diagnostic

SCHEMA_BASE = "https://schema.management.azure.com/schemas/"
SCHEMAS: dict[ScopeKind, str] = {
    "resourceGroup": f"{SCHEMA_BASE}2019-04-01/deploymentTemplate.json#",
    "subscription": f"{SCHEMA_BASE}2018-05-01/subscriptionDeploymentTemplate.json#",
    "managementGroup": f"{SCHEMA_BASE}2019-08-01/managementGroupDeploymentTemplate.json#",
    "tenant": f"{SCHEMA_BASE}2019-08-01/tenantDeploymentTemplate.json#",
}
SCOPE_NAMES: dict[ScopeKind, str] = {
    "resourceGroup": "resource group",
    "subscription": "subscription",
    "managementGroup": "management group",
    "tenant": "tenant",
}
BICEP_TARGET_SCOPES: dict[ScopeKind, str] = {
    "resourceGroup": "resourceGroup",
    "subscription": "subscription",
    "managementGroup": "managementGroup",
    "tenant": "tenant",
}
GROUP_API_VERSION = "2022-09-01"  # Microsoft.Resources/resourceGroups and deployments


def schema_diagnostics(
    template: dict[str, Any], scope: Scope, *, source: str, is_bicep: bool
) -> list[Diagnostic]:
    """An ``arm-schema-scope`` error when the template's ``$schema`` is another scope's than
    the manifest's ``scope:`` (a template naming no known schema is left to the others)."""
    level = schema_level(template)
    if level is None or level == scope.kind:
        return []
    have, need = SCOPE_NAMES[level], SCOPE_NAMES[scope.kind]  # type: ignore[index]
    fix = (
        f"set targetScope = '{BICEP_TARGET_SCOPES[scope.kind]}' in the Bicep file"
        if is_bicep
        else f"use $schema {SCHEMAS[scope.kind]}"
    )
    return [
        Diagnostic(
            severity="error",
            code="arm-schema-scope",
            message=(
                f"The template's $schema {template.get('$schema')} is for {have} deployments, "
                f"but the manifest's scope is a {need} ({scope.describe()}): {fix}, or change "
                f"scope: in the manifest to a {have}."
            ),
            location=f"{source}:$schema",
        )
    ]


def new_group_template(
    scope: Scope,
    *,
    template: dict[str, Any],
    parameters: dict[str, Any],
    mode: str,
    tags: dict[str, str],
    nested_name: str,
) -> dict[str, Any]:
    """A subscription-scope template that creates the resource group (as deploy will: its
    location and the manifest's tags) and deploys ``template`` into it (a nested deployment
    with ``resourceGroup`` set, evaluated in its own scope): what-if of it answers, through
    ARM, what deploying into a group that does not exist yet would do.

    The deployment's ``parameters`` are given to this template, not written into it: each
    one the inner template declares with a plain type is declared here with the same type
    (secure ones stay secure, Key Vault references stay references, resolved by ARM) and
    handed to the nested deployment as ``[parameters('NAME')]``. See ``new_group_parameters``.
    """
    group: dict[str, Any] = {
        "type": "Microsoft.Resources/resourceGroups",
        "apiVersion": GROUP_API_VERSION,
        "name": scope.group,
        "location": scope.location,
    }
    if tags:
        group["tags"] = dict(tags)
    passed, inline = _split_parameters(template, parameters)
    nested_parameters = {
        **inline,
        **{name: {"value": f"[parameters('{name}')]"} for name in passed},
    }
    return {
        "$schema": SCHEMAS["subscription"],
        "contentVersion": "1.0.0.0",
        "parameters": passed,
        "resources": [
            group,
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": GROUP_API_VERSION,
                "name": nested_name,
                "resourceGroup": scope.group,
                "dependsOn": [
                    f"[subscriptionResourceId('Microsoft.Resources/resourceGroups', "
                    f"'{scope.group}')]"
                ],
                "properties": {
                    "mode": mode,
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "template": template,
                    "parameters": nested_parameters,
                },
            },
        ],
    }


def new_group_parameters(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters of ``new_group_template``'s deployment: those it declares."""
    passed, _inline = _split_parameters(template, parameters)
    return {name: parameters[name] for name in passed}


def _split_parameters(
    template: dict[str, Any], parameters: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(declarations passed through the outer template, entries written inline): a parameter
    whose declaration has a plain ``type`` is passed through; one typed otherwise (a
    user-defined ``$ref`` type) is written into the nested deployment as given."""
    declared = template.get("parameters") if isinstance(template.get("parameters"), dict) else {}
    by_lower = {str(k).lower(): v for k, v in (declared or {}).items()}
    passed: dict[str, Any] = {}
    inline: dict[str, Any] = {}
    for name, entry in parameters.items():
        declaration = by_lower.get(name.lower())
        kind = declaration.get("type") if isinstance(declaration, dict) else None
        if isinstance(kind, str) and not kind.startswith("["):
            passed[name] = {"type": kind}
        else:
            inline[name] = entry
    return passed, inline
