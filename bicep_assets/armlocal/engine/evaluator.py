"""Evaluating parsed expressions: the context they see and the core language functions.

An :class:`EvalContext` is what one expression sees: a :class:`TemplateScope` (parameters,
variables, user-defined functions and the deployment's context, shared by every expression
of one template) plus the copy-loop indices, lambda variables and the location used in error
messages. Child contexts are cheap copies (``with_copy``, ``with_lambda``, ``at``).

Values that can only be known after resources exist (``reference()`` of a resource that
this deployment creates) evaluate to :class:`Deferred`; anything computed from a Deferred is
Deferred too, and the expansion shows such a property as its original expression text, the
way ARM's what-if does.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from . import limits
from .context import DeploymentContext
from .errors import ExpressionError, TemplateError
from .expressions import Access, Call, Literal, Node, is_expression, parse, unescape_literal
from .functions.registry import (
    ArmFunction,
    arm_function,
    expect_int,
    get_property,
    is_int,
    lookup,
)
from .values import LambdaValue

MAX_CALL_DEPTH = 64  # user-defined function / variable nesting before we call it runaway


class Deferred:
    """A value known only once a resource of this deployment exists (see module docs)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Deferred({self.reason!r})"


def contains_deferred(value: Any) -> bool:
    if type(value) is Deferred:
        return True
    if isinstance(value, dict):
        return any(contains_deferred(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_deferred(v) for v in value)
    return False


class TemplateScope:
    """What every expression of one template sees: parameters, variables, functions, context."""

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        functions: list[dict[str, Any]] | None = None,
        deployment: DeploymentContext | None = None,
        resources: Any = None,
    ) -> None:
        # a dict, or while defaults are resolved the lazy parameters.ParameterResolver
        self.parameters: Mapping[str, Any] = parameters or {}
        self.variable_defs: dict[str, Any] = {}
        self._variable_cache: dict[str, Any] = {}
        self._variables_in_progress: list[str] = []
        self.functions = _index_functions(functions or [])
        self.deployment: DeploymentContext = deployment or DeploymentContext()
        # the expansion's resource resolver (reference(), list*(), symbolic names); see
        # engine.expansion; None for a bare scope (functions then say what is missing)
        self.resources = resources
        self.depth = 0
        self.deferred_seen = False
        self.template_header: dict[str, Any] = {}
        self.template_hash = ""
        self.type_definitions: dict[str, Any] = {}
        self.template: dict[str, Any] = {}  # the raw template, for deployment()
        self.deployment_parameters: dict[str, Any] = {}  # as the request gave them
        # the deployment's externalInputs (name → value), which externalInputs() reads in
        # the expressions of its parameters
        self.external_inputs: dict[str, Any] = {}
        self._add_variables(variables or {})

    def with_resources(self, resources: Any) -> TemplateScope:
        """The same scope (sharing parameters and evaluated variables) with another resolver."""
        twin = copy.copy(self)
        twin.resources = resources
        return twin

    def for_outer_nested(self, deployment: DeploymentContext) -> TemplateScope:
        """The scope of a nested template evaluated in this (outer) scope: the same parameters,
        variables, functions and deployment functions; its resources go to ``deployment``."""
        twin = copy.copy(self)
        # functions keep answering for the parent (resourceGroup(), subscription(), as ARM
        # documents for outer scope); only the inner resources' ids use ``deployment``
        twin.resources = None
        return twin

    # -- parameters ------------------------------------------------------------------
    def parameter(self, name: str) -> Any:
        params = self.parameters
        if name in params:
            return params[name]
        lowered = name.lower()
        for key in params:
            if key.lower() == lowered:
                return params[key]
        raise ExpressionError(
            f"The template parameter '{name}' is not found. Please see "
            "https://aka.ms/arm-syntax-parameters for usage details."
        )

    # -- variables -------------------------------------------------------------------
    def _add_variables(self, variables: dict[str, Any]) -> None:
        for name, definition in variables.items():
            if name.lower() == "copy" and isinstance(definition, list):
                for loop in definition:
                    if isinstance(loop, dict) and isinstance(loop.get("name"), str):
                        self.variable_defs[loop["name"].lower()] = ("copy", loop)
                continue
            self.variable_defs[name.lower()] = ("value", definition)

    def variable(self, ctx: EvalContext, name: str) -> Any:
        key = name.lower()
        if key in self._variable_cache:
            return self._variable_cache[key]
        entry = self.variable_defs.get(key)
        if entry is None:
            raise ExpressionError(
                f"The template variable '{name}' is not found. Please see "
                "https://aka.ms/arm-syntax-variables for usage details."
            )
        if key in self._variables_in_progress:
            cycle = [*self._variables_in_progress[self._variables_in_progress.index(key) :], key]
            raise ExpressionError(
                "The template variables form a cycle: " + " -> ".join(cycle) + "."
            )
        if len(self._variables_in_progress) > MAX_CALL_DEPTH:
            raise ExpressionError(f"Variables are nested more than {MAX_CALL_DEPTH} levels deep.")
        self._variables_in_progress.append(key)
        try:
            kind, definition = entry
            base = EvalContext(self, location=f"variables('{name}')")
            if kind == "copy":
                value = base.expand_copy_variable(definition)
            else:
                value = base.evaluate_value(definition)
            limits.check_value(value, f"The variable '{name}'")
        finally:
            self._variables_in_progress.pop()
        self._variable_cache[key] = value
        return value

    # -- user-defined functions ------------------------------------------------------
    def call_user_function(self, ctx: EvalContext, name: str, args: list[Any]) -> Any:
        member = self.functions.get(name.lower())
        if member is None:
            raise ExpressionError(f"The template function '{name}' is not valid.")
        declared = member.get("parameters") or []
        if len(args) != len(declared):
            raise ExpressionError(
                f"The user-defined function '{name}' expects {len(declared)} "
                f"parameter{'s' if len(declared) != 1 else ''}, but {len(args)} "
                f"{'was' if len(args) == 1 else 'were'} provided."
            )
        if self.depth >= MAX_CALL_DEPTH:
            raise ExpressionError(
                f"User-defined functions are nested more than {MAX_CALL_DEPTH} levels deep "
                f"(in '{name}')."
            )
        inner = TemplateScope(
            parameters={p.get("name"): a for p, a in zip(declared, args, strict=True)},
            deployment=self.deployment,
        )
        inner.functions = self.functions
        inner.depth = self.depth + 1
        output = member.get("output") or {}
        value = EvalContext(inner, location=f"function '{name}'").evaluate_value(
            output.get("value")
        )
        if inner.deferred_seen:
            self.deferred_seen = True
        return value


def _index_functions(sections: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    if not isinstance(sections, list):
        raise TemplateError("The template 'functions' section must be an array.")
    for section in sections:
        namespace = section.get("namespace") if isinstance(section, dict) else None
        members = section.get("members") if isinstance(section, dict) else None
        if not isinstance(namespace, str) or not isinstance(members, dict):
            raise TemplateError(
                "Each entry of the template 'functions' section needs a 'namespace' string "
                "and a 'members' object."
            )
        for name, member in members.items():
            index[f"{namespace}.{name}".lower()] = member
    return index


class EvalContext:
    """What one expression sees; see the module docstring."""

    __slots__ = ("copy", "in_parameter_default", "lambdas", "location", "scope")

    def __init__(
        self,
        scope: TemplateScope | None = None,
        *,
        location: str = "",
        in_parameter_default: bool = False,
        copy: dict[str | None, int] | None = None,
        lambdas: dict[str, Any] | None = None,
    ) -> None:
        self.scope = scope if scope is not None else TemplateScope()
        self.location = location
        self.in_parameter_default = in_parameter_default
        self.copy: dict[str | None, int] = copy or {}
        self.lambdas: dict[str, Any] = lambdas or {}

    # -- derived contexts ------------------------------------------------------------
    def _derive(self, **changes: Any) -> EvalContext:
        child = EvalContext(
            self.scope,
            location=self.location,
            in_parameter_default=self.in_parameter_default,
            copy=self.copy,
            lambdas=self.lambdas,
        )
        for key, value in changes.items():
            setattr(child, key, value)
        return child

    def at(self, location: str) -> EvalContext:
        return self._derive(location=location)

    def with_copy(
        self, name: str | None, index: int, *, resource_loop: bool = False
    ) -> EvalContext:
        copy = dict(self.copy)
        if name is not None:
            copy[name.lower()] = index
        if resource_loop or name is None:
            copy[None] = index
        return self._derive(copy=copy)

    def copy_index(self, name: str | None) -> int:
        key = name.lower() if name is not None else None
        if key in self.copy:
            return self.copy[key]
        if name is None:
            raise ExpressionError(
                "The template function 'copyIndex' is not expected at this location. "
                "It can only be used in a resource, property or variable with a copy loop."
            )
        raise ExpressionError(f"The copy loop '{name}' is not found in the template.")

    # -- the clock and GUIDs (fixed per deployment) ------------------------------------
    def utc_now(self) -> datetime:
        now = self.scope.deployment.now
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def new_guid(self) -> str:
        return str(uuid.uuid4())

    # -- evaluation ------------------------------------------------------------------
    def evaluate(self, node: Node) -> Any:
        kind = type(node)
        if kind is Literal:
            return node.value
        if kind is Call:
            return self._call(node)
        return self._access(node)

    def evaluate_value(self, value: Any) -> Any:
        """Evaluate a JSON value: expression strings anywhere inside it are evaluated."""
        if isinstance(value, str):
            if is_expression(value):
                return self.evaluate_text(value)
            return unescape_literal(value)
        if isinstance(value, dict):
            return {k: self.evaluate_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.evaluate_value(v) for v in value]
        return value

    def evaluate_text(self, text: str) -> Any:
        """Evaluate one expression string, adding this context's location to errors."""
        try:
            return self.evaluate(parse(text))
        except ExpressionError as exc:
            raise exc.at(self.location) from None
        except RecursionError:
            raise ExpressionError("The expression is nested too deeply to evaluate.").at(
                self.location
            ) from None

    def invoke(self, fn: LambdaValue, args: list[Any]) -> Any:
        if not isinstance(fn, LambdaValue):
            raise ExpressionError("Expected a lambda function.")
        if len(args) < len(fn.params):
            raise ExpressionError(
                f"The lambda function expects {len(fn.params)} parameters, but "
                f"{len(args)} were provided."
            )
        lambdas = dict(self.lambdas)
        for name, arg in zip(fn.params, args, strict=False):
            lambdas[name.lower()] = arg
        return self._derive(lambdas=lambdas).evaluate(fn.body)

    def expand_copy_variable(self, loop: dict[str, Any]) -> list[Any]:
        """A ``copy`` entry of variables (or a property copy): evaluate ``input`` per index."""
        name = loop.get("name")
        count = self.evaluate_value(loop.get("count"))
        if type(count) is Deferred:
            raise ExpressionError(
                f"The copy count of '{name}' cannot depend on a resource of this deployment."
            )
        count = expect_int("copy", count)
        check_copy_count(str(name), count)
        return [self.with_copy(name, i).evaluate_value(loop.get("input")) for i in range(count)]

    def _call(self, node: Call) -> Any:
        fn = lookup(node.name)
        if fn is None:
            return self._call_unregistered(node)
        args = node.args
        fn.check_arity(len(args))
        if fn.lazy:
            return fn.impl(self, *args)
        values = [self.evaluate(a) for a in args]
        for v in values:
            if type(v) is Deferred:
                return v
        return _apply(fn, self, values)

    def _call_unregistered(self, node: Call) -> Any:
        name = node.name
        if "." in name:
            values = [self.evaluate(a) for a in node.args]
            return self.scope.call_user_function(self, name, values)
        if name.lower().startswith("list"):
            values = [self.evaluate(a) for a in node.args]
            for v in values:
                if type(v) is Deferred:
                    return v
            resources = self.scope.resources
            if resources is None:
                raise ExpressionError(
                    f"The template function '{name}' needs a deployment's resource state."
                )
            return resources.list_call(self, name, values)
        raise ExpressionError(f"The template function '{name}' is not valid.")

    def _access(self, node: Access) -> Any:
        target = self.evaluate(node.target)
        if type(target) is Deferred:
            return target
        key = self.evaluate(node.key)
        if type(key) is Deferred:
            return key
        if isinstance(target, dict):
            if not isinstance(key, str):
                raise ExpressionError(
                    f"The language expression property '{key}' is not valid: an object "
                    "property name must be a string."
                )
            found, value = get_property(target, key)
            if not found:
                available = ", ".join(target) or "none"
                raise ExpressionError(
                    f"The language expression property '{key}' doesn't exist, available "
                    f"properties are '{available}'."
                )
            return value
        if isinstance(target, list):
            if not is_int(key):
                raise ExpressionError(
                    f"The language expression property '{key}' can't be evaluated: an array "
                    "index must be an integer."
                )
            if not 0 <= key < len(target):
                raise ExpressionError(
                    f"The language expression property array index '{key}' is out of bounds."
                )
            return target[key]
        if target is None:
            raise ExpressionError(
                f"The language expression property '{key}' can't be evaluated, property "
                "name must be a string."
                if not isinstance(key, str)
                else f"The language expression property '{key}' can't be evaluated because "
                "its parent is null."
            )
        raise ExpressionError(
            f"The language expression property '{key}' can't be evaluated: the value is of "
            f"type '{type(target).__name__}', not an object or an array."
        )


def _apply(fn: ArmFunction, ctx: EvalContext, values: list[Any]) -> Any:
    try:
        result = fn.impl(ctx, *values)
        limits.account(result, fn.name)
        return result
    except (ExpressionError, TemplateError):
        raise
    except RecursionError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, ArithmeticError) as exc:
        raise ExpressionError(f"The template language function '{fn.name}' failed: {exc}") from None


COPY_LIMIT = 800


def check_copy_count(name: str, count: int) -> None:
    """ARM's copy loop limits: a count between 0 and 800."""
    if count < 0:
        raise ExpressionError(f"The copy count of '{name}' must not be negative; got {count}.")
    if count > COPY_LIMIT:
        raise ExpressionError(
            f"The copy count of '{name}' is {count}, which exceeds the limit of {COPY_LIMIT}."
        )


def evaluate_expression(text: str, ctx: EvalContext | None = None) -> Any:
    """Evaluate one JSON string (an expression like ``"[concat('a', 'b')]"`` or a literal)."""
    ctx = ctx or EvalContext()
    return ctx.evaluate_value(text)


# --- the core functions that work on the evaluator itself -------------------------------


@arm_function("lambda", min_args=1, max_args=None, lazy=True)
def _lambda(ctx: EvalContext, *args: Node) -> LambdaValue:
    names: list[str] = []
    for arg in args[:-1]:
        if type(arg) is not Literal or not isinstance(arg.value, str):
            raise ExpressionError(
                "The template language function 'lambda' expects its parameter names to be "
                "string literals."
            )
        names.append(arg.value)
    return LambdaValue(tuple(names), args[-1])


@arm_function("lambdaVariables", min_args=1)
def _lambda_variables(ctx: EvalContext, name: Any) -> Any:
    if not isinstance(name, str) or name.lower() not in ctx.lambdas:
        raise ExpressionError(
            f"The lambda variable '{name}' is not found. It can only be used in the body "
            "of a lambda function that declares it."
        )
    return ctx.lambdas[name.lower()]


@arm_function("parameters", min_args=1)
def _parameters(ctx: EvalContext, name: Any) -> Any:
    if not isinstance(name, str):
        raise ExpressionError("The template function 'parameters' expects a parameter name.")
    return ctx.scope.parameter(name)


@arm_function("variables", min_args=1)
def _variables(ctx: EvalContext, name: Any) -> Any:
    if not isinstance(name, str):
        raise ExpressionError("The template function 'variables' expects a variable name.")
    return ctx.scope.variable(ctx, name)


@arm_function("copyIndex", min_args=0, max_args=2)
def _copy_index(ctx: EvalContext, *args: Any) -> int:
    name: str | None = None
    offset = 0
    if len(args) == 2:
        name, offset = args
    elif len(args) == 1:
        if isinstance(args[0], str):
            name = args[0]
        else:
            offset = args[0]
    if name is not None and not isinstance(name, str):
        raise ExpressionError("The template function 'copyIndex' expects a loop name string.")
    if not is_int(offset):
        raise ExpressionError("The template function 'copyIndex' expects an integer offset.")
    return ctx.copy_index(name) + offset


@arm_function("fail", min_args=1)
def _fail(ctx: EvalContext, message: Any) -> Any:
    raise ExpressionError(str(message), code="DeploymentFailed")


Resolver = Callable[[EvalContext, str, list[Any]], Any]
