"""Generating minimal valid parameters for a template (for rehearsals, demos and tests).

Only *required* parameters (no ``defaultValue``, not ``nullable``) get a value; the result is
the ARM parameter-file shape ``{name: {"value": v}}``. Values respect the declared type,
``allowedValues`` (the first is taken), length and value bounds and user-defined types
(required properties filled recursively, the first discriminator variant chosen), and are
plausible where that is cheap: ``location`` → ``westeurope``, ``...ResourceId`` → a
well-formed resource id, ``...Name`` → a short lowercase name, IP addresses, GUID-like ids.
"""

from __future__ import annotations

from typing import Any

from .errors import TemplateError
from .types import MAX_DEPTH, is_nullable, json_equal, ref_chain, text_length

SAMPLE_LOCATION = "westeurope"
SAMPLE_GUID = "00000000-0000-0000-0000-000000000000"
SAMPLE_RESOURCE_ID = f"/subscriptions/{SAMPLE_GUID}/resourceGroups/rg/providers/Microsoft.Foo/bar/x"
_GUID_SUFFIXES = (
    "principalid", "objectid", "tenantid", "clientid", "subscriptionid", "applicationid",
    "appid", "guid",
)  # fmt: skip


def sample_parameters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: {"value": v}}`` with a minimal valid value for each required parameter."""
    definitions = template.get("definitions") or {}
    result: dict[str, dict[str, Any]] = {}
    for name, declaration in (template.get("parameters") or {}).items():
        if "defaultValue" in declaration or is_nullable(declaration, definitions, name):
            continue
        result[name] = {"value": sample_value(declaration, definitions, name)}
    return result


def sample_value(schema: dict[str, Any], definitions: dict[str, Any], name: str) -> Any:
    """A minimal value satisfying ``schema``; ``name`` (a parameter/property name) guides it."""
    return _Sampler(definitions).value(schema, name, name, 0)


def effective_schema(
    schema: dict[str, Any], definitions: dict[str, Any], where: str = ""
) -> dict[str, Any]:
    """``schema`` merged with what its ``$ref`` chain points at; the tightest bounds win."""
    merged: dict[str, Any] = {}
    for layer in reversed(ref_chain(schema, definitions, where)):
        for key, value in layer.items():
            if key == "$ref":
                continue
            if key in ("minLength", "minValue") and key in merged:
                merged[key] = max(merged[key], value)
            elif key in ("maxLength", "maxValue") and key in merged:
                merged[key] = min(merged[key], value)
            elif key == "allowedValues" and key in merged:
                narrowed = [v for v in value if any(json_equal(v, m) for m in merged[key])]
                merged[key] = narrowed or value
            else:
                merged[key] = value
    return merged


class _Sampler:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions

    def value(self, schema: dict[str, Any], hint: str, path: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise TemplateError(
                f"No finite sample value exists for '{path}': its type requires itself.",
                target=path,
            )
        s = effective_schema(schema, self.definitions, path)
        kind = str(s.get("type", "")).lower()
        allowed = s.get("allowedValues")
        if isinstance(allowed, list) and allowed:
            if kind == "array":
                return [allowed[0]] * max(_int(s.get("minLength")), 1)
            return allowed[0]
        if kind in ("string", "securestring"):
            return _string(hint, s, secure=kind == "securestring")
        if kind == "int":
            return _integer(s)
        if kind == "bool":
            return False
        if kind == "array":
            return self.array(s, hint, path, depth)
        return self.object(s, path, depth)

    def object(self, s: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, prop in (s.get("properties") or {}).items():
            inner = f"{path}.{name}"
            if not is_nullable(prop, self.definitions, inner):
                result[name] = self.value(prop, name, inner, depth + 1)
        discriminator = s.get("discriminator")
        if isinstance(discriminator, dict) and discriminator.get("mapping"):
            tag, variant = next(iter(discriminator["mapping"].items()))
            result.update(self.value(variant, path, path, depth + 1))
            result[discriminator["propertyName"]] = tag
        return result

    def array(self, s: dict[str, Any], hint: str, path: str, depth: int) -> list[Any]:
        prefix = s.get("prefixItems") if isinstance(s.get("prefixItems"), list) else []
        result = [self.value(p, hint, f"{path}[{i}]", depth + 1) for i, p in enumerate(prefix)]
        items = s.get("items", True)
        singular = hint[:-1] if hint.endswith("s") else hint
        while len(result) < _int(s.get("minLength")) and items is not False:
            item_schema = items if isinstance(items, dict) else {"type": "string"}
            result.append(self.value(item_schema, singular, f"{path}[{len(result)}]", depth + 1))
        return result


def _string(hint: str, s: dict[str, Any], *, secure: bool) -> str:
    lowered = hint.lower()
    if lowered == "location" or lowered.endswith("location"):
        text = SAMPLE_LOCATION
    elif lowered.endswith("resourceid"):
        text = SAMPLE_RESOURCE_ID
    elif lowered.endswith(_GUID_SUFFIXES):
        text = SAMPLE_GUID
    elif hint.endswith("Id") or lowered == "id":
        text = SAMPLE_RESOURCE_ID
    elif "ipaddress" in lowered or lowered.endswith("ip"):
        text = "10.0.0.1"
    elif lowered.endswith(("hostname", "fqdn")):
        text = "example.com"
    elif lowered == "user" or lowered.endswith(("username", "login")):
        text = "azureuser"
    elif secure or "password" in lowered or "secret" in lowered:
        text = "Sample-Passw0rd!"
    else:
        text = _name_like(hint)
    return _fit(text, _int(s.get("minLength")), s.get("maxLength"))


def _name_like(hint: str) -> str:
    """``serverName`` → ``server``, ``name`` → ``sample``: short, lowercase, alphanumeric."""
    stem = hint[:-4] if hint.lower().endswith("name") else hint
    stem = "".join(c for c in stem.lower() if c.isascii() and c.isalnum())[:24]
    return stem if len(stem) >= 3 and stem[0].isalpha() else "sample"


def _fit(text: str, low: int, high: Any) -> str:
    """``text`` stretched or cut to the length bounds (falling back to a plain name)."""
    if isinstance(high, int) and text_length(text) > high:
        text = "sample"[: max(high, 0)]
    if text_length(text) < low:
        text += "0" * (low - text_length(text))
    return text


def _integer(s: dict[str, Any]) -> int:
    low, high = s.get("minValue"), s.get("maxValue")
    if isinstance(low, int):
        return low
    if isinstance(high, int) and high < 1:
        return high
    return 1


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
