"""Validating values against ARM type schemas (parameters and user-defined types)."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import TemplateError
from bicep_assets.armlocal.engine.types import (
    declared_type,
    is_nullable,
    is_secure,
    json_equal,
    resolve_ref,
    validate_value,
)

# The examples of Microsoft's "Type definitions in ARM templates" page.
DOC_DEFINITIONS: dict[str, Any] = {
    "objectDefinition": {
        "type": "object",
        "properties": {
            "foo": {"type": "string", "minLength": 3},
            "bar": {"type": "int", "minValue": 0},
        },
    },
    "optionalObject": {
        "type": "object",
        "properties": {
            "foo": {"type": "string", "minLength": 3, "nullable": True},
            "bar": {"type": "int", "minValue": 0, "nullable": True},
        },
    },
    "dictionaryDefinition": {
        "type": "object",
        "properties": {
            "foo": {"type": "string", "minLength": 3, "nullable": True},
            "bar": {"type": "int", "minValue": 0, "nullable": True},
        },
        "additionalProperties": {"type": "string"},
    },
    "closedDefinition": {
        "type": "object",
        "properties": {
            "foo": {"type": "string", "minLength": 3},
            "bar": {"type": "int", "minValue": 0},
        },
        "additionalProperties": False,
    },
    "taggedUnionDefinition": {
        "type": "object",
        "discriminator": {
            "propertyName": "type",
            "mapping": {
                "ints": {"type": "object", "additionalProperties": {"type": "int"}},
                "strings": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
    "tupleDefinition": {
        "type": "array",
        "prefixItems": [{"type": "int"}, {"type": "bool"}],
    },
    "tupleWithInts": {
        "type": "array",
        "prefixItems": [{"type": "int"}, {"type": "bool"}],
        "items": {"type": "int"},
    },
    "closedTuple": {
        "type": "array",
        "prefixItems": [{"type": "int"}, {"type": "bool"}],
        "items": False,
    },
    "intArrayDefinition": {"type": "array", "items": {"type": "int"}},
    "naturalNumber": {"type": "int", "minValue": 1},
    "demoEnumType": {"type": "string", "allowedValues": ["one", "two"]},
    "nullableString": {"type": "string", "nullable": True},
    "secretType": {"type": "securestring"},
    "aliasOfNatural": {"$ref": "#/definitions/naturalNumber"},
    "node": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {
                "type": "array",
                "items": {"$ref": "#/definitions/node"},
                "nullable": True,
            },
        },
    },
    "_1.importedType": {"type": "object", "properties": {"sku": {"$ref": "#/definitions/sku"}}},
    "sku": {"type": "string", "allowedValues": ["Basic", "Standard"]},
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/definitions/{name}"}


VALID: list[tuple[str, dict[str, Any], Any]] = [
    ("string", {"type": "string"}, "x"),
    ("type-name-case-insensitive", {"type": "String"}, "x"),
    ("securestring", {"type": "secureString"}, "p@ss"),
    ("int", {"type": "int"}, -5),
    ("int64-max", {"type": "int"}, 2**63 - 1),
    ("bool", {"type": "bool"}, False),
    ("object", {"type": "object"}, {"a": [1]}),
    ("secureObject", {"type": "secureObject"}, {}),
    ("array", {"type": "array"}, [1, "a", None]),
    ("allowed", {"type": "string", "allowedValues": ["a", "b"]}, "b"),
    ("allowed-array-elements", {"type": "array", "allowedValues": ["a", "b"]}, ["b", "a"]),
    ("allowed-array-whole", {"type": "array", "allowedValues": [[1, 2], [3]]}, [1, 2]),
    ("allowed-object-literal", {"type": "object", "allowedValues": [{"k": 1}]}, {"k": 1}),
    ("min-length", {"type": "string", "minLength": 3}, "abc"),
    ("max-length", {"type": "string", "maxLength": 3}, "abc"),
    ("array-length", {"type": "array", "minLength": 1, "maxLength": 2}, [1, 2]),
    ("utf16-length", {"type": "string", "maxLength": 2}, "\U0001f600"),
    ("min-max-value", {"type": "int", "minValue": 1, "maxValue": 12}, 12),
    ("nullable-null", {"type": "string", "nullable": True}, None),
    ("object-doc-accepts", ref("objectDefinition"), {"foo": "string", "bar": 1}),
    ("property-names-case-insensitive", ref("objectDefinition"), {"FOO": "abc", "Bar": 0}),
    ("optional-properties-omitted", ref("optionalObject"), {}),
    ("optional-properties-null", ref("optionalObject"), {"foo": None}),
    ("dictionary-doc-accepts", ref("dictionaryDefinition"), {"fizz": "buzz", "foo": "bar"}),
    ("additional-true-by-default", ref("objectDefinition"), {"foo": "abc", "bar": 1, "x": 2}),
    ("closed-exact", ref("closedDefinition"), {"foo": "string", "bar": 1}),
    ("union-ints", ref("taggedUnionDefinition"), {"type": "ints", "foo": 1, "bar": 2}),
    (
        "union-strings",
        ref("taggedUnionDefinition"),
        {"type": "strings", "fizz": "buzz", "pop": "goes", "the": "weasel"},
    ),
    ("tuple", ref("tupleDefinition"), [1, True]),
    ("tuple-open-rest", ref("tupleDefinition"), [1, True, False, "foo", "bar"]),
    ("tuple-items", ref("tupleWithInts"), [1, True, 1, 1]),
    ("closed-tuple", ref("closedTuple"), [1, True]),
    ("int-array", ref("intArrayDefinition"), [1, 2]),
    ("ref-chain", ref("aliasOfNatural"), 5),
    ("nullable-definition", ref("nullableString"), None),
    ("nullable-beside-ref", {"$ref": "#/definitions/naturalNumber", "nullable": True}, None),
    ("recursive-type", ref("node"), {"name": "a", "children": [{"name": "b", "children": []}]}),
    ("imported-dotted-name", ref("_1.importedType"), {"sku": "Basic"}),
    ("pointer-into-definition", {"$ref": "#/definitions/objectDefinition/properties/bar"}, 0),
    ("metadata-ignored", {"type": "int", "metadata": {"description": "x"}}, 1),
]


@pytest.mark.parametrize(("schema", "value"), [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_values_pass_unchanged(schema: dict[str, Any], value: Any) -> None:
    assert validate_value(value, schema, DOC_DEFINITIONS, "p") is value


P = "The provided value for the template parameter"
USAGE = " Please see https://aka.ms/arm-syntax-parameters for usage details."

INVALID: list[tuple[str, dict[str, Any], Any, str]] = [
    (
        "bool-for-string",
        {"type": "string"},
        True,
        f"{P} 'p' is not valid. Expected a value of type 'String, Uri', but received a value of "
        f"type 'Boolean'.{USAGE}",
    ),
    (
        "string-true-for-bool",
        {"type": "bool"},
        "true",
        f"{P} 'p' is not valid. Expected a value of type 'Boolean', but received a value of "
        f"type 'String'.{USAGE}",
    ),
    (
        "bool-for-int",
        {"type": "int"},
        True,
        f"{P} 'p' is not valid. Expected a value of type 'Integer', but received a value of "
        f"type 'Boolean'.{USAGE}",
    ),
    (
        "float-for-int",
        {"type": "int"},
        1.0,
        f"{P} 'p' is not valid. Expected a value of type 'Integer', but received a value of "
        f"type 'Float'.{USAGE}",
    ),
    (
        "int-for-bool",
        {"type": "bool"},
        1,
        f"{P} 'p' is not valid. Expected a value of type 'Boolean', but received a value of "
        f"type 'Integer'.{USAGE}",
    ),
    (
        "null-for-object",
        {"type": "object"},
        None,
        f"{P} 'p' is not valid. Expected a value of type 'Object', but received a value of "
        f"type 'Null'.{USAGE}",
    ),
    (
        "object-for-array",
        {"type": "array"},
        {},
        f"{P} 'p' is not valid. Expected a value of type 'Array', but received a value of "
        f"type 'Object'.{USAGE}",
    ),
    (
        "int64-overflow",
        {"type": "int"},
        2**63,
        f"{P} 'p' is not valid. The value is outside the range of a 64-bit integer.{USAGE}",
    ),
    (
        "not-allowed",
        {"type": "string", "allowedValues": ["Standard_LRS", "Premium_LRS"]},
        "badSku",
        "The provided value 'badSku' for the template parameter 'p' is not valid. The "
        "parameter value is not part of the allowed value(s): 'Standard_LRS,Premium_LRS'.",
    ),
    (
        "allowed-is-case-sensitive",
        {"type": "string", "allowedValues": ["one"]},
        "ONE",
        "The provided value 'ONE' for the template parameter 'p' is not valid. The parameter "
        "value is not part of the allowed value(s): 'one'.",
    ),
    (
        "allowed-array-element",
        {"type": "array", "allowedValues": ["a", "b"]},
        ["a", "c"],
        "The provided value '[\"a\",\"c\"]' for the template parameter 'p' is not valid. The "
        "parameter value is not part of the allowed value(s): 'a,b'.",
    ),
    (
        "allowed-bool-is-not-int",
        {"type": "int", "allowedValues": [1, 2]},
        3,
        "The provided value '3' for the template parameter 'p' is not valid. The parameter "
        "value is not part of the allowed value(s): '1,2'.",
    ),
    (
        "secure-value-not-shown",
        {"type": "securestring", "allowedValues": ["s3cret"]},
        "hunter2",
        "The provided value for the template parameter 'p' is not valid. The parameter value "
        "is not part of the allowed value(s): 's3cret'.",
    ),
    (
        "too-short",
        {"type": "string", "minLength": 3},
        "ab",
        f"{P} 'p' is not valid. Length of the value should be greater than or equal to '3'.{USAGE}",
    ),
    (
        "too-long",
        {"type": "string", "maxLength": 24},
        "a" * 25,
        f"{P} 'p' is not valid. Length of the value should be less than or equal to '24'.{USAGE}",
    ),
    (
        "utf16-too-long",
        {"type": "string", "maxLength": 1},
        "\U0001f600",
        f"{P} 'p' is not valid. Length of the value should be less than or equal to '1'.{USAGE}",
    ),
    (
        "array-too-short",
        {"type": "array", "minLength": 1},
        [],
        f"{P} 'p' is not valid. Length of the value should be greater than or equal to '1'.{USAGE}",
    ),
    (
        "below-min",
        {"type": "int", "minValue": 21},
        20,
        f"{P} 'p' is not valid. Value should be greater than or equal to '21'.{USAGE}",
    ),
    (
        "above-max",
        {"type": "int", "maxValue": 127},
        128,
        f"{P} 'p' is not valid. Value should be less than or equal to '127'.{USAGE}",
    ),
    (
        "null-not-nullable",
        {"type": "string"},
        None,
        f"{P} 'p' is not valid. Expected a value of type 'String, Uri', but received a value "
        f"of type 'Null'.{USAGE}",
    ),
    (
        "object-doc-rejects-negative",
        ref("objectDefinition"),
        {"foo": "string", "bar": -1},
        f"{P} 'p.bar' is not valid. Value should be greater than or equal to '0'.{USAGE}",
    ),
    (
        "object-doc-rejects-empty-string",
        ref("objectDefinition"),
        {"foo": "", "bar": 1},
        f"{P} 'p.foo' is not valid. Length of the value should be greater than or equal to "
        f"'3'.{USAGE}",
    ),
    (
        "object-doc-rejects-missing",
        ref("objectDefinition"),
        {"foo": "string"},
        f"{P} 'p' is not valid. The required property 'bar' was not provided.{USAGE}",
    ),
    (
        "required-property-null",
        ref("objectDefinition"),
        {"foo": "string", "bar": None},
        f"{P} 'p.bar' is not valid. Expected a value of type 'Integer', but received a value "
        f"of type 'Null'.{USAGE}",
    ),
    (
        "dictionary-doc-rejects",
        ref("dictionaryDefinition"),
        {"property": 1},
        f"{P} 'p.property' is not valid. Expected a value of type 'String, Uri', but received "
        f"a value of type 'Integer'.{USAGE}",
    ),
    (
        "closed-doc-rejects-extra",
        ref("closedDefinition"),
        {"foo": "string", "bar": 1, "fizz": "buzz"},
        f"{P} 'p' is not valid. The property 'fizz' is not allowed; the only properties "
        f"permitted are 'foo, bar'.{USAGE}",
    ),
    (
        "sealed-rejects-extra",
        {"type": "object", "properties": {"a": {"type": "int"}}, "sealed": True},
        {"a": 1, "b": 2},
        f"{P} 'p' is not valid. The property 'b' is not allowed; the only properties "
        f"permitted are 'a'.{USAGE}",
    ),
    (
        "union-doc-rejects",
        ref("taggedUnionDefinition"),
        {"type": "ints", "fizz": "buzz"},
        f"{P} 'p.fizz' is not valid. Expected a value of type 'Integer', but received a value "
        f"of type 'String'.{USAGE}",
    ),
    (
        "union-unknown-tag",
        ref("taggedUnionDefinition"),
        {"type": "floats"},
        f"{P} 'p.type' is not valid. The value 'floats' of the discriminator property 'type' "
        f"is not one of 'ints, strings'.{USAGE}",
    ),
    (
        "union-missing-tag",
        ref("taggedUnionDefinition"),
        {"foo": 1},
        f"{P} 'p' is not valid. The discriminator property 'type' was not provided.{USAGE}",
    ),
    (
        "tuple-doc-rejects-type",
        ref("tupleDefinition"),
        [1, "string"],
        f"{P} 'p[1]' is not valid. Expected a value of type 'Boolean', but received a value "
        f"of type 'String'.{USAGE}",
    ),
    (
        "tuple-doc-rejects-short",
        ref("tupleDefinition"),
        [1],
        f"{P} 'p' is not valid. The array should have at least 2 element(s).{USAGE}",
    ),
    (
        "tuple-items-doc-rejects",
        ref("tupleWithInts"),
        [1, True, "foo"],
        f"{P} 'p[2]' is not valid. Expected a value of type 'Integer', but received a value "
        f"of type 'String'.{USAGE}",
    ),
    (
        "closed-tuple-rejects-extra",
        ref("closedTuple"),
        [1, True, 1],
        f"{P} 'p' is not valid. The array should have at most 2 element(s).{USAGE}",
    ),
    (
        "int-array-doc-rejects",
        ref("intArrayDefinition"),
        ["foo"],
        f"{P} 'p[0]' is not valid. Expected a value of type 'Integer', but received a value "
        f"of type 'String'.{USAGE}",
    ),
    (
        "natural-number-doc-rejects-default",
        ref("naturalNumber"),
        0,
        f"{P} 'p' is not valid. Value should be greater than or equal to '1'.{USAGE}",
    ),
    (
        "constraint-beside-ref",
        {"$ref": "#/definitions/naturalNumber", "maxValue": 3},
        4,
        f"{P} 'p' is not valid. Value should be less than or equal to '3'.{USAGE}",
    ),
    (
        "deep-recursive-value",
        ref("node"),
        {"name": "a", "children": [{"name": "b", "children": [{"children": []}]}]},
        f"{P} 'p.children[0].children[0]' is not valid. The required property 'name' was not "
        f"provided.{USAGE}",
    ),
    (
        "odd-property-name-path",
        {"type": "object", "properties": {"my key": {"type": "int"}}},
        {"my key": "x"},
        f"{P} 'p['my key']' is not valid. Expected a value of type 'Integer', but received a "
        f"value of type 'String'.{USAGE}",
    ),
    (
        "imported-type-enum",
        ref("_1.importedType"),
        {"sku": "Premium"},
        "The provided value 'Premium' for the template parameter 'p.sku' is not valid. The "
        "parameter value is not part of the allowed value(s): 'Basic,Standard'.",
    ),
]


@pytest.mark.parametrize(
    ("schema", "value", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_values_raise_arm_errors(schema: dict[str, Any], value: Any, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        validate_value(value, schema, DOC_DEFINITIONS, "p")
    assert caught.value.message == message
    assert caught.value.code == "InvalidTemplate"


def test_secure_object_property_values_are_not_shown() -> None:
    schema = {
        "type": "secureObject",
        "properties": {"k": {"type": "string", "allowedValues": ["a"]}},
    }
    with pytest.raises(TemplateError, match=r"^InvalidTemplate: The provided value for") as caught:
        validate_value({"k": "hunter2"}, schema, {}, "p")
    assert "hunter2" not in caught.value.message


def test_error_target_is_the_path() -> None:
    with pytest.raises(TemplateError) as caught:
        validate_value({"foo": "", "bar": 1}, ref("objectDefinition"), DOC_DEFINITIONS, "settings")
    assert caught.value.target == "settings.foo"


def test_outputs_use_their_own_noun_and_no_parameter_help() -> None:
    with pytest.raises(TemplateError) as caught:
        validate_value("x", {"type": "int"}, {}, "out", subject="template output")
    assert caught.value.message == (
        "The provided value for the template output 'out' is not valid. Expected a value of "
        "type 'Integer', but received a value of type 'String'."
    )


SCHEMA_ERRORS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "cyclic-refs",
        {"$ref": "#/definitions/a"},
        {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
        r"type reference '#/definitions/a' used by 'p' is circular",
    ),
    (
        "self-ref",
        {"$ref": "#/definitions/a"},
        {"a": {"$ref": "#/definitions/a"}},
        r"'#/definitions/a' used by 'p' is circular",
    ),
    (
        "missing-definition",
        {"$ref": "#/definitions/nope"},
        {},
        r"The type reference '#/definitions/nope' used by 'p' could not be resolved",
    ),
    (
        "ref-outside-definitions",
        {"$ref": "#/parameters/x"},
        {},
        r"'#/parameters/x' used by 'p' could not be resolved",
    ),
    (
        "unknown-type",
        {"type": "float"},
        {},
        r"The type of the template parameter 'p' is not valid: 'float' is not a type",
    ),
    (
        "no-type",
        {"minLength": 1},
        {},
        r"template parameter 'p' is not valid: it must declare a 'type' or a '\$ref'",
    ),
]


@pytest.mark.parametrize(
    ("schema", "definitions", "match"),
    [c[1:] for c in SCHEMA_ERRORS],
    ids=[c[0] for c in SCHEMA_ERRORS],
)
def test_broken_schemas_are_template_errors(
    schema: dict[str, Any], definitions: dict[str, Any], match: str
) -> None:
    with pytest.raises(TemplateError, match=match):
        validate_value("x", schema, definitions, "p")


def test_a_very_long_ref_chain_is_an_error_not_a_recursion_error() -> None:
    definitions: dict[str, Any] = {f"t{i}": {"$ref": f"#/definitions/t{i + 1}"} for i in range(500)}
    definitions["t500"] = {"type": "int"}
    with pytest.raises(TemplateError, match=r"nested more than 64 levels"):
        validate_value(1, {"$ref": "#/definitions/t0"}, definitions, "p")


def test_a_very_deep_value_is_an_error_not_a_recursion_error() -> None:
    value: dict[str, Any] = {"name": "leaf"}
    for _ in range(2000):
        value = {"name": "n", "children": [value]}
    with pytest.raises(TemplateError, match=r"nested more than 64 levels"):
        validate_value(value, ref("node"), DOC_DEFINITIONS, "p")


@pytest.mark.parametrize(
    ("schema", "nullable", "type_key", "secure"),
    [
        (ref("nullableString"), True, "string", False),
        ({"$ref": "#/definitions/naturalNumber", "nullable": True}, True, "int", False),
        (ref("aliasOfNatural"), False, "int", False),
        (ref("secretType"), False, "securestring", True),
        ({"type": "secureObject"}, False, "secureobject", True),
    ],
    ids=["nullable-def", "nullable-beside-ref", "alias", "secure-def", "secure-inline"],
)
def test_schema_queries_follow_refs(
    schema: dict[str, Any], nullable: bool, type_key: str, secure: bool
) -> None:
    assert is_nullable(schema, DOC_DEFINITIONS) is nullable
    assert declared_type(schema, DOC_DEFINITIONS) == type_key
    assert is_secure(schema, DOC_DEFINITIONS) is secure


def test_resolve_ref_unescapes_json_pointer() -> None:
    assert resolve_ref("#/definitions/a~1b", {"a/b": {"type": "int"}}) == {"type": "int"}


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, True, False),
        (0, False, False),
        (1, 1.0, True),
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
        ({"a": 1}, {"A": 1}, False),
        ([1, 2], [2, 1], False),
        ("a", "A", False),
    ],
    ids=["int-bool", "zero-false", "int-float", "nested", "key-case", "order", "string-case"],
)
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
