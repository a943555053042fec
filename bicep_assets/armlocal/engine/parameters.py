"""Resolving a template's parameters from supplied values, Key Vault references and defaults.

ARM resolves parameters before anything else: supplied names must be declared, every
required parameter (no ``defaultValue``, not ``nullable``) must be supplied, and each final
value must match its declaration (see ``types.validate_value``). Values are not converted:
a string ``"true"`` for a ``bool`` parameter is an error, as in ARM. A supplied ``null``
counts as "not supplied" (the default, or ``null`` for a nullable parameter, applies).

Defaults are expressions evaluated by the caller's callback, lazily and in declaration
order: a default may read other parameters (``[parameters('name')]``), including ones
declared after it. :class:`ParameterResolver` is that lazy, case-insensitive view; it can
serve as the evaluator's parameter table while defaults are being evaluated.

Parameter names match case-insensitively; results use the template's spelling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError
from .types import is_nullable, is_secure, validate_value

EvaluateDefault = Callable[[str, Any], Any]
"""``evaluate_default(parameter_name, default_value) -> value``."""

_FILE_HELP = " Please see https://aka.ms/resource-manager-parameter-files for usage details."


@dataclass(frozen=True, slots=True)
class KeyVaultReference:
    """A parameter value to be read from a Key Vault secret when the deployment runs."""

    key_vault_id: str
    secret_name: str
    secret_version: str | None = None

    def to_arm(self) -> dict[str, Any]:
        """The parameter-file form: ``{"reference": {"keyVault": {"id"}, "secretName", ...}}``."""
        reference: dict[str, Any] = {
            "keyVault": {"id": self.key_vault_id},
            "secretName": self.secret_name,
        }
        if self.secret_version:
            reference["secretVersion"] = self.secret_version
        return {"reference": reference}


def validation_failed(message: str, *, target: str | None = None) -> TemplateError:
    """ARM's wrapper for errors found while validating a deployment's template and parameters."""
    return TemplateError(
        f"Deployment template validation failed: '{message}'.",
        code="InvalidTemplate",
        target=target,
    )


def resolve_parameters(
    template: dict[str, Any], supplied: dict[str, Any] | None, evaluate_default: EvaluateDefault
) -> dict[str, Any]:
    """Every declared parameter's value (name → value, secure ones included).

    ``supplied`` is ``{name: {"value": v}}`` / ``{name: {"reference": {...}}}`` or a whole
    parameters file (``{"$schema", "contentVersion", "parameters": {...}}``). Key Vault
    references come back as :class:`KeyVaultReference` (unvalidated until the caller reads
    the secret and calls :func:`validate_parameter`).
    """
    return ParameterResolver(template, supplied, evaluate_default).resolve_all()


def secure_parameter_names(template: dict[str, Any]) -> set[str]:
    """Names of parameters whose type is ``securestring``/``secureObject`` (also via ``$ref``)."""
    definitions = _definitions(template)
    return {
        name
        for name, declaration in _declarations(template).items()
        if is_secure(declaration, definitions, name)
    }


def validate_parameter(template: dict[str, Any], name: str, value: Any) -> Any:
    """Check one value (e.g. a secret read for a Key Vault reference) against its declaration."""
    declarations = _declarations(template)
    key = _find(declarations, name)
    if key is None:
        raise validation_failed(f"The template parameter '{name}' is not found.", target=name)
    try:
        return validate_value(value, declarations[key], _definitions(template), key)
    except TemplateError as error:
        raise validation_failed(error.message, target=error.target) from None


def parse_supplied(supplied: dict[str, Any] | None) -> dict[str, Any]:
    """``{name: value | KeyVaultReference}`` from parameter-file shaped input."""
    if not supplied:
        return {}
    if not isinstance(supplied, dict):
        raise _bad_request('The parameters must be a JSON object of name → {"value": ...}.')
    entries = supplied
    if isinstance(supplied.get("parameters"), dict) and (
        "$schema" in supplied or "contentVersion" in supplied
    ):
        entries = supplied["parameters"]
    values: dict[str, Any] = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not ({"value", "reference"} & entry.keys()):
            raise _bad_request(
                f"The parameter '{name}' must be an object with a 'value' or a 'reference' "
                'property, e.g. {"value": ...}.'
            )
        values[name] = (
            _key_vault(name, entry["reference"]) if "reference" in entry else entry["value"]
        )
    return values


class ParameterResolver(Mapping[str, Any]):
    """The template's parameters, each resolved on first access (defaults lazily, once).

    Construction checks the supplied names and the required parameters and validates the
    supplied values; ``resolver[name]`` (case-insensitive) then yields a parameter's value,
    evaluating its default through ``evaluate_default`` when it was not supplied.
    """

    def __init__(
        self,
        template: dict[str, Any],
        supplied: dict[str, Any] | None,
        evaluate_default: EvaluateDefault,
        *,
        disguise: Callable[[Any], Any] | None = None,
    ) -> None:
        self._declarations = _declarations(template)
        self._definitions = _definitions(template)
        self._evaluate_default = evaluate_default
        # secure parameters' values (supplied or default) pass ``disguise`` when given: a
        # stand-in expansion that tells which values derive from secrets (``secret_taint``)
        self._disguise = disguise
        self._secure = (
            {n for n, d in self._declarations.items() if is_secure(d, self._definitions, n)}
            if disguise is not None
            else set()
        )
        self._values: dict[str, Any] = {}
        self._pending: list[str] = []  # parameters whose default is being evaluated, in order
        given = self._match_supplied(parse_supplied(supplied))
        self._check_required(given)
        for name, declaration in self._declarations.items():
            if name in given:
                self._values[name] = self._disguised(
                    name, self._validate(name, declaration, given[name])
                )

    # -- Mapping ----------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        key = _find(self._declarations, name)
        if key is None:
            raise KeyError(name)
        if key not in self._values:
            self._values[key] = self._disguised(key, self._resolve_default(key))
        return self._values[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _find(self._declarations, name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._declarations)

    def __len__(self) -> int:
        return len(self._declarations)

    def resolve_all(self) -> dict[str, Any]:
        """Every parameter's value, in declaration order."""
        return {name: self[name] for name in self._declarations}

    def _disguised(self, name: str, value: Any) -> Any:
        if self._disguise is None or name not in self._secure or value is None:
            return value
        return self._disguise(value)

    # -- steps ------------------------------------------------------------------------------
    def _match_supplied(self, values: dict[str, Any]) -> dict[str, Any]:
        given: dict[str, Any] = {}
        unknown: list[str] = []
        for name, value in values.items():
            key = _find(self._declarations, name)
            if key is None:
                unknown.append(name)
            elif value is not None:
                given[key] = value
        if unknown:
            supported = ", ".join(self._declarations)
            raise validation_failed(
                f"The template parameters '{', '.join(unknown)}' in the parameters file are not "
                "valid; they are not present in the original template and can therefore not be "
                f"provided at deployment time. The only supported parameters for this template "
                f"are '{supported}'. Please see https://aka.ms/arm-pass-parameter-values for "
                "usage details."
            )
        return given

    def _check_required(self, given: dict[str, Any]) -> None:
        missing = [
            name
            for name, declaration in self._declarations.items()
            if name not in given
            and "defaultValue" not in declaration
            and not is_nullable(declaration, self._definitions, name)
        ]
        if not missing:
            return
        each = [
            validation_failed(
                f"The value for the template parameter '{name}' is not provided.{_FILE_HELP}",
                target=name,
            )
            for name in missing
        ]
        if len(missing) == 1:
            raise each[0]
        error = validation_failed(
            f"The values for the template parameters '{', '.join(missing)}' are not "
            f"provided.{_FILE_HELP}"
        )
        error.details = each
        raise error

    def _resolve_default(self, name: str) -> Any:
        declaration = self._declarations[name]
        if "defaultValue" not in declaration:
            return None  # nullable and not supplied
        if name in self._pending:
            cycle = " -> ".join([*self._pending[self._pending.index(name) :], name])
            raise validation_failed(
                f"The default value of the template parameter '{name}' depends on itself: {cycle}.",
                target=name,
            )
        self._pending.append(name)
        try:
            value = self._evaluate_default(name, declaration["defaultValue"])
        finally:
            self._pending.pop()
        if value is None:
            return None  # a null default is accepted as is (ARM 1.0 templates use it)
        return self._validate(name, declaration, value)

    def _validate(self, name: str, declaration: dict[str, Any], value: Any) -> Any:
        if isinstance(value, KeyVaultReference):
            return value  # validated once the caller has read the secret
        try:
            return validate_value(value, declaration, self._definitions, name)
        except TemplateError as error:
            raise validation_failed(error.message, target=error.target) from None


# --- helpers ---------------------------------------------------------------------------------


def _declarations(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    declared = template.get("parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateError("The template 'parameters' section must be a JSON object.")
    for name, declaration in declared.items():
        if not isinstance(declaration, dict):
            raise TemplateError(
                f"The template parameter '{name}' must be declared as a JSON object with a "
                "'type' (or a '$ref').",
                target=name,
            )
    return declared


def _definitions(template: dict[str, Any]) -> dict[str, Any]:
    definitions = template.get("definitions") or {}
    return definitions if isinstance(definitions, dict) else {}


def _find(declarations: Mapping[str, Any], name: str) -> str | None:
    if name in declarations:
        return name
    lowered = name.lower()
    return next((k for k in declarations if k.lower() == lowered), None)


def _key_vault(name: str, reference: Any) -> KeyVaultReference:
    vault = reference.get("keyVault") if isinstance(reference, dict) else None
    vault_id = vault.get("id") if isinstance(vault, dict) else None
    secret = reference.get("secretName") if isinstance(reference, dict) else None
    version = reference.get("secretVersion") if isinstance(reference, dict) else None
    if not isinstance(vault_id, str) or not isinstance(secret, str) or not vault_id or not secret:
        raise _bad_request(
            f"The Key Vault reference of the parameter '{name}' must give "
            "'keyVault.id' (the vault's resource id) and 'secretName'."
        )
    if version is not None and not isinstance(version, str):
        raise _bad_request(f"The 'secretVersion' of the parameter '{name}' must be a string.")
    return KeyVaultReference(vault_id, secret, version or None)


def _bad_request(message: str) -> TemplateError:
    return TemplateError(message, code="InvalidRequestContent")
