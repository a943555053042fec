"""The shape of a template: checks on its top level, and its resource declarations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import TemplateError

SCHEMAS = {
    "deploymenttemplate.json": "resourceGroup",
    "subscriptiondeploymenttemplate.json": "subscription",
    "managementgroupdeploymenttemplate.json": "managementGroup",
    "tenantdeploymenttemplate.json": "tenant",
}
LANGUAGE_VERSIONS = {"1.0", "2.0", "1.9-experimental", "1.10-experimental", "2.1-experimental"}
TOP_LEVEL_KEYS = {
    "$schema",
    "contentVersion",
    "apiProfile",
    "languageVersion",
    "definitions",
    "parameters",
    "variables",
    "functions",
    "resources",
    "outputs",
    "metadata",
    "imports",
    "extensions",
    "asserts",
}


def _invalid(message: str) -> TemplateError:
    return TemplateError(message, code="InvalidTemplate")


def check_template(template: Any) -> None:
    """Reject what ARM rejects before evaluating anything: shape, schema, version, keys."""
    if not isinstance(template, dict):
        raise _invalid(f"The template must be a JSON object, not {type(template).__name__}.")
    unknown = sorted(k for k in template if k not in TOP_LEVEL_KEYS)
    if unknown:
        raise _invalid(
            f"The template has unknown top-level propert{'ies' if len(unknown) > 1 else 'y'} "
            f"{', '.join(repr(k) for k in unknown)}; allowed are: "
            f"{', '.join(sorted(TOP_LEVEL_KEYS))}."
        )
    schema = template.get("$schema")
    if not isinstance(schema, str) or not schema:
        raise _invalid("The template has no '$schema'; set it to the deploymentTemplate schema.")
    if schema.rstrip("#").rsplit("/", 1)[-1].lower() not in SCHEMAS:
        raise _invalid(
            f"The template schema '{schema}' is not supported. Use one of: "
            + ", ".join(sorted(SCHEMAS))
            + "."
        )
    if not isinstance(template.get("contentVersion"), str):
        raise _invalid("The template has no 'contentVersion' (for example '1.0.0.0').")
    language = template.get("languageVersion")
    if language is not None and str(language) not in LANGUAGE_VERSIONS:
        raise _invalid(
            f"The template languageVersion '{language}' is not supported. Use one of: "
            + ", ".join(sorted(LANGUAGE_VERSIONS))
            + "."
        )
    for section in ("parameters", "variables", "outputs", "definitions"):
        value = template.get(section)
        if value is not None and not isinstance(value, dict):
            raise _invalid(f"The template '{section}' section must be an object.")
    resources = template.get("resources", [])
    symbolic = str(language or "1.0").startswith("2")
    if symbolic and not isinstance(resources, (dict, list)):
        raise _invalid("The template 'resources' section must be an object of symbolic names.")
    if not symbolic and not isinstance(resources, list):
        raise _invalid("The template 'resources' section must be an array.")


def deployment_scope(template: dict[str, Any]) -> str:
    """``resourceGroup``, ``subscription``, ``managementGroup`` or ``tenant``."""
    schema = str(template.get("$schema", ""))
    return SCHEMAS.get(schema.rstrip("#").rsplit("/", 1)[-1].lower(), "resourceGroup")


@dataclass
class Declaration:
    """One resource declaration as written in the template."""

    raw: dict[str, Any]
    location: str  # "resources['sa']" or "resources[0].resources[1]"
    symbolic_name: str | None
    parent: Declaration | None = None


def declarations(template: dict[str, Any], language: str) -> list[Declaration]:
    """Every declaration, 1.0 nested children after their parent."""
    found: list[Declaration] = []
    resources = template.get("resources") or []
    if isinstance(resources, dict):
        for name, raw in resources.items():
            _add(found, raw, f"resources['{name}']", name, None)
    else:
        for index, raw in enumerate(resources):
            _add(found, raw, f"resources[{index}]", None, None)
    return found


def _add(
    found: list[Declaration],
    raw: Any,
    location: str,
    symbolic: str | None,
    parent: Declaration | None,
) -> None:
    if not isinstance(raw, dict):
        raise _invalid(f"{location}: a resource declaration must be a JSON object.")
    for key in ("type", "name"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            raise _invalid(f"{location}: the resource has no '{key}'.")
    if "apiVersion" in raw and not isinstance(raw["apiVersion"], str):
        raise _invalid(f"{location}: 'apiVersion' must be a string.")
    if not raw.get("existing") and not raw.get("apiVersion"):
        raise _invalid(f"{location}: the resource has no 'apiVersion'.")
    declaration = Declaration(raw, location, symbolic, parent)
    found.append(declaration)
    children = raw.get("resources")
    if children is not None:
        if not isinstance(children, list):
            raise _invalid(f"{location}.resources: child resources must be an array.")
        for index, child in enumerate(children):
            _add(found, child, f"{location}.resources[{index}]", None, declaration)
