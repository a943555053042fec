"""Microsoft.ContainerRegistry: container registries (login server, admin credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Behavior, Runtime, properties_of

REGISTRIES = "Microsoft.ContainerRegistry/registries"


def _apply_registry(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["loginServer"] = f"{rt.name.lower()}.azurecr.io"
    props["creationDate"] = rt.created("properties.creationDate")


def _list_credentials(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, Any]:
    """The admin user's name and two passwords (Azure answers this when the admin user is
    enabled; the local ARM always does)."""
    return {
        "username": rt.name,
        "passwords": [
            {"name": name, "value": rt.key(f"acr-{name}", 24)} for name in ("password", "password2")
        ],
    }


BEHAVIORS = [
    Behavior(
        REGISTRIES,
        apply=_apply_registry,
        read_only=frozenset({"properties.loginServer", "properties.creationDate"}),
        actions={"listcredentials": _list_credentials},
    ),
]
