"""Validating a value against an ARM type schema (a parameter declaration or a type definition).

A schema is the JSON ARM uses for parameters, outputs and ``definitions`` (languageVersion
2.0): ``type`` (``string``, ``securestring``, ``int``, ``bool``, ``object``, ``secureObject``,
``array``; case-insensitive), ``allowedValues``, ``minLength``/``maxLength``,
``minValue``/``maxValue``, ``nullable``, ``$ref`` (``#/definitions/Name``, possibly deeper,
e.g. ``#/definitions/Name/properties/sku``), object ``properties``/``additionalProperties``/
``sealed``/``discriminator`` and array ``prefixItems``/``items``. ``metadata`` and
``defaultValue`` are ignored here.

Errors are :class:`TemplateError` (code ``InvalidTemplate``) worded like ARM's: "The provided
value for the template parameter 'settings.sku' is not valid. ..." — the path names the
parameter and where inside it. Object property names match case-insensitively, as everywhere
in ARM; string comparisons against ``allowedValues`` and discriminator values are exact.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import TemplateError, type_name

MAX_DEPTH = 64
"""How deeply values may nest (and ``$ref`` chains may go) before validation gives up."""

SECURE_TYPES = frozenset({"securestring", "secureobject"})
_EXPECTED = {
    "string": "String, Uri",
    "securestring": "String, Uri",
    "int": "Integer",
    "bool": "Boolean",
    "object": "Object",
    "secureobject": "Object",
    "array": "Array",
}
_INT64 = (-(2**63), 2**63 - 1)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_USAGE = " Please see https://aka.ms/arm-syntax-parameters for usage details."


def validate_value(
    value: Any,
    schema: dict[str, Any],
    definitions: dict[str, Any] | None,
    path: str,
    *,
    subject: str = "template parameter",
) -> Any:
    """Check ``value`` against ``schema``; return it (unchanged) or raise ``TemplateError``.

    ``path`` names the value in messages (a parameter name); nested paths are appended
    (``settings.sku``, ``rules[0]``). ``subject`` is the noun used in messages
    (``"template output"`` for outputs).
    """
    _Validator(definitions or {}, subject).check(value, schema, path, 0, (), False)
    return value


# --- schema navigation (shared with parameters.py and sample_parameters.py) ----------------


def resolve_ref(ref: Any, definitions: dict[str, Any], where: str = "") -> dict[str, Any]:
    """The schema a ``$ref`` (``#/definitions/Name[/...]``) points at, or ``TemplateError``."""
    target: Any = None
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        target = {"definitions": definitions}
        for raw in ref[2:].split("/"):
            segment = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and segment in target:
                target = target[segment]
            elif isinstance(target, list) and segment.isdigit() and int(segment) < len(target):
                target = target[int(segment)]
            else:
                target = None
                break
    if not isinstance(target, dict):
        suffix = f" used by '{where}'" if where else ""
        raise TemplateError(
            f"The type reference '{ref}'{suffix} could not be resolved: it must point at a "
            "type definition under '#/definitions'.",
            target=where or None,
        )
    return target


def ref_chain(
    schema: dict[str, Any], definitions: dict[str, Any], where: str = ""
) -> list[dict[str, Any]]:
    """``schema`` followed by every schema its ``$ref`` chain leads to (cycles are errors)."""
    chain = [schema]
    seen: set[str] = set()
    current = schema
    while isinstance(current, dict) and "$ref" in current:
        ref = current["$ref"]
        if not isinstance(ref, str) or ref in seen or len(chain) > MAX_DEPTH:
            raise _circular(ref, where)
        seen.add(ref)
        current = resolve_ref(ref, definitions, where)
        chain.append(current)
    return chain


def is_nullable(schema: dict[str, Any], definitions: dict[str, Any], where: str = "") -> bool:
    """True if ``schema`` (or a type it references) is ``nullable``."""
    return any(s.get("nullable") is True for s in ref_chain(schema, definitions, where))


def declared_type(
    schema: dict[str, Any], definitions: dict[str, Any], where: str = ""
) -> str | None:
    """The lower-cased ``type`` of ``schema``, following ``$ref``; ``None`` if none declared."""
    for s in ref_chain(schema, definitions, where):
        if isinstance(s.get("type"), str):
            return s["type"].lower()
    return None


def is_secure(schema: dict[str, Any], definitions: dict[str, Any], where: str = "") -> bool:
    """True if ``schema`` or a type it references is ``securestring``/``secureObject``."""
    return any(
        isinstance(s.get("type"), str) and s["type"].lower() in SECURE_TYPES
        for s in ref_chain(schema, definitions, where)
    )


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1``; objects compare by keys and values."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b) and not (_is_number(a) and _is_number(b)):
        return False
    return bool(a == b)


def text_length(value: str) -> int:
    """ARM's string length: UTF-16 code units (an emoji counts 2)."""
    return len(value.encode("utf-16-le")) // 2


def child_path(path: str, name: str) -> str:
    """``path.name``, or ``path['odd name']`` when ``name`` is not identifier-like."""
    return f"{path}.{name}" if _IDENTIFIER.match(name) else f"{path}['{name}']"


def render(value: Any) -> str:
    """A value as ARM prints it in messages (strings bare, booleans ``True``/``False``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    return json.dumps(value, separators=(",", ":"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _circular(ref: Any, where: str) -> TemplateError:
    return TemplateError(
        f"The type reference '{ref}' used by '{where}' is circular or nested more than "
        f"{MAX_DEPTH} levels deep.",
        target=where or None,
    )


def _matches(value: Any, type_key: str) -> bool:
    if type_key in ("string", "securestring"):
        return isinstance(value, str)
    if type_key == "int":
        return _is_int(value)
    if type_key == "bool":
        return isinstance(value, bool)
    if type_key in ("object", "secureobject"):
        return isinstance(value, dict)
    return isinstance(value, list)


class _Validator:
    """One validation run: the definitions to resolve ``$ref`` against and the message noun."""

    def __init__(self, definitions: dict[str, Any], subject: str) -> None:
        self.definitions = definitions
        self.subject = subject

    # -- errors -----------------------------------------------------------------------------
    def invalid(self, path: str, reason: str) -> TemplateError:
        usage = _USAGE if self.subject == "template parameter" else ""
        return TemplateError(
            f"The provided value for the {self.subject} '{path}' is not valid. {reason}{usage}",
            target=path,
        )

    def schema_error(self, path: str, reason: str) -> TemplateError:
        return TemplateError(
            f"The type of the {self.subject} '{path}' is not valid: {reason}", target=path
        )

    # -- the walk ---------------------------------------------------------------------------
    def check(
        self,
        value: Any,
        schema: Any,
        path: str,
        depth: int,
        refs: tuple[str, ...],
        secure: bool,
    ) -> None:
        if depth > MAX_DEPTH:
            raise self.schema_error(
                path, f"the value or its type is nested more than {MAX_DEPTH} levels deep."
            )
        if not isinstance(schema, dict):
            raise self.schema_error(path, "a type definition must be a JSON object.")
        type_key = schema.get("type")
        secure = secure or (isinstance(type_key, str) and type_key.lower() in SECURE_TYPES)
        if value is None and is_nullable(schema, self.definitions, path):
            return
        ref = schema.get("$ref")
        if ref is not None:
            if ref in refs:
                raise _circular(ref, path)
            target = resolve_ref(ref, self.definitions, path)
            self.check(value, target, path, depth + 1, (*refs, ref), secure)
        elif type_key is None:
            raise self.schema_error(path, "it must declare a 'type' or a '$ref'.")
        self.check_local(value, schema, path, depth, secure)

    def check_local(
        self, value: Any, schema: dict[str, Any], path: str, depth: int, secure: bool
    ) -> None:
        """The constraints written on ``schema`` itself (not those behind its ``$ref``)."""
        type_key = schema.get("type")
        if type_key is not None:
            if not isinstance(type_key, str) or type_key.lower() not in _EXPECTED:
                raise self.schema_error(
                    path,
                    f"'{type_key}' is not a type; expected one of "
                    "'string, securestring, int, bool, object, secureObject, array'.",
                )
            key = type_key.lower()
            if not _matches(value, key):
                raise self.invalid(
                    path,
                    f"Expected a value of type '{_EXPECTED[key]}', but received a value of "
                    f"type '{type_name(value)}'.",
                )
            if key == "int" and not _INT64[0] <= value <= _INT64[1]:
                raise self.invalid(path, "The value is outside the range of a 64-bit integer.")
        self.check_allowed(value, schema, path, secure)
        self.check_bounds(value, schema, path)
        if isinstance(value, dict):
            self.check_object(value, schema, path, depth, secure)
        elif isinstance(value, list):
            self.check_array(value, schema, path, depth, secure)

    def check_allowed(self, value: Any, schema: dict[str, Any], path: str, secure: bool) -> None:
        allowed = schema.get("allowedValues")
        if not isinstance(allowed, list):
            return
        if any(json_equal(value, a) for a in allowed):
            return
        if isinstance(value, list) and all(any(json_equal(v, a) for a in allowed) for v in value):
            return  # for arrays, allowedValues constrains each element
        shown = "" if secure else f" '{render(value)}'"
        raise TemplateError(
            f"The provided value{shown} for the {self.subject} '{path}' is not valid. The "
            f"parameter value is not part of the allowed value(s): "
            f"'{','.join(render(a) for a in allowed)}'.",
            target=path,
        )

    def check_bounds(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if isinstance(value, (str, list)):
            length = text_length(value) if isinstance(value, str) else len(value)
            low, high = schema.get("minLength"), schema.get("maxLength")
            if _is_int(low) and length < low:
                raise self.invalid(
                    path, f"Length of the value should be greater than or equal to '{low}'."
                )
            if _is_int(high) and length > high:
                raise self.invalid(
                    path, f"Length of the value should be less than or equal to '{high}'."
                )
        if _is_int(value):
            low, high = schema.get("minValue"), schema.get("maxValue")
            if _is_int(low) and value < low:
                raise self.invalid(path, f"Value should be greater than or equal to '{low}'.")
            if _is_int(high) and value > high:
                raise self.invalid(path, f"Value should be less than or equal to '{high}'.")

    def check_object(
        self, value: dict[str, Any], schema: dict[str, Any], path: str, depth: int, secure: bool
    ) -> None:
        keys = {k.lower(): k for k in value}
        declared: set[str] = set()
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for name, prop in properties.items():
                declared.add(name.lower())
                inner = child_path(path, name)
                key = keys.get(name.lower())
                if key is None:
                    if not is_nullable(prop, self.definitions, inner):
                        raise self.invalid(
                            path, f"The required property '{name}' was not provided."
                        )
                    continue
                self.check(value[key], prop, inner, depth + 1, (), secure)
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, dict):
            self.check_variant(value, discriminator, path, depth, secure)
            return  # the chosen variant decides which further properties are allowed
        extra = schema.get("additionalProperties", True)
        if schema.get("sealed") is True:
            extra = False
        others = [k for k in value if k.lower() not in declared]
        if extra is False and others:
            allowed = ", ".join(properties or {}) if isinstance(properties, dict) else ""
            raise self.invalid(
                path,
                f"The property '{others[0]}' is not allowed; the only properties permitted "
                f"are '{allowed}'.",
            )
        if isinstance(extra, dict):
            for key in others:
                self.check(value[key], extra, child_path(path, key), depth + 1, (), secure)

    def check_variant(
        self,
        value: dict[str, Any],
        discriminator: dict[str, Any],
        path: str,
        depth: int,
        secure: bool,
    ) -> None:
        prop = discriminator.get("propertyName")
        mapping = discriminator.get("mapping")
        if not isinstance(prop, str) or not isinstance(mapping, dict):
            raise self.schema_error(
                path, "a discriminator needs a 'propertyName' and a 'mapping' object."
            )
        key = next((k for k in value if k.lower() == prop.lower()), None)
        if key is None:
            raise self.invalid(path, f"The discriminator property '{prop}' was not provided.")
        tag = value[key]
        if not isinstance(tag, str) or tag not in mapping:
            raise self.invalid(
                child_path(path, prop),
                f"The value '{render(tag)}' of the discriminator property '{prop}' is not one "
                f"of '{', '.join(mapping)}'.",
            )
        variant = mapping[tag]
        final = ref_chain(variant, self.definitions, path)[-1] if isinstance(variant, dict) else {}
        declares_tag = any(p.lower() == prop.lower() for p in final.get("properties") or {})
        subject = value if declares_tag else {k: v for k, v in value.items() if k != key}
        self.check(subject, variant, path, depth + 1, (), secure)

    def check_array(
        self, value: list[Any], schema: dict[str, Any], path: str, depth: int, secure: bool
    ) -> None:
        prefix = schema.get("prefixItems")
        start = 0
        if isinstance(prefix, list):
            if len(value) < len(prefix):
                raise self.invalid(
                    path, f"The array should have at least {len(prefix)} element(s)."
                )
            for i, item_schema in enumerate(prefix):
                self.check(value[i], item_schema, f"{path}[{i}]", depth + 1, (), secure)
            start = len(prefix)
        items = schema.get("items", True)
        if items is False and len(value) > start:
            raise self.invalid(path, f"The array should have at most {start} element(s).")
        if isinstance(items, dict):
            for i in range(start, len(value)):
                self.check(value[i], items, f"{path}[{i}]", depth + 1, (), secure)
