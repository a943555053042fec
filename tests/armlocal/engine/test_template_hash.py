"""ARM's templateHash, pinned to Microsoft's published calculateTemplateHash example (REST API
reference, Deployments - Calculate Template Hash): the request template, the
``minifiedTemplate`` ARM answered and the ``templateHash`` it computed from it."""

from __future__ import annotations

import json

import pytest

from bicep_assets.armlocal.engine.template_hash import minified_template, template_hash

# The documented request body, in its documented key order.
REQUEST_TEMPLATE = {
    "$schema": "http://schemas.management.azure.com/deploymentTemplate?api-version=2014-04-01-preview",
    "contentVersion": "1.0.0.0",
    "parameters": {"string": {"type": "string"}},
    "variables": {
        "string": "string",
        "int": 42,
        "bool": True,
        "array": [1, 2, 3, 4],
        "object": {"object": {"vmSize": "Large", "location": "West US"}},
    },
    "resources": [],
    "outputs": {"string": {"type": "string", "value": "myvalue"}},
}

# The documented response.
MINIFIED = (
    '{"$SCHEMA":"HTTP://SCHEMAS.MANAGEMENT.AZURE.COM/DEPLOYMENTTEMPLATE?API-VERSION=2014-04-01-'
    'PREVIEW","CONTENTVERSION":"1.0.0.0","PARAMETERS":{"STRING":{"TYPE":"STRING"}},"VARIABLES":'
    '{"STRING":"STRING","INT":42,"BOOL":TRUE,"ARRAY":[1,2,3,4],"OBJECT":{"OBJECT":{"VMSIZE":'
    '"LARGE","LOCATION":"WEST US"}}},"RESOURCES":[],"OUTPUTS":{"STRING":{"TYPE":"STRING",'
    '"VALUE":"MYVALUE"}}}'
)
TEMPLATE_HASH = "695440707931307747"


def test_minified_template_is_the_documented_one() -> None:
    assert minified_template(REQUEST_TEMPLATE) == MINIFIED


def test_template_hash_is_the_documented_one() -> None:
    assert template_hash(REQUEST_TEMPLATE) == TEMPLATE_HASH


def test_source_formatting_does_not_matter() -> None:
    compact = json.dumps(REQUEST_TEMPLATE, separators=(",", ":"))
    indented = json.dumps(REQUEST_TEMPLATE, indent=4)
    assert template_hash(json.loads(compact)) == template_hash(json.loads(indented))


def test_letter_case_does_not_matter() -> None:
    # the hashed text is upper-cased, as the documented minifiedTemplate shows
    lowered = json.loads(json.dumps(REQUEST_TEMPLATE).lower())
    assert template_hash(lowered) == TEMPLATE_HASH


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"contentVersion": "1.0.0.1"}, "contentVersion"),
        ({"resources": [{}]}, "resources"),
        ({"variables": {**REQUEST_TEMPLATE["variables"], "int": 43}}, "variables.int"),
    ],
    ids=["content-version", "resources", "variable-value"],
)
def test_any_content_change_changes_the_hash(change: dict, path: str) -> None:
    assert template_hash({**REQUEST_TEMPLATE, **change}) != TEMPLATE_HASH, path


def test_key_order_is_kept_as_given() -> None:
    assert minified_template({"b": 1, "a": 2}) == '{"B":1,"A":2}'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("line\nbreak\ttab", '"LINE\\NBREAK\\TTAB"'),
        ('quote " and \\ slash', '"QUOTE \\" AND \\\\ SLASH"'),
        ("\x01", '"\\U0001"'),
        ("sep\u2028arator", '"SEP\\U2028ARATOR"'),
        ("café", '"CAFÉ"'),
        ("straße", '"STRAßE"'),
        ("<tag attr='x'>", "\"<TAG ATTR='X'>\""),
        (None, "NULL"),
        (False, "FALSE"),
        (-7, "-7"),
        (2.5, "2.5"),
    ],
    ids=[
        "short-escapes",
        "quote-and-backslash",
        "control-char",
        "line-separator",
        "non-ascii-kept",
        "no-length-changing-upper-case",
        "html-chars-kept",
        "null",
        "false",
        "negative-int",
        "float",
    ],
)
def test_minified_values(value: object, expected: str) -> None:
    assert minified_template(value) == expected
