"""Resolving a template's parameters: supplied values, Key Vault references and defaults."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import TemplateError
from bicep_assets.armlocal.engine.parameters import (
    KeyVaultReference,
    ParameterResolver,
    parse_supplied,
    resolve_parameters,
    secure_parameter_names,
    validate_parameter,
)

VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.KeyVault/vaults/kv"
)

TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "languageVersion": "2.0",
    "contentVersion": "1.0.0.0",
    "definitions": {
        "skuType": {"type": "string", "allowedValues": ["Basic", "Standard"]},
        "secretType": {"type": "securestring"},
        "settingsType": {
            "type": "object",
            "properties": {
                "storageName": {"type": "string", "maxLength": 24},
                "tier": {"$ref": "#/definitions/skuType", "nullable": True},
            },
        },
    },
    "parameters": {
        "name": {"type": "string", "minLength": 3},
        "count": {"type": "int", "defaultValue": 2, "minValue": 1},
        "sku": {"$ref": "#/definitions/skuType", "defaultValue": "Basic"},
        "tags": {"type": "object", "nullable": True},
        "password": {"type": "securestring", "nullable": True},
        "token": {"$ref": "#/definitions/secretType", "nullable": True},
        "settings": {"$ref": "#/definitions/settingsType", "nullable": True},
        "derived": {"type": "string", "defaultValue": "[parameters('name')]"},
    },
    "resources": {},
}


def raw(name: str, default: Any) -> Any:
    """An evaluate_default that leaves defaults as written."""
    return default


def test_supplied_values_defaults_and_nullables() -> None:
    values = resolve_parameters(TEMPLATE, {"name": {"value": "app"}}, raw)
    assert values == {
        "name": "app",
        "count": 2,
        "sku": "Basic",
        "tags": None,
        "password": None,
        "token": None,
        "settings": None,
        "derived": "[parameters('name')]",
    }
    assert list(values) == list(TEMPLATE["parameters"])


def test_a_whole_parameters_file_is_accepted() -> None:
    parameters_file = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"name": {"value": "app"}, "count": {"value": 5}},
    }
    values = resolve_parameters(TEMPLATE, parameters_file, raw)
    assert (values["name"], values["count"]) == ("app", 5)


def test_names_match_case_insensitively_and_keep_the_template_spelling() -> None:
    values = resolve_parameters(TEMPLATE, {"NAME": {"value": "app"}, "Count": {"value": 3}}, raw)
    assert (values["name"], values["count"]) == ("app", 3)


def test_supplied_null_counts_as_not_supplied() -> None:
    values = resolve_parameters(TEMPLATE, {"name": {"value": "app"}, "count": {"value": None}}, raw)
    assert values["count"] == 2


def test_defaults_are_evaluated_in_declaration_order_only_when_needed() -> None:
    calls: list[str] = []

    def evaluate(name: str, default: Any) -> Any:
        calls.append(name)
        return "app-derived" if name == "derived" else default

    values = resolve_parameters(
        TEMPLATE, {"name": {"value": "app"}, "sku": {"value": "Standard"}}, evaluate
    )
    assert calls == ["count", "derived"]
    assert values["derived"] == "app-derived"
    assert values["sku"] == "Standard"


def test_a_default_may_read_a_parameter_declared_after_it() -> None:
    template = {
        "parameters": {
            "first": {"type": "string", "defaultValue": "[parameters('second')]"},
            "second": {"type": "string", "defaultValue": "two"},
        }
    }
    holder: dict[str, ParameterResolver] = {}
    order: list[str] = []

    def evaluate(name: str, default: Any) -> Any:
        order.append(name)
        if default == "[parameters('second')]":
            return holder["resolver"]["SECOND"] + "!"
        return default

    holder["resolver"] = ParameterResolver(template, None, evaluate)
    assert holder["resolver"].resolve_all() == {"first": "two!", "second": "two"}
    assert order == ["first", "second"]  # 'second' evaluated once, on demand


def test_a_default_that_depends_on_itself_is_an_error() -> None:
    template = {
        "parameters": {
            "a": {"type": "string", "defaultValue": "[parameters('b')]"},
            "b": {"type": "string", "defaultValue": "[parameters('a')]"},
        }
    }
    holder: dict[str, ParameterResolver] = {}

    def evaluate(name: str, default: Any) -> Any:
        return holder["resolver"][default[len("[parameters('") : -len("')]")]]

    holder["resolver"] = ParameterResolver(template, None, evaluate)
    with pytest.raises(
        TemplateError,
        match=r"The default value of the template parameter 'a' depends on itself: a -> b -> a\.",
    ):
        holder["resolver"].resolve_all()


def test_works_as_the_evaluators_parameter_table() -> None:
    """The lead's evaluator reads parameters through TemplateScope; the resolver can be it."""
    evaluator = pytest.importorskip("bicep_assets.armlocal.engine.evaluator")
    template = {
        "parameters": {
            "site": {"type": "string", "defaultValue": "[parameters('base')]"},
            "base": {"type": "string", "defaultValue": "[parameters('name')]"},
            "name": {"type": "string"},
        }
    }
    holder: dict[str, Any] = {}

    def evaluate(name: str, default: Any) -> Any:
        ctx = evaluator.EvalContext(holder["scope"], in_parameter_default=True)
        return ctx.evaluate_value(default)

    resolver = ParameterResolver(template, {"name": {"value": "web"}}, evaluate)
    holder["scope"] = evaluator.TemplateScope(parameters=resolver)  # type: ignore[arg-type]
    assert resolver.resolve_all() == {"site": "web", "base": "web", "name": "web"}


def test_unknown_parameters_are_named() -> None:
    with pytest.raises(TemplateError) as caught:
        resolve_parameters(
            TEMPLATE, {"name": {"value": "app"}, "extra": {"value": 1}, "other": {"value": 2}}, raw
        )
    assert caught.value.code == "InvalidTemplate"
    assert caught.value.message == (
        "Deployment template validation failed: 'The template parameters 'extra, other' in the "
        "parameters file are not valid; they are not present in the original template and can "
        "therefore not be provided at deployment time. The only supported parameters for this "
        "template are 'name, count, sku, tags, password, token, settings, derived'. Please see "
        "https://aka.ms/arm-pass-parameter-values for usage details.'."
    )


def test_a_missing_required_parameter_is_named() -> None:
    with pytest.raises(TemplateError) as caught:
        resolve_parameters(TEMPLATE, {}, raw)
    assert caught.value.message == (
        "Deployment template validation failed: 'The value for the template parameter 'name' "
        "is not provided. Please see https://aka.ms/resource-manager-parameter-files for usage "
        "details.'."
    )
    assert caught.value.target == "name"


def test_every_missing_required_parameter_is_named() -> None:
    template = {
        "parameters": {"a": {"type": "string"}, "b": {"type": "int"}, "c": {"type": "bool"}}
    }
    with pytest.raises(
        TemplateError, match=r"'The values for the template parameters 'a, c' are not provided"
    ) as caught:
        resolve_parameters(template, {"b": {"value": 1}}, raw)
    assert [d.target for d in caught.value.details] == ["a", "c"]


INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "string-for-int",
        {"name": {"value": "app"}, "count": {"value": "3"}},
        "Deployment template validation failed: 'The provided value for the template parameter "
        "'count' is not valid. Expected a value of type 'Integer', but received a value of type "
        "'String'. Please see https://aka.ms/arm-syntax-parameters for usage details.'.",
    ),
    (
        "not-allowed-via-ref",
        {"name": {"value": "app"}, "sku": {"value": "Premium"}},
        "Deployment template validation failed: 'The provided value 'Premium' for the template "
        "parameter 'sku' is not valid. The parameter value is not part of the allowed value(s): "
        "'Basic,Standard'.'.",
    ),
    (
        "nested-length",
        {"name": {"value": "app"}, "settings": {"value": {"storageName": "x" * 25}}},
        "Deployment template validation failed: 'The provided value for the template parameter "
        "'settings.storageName' is not valid. Length of the value should be less than or equal "
        "to '24'. Please see https://aka.ms/arm-syntax-parameters for usage details.'.",
    ),
    (
        "too-short",
        {"name": {"value": "ab"}},
        "Deployment template validation failed: 'The provided value for the template parameter "
        "'name' is not valid. Length of the value should be greater than or equal to '3'. "
        "Please see https://aka.ms/arm-syntax-parameters for usage details.'.",
    ),
]


@pytest.mark.parametrize(
    ("supplied", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_supplied_values(supplied: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        resolve_parameters(TEMPLATE, supplied, raw)
    assert caught.value.message == message
    assert caught.value.code == "InvalidTemplate"


def test_evaluated_defaults_are_validated_too() -> None:
    with pytest.raises(
        TemplateError,
        match=r"parameter 'count' is not valid\. Value should be greater than or equal to '1'",
    ):
        resolve_parameters(
            TEMPLATE, {"name": {"value": "app"}}, lambda n, d: 0 if n == "count" else d
        )


def test_key_vault_references_are_kept_as_markers() -> None:
    supplied = {
        "name": {"value": "app"},
        "password": {
            "reference": {"keyVault": {"id": VAULT_ID}, "secretName": "pw", "secretVersion": "v1"}
        },
    }
    values = resolve_parameters(TEMPLATE, supplied, raw)
    assert values["password"] == KeyVaultReference(VAULT_ID, "pw", "v1")
    assert values["password"].to_arm() == supplied["password"]


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        (
            {"reference": {"secretName": "pw"}},
            r"Key Vault reference of the parameter 'password' must give",
        ),
        (
            {"reference": {"keyVault": {"id": VAULT_ID}}},
            r"must give 'keyVault.id' .* and 'secretName'",
        ),
        (
            {"reference": {"keyVault": {"id": VAULT_ID}, "secretName": "pw", "secretVersion": 1}},
            r"'secretVersion' .* must be a string",
        ),
        ("hunter2", r"The parameter 'password' must be an object with a 'value' or a 'reference'"),
        ({"val": 1}, r"The parameter 'password' must be an object with a 'value' or a 'reference'"),
    ],
    ids=["no-vault", "no-secret", "bad-version", "bare-value", "misspelt-value"],
)
def test_malformed_parameter_entries(entry: Any, match: str) -> None:
    with pytest.raises(TemplateError, match=match) as caught:
        parse_supplied({"password": entry})
    assert caught.value.code == "InvalidRequestContent"


def test_validate_parameter_checks_a_resolved_secret() -> None:
    assert validate_parameter(TEMPLATE, "PASSWORD", "s3cret") == "s3cret"
    with pytest.raises(
        TemplateError,
        match=r"Expected a value of type 'String, Uri', but received a value of type 'Integer'",
    ):
        validate_parameter(TEMPLATE, "password", 42)
    with pytest.raises(TemplateError, match=r"The template parameter 'nope' is not found"):
        validate_parameter(TEMPLATE, "nope", 1)


def test_secure_parameter_names_follow_refs() -> None:
    assert secure_parameter_names(TEMPLATE) == {"password", "token"}
    assert secure_parameter_names({"parameters": {"o": {"type": "secureObject"}}}) == {"o"}
    assert secure_parameter_names({}) == set()


def test_resolver_is_a_case_insensitive_mapping() -> None:
    resolver = ParameterResolver(TEMPLATE, {"name": {"value": "app"}}, raw)
    assert "NAME" in resolver
    assert "nope" not in resolver
    assert resolver["Count"] == 2
    assert len(resolver) == len(TEMPLATE["parameters"])
    with pytest.raises(KeyError):
        resolver["nope"]


def test_a_template_without_parameters() -> None:
    assert resolve_parameters({"resources": []}, None, raw) == {}
    with pytest.raises(
        TemplateError, match=r"'The template parameters 'x' in the parameters file are not valid"
    ):
        resolve_parameters({"resources": []}, {"x": {"value": 1}}, raw)


def test_a_malformed_declaration_is_a_template_error() -> None:
    with pytest.raises(
        TemplateError, match=r"The template parameter 'p' must be declared as a JSON object"
    ):
        resolve_parameters({"parameters": {"p": "string"}}, None, raw)
