"""Which values of an expansion are computed from secure parameters.

ARM tracks secure *types*; the local ARM never answers secure *values*, nor what is computed
from them — a password inside a connection string, the base64 of a key, a secret passed to a
nested deployment's plain ``string`` parameter. A mask of the secrets' text finds the first
two only when the secret shows as it is and is long enough to be told from ordinary text.

So the engine expands the template a second time with every secure parameter's value (of
this template and of its nested ones, supplied or default) replaced by a stand-in of the same
shape and length (:func:`disguise`; a secret holding a JSON document keeps its keys).
Whatever differs between the two expansions — a resource property, a parameter, an output —
was computed from a secure value. What depends only on a secret's length (``length()``,
``empty()``) is the same both times, and tells nothing.

A template that cannot be expanded with the stand-ins (a secret read with ``int()`` or
``bool()``, or restricted by ``allowedValues``) gets no taint: the text mask still applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .context import DeploymentContext
from .expansion import expand
from .masking import is_identifier_key
from .models import ExpandedResource, Expansion

Path = tuple[str | int, ...]  # keys and indices from the root of a resource's ARM body
WHOLE: Path = ()  # the whole resource (its identity itself derives from a secret)
MIN_TAINTED_TEXT = 4  # shorter derived strings ("S", "on") match ordinary text too often
_KEEP = frozenset('{}[]":,\\ \t\r\n')  # JSON structure: a secret holding JSON stays JSON


def disguise(value: Any) -> Any:
    """A stand-in for a secure value: the same shape, strings of the same length whose every
    character differs (letters stay letters, digits digits, JSON punctuation stays)."""
    if isinstance(value, str):
        parsed = _json_document(value)
        if parsed is not None:  # a secret holding JSON: its keys stay, so json() still reads it
            return json.dumps(disguise(parsed))
        return "".join(_other(c) for c in value)
    if isinstance(value, dict):
        return {k: disguise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [disguise(v) for v in value]
    return value


def _json_document(text: str) -> Any:
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _other(char: str) -> str:
    if char in _KEEP:
        return char
    if char.isdigit():
        return "1" if char == "0" else "0"
    if char.isalpha():
        base = "B" if char.isupper() else "b"
        return base if char.lower() != "b" else ("C" if char.isupper() else "c")
    return "~" if char != "~" else "^"


@dataclass(frozen=True)
class SecretTaint:
    """What of one expansion is computed from secure values (see the module docs)."""

    paths: dict[str, list[Path]] = field(default_factory=dict)  # lowercase resource id → paths
    values: frozenset[str] = frozenset()  # the computed strings themselves (4+ characters)

    def __bool__(self) -> bool:
        return bool(self.paths or self.values)

    def resource_paths(self, resource_id: str) -> list[Path]:
        return self.paths.get(resource_id.lower(), [])


NO_TAINT = SecretTaint()


def secret_taint(
    template: Any,
    parameters: dict[str, Any] | None,
    context: DeploymentContext,
    real: Expansion,
) -> SecretTaint:
    """The taint of ``real`` (``template`` expanded with ``parameters`` in ``context``)."""
    if not _has_secure_values(real):
        return NO_TAINT
    collector = _Collector()
    try:
        shadow = expand(template, _pinned(template, parameters, real), context, disguise=disguise)
        with limits.evaluation():
            collector.expansion(real, shadow)
    except Exception:  # the stand-ins broke the template (see the module docs): no taint
        return NO_TAINT
    return SecretTaint(collector.paths, frozenset(collector.values))


def _pinned(template: Any, parameters: dict[str, Any] | None, real: Expansion) -> dict[str, Any]:
    """The request's parameters, plus the real values of the defaults made with
    ``newGuid()``: a new GUID each time would differ between the two expansions without
    coming from a secret (``utcNow()`` is the deployment's one instant in both)."""
    pinned = dict(parameters or {})
    declared = template.get("parameters") if isinstance(template, dict) else None
    if not isinstance(declared, dict):
        return pinned
    given = {str(k).lower() for k in pinned}
    for name, declaration in declared.items():
        if name in real.secure_parameters or name.lower() in given:
            continue
        default = declaration.get("defaultValue") if isinstance(declaration, dict) else None
        if "newguid(" in json.dumps(default).lower() and name in real.parameters:
            pinned[name] = {"value": real.parameters[name]}
    return pinned


def _has_secure_values(expansion: Expansion) -> bool:
    if any(expansion.parameters.get(n) is not None for n in expansion.secure_parameters):
        return True
    return any(r.nested is not None and _has_secure_values(r.nested) for r in expansion.resources)


class _Collector:
    def __init__(self) -> None:
        self.paths: dict[str, list[Path]] = {}
        self.values: set[str] = set()

    def expansion(self, real: Expansion, shadow: Expansion) -> None:
        for name, value in real.parameters.items():
            if name not in real.secure_parameters:
                self._strings(_differing(value, shadow.parameters.get(name, _ABSENT), ()))
        others = {r.key: r for r in shadow.resources}
        for resource in real.resources:
            self.resource(resource, others.get(resource.key))
        try:
            real_outputs = real.evaluate_outputs()
            shadow_outputs = shadow.evaluate_outputs()
        except Exception:  # outputs that cannot be told yet: the resources' taint still holds
            return
        for name, output in real_outputs.items():
            other = shadow_outputs.get(name, {}).get("value", _ABSENT)
            self._strings(_differing(output.get("value"), other, ()))

    def resource(self, real: ExpandedResource, shadow: ExpandedResource | None) -> None:
        if shadow is None or shadow.id.lower() != real.id.lower():
            self.paths[real.id.lower()] = [WHOLE]
            return
        body, other = real.to_arm(), shadow.to_arm()
        found = list(_differing(body, other, ()))
        if found:
            self.paths[real.id.lower()] = [path for path, _ in found]
            self._strings(found)
        if real.nested is not None and shadow.nested is not None:
            self.expansion(real.nested, shadow.nested)

    def _strings(self, found: Iterator[tuple[Path, Any]] | list[tuple[Path, Any]]) -> None:
        for _, value in found:
            for text in texts(value):
                if len(text) >= MIN_TAINTED_TEXT:
                    self.values.add(text)


_ABSENT: Any = object()


def _differing(real: Any, shadow: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    """``(path, real value)`` of each place where ``real`` and ``shadow`` differ: leaves, or
    whole subtrees whose shape differs."""
    if isinstance(real, dict) and isinstance(shadow, dict):
        for key, value in real.items():
            yield from _differing(value, shadow.get(key, _ABSENT), (*path, key))
        return
    if isinstance(real, list) and isinstance(shadow, list) and len(real) == len(shadow):
        for index, (a, b) in enumerate(zip(real, shadow, strict=True)):
            yield from _differing(a, b, (*path, index))
        return
    if shadow is _ABSENT or type(real) is not type(shadow) or real != shadow:
        yield path, real


def texts(value: Any) -> Iterator[str]:
    """Every string in a JSON value (object values and array items, depth first)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def mask_at(value: Any, paths: list[Path], replacement: str) -> Any:
    """``value`` with what lies at each of ``paths`` (relative to it) replaced — a string,
    or every string of an object or array there; the rest is the same objects."""
    if not paths:
        return value
    if WHOLE in paths:
        return _replace_strings(value, replacement)
    if isinstance(value, dict):
        out = dict(value)
        for key in value:
            below = [p[1:] for p in paths if p and _same_key(p[0], key)]
            if below:
                out[key] = mask_at(value[key], below, replacement)
        return out
    if isinstance(value, list):
        out_list = list(value)
        for index in range(len(value)):
            below = [p[1:] for p in paths if p and p[0] == index]
            if below:
                out_list[index] = mask_at(value[index], below, replacement)
        return out_list
    return value


def _same_key(a: str | int, b: str) -> bool:
    return isinstance(a, str) and a.lower() == b.lower()  # ARM property names ignore case


def _replace_strings(value: Any, replacement: str) -> Any:
    """Every string of ``value`` replaced, except identifiers (ids, names, types: see
    ``masking.IDENTIFIER_KEYS``), which are never masked."""
    if isinstance(value, str):
        return replacement
    if isinstance(value, dict):
        return {
            k: v if is_identifier_key(k) else _replace_strings(v, replacement)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_strings(v, replacement) for v in value]
    return value
