"""Manifest files read strictly: YAML with positions and no duplicate keys, and pydantic's
validation errors rephrased to name the file, the key path, what is allowed and the line.

PyYAML keeps the last of two equal keys without a word; here that is an error, because a
manifest whose second ``mode:`` silently wins is a deployment nobody reviewed.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

Positions = dict[tuple[str | int, ...], tuple[int, int]]  # key path → (line, column), 1-based

# A manifest is a page of settings: these bounds are far above any real one, and keep a
# hostile file (a YAML "billion laughs" of nested aliases) from taking memory and time.
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_MANIFEST_VALUES = 10_000  # keys and items, counted as aliases expand them


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the key and the fix."""


def read_yaml_manifest(path: Path, shown: str) -> tuple[dict[str, Any], Positions]:
    """The manifest's top-level mapping and where each key path is written."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(
                f"{shown}: the manifest is larger than {MAX_MANIFEST_BYTES // 1024} KB; a "
                "manifest holds settings, not data"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{shown}: no such manifest file") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{shown}: not UTF-8 text") from None
    except OSError as exc:
        raise ManifestError(f"{shown}: cannot read the manifest: {exc.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        positions: Positions = {}
        if node is not None:
            _walk(node, (), positions, shown, [0])
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise ManifestError(_yaml_message(exc, shown)) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{shown}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        raise ManifestError(f"{shown}: the manifest is empty; it needs at least template and scope")
    if not isinstance(data, dict):
        raise ManifestError(
            f"{shown}: the manifest must be a mapping of keys (template, scope, ...), not a "
            f"{type(data).__name__}"
        )
    return data, positions


def _yaml_message(exc: yaml.MarkedYAMLError, shown: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
    problem = exc.problem or "malformed YAML"
    context = f" ({exc.context})" if exc.context else ""
    return f"{where}: invalid YAML: {problem}{context}"


def _walk(
    node: yaml.Node,
    path: tuple[str | int, ...],
    positions: Positions,
    shown: str,
    count: list[int],  # values seen so far, aliases counted each time they are used
) -> None:
    count[0] += 1
    if count[0] > MAX_MANIFEST_VALUES:
        raise ManifestError(
            f"{shown}: the manifest holds more than {MAX_MANIFEST_VALUES:,} values once its "
            "YAML aliases (*name) are expanded; write the values out or use fewer aliases"
        )
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _walk(value_node, path, positions, shown, count)
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            mark = key_node.start_mark
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise ManifestError(
                    f"{shown}: {render_path((*path, key))}: duplicate key at line "
                    f"{mark.line + 1}, column {mark.column + 1} (first at line {first}); YAML "
                    "would silently keep only the last one: remove one"
                )
            seen[key] = key_node
            positions[(*path, key)] = (mark.line + 1, mark.column + 1)
            _walk(value_node, (*path, key), positions, shown, count)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions[(*path, index)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, (*path, index), positions, shown, count)


def render_path(loc: tuple[Any, ...]) -> str:
    """``("health_checks", "http", 0, "url")`` → ``health_checks.http[0].url``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


# what a pattern-constrained value is, by the key holding it
_PATTERN_MEANING = {
    "subscription_id": "a subscription id (a GUID)",
    "resource_group": (
        "a resource group name (1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.')"
    ),
    "management_group_id": (
        "a management group id (1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.')"
    ),
    "tenant_id": "a tenant id (a GUID)",
    "client_id": "a client id (a GUID: the app registration's or managed identity's)",
    "location": "an Azure region name such as westeurope",
    "env": "an environment variable name (letters, digits and '_')",
    "secret": "a Key Vault secret name (letters, digits and '-')",
    "version": "a Key Vault secret version (letters and digits)",
    "what_if_ignore": "a property path without spaces, such as properties.siteConfig.alwaysOn",
    "tags": "a tag name without <, >, %, &, \\, ? or /",
    "excluded_principals": "a principal (object) id, a GUID",
    "excluded_actions": "an RBAC action without spaces, such as Microsoft.Web/sites/write",
}
_TYPE_MEANING = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "is_instance_of": "a path (a string)",
}


def format_validation_error(
    exc: ValidationError, shown: str, model: type[BaseModel], positions: Positions
) -> str:
    """One line per error: ``FILE: key.path: what is wrong [at line N]``."""
    found: list[tuple[int, str]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        message = _message(error, loc, model)
        path = render_path(loc)
        line = _line_of(loc, positions)
        where = f" at line {line}" if line else ""
        text = f"{shown}: {path}: {message}{where}" if path else f"{shown}: {message}"
        found.append((line or 0, text))
    return "\n".join(text for _, text in sorted(found, key=lambda item: item[0]))


def _line_of(loc: tuple[Any, ...], positions: Positions) -> int | None:
    keys = tuple(part for part in loc if part != "[key]")
    for end in range(len(keys), 0, -1):
        found = positions.get(keys[:end])
        if found:
            return found[0]
    return None


def _message(error: Any, loc: tuple[Any, ...], model: type[BaseModel]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        if loc[0] == "secure_parameters" and loc[-1] == "value":
            return (
                "a secure value is never written in a manifest: give env: VARIABLE, or "
                "key_vault: VAULT_ID with secret: NAME"
            )
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        if close:
            return f"unknown key (did you mean '{close[0]}'?)"
        return f"unknown key; allowed here: {', '.join(allowed)}" if allowed else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"must be {error['ctx']['expected']}, not {_show(value)}"
    if kind in _TYPE_MEANING:
        return f"must be {_TYPE_MEANING[kind]}, not {_show(value)}"
    if kind == "string_pattern_mismatch":
        # the key holding the value; for a mapping's own key ("[key]"), the mapping's name
        key = loc[-3] if loc[-1] == "[key]" and len(loc) >= 3 else loc[-1]
        if isinstance(key, int) and len(loc) >= 2:  # a list's item: the list's key
            key = loc[-2]
        meaning = _PATTERN_MEANING.get(str(key))
        if meaning:
            return f"must be {meaning}, not {_show(value)}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    text = str(error["msg"])
    text = text.replace("Input should be", "must be").replace("Input should", "must")
    text = text.replace("Dictionary should", "must").replace("String should", "must")
    text = text.replace("List should", "must")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text += f", not {_show(value)}"
    return text


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [name for name in current.model_fields if name not in ("name", "manifest_path")]
    return []


def _step(annotation: Any, part: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
