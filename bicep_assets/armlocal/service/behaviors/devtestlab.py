"""Microsoft.DevTestLab: labs (unique identifier, creation date, and the storage account and
key vault a lab keeps its artifacts and secrets in).

Azure creates the lab's storage account (``a{lab}{digits}``) and key vault (``{lab}{digits}``)
in the lab's resource group. The local ARM reports their ids but does not create them: a
resource the template did not declare would show up in what-if and complete mode.
"""

from __future__ import annotations

import re
from typing import Any

from . import values
from .model import Behavior, Runtime, properties_of, set_default

LABS = "Microsoft.DevTestLab/labs"
_NAME_MAX = 24  # storage account and key vault names


def _digits(rt: Runtime) -> str:
    return str(int(values.stable_hex("lab-resources", rt.resource_id, 8), 16) % 10**6).zfill(6)


def _stem(rt: Runtime) -> str:
    return re.sub(r"[^a-z0-9]", "", rt.name.lower())


def storage_account_name(rt: Runtime) -> str:
    """``a{lab name's letters and digits}{6 digits}``, lower-case, at most 24 characters."""
    return f"a{_stem(rt)}"[: _NAME_MAX - 6] + _digits(rt)


def vault_name(rt: Runtime) -> str:
    """``{lab name's letters and digits}{6 digits}``, lower-case, starting with a letter, at
    most 24 characters."""
    stem = _stem(rt)
    if not stem[:1].isalpha():
        stem = f"kv{stem}"
    return stem[: _NAME_MAX - 6] + _digits(rt)


def _apply_lab(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    group = f"/subscriptions/{rt.subscription_id}/resourceGroups/{rt.resource_group}/providers"
    storage = f"{group}/Microsoft.Storage/storageAccounts/{storage_account_name(rt)}"
    props["uniqueIdentifier"] = rt.guid("uniqueIdentifier")
    props["createdDate"] = rt.created("properties.createdDate")
    props["vaultName"] = f"{group}/Microsoft.KeyVault/vaults/{vault_name(rt)}"
    props["defaultStorageAccount"] = storage
    props["defaultPremiumStorageAccount"] = storage
    props["premiumDataDiskStorageAccount"] = storage
    set_default(props, "artifactsStorageAccount", storage)  # a template may bring its own


BEHAVIORS = [
    Behavior(
        LABS,
        apply=_apply_lab,
        read_only=frozenset(
            f"properties.{name}"
            for name in (
                "uniqueIdentifier",
                "createdDate",
                "vaultName",
                "defaultStorageAccount",
                "defaultPremiumStorageAccount",
                "premiumDataDiskStorageAccount",
            )
        ),
        defaulted=frozenset({"properties.artifactsStorageAccount"}),
    ),
]
