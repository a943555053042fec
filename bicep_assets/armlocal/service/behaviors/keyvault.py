"""Microsoft.KeyVault: vaults, and the secrets and keys a template can create in them.

A secret's ``value`` is write-only, as in Azure: the stored resource never holds it.
"""

from __future__ import annotations

import calendar
from typing import Any

from . import values
from .model import Apply, Behavior, Runtime, properties_of

VAULTS = "Microsoft.KeyVault/vaults"


def vault_uri(vault: str) -> str:
    return f"https://{vault}.vault.azure.net/"


def _apply_vault(body: dict[str, Any], rt: Runtime) -> None:
    properties_of(body)["vaultUri"] = vault_uri(rt.name)


def _versioned(collection: str, uri_key: str) -> Apply:
    """The behavior of a vault item kept at ``{vaultUri}{collection}/{name}/{version}``."""

    def apply(body: dict[str, Any], rt: Runtime) -> None:
        props = properties_of(body)
        vault, item = rt.names[0], rt.name
        uri = f"{vault_uri(vault)}{collection}/{item}"
        # Every write makes a new version, so the version follows the write time.
        version = values.stable_hex(f"{collection}-version", f"{rt.resource_id}@{rt.now_iso}")
        props[uri_key] = uri
        props[f"{uri_key}WithVersion"] = f"{uri}/{version}"
        attributes = props.get("attributes")
        if not isinstance(attributes, dict):
            attributes = props["attributes"] = {}
        now = calendar.timegm(rt.now.utctimetuple())
        attributes["created"] = rt.kept("properties.attributes.created", now)
        attributes["updated"] = now

    return apply


_ATTRIBUTE_TIMES = frozenset({"properties.attributes.created", "properties.attributes.updated"})

BEHAVIORS = [
    Behavior(VAULTS, apply=_apply_vault, read_only=frozenset({"properties.vaultUri"})),
    Behavior(
        f"{VAULTS}/secrets",
        apply=_versioned("secrets", "secretUri"),
        read_only=_ATTRIBUTE_TIMES | {"properties.secretUri", "properties.secretUriWithVersion"},
        write_only=frozenset({"properties.value"}),
    ),
    Behavior(
        f"{VAULTS}/keys",
        apply=_versioned("keys", "keyUri"),
        read_only=_ATTRIBUTE_TIMES | {"properties.keyUri", "properties.keyUriWithVersion"},
    ),
]
