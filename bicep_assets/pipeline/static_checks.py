"""ARM-level static checks of a template, before anything touches ARM.

Built on the local ARM's own expression parser and function registry, so that what passes
here is what the engine (and ARM) will accept. Every finding is a :class:`Diagnostic` with a
stable code and a location inside the template (``resources['site'].properties.siteConfig``,
``outputs['conn'].value``; nested inline templates continue the path,
``resources['nested'].properties.template.resources['x']…``):

- ``arm-expression-syntax`` (error): an expression does not parse;
- ``arm-unknown-function`` (error): a function neither ARM nor the template's ``functions``
  define (any ``list*`` name is valid: it is a resource action);
- ``arm-function-arity`` (error): a built-in function with too few or too many arguments;
- ``arm-undefined-parameter`` (error): ``parameters('x')`` names no declared parameter (in a
  user-defined function: none of the function's own parameters);
- ``arm-undefined-variable`` (error): ``variables('x')`` names no declared variable (or is
  used in a user-defined function, which cannot read variables);
- ``arm-dependency-cycle`` (error): resources whose ``dependsOn`` form a cycle;
- ``arm-secure-parameter-default`` (warning): a secure parameter with a hard-coded default
  (``''``, ``{}`` and ``newGuid()`` are fine, as in Bicep's linter);
- ``arm-secure-value-in-output`` (warning): a non-secure output carrying a secure parameter
  (directly or through variables) or a ``list*()`` call;
- ``arm-expansion`` (error): what the engine's full expansion reports (parameter validation,
  types, cycles, …), unless one of the findings above already reported it.
- ``arm-resource-name`` (error): a resource name its resource provider refuses (the local
  ARM's naming rules, from Microsoft's naming rules page) — the same check as the local
  ARM's preflight, so a template fails at lint rather than at deployment, on either target.
  Locations are left to the target (a sovereign cloud has regions of its own).

The expansion uses placeholders (valid for their declared type) for the secure parameters,
which are never read here.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..armlocal import expanded_resource_errors
from ..armlocal.engine import DeploymentContext, TemplateError, expand
from ..armlocal.engine.errors import ExpressionError
from ..armlocal.engine.expressions import Call, is_expression, parse
from ..armlocal.engine.functions.registry import FUNCTIONS, lookup
from ..armlocal.engine.scopes import context_for_level
from ..armlocal.engine.template import Declaration, declarations, deployment_scope
from ..armlocal.engine.types import SECURE_TYPES, is_secure
from ..models import Diagnostic
from .dependency_cycles import find_cycles, label
from .expansion_check import parameters_with_placeholders, split_location
from .parameter_overrides import check_parameter_overrides
from .template_expressions import (
    calls_in,
    calls_of,
    child_path,
    expressions_in,
    literal_argument,
)

Severity = Literal["error", "warning", "info"]
_SKIPPED_RESOURCE_KEYS = {"metadata", "comments", "resources"}


def static_checks(
    template: Mapping[str, Any],
    parameters: Mapping[str, Any],
    *,
    secure_names: Collection[str] = (),
    source: str = "",
    context: DeploymentContext | None = None,
) -> list[Diagnostic]:
    """Check ``template`` (ARM JSON) with ``parameters`` (``{name: {"value": v}}`` or
    ``{"reference": …}``); ``secure_names`` are secure parameters whose values are not given.

    ``source`` (the template's file) prefixes every location (``infra/main.json:outputs['x']``);
    ``context`` is the deployment scope used for the expansion (a resource group by default,
    the subscription for subscription-scope templates).
    """
    checker = _Checker(source)
    if isinstance(template, Mapping):
        checker.template(dict(template), "", None)
    checker.expansion(template, parameters, secure_names, context)
    return checker.findings


@dataclass(frozen=True)
class _Scope:
    """What ``parameters()``, ``variables()`` and ``ns.fn()`` may name at one place."""

    prefix: str
    parameters: Mapping[str, str]  # lower-case name → declared spelling
    variables: Mapping[str, str] | None  # None: not available (inside a user function)
    functions: frozenset[str]  # "ns.member", lower-case
    secure: frozenset[str] = frozenset()  # secure parameter names, lower-case
    tainted: frozenset[str] = frozenset()  # variables computed from a secure parameter
    function: str | None = None  # the user-defined function being checked


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.findings: list[Diagnostic] = []

    def add(self, severity: Severity, code: str, message: str, path: str) -> None:
        location = f"{self.source}:{path}" if self.source and path else (path or self.source)
        self.findings.append(
            Diagnostic(severity=severity, code=code, message=message, location=location)
        )

    # -- one template (the root, or a nested inline template) ---------------------------------
    def template(self, template: dict[str, Any], prefix: str, outer: _Scope | None) -> None:
        functions = _function_names(template)
        if outer is None:
            scope = _template_scope(template, prefix, functions)
            self._parameters(template, scope)
            for name, value in _section(template, "variables").items():
                self.walk(value, f"{prefix}variables['{name}']", scope)
        else:  # expressionEvaluationOptions.scope = outer: the parent's parameters/variables
            scope = replace(outer, prefix=prefix, functions=outer.functions | functions)
        self._functions(template, scope)
        self._resources(template, scope)
        self._outputs(template, scope)

    def _parameters(self, template: dict[str, Any], scope: _Scope) -> None:
        for name, declaration in _section(template, "parameters").items():
            if not isinstance(declaration, dict) or "defaultValue" not in declaration:
                continue
            path = f"{scope.prefix}parameters['{name}'].defaultValue"
            default = declaration["defaultValue"]
            if name.lower() in scope.secure and not _harmless_default(default):
                self.add(
                    "warning",
                    "arm-secure-parameter-default",
                    f"The secure parameter '{name}' has a default value, which anyone who can "
                    "read the template or the deployment history can see. Remove the default "
                    "(an empty value or newGuid() are fine) and supply the value securely.",
                    path,
                )
            self.walk(default, path, scope)

    def _functions(self, template: dict[str, Any], scope: _Scope) -> None:
        sections = template.get("functions")
        for i, section in enumerate(sections if isinstance(sections, list) else []):
            if not isinstance(section, dict) or not isinstance(section.get("members"), dict):
                continue
            for member_name, member in section["members"].items():
                if not isinstance(member, dict):
                    continue
                declared = [p for p in member.get("parameters") or [] if isinstance(p, dict)]
                own = {str(p.get("name")).lower(): str(p.get("name")) for p in declared}
                inner = replace(
                    scope,
                    parameters=own,
                    variables=None,
                    secure=frozenset(),
                    tainted=frozenset(),
                    function=f"{section.get('namespace')}.{member_name}",
                )
                output = member.get("output")
                if isinstance(output, dict):
                    where = f"{scope.prefix}functions[{i}].members['{member_name}'].output.value"
                    self.walk(output.get("value"), where, inner)

    def _resources(self, template: dict[str, Any], scope: _Scope) -> None:
        found = declarations(template, lenient=True)  # the engine reports what is malformed
        for declaration in found:
            self._resource(declaration, f"{scope.prefix}{declaration.location}", scope)
        for cycle in find_cycles(found):
            shown = [f"'{label(d)}'" for d in cycle]
            if len(shown) > 12:  # a long cycle: its start and end are enough to find it
                shown = [*shown[:6], f"… ({len(cycle) - 1} resources in all)", *shown[-3:]]
            names = " -> ".join(shown)
            self.add(
                "error",
                "arm-dependency-cycle",
                f"The resources {names} depend on each other in a cycle, so ARM cannot order "
                "them. Remove one of these dependsOn entries.",
                f"{scope.prefix}{cycle[0].location}.dependsOn",
            )

    def _resource(self, declaration: Declaration, path: str, scope: _Scope) -> None:
        for key, value in declaration.raw.items():
            if key in _SKIPPED_RESOURCE_KEYS:  # nested children are declarations of their own
                continue
            where = child_path(path, key)
            if key == "properties" and declaration.is_deployment and isinstance(value, dict):
                self._nested_deployment(declaration, value, where, scope)
            else:
                self.walk(value, where, scope)

    def _nested_deployment(
        self, declaration: Declaration, properties: dict[str, Any], path: str, scope: _Scope
    ) -> None:
        inner_template = declaration.inline_template
        for key, value in properties.items():
            if key != "template" or inner_template is None:
                self.walk(value, child_path(path, key), scope)  # parameters etc.: the parent's
        if inner_template is not None:
            inner = declaration.inner_scope
            self.template(inner_template, f"{path}.template.", None if inner else scope)

    # -- outputs ------------------------------------------------------------------------------
    def _outputs(self, template: dict[str, Any], scope: _Scope) -> None:
        definitions = _section(template, "definitions")
        for name, output in _section(template, "outputs").items():
            if not isinstance(output, dict):
                continue
            path = f"{scope.prefix}outputs['{name}']"
            for key in ("condition", "value", "copy"):
                if key in output:
                    self.walk(output[key], f"{path}.{key}", scope)
            if not _is_secure_schema(output, definitions):
                self._secrets_in_output(name, output, path, scope)

    def _secrets_in_output(
        self, name: str, output: dict[str, Any], path: str, scope: _Scope
    ) -> None:
        reported: set[tuple[str, str]] = set()
        fix = "Remove it, or declare the output 'securestring'/'secureObject'."
        for key in ("value", "copy"):
            for text, where in expressions_in(output.get(key), f"{path}.{key}"):
                for call in calls_in(text):
                    lower = call.name.lower()
                    literal = literal_argument(call)
                    if lower == "parameters" and literal and literal.lower() in scope.secure:
                        finding = ("parameter", literal.lower())
                        message = (
                            f"The output '{name}' contains the secure parameter '{literal}'; "
                            f"outputs are kept in the deployment history in clear text. {fix}"
                        )
                    elif lower == "variables" and literal and literal.lower() in scope.tainted:
                        finding = ("variable", literal.lower())
                        message = (
                            f"The output '{name}' contains the variable '{literal}', which is "
                            f"computed from a secure parameter. {fix}"
                        )
                    elif lower.startswith("list") and lookup(call.name) is None:
                        finding = ("list", lower)
                        message = (
                            f"The output '{name}' calls {call.name}(), which returns secrets "
                            f"(keys, connection strings) into the deployment history. {fix}"
                        )
                    else:
                        continue
                    if finding not in reported:
                        reported.add(finding)
                        self.add("warning", "arm-secure-value-in-output", message, where)

    # -- expressions --------------------------------------------------------------------------
    def walk(self, value: Any, path: str, scope: _Scope) -> None:
        """Check every expression inside ``value`` (found at ``path``)."""
        for text, where in expressions_in(value, path):
            self.expression(text, where, scope)

    def expression(self, text: str, path: str, scope: _Scope) -> None:
        try:
            node = parse(text)
        except ExpressionError as error:
            self.add("error", "arm-expression-syntax", error.message, path)
            return
        for call in calls_of(node):
            self._call(call, path, scope)

    def _call(self, call: Call, path: str, scope: _Scope) -> None:
        name, lower = call.name, call.name.lower()
        if "." in name:
            if lower not in scope.functions:
                self.add(
                    "error",
                    "arm-unknown-function",
                    f"The user-defined function '{name}' is not declared in the template's "
                    f"'functions' section.{_did_you_mean(lower, scope.functions)}",
                    path,
                )
            return
        function = lookup(name)
        if function is None:
            if not lower.startswith("list"):  # list* resource actions: any name is valid
                self.add(
                    "error",
                    "arm-unknown-function",
                    f"The template function '{name}' is not valid."
                    + _did_you_mean(lower, {f.name for f in FUNCTIONS.values()}),
                    path,
                )
            return
        try:
            function.check_arity(len(call.args))
        except ExpressionError as error:
            self.add("error", "arm-function-arity", error.message, path)
            return
        literal = literal_argument(call)
        if literal is not None and lower == "parameters":
            self._parameter_reference(literal, path, scope)
        elif literal is not None and lower == "variables":
            self._variable_reference(literal, path, scope)

    def _parameter_reference(self, name: str, path: str, scope: _Scope) -> None:
        if name.lower() in scope.parameters:
            return
        hint = _did_you_mean(name.lower(), scope.parameters.values())
        if scope.function is not None:
            message = (
                f"The user-defined function '{scope.function}' has no parameter '{name}': inside "
                f"a function, parameters() names the function's own parameters.{hint}"
            )
        else:
            message = f"The template parameter '{name}' is not declared.{hint}"
        self.add("error", "arm-undefined-parameter", message, path)

    def _variable_reference(self, name: str, path: str, scope: _Scope) -> None:
        if scope.variables is None:
            message = (
                f"variables('{name}') is used in the user-defined function '{scope.function}'; "
                "functions cannot read template variables (pass the value as a parameter)."
            )
        elif name.lower() in scope.variables:
            return
        else:
            hint = _did_you_mean(name.lower(), scope.variables.values())
            message = f"The template variable '{name}' is not declared.{hint}"
        self.add("error", "arm-undefined-variable", message, path)

    # -- the engine's full expansion ---------------------------------------------------------
    def expansion(
        self,
        template: Any,
        parameters: Mapping[str, Any],
        secure_names: Collection[str],
        context: DeploymentContext | None,
    ) -> None:
        supplied = parameters_with_placeholders(template, parameters, secure_names)
        if context is None:
            context = DeploymentContext(deployment_name="lint")
            if isinstance(template, Mapping):
                level = deployment_scope(dict(template))
                context = context_for_level(context, level, location="westeurope")
        try:
            expanded = expand(
                dict(template) if isinstance(template, Mapping) else template, supplied, context
            )
            expanded.evaluate_outputs()
            for resource in expanded.all_resources():
                for problem in expanded_resource_errors(resource, check_locations=False):
                    message = f"{problem['message']} ({problem['code']})"
                    self.add("error", "arm-resource-name", message, f"{resource.key}.name")
        except TemplateError as error:
            each = error.details if error.details and all(d.target for d in error.details) else []
            for problem in each or [error]:  # e.g. one per missing parameter
                path, message = split_location(problem)
                if not self._already_reported(error, path):
                    self.add("error", "arm-expansion", message, path)

    def _already_reported(self, error: TemplateError, path: str) -> bool:
        location = f"{self.source}:{path}" if self.source and path else path
        errors = [f for f in self.findings if f.severity == "error"]
        # the engine names places inside a nested template relative to that template
        nested = f".template.{path}"
        if path and any(f.location == location or f.location.endswith(nested) for f in errors):
            return True
        is_cycle = any(d.code == "TemplateResourceCircularDependency" for d in error.details)
        return is_cycle and any(f.code == "arm-dependency-cycle" for f in errors)


# -- helpers --------------------------------------------------------------------------------------


def _section(template: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = template.get(name)
    return value if isinstance(value, dict) else {}


def _function_names(template: dict[str, Any]) -> frozenset[str]:
    names: set[str] = set()
    sections = template.get("functions")
    for section in sections if isinstance(sections, list) else []:
        if isinstance(section, dict) and isinstance(section.get("members"), dict):
            names.update(f"{section.get('namespace')}.{m}".lower() for m in section["members"])
    return frozenset(names)


def _template_scope(template: dict[str, Any], prefix: str, functions: frozenset[str]) -> _Scope:
    parameters = _section(template, "parameters")
    definitions = _section(template, "definitions")
    variables: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in _section(template, "variables").items():
        if name.lower() == "copy" and isinstance(value, list):
            for loop in value:
                if isinstance(loop, dict) and isinstance(loop.get("name"), str):
                    variables[loop["name"].lower()] = loop["name"]
                    values[loop["name"].lower()] = loop
        else:
            variables[name.lower()] = name
            values[name.lower()] = value
    secure = frozenset(
        name.lower()
        for name, declaration in parameters.items()
        if isinstance(declaration, dict) and _is_secure_schema(declaration, definitions)
    )
    return _Scope(
        prefix=prefix,
        parameters={name.lower(): name for name in parameters},
        variables=variables,
        functions=functions,
        secure=secure,
        tainted=_tainted_variables(values, secure),
    )


def _tainted_variables(values: dict[str, Any], secure: frozenset[str]) -> frozenset[str]:
    """Variables whose value reads a secure parameter, directly or through other variables."""
    reads: dict[str, set[tuple[str, str]]] = {}
    for name, value in values.items():
        found: set[tuple[str, str]] = set()
        for text, _ in expressions_in(value, ""):
            for call in calls_in(text):
                literal = literal_argument(call)
                if literal is not None and call.name.lower() in ("parameters", "variables"):
                    found.add((call.name.lower(), literal.lower()))
        reads[name] = found
    tainted: set[str] = set()
    changed = bool(secure)
    while changed:
        changed = False
        for name, found in reads.items():
            if name in tainted:
                continue
            if any(
                (kind == "parameters" and ref in secure) or (kind == "variables" and ref in tainted)
                for kind, ref in found
            ):
                tainted.add(name)
                changed = True
    return frozenset(tainted)


def _is_secure_schema(schema: dict[str, Any], definitions: dict[str, Any]) -> bool:
    try:
        return is_secure(schema, definitions)
    except TemplateError:  # a broken $ref: the expansion reports it
        return str(schema.get("type", "")).lower() in SECURE_TYPES


def _harmless_default(value: Any) -> bool:
    if value in ("", None) or value == {} or value == []:
        return True
    if isinstance(value, str) and is_expression(value):
        return any(call.name.lower() == "newguid" for call in calls_in(value))
    return False


def _did_you_mean(name: str, candidates: Collection[str]) -> str:
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return f" Did you mean '{lowered[close[0]]}'?" if close else ""


__all__ = ["check_parameter_overrides", "static_checks"]
