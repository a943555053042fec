"""Expanding a template: from template + parameters + context to resources in order.

``expand`` works in three phases, like ARM's own validation:

1. *identities* — every resource declaration (and each copy instance, each nested child)
   gets its condition, type, name, scope and id; ``existing`` resources are kept apart;
2. *bodies* — location, tags, sku, properties… are evaluated. ``reference()``/``list*()``
   of a resource that this deployment creates are deferred (see ``body.py``), and they
   add an implicit dependency. Nested deployments expand recursively, on demand when a
   parent reads their outputs;
3. *order* — explicit, implicit, parent/child and ``batchSize`` dependencies give a
   deployment order; a cycle is an error that names it.

Outputs are evaluated separately (``Expansion.evaluate_outputs``), against the state after
deployment; during planning they show deferred values as their expression text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import limits
from .context import DeploymentContext
from .errors import ExpressionError, TemplateError
from .evaluator import EvalContext, TemplateScope
from .models import ExpandedResource, Expansion
from .ordering import deployment_order
from .parameters import ParameterResolver, secure_parameter_names
from .resolver import Resolver
from .resource_ids import parse_resource_id
from .scopes import check_schema, context_at
from .template import check_template, declarations, uses_inner_scope
from .template_hash import template_hash

MAX_NESTING = 32  # nested deployments inside nested deployments


def expand(
    template: Any,
    parameters: dict[str, Any] | None = None,
    context: DeploymentContext | None = None,
    *,
    disguise: Callable[[Any], Any] | None = None,
) -> Expansion:
    """Expand ``template`` with ``parameters`` (ARM parameter-file shape) in ``context``.

    ``disguise`` replaces the value of every secure parameter (of this template and of its
    nested templates) before anything reads it: the stand-in expansion ``secret_taint``
    compares with the real one.
    """
    context = context or DeploymentContext()
    limits.check_json_depth(template, "The template")
    limits.check_json_depth(parameters, "The parameters")
    try:
        with limits.evaluation():
            return _expand(
                template, parameters or {}, context, outer=None, depth=0, disguise=disguise
            )
    except RecursionError:
        raise TemplateError(
            "The template is nested too deeply to evaluate.", code="InvalidTemplate"
        ) from None


def _expand(
    template: Any,
    supplied: dict[str, Any],
    context: DeploymentContext,
    *,
    outer: TemplateScope | None,
    depth: int,
    disguise: Callable[[Any], Any] | None = None,
) -> Expansion:
    if depth > MAX_NESTING:
        raise TemplateError(
            f"Nested deployments are nested more than {MAX_NESTING} levels deep.",
            code="InvalidTemplate",
        )
    check_template(template)
    if depth == 0:
        # only the deployment's own template: Bicep gives nested templates the schema of
        # their contents, and ARM deploys e.g. an empty resource group schema template nested
        # at management group scope (every Azure Verified Module's telemetry deployment)
        check_schema(template, context)
    language = str(template.get("languageVersion") or "1.0")
    template_hash = template_hash_of(template)

    if outer is None:
        scope = TemplateScope(
            variables=template.get("variables") or {},
            functions=template.get("functions") or [],
            deployment=context,
        )
        scope.template_header = _header(template)
        scope.template_hash = template_hash
        scope.template = template
        scope.deployment_parameters = supplied
        scope.type_definitions = template.get("definitions") or {}

        def evaluate_default(name: str, default: Any) -> Any:
            ctx = EvalContext(scope, location=f"parameters('{name}')", in_parameter_default=True)
            return ctx.evaluate_value(default)

        parameter_values = ParameterResolver(
            template, supplied, evaluate_default, disguise=disguise
        )
        scope.parameters = parameter_values  # defaults may read other parameters, lazily
        values = parameter_values.resolve_all()
        scope.parameters = values
        secure = frozenset(secure_parameter_names(template))
    else:
        # expressionEvaluationOptions.scope = outer: the inner template sees the parent's
        # parameters and variables; only its resources and outputs are its own.
        scope = outer.for_outer_nested(context)
        values = {}  # the parent's parameters stay the parent's (and its secrets with it)
        secure = frozenset()

    resolver = Resolver(scope, context, language, depth=depth, expand_nested=_expand_nested)
    resolver.disguise = disguise
    scope.resources = resolver
    resolver.declare(declarations(template))
    resolver.evaluate_bodies()
    for name in list(scope.variable_defs):  # ARM validates every variable, used or not
        scope.variable(EvalContext(scope), name)

    live = resolver.live_resources()
    order = deployment_order(
        [r.key for r in live],
        {r.key: resolver.dependency_keys(r) for r in live},
        {r.key: r.id for r in live},
    )
    by_key = {r.key: r for r in live}
    ordered = [by_key[k] for k in order]
    for resource in ordered:
        resource.depends_on = [by_key[k].id for k in resolver.dependency_keys(resource)]

    return Expansion(
        context=context,
        language_version=language,
        parameters=values,
        secure_parameters=secure,
        resources=ordered,
        existing=resolver.existing_resources(),
        skipped=resolver.skipped_resources(),
        template_hash=template_hash,
        _scope=scope,
        _outputs=template.get("outputs") or {},
        _resolver=resolver,
    )


def _expand_nested(
    parent: Resolver,
    resource: ExpandedResource,
    raw_template: Any,
    ctx: EvalContext,
    evaluated: bool = False,
) -> None:
    """Expand the inner template of a ``Microsoft.Resources/deployments`` resource
    (``evaluated``: the template was given as an expression, and the parent evaluated it —
    what remains is the nested deployment's own, see ``Resolver._template_expression``)."""
    properties = resource.body.get("properties") or {}
    link = properties.get("templateLink") if isinstance(properties, dict) else None
    loaded_link = None
    if not isinstance(raw_template, dict):
        loader = parent.context.link_loader
        if loader is None or _has_expression(link):
            resource.nested_deferred_reason = (
                "its template is linked (templateLink), which only the local ARM service fetches"
                if link
                else "the nested deployment has no inline template"
            )
            return
        try:
            raw_template, loaded_link = loader(link, parent.context.template_link)
        except TemplateError as exc:
            raise TemplateError(
                exc.message, code=exc.code, target=resource.key, details=exc.details
            ) from None
        evaluated = True  # a linked template is always evaluated in its own (inner) scope
    inner_scope = evaluated or uses_inner_scope(properties, location=f"{resource.key}.properties")
    child_context = _nested_context(parent.context, resource, properties)
    if loaded_link is not None:
        child_context = replace(child_context, template_link=loaded_link)
    if inner_scope:
        params = _nested_parameters(parent, resource, properties)
        if params is None:
            return
        if resource.deferred and _has_expression(params):
            resource.nested_deferred_reason = (
                "its parameters depend on resources that this deployment creates"
            )
            return
        nested = _expand(
            raw_template,
            params,
            child_context,
            outer=None,
            depth=parent.depth + 1,
            disguise=parent.disguise,
        )
    else:
        nested = _expand(
            raw_template,
            {},
            child_context,
            outer=parent.scope,
            depth=parent.depth + 1,
            disguise=parent.disguise,
        )
    resource.nested = nested


def _nested_parameters(
    parent: Resolver, resource: ExpandedResource, properties: dict[str, Any]
) -> dict[str, Any] | None:
    """A nested deployment's parameters: ``parameters``, or the parameters file its
    ``parametersLink`` names (fetched as a top-level deployment's is — not both, as ARM
    says); None when the link cannot be followed here (no loader: ``expand`` works offline;
    or its address waits on a resource this deployment creates)."""
    link = properties.get("parametersLink")
    if link is None:
        return properties.get("parameters") or {}
    if properties.get("parameters") is not None:
        raise TemplateError(
            f"The nested deployment '{resource.name}' takes 'parameters' or 'parametersLink', "
            "not both.",
            code="InvalidDeploymentParameters",
            target=resource.key,
        )
    loader = parent.context.link_loader
    if loader is None or _has_expression(link):
        resource.nested_deferred_reason = (
            "its parameters are linked (parametersLink), which only the local ARM service fetches"
            if loader is None
            else "its parametersLink depends on resources that this deployment creates"
        )
        return None
    try:
        return loader.parameters(link)
    except TemplateError as exc:
        raise TemplateError(
            exc.message, code=exc.code, target=resource.key, details=exc.details
        ) from None


def _nested_context(
    context: DeploymentContext, resource: ExpandedResource, properties: dict[str, Any]
) -> DeploymentContext:
    """The context of a nested deployment: the scope its id lies in (tenant, management
    group, subscription or resource group), its name, mode and location."""
    scope = parse_resource_id(resource.id).scope
    try:
        target = context_at(context, scope, location=resource.location or context.location)
    except ExpressionError as exc:
        raise exc.at(resource.key) from None
    mode = properties.get("mode") if isinstance(properties.get("mode"), str) else "Incremental"
    return replace(
        target,
        deployment_name=resource.name,
        mode=mode,  # type: ignore[arg-type]
    )


def _has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("[") and value.endswith("]") and not value.startswith("[[")
    if isinstance(value, dict):
        return any(_has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_expression(v) for v in value)
    return False


def _header(template: dict[str, Any]) -> dict[str, Any]:
    header = {k: template[k] for k in ("$schema", "contentVersion", "metadata") if k in template}
    return header


def template_hash_of(template: Any) -> str:
    """ARM's template hash (see ``template_hash``): reported for every deployment."""
    return template_hash(template)


__all__ = ["expand", "template_hash_of"]
