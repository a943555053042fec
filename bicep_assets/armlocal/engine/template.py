"""The shape of a template: checks on its top level, and its resource declarations.

The walk over the declarations is the one place that knows how a template declares its
resources; the engine walks strictly (the first malformed declaration is an error) and the
pipeline's static checks walk leniently (problems recorded, the rest still checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError

SCHEMAS = {
    "deploymenttemplate.json": "resourceGroup",
    "subscriptiondeploymenttemplate.json": "subscription",
    "managementgroupdeploymenttemplate.json": "managementGroup",
    "tenantdeploymenttemplate.json": "tenant",
}
ACCEPTED_OTHER_SCHEMAS = {"deploymentparameters.json"}
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
    named = schema.rstrip("#").rsplit("/", 1)[-1].lower()
    # ARM deploys a template whose $schema names the parameters file's schema (a common
    # copy-paste slip) as a resource group template
    if named not in SCHEMAS and named not in ACCEPTED_OTHER_SCHEMAS:
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


DEPLOYMENTS = "microsoft.resources/deployments"


@dataclass
class Declaration:
    """One resource declaration as written in the template (nothing in it evaluated)."""

    raw: dict[str, Any]
    location: str  # "resources['sa']" or "resources[0].resources[1]"
    symbolic_name: str | None
    parent: Declaration | None = None  # a 1.0 nested child's parent

    @property
    def type(self) -> str | None:
        """The ``type`` as written (``None`` when it is not a string)."""
        return _written(self.raw, "type")

    @property
    def name(self) -> str | None:
        """The ``name`` as written (``None`` when it is not a string)."""
        return _written(self.raw, "name")

    @property
    def full_type(self) -> str | None:
        """The type as written, a nested child's relative type after its parent's
        (``Microsoft.Sql/servers`` + ``databases``); ``None`` when a part is missing."""
        rtype = self.type
        if rtype is None or self.parent is None or not is_relative_type(rtype):
            return rtype
        parent = self.parent.full_type
        return f"{parent}/{rtype}" if parent else None

    @property
    def copy_name(self) -> str | None:
        """The name of the declaration's copy loop (``None``: no loop, or one without a name)."""
        loop = self.raw.get("copy")
        return _written(loop, "name") if isinstance(loop, dict) else None

    @property
    def depends_on(self) -> list[Any]:
        """The ``dependsOn`` entries as written."""
        entries = self.raw.get("dependsOn")
        return list(entries) if isinstance(entries, list) else []

    @property
    def existing(self) -> bool:
        return bool(self.raw.get("existing"))

    @property
    def is_deployment(self) -> bool:
        """A nested deployment (``Microsoft.Resources/deployments``)."""
        return (self.full_type or "").lower() == DEPLOYMENTS

    @property
    def inline_template(self) -> dict[str, Any] | None:
        """A nested deployment's inline template (``properties.template``), if it has one."""
        properties = self.raw.get("properties")
        if not self.is_deployment or not isinstance(properties, dict):
            return None
        template = properties.get("template")
        return template if isinstance(template, dict) else None

    @property
    def inner_scope(self) -> bool:
        """Whether a nested deployment's inline template evaluates in its own scope."""
        properties = self.raw.get("properties")
        return isinstance(properties, dict) and uses_inner_scope(properties, lenient=True)


def is_relative_type(rtype: str) -> bool:
    """Whether a nested child's ``type`` is relative to its parent's (``databases``) rather than
    a full type (``Microsoft.Sql/servers/databases``): its first segment names no namespace."""
    return "." not in rtype.split("/", 1)[0]


def uses_inner_scope(
    properties: dict[str, Any], *, location: str = "properties", lenient: bool = False
) -> bool:
    """Whether a nested deployment (its ``properties`` at ``location``) evaluates its inline
    template in the template's own scope (``expressionEvaluationOptions.scope`` = ``inner``)
    rather than in its parent's (``outer``, the default). Options that are not an object raise,
    or, ``lenient``, count as the default."""
    options = properties.get("expressionEvaluationOptions") or {}
    if not isinstance(options, dict):
        if not lenient:
            raise _invalid(
                f"{location}.expressionEvaluationOptions: must be an object such as "
                '{"scope": "inner"}.'
            )
        options = {}
    return str(options.get("scope", "outer")).lower() == "inner"


@dataclass(frozen=True)
class Problem:
    """What makes a declaration malformed, and where: strict walks raise it, lenient ones keep
    it and go on with what they can read."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class DeclarationWalk:
    """The declarations of one template (not those of its nested templates), parents before
    their 1.0 nested children, and the problems a lenient walk found."""

    declarations: list[Declaration]
    problems: list[Problem]


def walk_declarations(template: Mapping[str, Any], *, lenient: bool = False) -> DeclarationWalk:
    """Every resource declaration of ``template``: ``resources`` as an array (``resources[0]``)
    or as an object of symbolic names (``resources['sa']``), and 1.0 nested children
    (``resources[0].resources[1]``) after their parent.

    Strict (the engine), the first malformed declaration raises ``InvalidTemplate``. Lenient
    (static checks), problems are recorded: a declaration that is not an object is left out, one
    missing its ``type``, ``name`` or ``apiVersion`` is kept as written, child resources that
    are not an array are not walked.
    """
    walk = DeclarationWalk([], [])

    def problem(location: str, message: str) -> None:
        found = Problem(location, message)
        if not lenient:
            raise _invalid(str(found))
        walk.problems.append(found)

    def add(raw: Any, location: str, symbolic: str | None, parent: Declaration | None) -> None:
        if not isinstance(raw, dict):
            problem(location, "a resource declaration must be a JSON object.")
            return
        for key in ("type", "name"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                problem(location, f"the resource has no '{key}'.")
        if "apiVersion" in raw and not isinstance(raw["apiVersion"], str):
            problem(location, "'apiVersion' must be a string.")
        elif not raw.get("existing") and not raw.get("apiVersion"):
            problem(location, "the resource has no 'apiVersion'.")
        declaration = Declaration(raw, location, symbolic, parent)
        walk.declarations.append(declaration)
        children = raw.get("resources")
        if children is None:
            return
        if not isinstance(children, list):
            problem(f"{location}.resources", "child resources must be an array.")
            return
        for index, child in enumerate(children):
            add(child, f"{location}.resources[{index}]", None, declaration)

    resources = template.get("resources")
    if isinstance(resources, dict):
        for name, raw in resources.items():
            add(raw, f"resources['{name}']", name, None)
    elif isinstance(resources, list):
        for index, raw in enumerate(resources):
            add(raw, f"resources[{index}]", None, None)
    elif resources is not None:
        problem("resources", "the section must be an array or an object of symbolic names.")
    return walk


def declarations(template: Mapping[str, Any], *, lenient: bool = False) -> list[Declaration]:
    """The declarations of :func:`walk_declarations` (strict: the first problem raises)."""
    return walk_declarations(template, lenient=lenient).declarations


def _written(raw: Any, key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None
