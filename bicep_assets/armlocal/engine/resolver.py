"""The resources of one template: their identities, bodies, and what refers to what.

A :class:`Resolver` is the expansion's working state and the ``resources`` hook of the
template scope: ``reference()`` and ``list*()`` come here to find a resource by symbolic
name, name or id, to record the implicit dependency, and to read the resource's state (or
answer :class:`Deferred` when this deployment has not created it yet).
"""

from __future__ import annotations

import copy as copy_module
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import limits
from .body import evaluate_body, evaluate_copy_count
from .context import DeploymentContext, ResourceState
from .errors import ExpressionError, TemplateError
from .evaluator import Deferred, EvalContext, TemplateScope
from .models import META_KEYS, ExpandedResource, Expansion
from .ordering import raise_cycle
from .outputs import evaluate_outputs
from .resource_ids import build_resource_id
from .scopes import absolute_scope
from .template import Declaration, is_relative_type

DEPLOYMENTS = "microsoft.resources/deployments"
NestedExpander = Callable[["Resolver", ExpandedResource, Any, EvalContext, bool], None]


@dataclass
class _Instance:
    declaration: Declaration
    ctx: EvalContext
    parent_key: str | None
    skipped: bool
    batch: tuple[str, int, int] | None  # (declaration location + parent, batch size, index)
    status: str = "new"  # new | busy | done
    implicit: set[str] = field(default_factory=set)


class Resolver:
    """See the module docstring."""

    def __init__(
        self,
        scope: TemplateScope,
        context: DeploymentContext,
        language: str,
        *,
        depth: int,
        expand_nested: NestedExpander,
    ) -> None:
        self.scope = scope
        self.context = context
        self.language = language
        self.depth = depth
        self.expand_nested = expand_nested
        self.disguise: Callable[[Any], Any] | None = None  # see expansion.expand
        self.state: ResourceState = context.state
        self.deployed = False  # True: this template's resources exist in ``state``
        self.strict = False  # True: a missing resource is an error, not a deferred value
        self.resources: list[ExpandedResource] = []
        self.info: dict[str, _Instance] = {}
        self.by_symbol: dict[str, list[ExpandedResource]] = {}
        self.by_id: dict[str, ExpandedResource] = {}
        self.by_name: dict[str, list[ExpandedResource]] = {}
        self.by_loop: dict[str, list[ExpandedResource]] = {}
        # every copy loop name and symbolic name declared, with or without instances: a
        # loop of count 0 has none, yet naming it in dependsOn is valid (nothing to wait for)
        self.declared_names: set[str] = set()
        self.declared_loops: set[str] = set()  # of them, those that are copy loops
        self._collecting: list[_Instance] = []

    # -- phase 1: identities --------------------------------------------------------------
    def declare(self, declarations: list[Declaration]) -> None:
        instances_of: dict[int, list[tuple[ExpandedResource, _Instance]]] = {}
        for decl in declarations:
            parents: list[tuple[ExpandedResource | None, _Instance | None]] = [(None, None)]
            if decl.parent is not None:
                parents = list(instances_of.get(id(decl.parent), []))
            made: list[tuple[ExpandedResource, _Instance]] = []
            for parent, parent_info in parents:
                made.extend(self._declare_instances(decl, parent, parent_info))
            instances_of[id(decl)] = made

    def _declare_instances(
        self,
        decl: Declaration,
        parent: ExpandedResource | None,
        parent_info: _Instance | None,
    ) -> list[tuple[ExpandedResource, _Instance]]:
        raw = decl.raw
        base_key = (
            decl.location
            if parent is None
            else (parent.key + decl.location[decl.location.rfind(".resources[") :])
        )
        base_ctx = (parent_info.ctx if parent_info else EvalContext(self.scope)).at(decl.location)
        loop = raw.get("copy")
        if decl.symbolic_name:
            self.declared_names.add(decl.symbolic_name.lower())
        contexts: list[tuple[EvalContext, str | None, int | None]] = [(base_ctx, None, None)]
        batch_size = 0
        if loop is not None:
            if not isinstance(loop, dict) or not isinstance(loop.get("name"), str):
                raise TemplateError(
                    f"{decl.location}.copy: a resource copy loop needs a 'name' and a 'count'.",
                    code="InvalidTemplate",
                )
            name = loop["name"]
            self.declared_names.add(name.lower())
            self.declared_loops.add(name.lower())
            if decl.symbolic_name:
                self.declared_loops.add(decl.symbolic_name.lower())
            count = evaluate_copy_count(base_ctx, name, loop.get("count"), decl.location)
            if str(loop.get("mode", "parallel")).lower() == "serial":
                batch_size = loop.get("batchSize", 1)
                if not isinstance(batch_size, int) or batch_size < 1:
                    raise TemplateError(
                        f"{decl.location}.copy.batchSize: must be a positive integer.",
                        code="InvalidTemplate",
                    )
            contexts = [
                (base_ctx.with_copy(name, i, resource_loop=True), name, i) for i in range(count)
            ]
        made = []
        for ctx, loop_name, index in contexts:
            key = base_key if index is None else f"{base_key}[{index}]"
            resource, info = self._identity(decl, ctx, key, parent, parent_info)
            resource.copy_name, resource.copy_index = loop_name, index
            if batch_size and index is not None:
                info.batch = (base_key, batch_size, index)
            self._register(resource, info)
            made.append((resource, info))
        return made

    def _evaluate_meta(self, ctx: EvalContext, value: Any, where: str) -> Any:
        result = evaluate_body(ctx, value, where, property_copies=False)
        if result.deferred:
            raise ExpressionError(
                f"{where}: this value cannot use 'reference' or 'list*' functions: it must be "
                "known before the deployment starts."
            )
        return result.value

    def _identity(
        self,
        decl: Declaration,
        ctx: EvalContext,
        key: str,
        parent: ExpandedResource | None,
        parent_info: _Instance | None,
    ) -> tuple[ExpandedResource, _Instance]:
        raw, where = decl.raw, key
        skipped = bool(parent_info and parent_info.skipped)
        if "condition" in raw and not skipped:
            condition = evaluate_body(ctx, raw["condition"], f"{where}.condition").value
            if isinstance(condition, str) and condition.startswith("["):
                condition = True  # depends on a resource of this deployment: decided later
            if not isinstance(condition, bool):
                raise ExpressionError(
                    f"{where}.condition: The condition must evaluate to a boolean, not "
                    f"{type(condition).__name__}."
                )
            skipped = not condition
        rtype = self._string(ctx, raw["type"], f"{where}.type")
        if skipped:
            # ARM does not evaluate a resource whose condition is false: its name may well
            # not be computable then (Bicep guards optional resources this way)
            name, scope_id, resource_id = self._best_effort_identity(ctx, raw, rtype, where)
        else:
            name = self._string(ctx, raw["name"], f"{where}.name")
            if parent is not None and is_relative_type(rtype):
                rtype = f"{parent.type}/{rtype}"
                name = f"{parent.name}/{name}"
            scope_id = self._scope_id(ctx, raw, where)
            resource_id = self._resource_id(ctx, raw, rtype, name, scope_id, where)
        api = raw.get("apiVersion")
        resource = ExpandedResource(
            key=key,
            symbolic_name=decl.symbolic_name,
            id=resource_id,
            type=rtype,
            name=name,
            api_version=api,
            scope_id=scope_id,
            existing=bool(raw.get("existing")),
        )
        info = _Instance(decl, ctx, parent.key if parent else None, skipped, None)
        return resource, info

    def _best_effort_identity(
        self, ctx: EvalContext, raw: dict[str, Any], rtype: str, where: str
    ) -> tuple[str, str, str]:
        try:
            name = self._string(ctx, raw["name"], f"{where}.name")
            scope_id = self._scope_id(ctx, raw, where)
            return name, scope_id, self._resource_id(ctx, raw, rtype, name, scope_id, where)
        except TemplateError:
            name = str(raw["name"])
            return name, self.context.scope_id, f"{self.context.scope_id}/<not evaluated>/{where}"

    def _string(self, ctx: EvalContext, value: Any, where: str) -> str:
        result = self._evaluate_meta(ctx, value, where)
        if not isinstance(result, str) or not result:
            raise ExpressionError(f"{where}: must be a non-empty string, got {result!r}.")
        return result

    def _scope_id(self, ctx: EvalContext, raw: dict[str, Any], where: str) -> str:
        if "scope" not in raw:
            return self.context.scope_id
        value = self._string(ctx, raw["scope"], f"{where}.scope")
        if value.startswith("/"):
            return value.rstrip("/")  # "/" is the tenant
        management_group = absolute_scope(value)
        if management_group is not None:
            return management_group
        target = self.by_symbol.get(value.lower())
        if target:
            return target[0].id
        return f"{self.context.scope_id}/providers/{value.strip('/')}"

    def _resource_id(
        self,
        ctx: EvalContext,
        raw: dict[str, Any],
        rtype: str,
        name: str,
        scope_id: str,
        where: str,
    ) -> str:
        sub_given = self._target_scope(ctx, raw, "subscriptionId", where)
        group_given = self._target_scope(ctx, raw, "resourceGroup", where)
        if sub_given or group_given:
            # a nested deployment or an `existing` resource in another subscription/group;
            # an empty value (Bicep writes `resourceGroup: ''`) means the current one
            sub = sub_given or self.context.subscription_id
            group = self.context.resource_group.name if self.context.resource_group else None
            if sub_given and "resourceGroup" not in raw:
                group = None
            group = group_given or group
            scope_id = f"/subscriptions/{sub}" + (f"/resourceGroups/{group}" if group else "")
        try:
            return build_resource_id(scope_id, rtype, [name])
        except ExpressionError as exc:
            raise exc.at(f"{where}.name") from None

    def _target_scope(self, ctx: EvalContext, raw: dict[str, Any], key: str, where: str) -> str:
        """The ``subscriptionId`` or ``resourceGroup`` a declaration names; ``""`` when it
        names none, or names the current one with an empty string."""
        if key not in raw:
            return ""
        value = self._evaluate_meta(ctx, raw[key], f"{where}.{key}")
        if value is None or value == "":
            return ""
        if not isinstance(value, str):
            raise ExpressionError(f"{where}.{key}: must be a string, got {value!r}.")
        return value

    def _register(self, resource: ExpandedResource, info: _Instance) -> None:
        self.resources.append(resource)
        self.info[resource.key] = info
        if resource.symbolic_name:
            self.by_symbol.setdefault(resource.symbolic_name.lower(), []).append(resource)
        if info.skipped:
            return
        known = self.by_id.get(resource.id.lower())
        if known is not None and not known.existing and not resource.existing:
            raise TemplateError(
                f"{resource.key}: The resource '{resource.id}' is defined multiple times in "
                f"the template (also at {known.key}).",
                code="InvalidTemplate",
            )
        self.by_id[resource.id.lower()] = resource
        self.by_name.setdefault(resource.name.lower(), []).append(resource)
        if resource.copy_name:
            self.by_loop.setdefault(resource.copy_name.lower(), []).append(resource)

    # -- phase 2: bodies ------------------------------------------------------------------
    def evaluate_bodies(self) -> None:
        for resource in self.resources:
            info = self.info[resource.key]
            if not info.skipped and not resource.existing:
                self.ensure_body(resource)

    def ensure_body(self, resource: ExpandedResource) -> None:
        info = self.info[resource.key]
        if info.status == "done":
            return
        if info.status == "busy":
            chain = [i for i in self._collecting]
            keys = [self._key_of(i) for i in chain]
            start = keys.index(resource.key) if resource.key in keys else 0
            cycle = [*keys[start:], resource.key]
            raise_cycle(cycle, {k: self._by_key(k).id for k in cycle})
        info.status = "busy"
        self._collecting.append(info)
        try:
            self._evaluate_body(resource, info)
        finally:
            self._collecting.pop()
        info.status = "done"

    def _key_of(self, info: _Instance) -> str:
        return next(k for k, v in self.info.items() if v is info)

    def _by_key(self, key: str) -> ExpandedResource:
        return next(r for r in self.resources if r.key == key)

    def _evaluate_body(self, resource: ExpandedResource, info: _Instance) -> None:
        raw = {k: v for k, v in info.declaration.raw.items() if k not in META_KEYS}
        inner_template = None
        is_deployment = resource.type.lower() == DEPLOYMENTS
        if is_deployment and isinstance(raw.get("properties"), dict):
            properties = dict(raw["properties"])
            inner_template = properties.pop("template", None)
            raw["properties"] = properties
        result = evaluate_body(info.ctx, raw, resource.key)
        if limits.json_size(result.value, limits.MAX_RESOURCE_BYTES) > limits.MAX_RESOURCE_BYTES:
            raise ExpressionError(
                f"{resource.key}: the resource definition is larger than 1 MB after expansion, "
                "the most ARM accepts for one resource."
            )
        resource.body = result.value
        resource.deferred = result.deferred
        evaluated = is_deployment and isinstance(inner_template, str)
        if evaluated:
            inner_template = self._template_expression(info.ctx, inner_template, resource.key)
        if is_deployment:
            self.expand_nested(self, resource, inner_template, info.ctx, evaluated)
            if inner_template is not None and isinstance(resource.body.get("properties"), dict):
                resource.body["properties"]["template"] = inner_template

    def _template_expression(self, ctx: EvalContext, text: str, where: str) -> Any:
        """A nested deployment's ``properties.template`` written as an expression
        (``[variables('t')]``, ``[json(...)]``) is evaluated in the parent's scope, like any
        other property; a value that needs a resource not yet deployed stays the text (the
        nested deployment is then expanded when it runs). That evaluation is the parent's
        part: what expressions the result still holds (written ``[[...]`` in the variable)
        are the nested deployment's own, evaluated with its ``parameters`` — Bicep's
        ``loadJsonContent`` modules rely on it, whatever ``expressionEvaluationOptions``
        says."""
        location = f"{where}.properties.template"
        result = evaluate_body(ctx, text, location, property_copies=False)
        if result.deferred:
            return text
        if not isinstance(result.value, dict):
            raise ExpressionError(
                f"{location}: The template of a nested deployment must be an object, not "
                f"{_json_type(result.value)}."
            )
        return result.value

    # -- phase 3: dependencies ------------------------------------------------------------
    def live_resources(self) -> list[ExpandedResource]:
        return [r for r in self.resources if not r.existing and not self.info[r.key].skipped]

    def existing_resources(self) -> list[ExpandedResource]:
        return [r for r in self.resources if r.existing and not self.info[r.key].skipped]

    def skipped_resources(self) -> list[ExpandedResource]:
        return [r for r in self.resources if self.info[r.key].skipped]

    def dependency_keys(self, resource: ExpandedResource) -> list[str]:
        info = self.info[resource.key]
        keys: dict[str, None] = {}
        if info.parent_key and self._is_live(info.parent_key):
            keys[info.parent_key] = None
        for entry_index, entry in enumerate(info.declaration.raw.get("dependsOn") or []):
            where = f"{resource.key}.dependsOn[{entry_index}]"
            target = self._evaluate_meta(info.ctx, entry, where)
            for dep in self._match_dependency(target, where):
                keys[dep.key] = None
        for key in sorted(info.implicit):
            keys[key] = None
        if info.batch is not None:
            base, size, index = info.batch
            batch = index // size
            if batch > 0:
                for i in range((batch - 1) * size, batch * size):
                    keys[f"{base}[{i}]"] = None
        if resource.key in keys:
            raise_cycle([resource.key, resource.key], {resource.key: resource.id})
        return [k for k in keys if self._is_live(k)]

    def _is_live(self, key: str) -> bool:
        info = self.info.get(key)
        if info is None or info.skipped:
            return False
        return not info.declaration.raw.get("existing")

    def _match_dependency(self, target: Any, where: str) -> list[ExpandedResource]:
        """The live resources a ``dependsOn`` entry names.

        ARM removes a resource that is not deployed from the dependencies ("Define the order
        for deploying resources": a conditional resource that isn't deployed is removed
        automatically): a resource whose condition is false, a copy loop whose count is 0,
        a loop (or a member of one) whose instances are all conditioned off. Such an entry
        is nothing to wait for; only a name that no resource declares is an error.
        """
        if not isinstance(target, str) or not target:
            raise ExpressionError(f"{where}: a dependency must be a non-empty string.")
        found = self.find(target, include_loops=True)
        if found:
            return found
        if self._names_undeployed(target):
            return []
        raise TemplateError(
            f"{where}: The resource '{target}' is not defined in the template.",
            code="InvalidTemplate",
        )

    def _names_undeployed(self, target: str) -> bool:
        """``target`` names a declared resource, loop or loop member that deploys nothing."""
        lowered = target.lower()
        if lowered in self.declared_names:
            return True
        if lowered.endswith("]") and "[" in lowered:
            symbol, _, index = lowered[:-1].partition("[")
            if symbol in self.declared_loops and index.strip().isdigit():
                return True
        for resource in self.resources:
            if not self.info[resource.key].skipped:
                continue
            if lowered in (
                resource.id.lower(),
                resource.name.lower(),
                f"{resource.type}/{resource.name}".lower(),
            ):
                return True
            if "<not evaluated>" in resource.id and _names_type(lowered, resource.type):
                return True  # its name was not evaluated (ARM does not evaluate it either)
        return False

    def find(self, target: str, *, include_loops: bool = False) -> list[ExpandedResource]:
        """Resources named by a symbolic name, id, name, 'type/name' or copy loop name."""
        lowered = target.lower()
        if lowered in self.by_symbol:
            return [r for r in self.by_symbol[lowered] if not self.info[r.key].skipped]
        if lowered.endswith("]") and "[" in lowered:
            symbol, _, index = lowered[:-1].partition("[")
            if symbol in self.by_symbol and index.isdigit():
                matches = [r for r in self.by_symbol[symbol] if r.copy_index == int(index)]
                return [r for r in matches if not self.info[r.key].skipped]
        if lowered in self.by_id:
            return [self.by_id[lowered]]
        if lowered in self.by_name:
            return list(self.by_name[lowered])
        if include_loops and lowered in self.by_loop:
            return list(self.by_loop[lowered])
        if "/" in lowered and not lowered.startswith("/"):
            candidate = f"{self.context.scope_id}/providers/{target}".lower()
            if candidate in self.by_id:
                return [self.by_id[candidate]]
        return []

    # -- reference() and list*() ----------------------------------------------------------
    def _reads_itself(self, resource: ExpandedResource, target: str) -> bool:
        """Whether ``target`` is ``resource``'s id, read from ``resource``'s own body. Such a
        read is of what exists (ARM: a reference by id adds no dependency) — the merge of a
        scope's current tags into its tags resource; by name it is a circular dependency."""
        if not self._collecting or not target.startswith("/"):
            return False
        current, info = self._collecting[-1], self.info[resource.key]
        return current.declaration is info.declaration and current.ctx.copy == info.ctx.copy

    def _depend_on(self, resource: ExpandedResource) -> None:
        if self._collecting and not resource.existing:
            self._collecting[-1].implicit.add(resource.key)

    def reference(self, ctx: EvalContext, target: str, api_version: str | None, full: bool) -> Any:
        found = self.find(target)
        resource = found[0] if len(found) == 1 else None
        if len(found) > 1:
            raise ExpressionError(
                f"The template function 'reference' found {len(found)} resources named "
                f"'{target}'; use the resource id."
            )
        if (
            resource is not None
            and not resource.existing
            and not self._reads_itself(resource, target)
        ):
            self._depend_on(resource)
            if resource.type.lower() == DEPLOYMENTS and not self.deployed:
                self.ensure_body(resource)
                preview = _nested_preview(resource)
                if preview is not None:
                    return preview if full else preview["properties"]
            if not self.deployed:
                return Deferred(f"reference to '{resource.id}', created by this deployment")
        resource_id = resource.id if resource is not None else self._absolute_id(target)
        found_state = self.state.get_resource(resource_id)
        if found_state is None:
            if self.strict:
                raise TemplateError(
                    f"The Resource '{resource_id}' was not found.", code="ResourceNotFound"
                )
            return Deferred(f"reference to '{resource_id}', which does not exist yet")
        if full:
            result = copy_module.deepcopy(found_state)
            if api_version:
                result.setdefault("apiVersion", api_version)
            return result
        return copy_module.deepcopy(found_state.get("properties", {}))

    def list_call(self, ctx: EvalContext, function: str, values: list[Any]) -> Any:
        if not values or not isinstance(values[0], str):
            raise ExpressionError(
                f"The template function '{function}' expects a resource id as its first parameter."
            )
        target = values[0]
        api_version = values[1] if len(values) > 1 and isinstance(values[1], str) else None
        body = values[2] if len(values) > 2 else None
        found = self.find(target)
        resource = found[0] if len(found) == 1 else None
        if (
            resource is not None
            and not resource.existing
            and not self._reads_itself(resource, target)
        ):
            self._depend_on(resource)
            if not self.deployed:
                return Deferred(f"{function} of '{resource.id}', created by this deployment")
        resource_id = resource.id if resource is not None else self._absolute_id(target)
        answer = self.state.invoke_action(resource_id, function, api_version, body)
        if answer is None:
            if self.strict:
                raise TemplateError(
                    f"The Resource '{resource_id}' was not found or does not support '{function}'.",
                    code="ResourceNotFound",
                )
            return Deferred(f"{function} of '{resource_id}'")
        return answer

    def _absolute_id(self, target: str) -> str:
        if target.startswith("/"):
            return target
        return f"{self.context.scope_id}/providers/{target.strip('/')}"

    # -- after expansion: against another state -------------------------------------------
    def with_state(self, state: ResourceState | None, *, deployed: bool) -> Resolver:
        twin = copy_module.copy(self)
        twin.state = state if state is not None else self.state
        twin.deployed = deployed
        twin.strict = deployed
        twin._collecting = []
        twin.scope = self.scope.with_resources(twin)
        return twin

    def reevaluate(self, resource: ExpandedResource) -> ExpandedResource:
        info = self.info[resource.key]
        ctx = EvalContext(
            self.scope, location=info.ctx.location, copy=info.ctx.copy, lambdas=info.ctx.lambdas
        )
        fresh = replace(resource, body={}, deferred=False, nested=None, nested_deferred_reason=None)
        scratch = _Instance(info.declaration, ctx, info.parent_key, info.skipped, info.batch)
        self._collecting.append(scratch)
        try:
            self._evaluate_body(fresh, scratch)
        finally:
            self._collecting.pop()
        return fresh


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else type(value).__name__


def _names_type(target: str, resource_type: str) -> bool:
    """``target`` (lower case) is an id or ``type/name`` of a resource of ``resource_type``."""
    rtype = resource_type.lower()
    if target.startswith("/"):
        marker = target.rfind("/providers/")
        if marker < 0:
            return False
        segments = target[marker + len("/providers/") :].split("/")
        return "/".join([segments[0], *segments[1::2]]) == rtype
    return target.startswith(rtype + "/")


def _nested_preview(resource: ExpandedResource) -> dict[str, Any] | None:
    """What ``reference()`` of a nested deployment shows before it runs: its outputs, with
    the ones that wait for resources as deferred values."""
    nested: Expansion | None = resource.nested
    if nested is None:
        return None
    assert nested._scope is not None and nested._resolver is not None
    outputs = evaluate_outputs(EvalContext(nested._scope), nested._outputs, keep_deferred=True)
    properties = {
        "outputs": outputs,
        "provisioningState": "Succeeded",
        "mode": nested.context.mode,
        "templateHash": nested.template_hash,
    }
    return {
        "id": resource.id,
        "name": resource.name,
        "type": resource.type,
        "properties": properties,
    }
