"""Answers that could carry a secure value, made safe: what-if results and exported
templates.

- **What-if**: a resource property computed from a secure value (``secret_taint``) is masked
  in ``after``, in ``before`` (the value stored by an earlier deployment: perhaps an older
  secret) and in every ``delta`` at or under its path; so is whatever is written to a
  *write-only* path (a Key Vault secret's ``value``, a SQL server's administrator password:
  see ``behaviors.write_only_paths``), secure parameter or not, as Azure's what-if masks
  those; then the deployment's mask applies to the whole result (runs of the secrets, and
  the computed values wherever they appear).
- **Exported templates**: ARM returns the template as deployed, secure parameters'
  ``defaultValue`` included. The local ARM masks those defaults (and any run of them in the
  template): a default is the value the deployment used.
"""

from __future__ import annotations

from typing import Any

from ..engine import MASK, Expansion, SecretMask
from ..engine.errors import ExpressionError
from ..engine.expressions import is_expression
from ..engine.parameters import secure_parameter_names
from ..engine.resource_ids import parse_resource_id
from ..engine.secret_taint import WHOLE, Path, mask_at, texts
from .behaviors import write_only_paths
from .records import deployment_mask


def secure_what_if(expansion: Expansion, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` (a ``WhatIfOperationResult``) without secure values or what was computed
    from them."""
    taint = expansion.secret_taint
    changes = (result.get("properties") or {}).get("changes")
    if isinstance(changes, list):
        masked = [
            _change(
                change,
                [
                    *(taint.resource_paths(change["resourceId"]) if taint else ()),
                    *_write_only(change),
                ],
            )
            for change in changes
        ]
        result = {**result, "properties": {**result["properties"], "changes": masked}}
    return deployment_mask(expansion).value(result)


def _write_only(change: dict[str, Any]) -> list[Path]:
    """The write-only paths of the changed resource's type, as body paths."""
    body = change.get("after") or change.get("before")
    resource_type = body.get("type") if isinstance(body, dict) else None
    if not isinstance(resource_type, str):
        try:
            resource_type = parse_resource_id(str(change.get("resourceId", ""))).resource_type
        except ExpressionError:
            return []
    return [tuple(path.split(".")) for path in sorted(write_only_paths(resource_type))]


def _change(change: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    if not paths:
        return change
    out = dict(change)
    for side in ("before", "after"):
        if isinstance(out.get(side), dict):
            out[side] = mask_at(out[side], paths, MASK)
    if isinstance(out.get("delta"), list):
        out["delta"] = _deltas(out["delta"], (), [_tokens(p) for p in paths])
    return out


def _tokens(path: Path) -> tuple[str | int, ...]:
    """A body path as what-if writes it: keys split at dots (``properties.a.b``), indices."""
    tokens: list[str | int] = []
    for part in path:
        if isinstance(part, int):
            tokens.append(part)
        else:
            tokens.extend(part.lower().split("."))
    return tuple(tokens)


def _deltas(
    deltas: list[dict[str, Any]], base: tuple[str | int, ...], paths: list[tuple[str | int, ...]]
) -> list[dict[str, Any]]:
    out = []
    for delta in deltas:
        relative = str(delta.get("path", ""))
        if base and base[-1] == "[]":  # a child of an array change: its path is an index
            here: tuple[str | int, ...] = (*base[:-1], int(relative) if relative.isdigit() else 0)
        else:
            here = (*base, *(relative.lower().split(".") if relative else ()))
        out.append(_delta(delta, here, paths))
    return out


def _delta(
    delta: dict[str, Any], here: tuple[str | int, ...], paths: list[tuple[str | int, ...]]
) -> dict[str, Any]:
    inside = any(here[: len(p)] == p for p in paths)
    below = [p[len(here) :] for p in paths if len(p) > len(here) and p[: len(here)] == here]
    if not inside and not below:
        return delta
    out = dict(delta)
    for side in ("before", "after"):
        if side in out:
            out[side] = mask_at(out[side], [WHOLE] if inside else below, MASK)
    children = out.get("children")
    if isinstance(children, list):
        if out.get("propertyChangeType") == "Array":
            out["children"] = _deltas(children, (*here, "[]"), paths)
        else:
            out["children"] = _deltas(children, here, paths)
    return out


def exported_template(template: Any) -> Any:
    """The template as ``exportTemplate`` answers it: the literal ``defaultValue`` of each
    secure parameter (of the template and of the templates nested in it) masked, wherever
    it shows."""
    defaults = list(_secure_defaults(template))
    if not defaults:
        return template
    return SecretMask(defaults).value(template)


def _secure_defaults(template: Any) -> Any:
    if isinstance(template, dict):
        parameters = template.get("parameters")
        if isinstance(parameters, dict) and "resources" in template:
            try:
                secure = secure_parameter_names(template)
            except Exception:  # a malformed declaration: nothing to mask there
                secure = set()
            for name in secure:
                declaration = parameters.get(name)
                if isinstance(declaration, dict):
                    # an expression's text is not a value (and is in the template anyway)
                    default = declaration.get("defaultValue")
                    yield from (t for t in texts(default) if not is_expression(t))
        for value in template.values():
            yield from _secure_defaults(value)
    elif isinstance(template, list):
        for value in template:
            yield from _secure_defaults(value)
