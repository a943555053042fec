"""What a deployment is made of and leaves behind: its scope, name rules, the records ARM
returns (parameters and outputs without secure values, providers, dependencies) and the
engine's view of current resources over the store.

Secure values never leave the local ARM: :func:`deployment_mask` knows a deployment's secure
parameter values (its nested deployments' too), and everything recorded or answered about
the deployment passes it — parameters and outputs that carry a secure value are reported
with their type only, like secure ones; error messages, what-if results and validation
answers have each run of a secure value masked (``engine.masking``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..engine import Expansion, SecretMask
from ..engine.parameters import KeyVaultReference, secure_parameter_names
from . import behaviors
from .errors import ArmHttpError
from .host import ServiceHost
from .tags import current_resource, is_tags_resource

NAME_MAX = 64
NAME_PATTERN = re.compile(r"^[-\w\.\(\)]+$")
RUNNING = ("Accepted", "Running")
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"


MANAGEMENT_GROUP_PREFIX = "/providers/Microsoft.Management/managementGroups/"


@dataclass(frozen=True)
class DeploymentScope:
    """Where a deployment lives: a resource group, a subscription, a management group
    (``management_group``) or the tenant (no subscription, no management group)."""

    subscription_id: str | None
    resource_group: str | None = None
    management_group: str | None = None

    @property
    def level(self) -> str:
        if self.management_group is not None:
            return "managementGroup"
        if self.subscription_id is None:
            return "tenant"
        return "resourceGroup" if self.resource_group else "subscription"

    @property
    def id(self) -> str:
        if self.management_group is not None:
            return f"{MANAGEMENT_GROUP_PREFIX}{self.management_group}"
        if self.subscription_id is None:
            return ""
        base = f"/subscriptions/{self.subscription_id}"
        return f"{base}/resourceGroups/{self.resource_group}" if self.resource_group else base

    def deployment_id(self, name: str) -> str:
        return f"{self.id}/providers/{DEPLOYMENT_TYPE}/{name}"

    @classmethod
    def of(cls, scope_id: str) -> DeploymentScope:
        """The scope of a scope id: ``""`` (tenant), a management group's id, a
        subscription's or a resource group's."""
        parts = scope_id.strip().strip("/").split("/")
        if parts == [""]:
            return cls(None)
        if len(parts) == 4 and parts[0].lower() == "providers":
            return cls(None, None, parts[3])
        return cls(parts[1], parts[3] if len(parts) > 3 else None)


class DeploymentFailure(Exception):
    """A resource of the deployment failed; carries the ARM error of that operation."""

    def __init__(self, error: dict[str, Any], *, status: int = 409) -> None:
        super().__init__(error.get("message", ""))
        self.error = error
        self.status = status  # the operation's HTTP status: 400 for a refused request


class DeploymentCanceled(Exception):
    """The deployment was canceled between two resources."""


class StoreState:
    """The engine's view of current resources (``ResourceState``) over the store."""

    def __init__(self, backend: ServiceHost) -> None:
        self.backend = backend

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        # the store also answers resource group and deployment ids (for reference()), and
        # the management groups the Tenant Root Group, which always exists; a scope's tags
        # resource is the scope's own tags
        if is_tags_resource(resource_id):
            return current_resource(self.backend.store, resource_id)
        return self.backend.management_groups.get_resource(resource_id)

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any:
        resource = self.backend.store.get_resource(resource_id)
        if resource is None:
            return None
        return behaviors.invoke_action(resource, action, body, self.backend.service_context())


def local_secret_values(parameters: dict[str, Any]) -> dict[str, Any]:
    """Key Vault references resolved the local ARM's way: it holds no secret values, so a
    reference becomes a placeholder naming the vault and secret (never a real secret)."""
    resolved: dict[str, Any] = {}
    for name, entry in parameters.items():
        reference = entry.get("reference") if isinstance(entry, dict) else None
        if isinstance(reference, dict):
            vault = str((reference.get("keyVault") or {}).get("id", "")).rsplit("/", 1)[-1]
            secret = reference.get("secretName")
            resolved[name] = {"value": f"local-arm-keyvault:{vault}/{secret}"}
        else:
            resolved[name] = entry
    return resolved


def check_deployment_name(name: str) -> None:
    if len(name) > NAME_MAX:
        raise ArmHttpError(
            400,
            "DeploymentNameLengthLimitExceeded",
            f"The provided deployment name '{name}' has a length of '{len(name)}' which exceeds "
            f"the maximum length of '{NAME_MAX}'. Please see https://aka.ms/arm-deploy for "
            "usage details.",
        )
    if not NAME_PATTERN.match(name):
        raise ArmHttpError(
            400,
            "InvalidDeploymentName",
            f"The deployment name '{name}' is invalid: it may contain only letters, digits, "
            "'-', '.', '_', '(' and ')'.",
        )


def deployment_not_found(name: str) -> ArmHttpError:
    return ArmHttpError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")


def deployment_failed(target: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": "DeploymentFailed",
        "target": target,
        "message": "At least one resource deployment operation failed. Please list deployment "
        "operations for details. Please see https://aka.ms/arm-deployment-operations for usage "
        "details.",
        "details": [detail],
    }


_TYPE_NAMES = {
    "string": "String",
    "securestring": "SecureString",
    "int": "Int",
    "bool": "Bool",
    "object": "Object",
    "secureobject": "SecureObject",
    "array": "Array",
}


def secure_values(expansion: Expansion) -> list[str]:
    """The string values of ``expansion``'s secure parameters and of its nested
    deployments' (strings inside secure objects and arrays too)."""
    found: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for name in expansion.secure_parameters:
        collect(expansion.parameters.get(name))
    for resource in expansion.resources:
        if resource.nested is not None:
            found.extend(secure_values(resource.nested))
    return found


def deployment_mask(expansion: Expansion, parent: SecretMask | None = None) -> SecretMask:
    """The mask of a deployment: its secure values and the values computed from them
    (``engine.secret_taint``), and its parent deployment's."""
    mask = parent if parent is not None else SecretMask()
    taint = expansion.secret_taint
    return mask.with_secrets(secure_values(expansion), exact=taint.values if taint else ())


def request_mask(template: Any, parameters: dict[str, Any]) -> SecretMask:
    """The mask of a deployment request that could not be expanded: the supplied values of
    the parameters the template declares secure."""
    if not isinstance(template, dict) or not isinstance(parameters, dict):
        return SecretMask()
    try:
        names = {name.lower() for name in secure_parameter_names(template)}
    except Exception:  # a malformed declaration: the expansion's own error says so
        names = set()
    values: list[str] = []
    for name, entry in parameters.items():
        if name.lower() in names and isinstance(entry, dict):
            value = entry.get("value")
            values.extend(_strings(value))
    return SecretMask(values)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def redacted_parameters(
    expansion: Expansion,
    mask: SecretMask | None = None,
    requested: Any = None,
) -> dict[str, Any]:
    """Parameters as ARM reports them: ``{name: {"type", "value"}}``, secure ones typed only
    — and, stricter than ARM, so is a plain parameter whose value carries a secure value
    (a nested deployment's ``string`` parameter given a parent's secure parameter). A
    parameter the request (``requested``: its ``parameters``) gave as a Key Vault reference
    is reported with that reference, as ARM does."""
    mask = mask if mask is not None else deployment_mask(expansion)
    references = _references(requested)
    result: dict[str, Any] = {}
    for name, value in expansion.parameters.items():
        if name.lower() in references:
            result[name] = {"type": "SecureString", "reference": references[name.lower()]}
        elif name in expansion.secure_parameters:
            result[name] = {"type": "SecureString" if isinstance(value, str) else "SecureObject"}
        elif isinstance(value, KeyVaultReference):
            result[name] = {"type": "SecureString", "reference": value.to_arm()}
        elif mask.carries(value):
            result[name] = {"type": _json_type(value)}
        else:
            result[name] = {"type": _json_type(value), "value": value}
    return result


def _references(requested: Any) -> dict[str, Any]:
    if not isinstance(requested, dict):
        return {}
    return {
        str(name).lower(): entry["reference"]
        for name, entry in requested.items()
        if isinstance(entry, dict) and isinstance(entry.get("reference"), dict)
    }


def redacted_outputs(
    outputs: dict[str, dict[str, Any]], mask: SecretMask | None = None
) -> dict[str, Any]:
    """Outputs as ARM reports them: secure ones typed only — and, stricter than ARM, so is a
    non-secure output whose value carries a secure value."""
    result: dict[str, Any] = {}
    for name, output in outputs.items():
        declared = _TYPE_NAMES.get(str(output.get("type", "")).lower(), "Object")
        value = output.get("value")
        if declared.startswith("Secure") or (mask is not None and mask.carries(value)):
            result[name] = {"type": declared}
        else:
            result[name] = {"type": declared, "value": value}
    return result


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    return "Object"


def providers_of(expansion: Expansion) -> list[dict[str, Any]]:
    """The deployment's ``providers``: each namespace with its resource types, and the
    locations the deployment puts each type in, as ARM lists them — ``null`` for a resource
    without a location (a policy definition: the REST specification's PutDeploymentAtScope,
    …AtTenant and …AtManagementGroup examples show ``"locations": [null]``)."""
    seen: dict[str, dict[str, dict[str | None, None]]] = {}
    for resource in expansion.all_resources():
        namespace, _, rtype = resource.type.partition("/")
        where = seen.setdefault(namespace, {}).setdefault(rtype, {})
        located = isinstance(resource.location, str) and resource.location
        where.setdefault(resource.location if located else None, None)
    return [
        {
            "namespace": ns,
            "resourceTypes": [
                {"resourceType": rtype, "locations": list(types[rtype])} for rtype in sorted(types)
            ],
        }
        for ns, types in seen.items()
    ]


def dependencies_of(expansion: Expansion) -> list[dict[str, Any]]:
    by_id = {r.id: r for r in expansion.resources}
    result = []
    for resource in expansion.resources:
        if not resource.depends_on:
            continue
        result.append(
            {
                "id": resource.id,
                "resourceType": resource.type,
                "resourceName": resource.name,
                "dependsOn": [
                    {"id": d, "resourceType": by_id[d].type, "resourceName": by_id[d].name}
                    for d in resource.depends_on
                    if d in by_id
                ],
            }
        )
    return result
