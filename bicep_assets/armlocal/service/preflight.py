"""Preflight: what ARM and the resource providers refuse before a deployment starts.

ARM validates a deployment before it runs it — on ``validate``, ``what-if`` and the
deployment's own PUT alike — and the resource providers add their checks. The local ARM
does the same, here, in one place:

- every resource's **name** against its type's rule (:mod:`.behaviors.naming`, from
  Microsoft's naming rules page): ``AccountNameInvalid``, ``VaultNameNotValid``,
  ``InvalidResourceName``;
- every resource's **location** against the regions Azure has (:mod:`.behaviors.regions`):
  ``LocationNotAvailableForResourceType`` (``LocationNotAvailableForResourceGroup`` for a
  resource group a template creates, ``LocationNotAvailableForDeployment`` for a
  subscription-scope deployment's own location);
- a resource that **exists in another location**: ``InvalidResourceLocation``
  (``InvalidResourceGroupLocation`` for a resource group);
- a resource aimed at a **resource group that does not exist** and that the template does not
  create: ``ResourceGroupNotFound``.

A template that breaks any of them is refused with ARM's ``InvalidTemplateDeployment``,
one inner error per problem (its ``target`` the resource id). A resource whose name or
location is known only while the deployment runs (a location read with ``reference()``, a
nested deployment expanded late) is checked again just before it is written, by the same
functions, and fails its deployment operation with the same error. Resource group PUTs and
generic resource PUTs use them too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..engine import ExpandedResource, Expansion
from ..engine.resource_ids import parse_resource_id
from .behaviors import naming, regions
from .errors import ArmHttpError

GetResource = Callable[[str], Mapping[str, Any] | None]
GROUP_TYPE = "microsoft.resources/resourcegroups"
DEPLOYMENT_TYPE = "microsoft.resources/deployments"
TARGET_MAX = 1000  # longer resource ids are cut in an error's target
LOCATION_REQUIRED = {
    "code": "LocationRequired",
    "message": "The location property is required for this definition.",
}


def _location_text(location: Any) -> str:
    return naming.shown(
        location if isinstance(location, str) else json.dumps(location, default=str)
    )


def _regions() -> str:
    return ",".join(regions.region_names())


def location_error(resource_type: str, location: Any) -> dict[str, Any] | None:
    """``LocationNotAvailableForResourceType`` when a ``resource_type`` cannot live in
    ``location``; None when it can (or no location is given)."""
    if location is None or (isinstance(location, str) and regions.accepts(resource_type, location)):
        return None
    return {
        "code": "LocationNotAvailableForResourceType",
        "message": f"The provided location '{_location_text(location)}' is not available for "
        f"resource type '{naming.shown(resource_type)}'. List of available regions for the "
        f"resource type is '{_regions()}'.",
    }


def group_location_error(location: Any) -> dict[str, Any] | None:
    """``LocationNotAvailableForResourceGroup`` when a resource group cannot be created in
    ``location`` (a resource group lives in a region, never ``global``)."""
    if isinstance(location, str) and regions.is_region(location):
        return None
    return {
        "code": "LocationNotAvailableForResourceGroup",
        "message": f"The provided location '{_location_text(location)}' is not available for "
        f"resource group. List of available regions is '{_regions()}'.",
    }


def deployment_location_error(location: Any) -> dict[str, Any] | None:
    """``LocationNotAvailableForDeployment`` for a subscription-scope deployment's
    ``location`` (where ARM keeps its record) outside every region."""
    if isinstance(location, str) and regions.is_region(location):
        return None
    return {
        "code": "LocationNotAvailableForDeployment",
        "message": f"The provided location '{_location_text(location)}' is not available for "
        f"deployment. List of available regions is '{_regions()}'.",
    }


def _target(resource_id: str) -> str:
    if len(resource_id) <= TARGET_MAX:
        return resource_id
    return f"{resource_id[:200]}… ({len(resource_id):,} characters)"


def _moved_error(
    resource_id: str, name: str, location: str, existing: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``InvalidResourceLocation``: a resource cannot be created again in another location."""
    old = existing.get("location") if existing else None
    if not isinstance(old, str) or regions.normalize(old) == regions.normalize(location):
        return None
    try:
        group = parse_resource_id(resource_id).resource_group
    except Exception:
        group = None
    where = f" in resource group '{group}'" if group else ""
    return {
        "code": "InvalidResourceLocation",
        "message": f"The resource '{naming.shown(name)}' already exists in location '{old}'"
        f"{where}. A resource with the same name cannot be created in location "
        f"'{naming.shown(location)}'. Please select a new resource name.",
    }


def _group_moved_error(location: Any, existing: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``InvalidResourceGroupLocation``: a resource group stays where it was created."""
    old = existing.get("location") if existing else None
    if not isinstance(old, str) or not isinstance(location, str):
        return None
    if regions.normalize(old) == regions.normalize(location):
        return None
    return {
        "code": "InvalidResourceGroupLocation",
        "message": f"Invalid resource group location '{naming.shown(location)}'. The Resource "
        f"group already exists in location '{old}'.",
    }


def _resource_group_of(resource: ExpandedResource) -> tuple[str, str] | None:
    """The resource group a resource is deployed into: (its id, its name)."""
    if resource.type.lower() == GROUP_TYPE:
        return None
    try:
        parts = parse_resource_id(resource.id)
    except Exception:
        return None
    if not parts.resource_group:
        return None
    group_id = f"/subscriptions/{parts.subscription_id}/resourceGroups/{parts.resource_group}"
    return group_id, parts.resource_group


MANAGEMENT_GROUP_TYPE = "microsoft.management/managementgroups"
_MG_PREFIX = "/providers/microsoft.management/managementgroups/"


def _management_group_of(resource: ExpandedResource) -> tuple[str, str] | None:
    """The management group something lies in (a nested deployment, a policy definition), or
    a new group names as its parent: (its id, its name)."""
    within = (
        _parent_group_id(resource)
        if resource.type.lower() == MANAGEMENT_GROUP_TYPE
        else resource.id
    )
    if not within.lower().startswith(_MG_PREFIX):
        return None
    name = within[len(_MG_PREFIX) :].split("/", 1)[0]
    return f"/providers/Microsoft.Management/managementGroups/{name}", name


def _missing_container_errors(
    resources: list[ExpandedResource],
    get_resource: GetResource,
    *,
    container_type: str,
    container_of: Callable[[ExpandedResource], tuple[str, str] | None],
    error: Callable[[str], tuple[str, str]],
) -> list[dict[str, Any]]:
    """One error per container (resource group, management group) that something is deployed
    into and that neither exists nor is created by the template: ``error(name)`` gives its
    code and message, its target the first resource that needs it."""
    declared = {r.id.lower() for r in resources if r.type.lower() == container_type}
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for resource in resources:
        found = container_of(resource)
        if found is None:
            continue
        container_id, name = found
        key = container_id.lower()
        if key in seen or key in declared:
            continue
        seen.add(key)
        if get_resource(container_id) is None:
            code, message = error(name)
            errors.append({"code": code, "message": message, "target": _target(resource.id)})
    return errors


def _missing_group_errors(
    resources: list[ExpandedResource], get_resource: GetResource
) -> list[dict[str, Any]]:
    """``ResourceGroupNotFound`` for each group a resource is deployed into that neither
    exists nor is created by the template (a nested deployment aimed at another group), and
    ``ManagementGroupNotFound`` likewise for management groups."""
    return _missing_container_errors(
        resources,
        get_resource,
        container_type=GROUP_TYPE,
        container_of=_resource_group_of,
        error=lambda name: (
            "ResourceGroupNotFound",
            f"Resource group '{name}' could not be found.",
        ),
    ) + _missing_container_errors(
        resources,
        get_resource,
        container_type=MANAGEMENT_GROUP_TYPE,
        container_of=_management_group_of,
        error=lambda name: (
            "ManagementGroupNotFound",
            f"The management group '{name}' cannot be found.",
        ),
    )


def _parent_group_id(resource: ExpandedResource) -> str:
    """The parent a management group declaration names (``""`` when none or not yet known)."""
    properties = resource.properties if isinstance(resource.properties, dict) else {}
    details = properties.get("details") if isinstance(properties.get("details"), dict) else {}
    parent = details.get("parent") if isinstance(details.get("parent"), dict) else {}
    parent_id = parent.get("id")
    if not isinstance(parent_id, str) or parent_id.startswith("["):
        return ""
    return parent_id.rstrip("/")


def resource_errors(
    resource_id: str,
    resource_type: str,
    name: str,
    location: Any,
    existing: Mapping[str, Any] | None = None,
    *,
    check_locations: bool = True,
) -> list[dict[str, Any]]:
    """What ARM and the provider refuse about one resource (``name`` is its full name,
    ``sa/default/c1``; ``existing`` its stored body, if any): ARM errors with ``target``.
    ``check_locations=False`` leaves locations alone (a sovereign cloud has other regions)."""
    kind = resource_type.lower()
    errors: list[dict[str, Any]] = []
    if kind == GROUP_TYPE:
        if check_locations:
            found = group_location_error(location) if location is not None else LOCATION_REQUIRED
            found = found or _group_moved_error(location, existing)
            if found:
                errors.append(found)
        return [{**error, "target": _target(resource_id)} for error in errors]
    if not check_locations:
        location = None
    if kind == DEPLOYMENT_TYPE:
        found = deployment_location_error(location) if location is not None else None
        if found:
            errors.append(found)
    else:
        found = naming.name_error(resource_type, name.rsplit("/", 1)[-1])
        if found:
            errors.append(found)
        found = location_error(resource_type, location)
        if found:
            errors.append(found)
        elif isinstance(location, str):
            found = _moved_error(resource_id, name, location, existing)
            if found:
                errors.append(found)
    return [{**error, "target": _target(resource_id)} for error in errors]


def expanded_resource_errors(
    resource: ExpandedResource,
    get_resource: GetResource | None = None,
    *,
    check_locations: bool = True,
) -> list[dict[str, Any]]:
    """:func:`resource_errors` of an expanded resource. A location still waiting for
    deployment (the text of a deferred expression) is left for the deploy-time check."""
    location = resource.body.get("location")
    if resource.deferred and isinstance(location, str) and location.startswith("["):
        if resource.type.lower() == GROUP_TYPE:
            return []  # nothing else to check of a group
        location = None
    existing = get_resource(resource.id) if get_resource is not None else None
    return resource_errors(
        resource.id,
        resource.type,
        resource.name,
        location,
        existing,
        check_locations=check_locations,
    )


def preflight_errors(
    expansion: Expansion,
    get_resource: GetResource | None = None,
    *,
    check_locations: bool = True,
) -> list[dict[str, Any]]:
    """Every problem of every resource the expansion would deploy (nested deployments'
    resources included when they are already expanded), in deployment order."""
    resources = expansion.all_resources()
    errors: list[dict[str, Any]] = []
    if get_resource is not None:
        errors += _missing_group_errors(resources, get_resource)
    for resource in resources:
        errors.extend(
            expanded_resource_errors(resource, get_resource, check_locations=check_locations)
        )
    return errors


def invalid_deployment(deployment_name: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """ARM's ``InvalidTemplateDeployment`` error with ``errors`` as its inner errors."""
    return {
        "code": "InvalidTemplateDeployment",
        "message": f"The template deployment '{deployment_name}' is not valid according to the "
        "validation procedure. See inner errors for details.",
        "details": errors,
    }


def preflight_error(
    expansion: Expansion,
    deployment_name: str,
    get_resource: GetResource | None = None,
    *,
    check_locations: bool = True,
) -> dict[str, Any] | None:
    """The ``InvalidTemplateDeployment`` error ARM answers for ``expansion``, or None."""
    errors = preflight_errors(expansion, get_resource, check_locations=check_locations)
    return invalid_deployment(deployment_name, errors) if errors else None


def check_preflight(
    expansion: Expansion, deployment_name: str, get_resource: GetResource | None = None
) -> None:
    """Raise the preflight's ``InvalidTemplateDeployment`` (400) when there is a problem."""
    error = preflight_error(expansion, deployment_name, get_resource)
    if error is not None:
        raise ArmHttpError(400, error["code"], error["message"], details=error["details"])


def as_http_error(error: Mapping[str, Any], status: int = 400) -> ArmHttpError:
    """One ARM error (``code``, ``message``, ``target``) as the response that refuses it."""
    return ArmHttpError(status, error["code"], error["message"], target=error.get("target"))
