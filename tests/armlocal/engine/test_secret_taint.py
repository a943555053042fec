"""The engine's taint of values computed from secure parameters: a second expansion with
stand-ins for the secure values, compared with the real one."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine import MASK, DeploymentContext, SecretMask, expand
from bicep_assets.armlocal.engine.secret_taint import (
    NO_TAINT,
    WHOLE,
    disguise,
    mask_at,
    secret_taint,
)

from .conftest import nested, rid, template

SA = "Microsoft.Storage/storageAccounts"
SECRET = "S3cret-value-{json}"


def storage(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": SA, "apiVersion": "2023-01-01", "name": name, "properties": properties}


def taint_of(tpl: dict[str, Any], params: dict[str, Any]) -> Any:
    context = DeploymentContext()
    real = expand(tpl, params, context)
    return secret_taint(tpl, params, context, real)


@pytest.mark.parametrize(
    "value",
    ["abc-XYZ_019 ~x", '{a: [1, "b"]}', {"k": ["v", 3, True]}, ""],
    ids=["text", "json-text", "object", "empty"],
)
def test_disguise_keeps_shape_and_length_and_changes_every_character(value: Any) -> None:
    other = disguise(value)
    if isinstance(value, str):
        assert len(other) == len(value)
        assert all(a != b or a in '{}[]":, ' for a, b in zip(value, other, strict=True))
    else:
        assert other == {"k": ["b", 3, True]}


def test_properties_computed_from_a_secret_are_tainted_and_others_not() -> None:
    tpl = template(
        [
            storage(
                "sa1",
                {
                    "direct": "[parameters('pw')]",
                    "inside": "[format('Password={0};', parameters('pw'))]",
                    "encoded": "[base64(parameters('pw'))]",
                    "length": "[length(parameters('pw'))]",
                    "plain": "[parameters('name')]",
                },
            )
        ],
        parameters={"pw": {"type": "securestring"}, "name": {"type": "string"}},
    )
    taint = taint_of(tpl, {"pw": {"value": SECRET}, "name": {"value": "visible"}})
    assert sorted(taint.resource_paths(rid(SA, "sa1"))) == [
        ("properties", "direct"),
        ("properties", "encoded"),
        ("properties", "inside"),
    ]
    assert f"Password={SECRET};" in taint.values
    assert "visible" not in taint.values


def test_a_resource_named_from_a_secret_is_tainted_whole() -> None:
    tpl = template(
        [storage("[parameters('pw')]", {"x": 1})], parameters={"pw": {"type": "securestring"}}
    )
    taint = taint_of(tpl, {"pw": {"value": "abcdefgh"}})
    assert taint.resource_paths(rid(SA, "abcdefgh")) == [WHOLE]


def test_a_secure_default_and_a_nested_plain_parameter_are_tainted() -> None:
    inner = template(
        [storage("sa2", {"p": "[parameters('plain')]"})],
        parameters={"plain": {"type": "string"}},
    )
    deployment = nested("inner", inner)
    deployment["properties"]["parameters"] = {"plain": {"value": "[toUpper(parameters('pw'))]"}}
    tpl = template(
        [deployment],
        parameters={"pw": {"type": "securestring", "defaultValue": "default-secret"}},
    )
    taint = taint_of(tpl, {})
    assert taint.resource_paths(rid(SA, "sa2")) == [("properties", "p")]
    assert "DEFAULT-SECRET" in taint.values


def test_no_secure_value_no_taint_and_a_template_the_stand_in_breaks_has_none() -> None:
    plain = template(
        [storage("sa1", {"x": "[parameters('n')]"})], parameters={"n": {"type": "string"}}
    )
    assert taint_of(plain, {"n": {"value": "v"}}) is NO_TAINT
    parsed = template(
        [
            storage(
                "sa1",
                {"user": "[json(parameters('pw')).user]", "port": "[json(parameters('pw')).port]"},
            )
        ],
        parameters={"pw": {"type": "securestring"}},
    )
    # a secret holding JSON keeps its keys in the stand-in, so json() still reads it
    document = '{"user": "admin", "port": 5432}'
    paths = taint_of(parsed, {"pw": {"value": document}}).resource_paths(rid(SA, "sa1"))
    assert paths == [("properties", "user")]
    # the stand-in of 'true' is no boolean: no taint (the text mask still applies), no error
    broken = template(
        [storage("sa1", {"on": "[bool(parameters('pw'))]"})],
        parameters={"pw": {"type": "securestring"}},
    )
    assert taint_of(broken, {"pw": {"value": "true"}}) is NO_TAINT


def test_mask_at_replaces_what_lies_at_the_paths_and_keeps_identifiers() -> None:
    body = {"name": "sa1", "properties": {"a": "x", "B": {"c": ["y", "z"]}, "keep": "k"}}
    assert mask_at(body, [("properties", "a"), ("properties", "b", "c", 1)], MASK) == {
        "name": "sa1",
        "properties": {"a": MASK, "B": {"c": ["y", MASK]}, "keep": "k"},
    }
    assert mask_at(body, [WHOLE], MASK)["name"] == "sa1"


def test_a_mask_with_exact_values_masks_whole_strings_only() -> None:
    mask = SecretMask(exact=["Password=abc;"])
    assert mask.value({"v": "Password=abc;", "w": "Password=abc; and more"}) == {
        "v": MASK,
        "w": "Password=abc; and more",
    }
    assert mask.carries(["Password=abc;"]) and not mask.carries("Password=")
    assert mask.with_secrets(["long-secret-1"]).exact == mask.exact


def test_a_new_guid_default_is_not_mistaken_for_a_secret() -> None:
    tpl = template(
        [storage("sa1", {"run": "[parameters('runId')]", "pw": "[parameters('pw')]"})],
        parameters={
            "pw": {"type": "securestring"},
            "runId": {"type": "string", "defaultValue": "[newGuid()]"},
        },
    )
    taint = taint_of(tpl, {"pw": {"value": SECRET}})
    assert taint.resource_paths(rid(SA, "sa1")) == [("properties", "pw")]
