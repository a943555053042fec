"""Azure Monitor: Log Analytics workspaces and Application Insights components."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import regions
from .model import Behavior, Runtime, properties_of

WORKSPACES = "Microsoft.OperationalInsights/workspaces"
COMPONENTS = "Microsoft.Insights/components"


def _apply_workspace(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["customerId"] = rt.guid("customerId")
    props["createdDate"] = rt.created("properties.createdDate")
    props["modifiedDate"] = rt.now_iso


def _shared_keys(resource: Mapping[str, Any], body: Any, rt: Runtime) -> dict[str, Any]:
    return {
        "primarySharedKey": rt.key("workspace-primarySharedKey"),
        "secondarySharedKey": rt.key("workspace-secondarySharedKey"),
    }


def connection_string(instrumentation_key: str, app_id: str, location: str) -> str:
    """An Application Insights connection string for a component in ``location``."""
    region = regions.normalize(location) or "westeurope"
    return (
        f"InstrumentationKey={instrumentation_key};"
        f"IngestionEndpoint=https://{region}-0.in.applicationinsights.azure.com/;"
        f"LiveEndpoint=https://{region}.livediagnostics.monitor.azure.com/;"
        f"ApplicationId={app_id}"
    )


def _apply_component(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    app_id = rt.guid("AppId")
    instrumentation_key = rt.guid("InstrumentationKey")
    props["AppId"] = app_id
    props["ApplicationId"] = rt.name
    props["Name"] = rt.name
    props["InstrumentationKey"] = instrumentation_key
    props["ConnectionString"] = connection_string(instrumentation_key, app_id, rt.location)
    # Application Insights reports the subscription as "TenantId".
    props["TenantId"] = rt.subscription_id
    creation = rt.now_iso[:-1] + "+00:00"  # this service writes an explicit offset
    props["CreationDate"] = rt.kept("properties.CreationDate", creation)


BEHAVIORS = [
    Behavior(
        WORKSPACES,
        apply=_apply_workspace,
        read_only=frozenset(
            {"properties.customerId", "properties.createdDate", "properties.modifiedDate"}
        ),
        actions={"listkeys": _shared_keys, "sharedkeys": _shared_keys},
    ),
    Behavior(
        COMPONENTS,
        apply=_apply_component,
        read_only=frozenset(
            f"properties.{name}"
            for name in (
                "AppId",
                "ApplicationId",
                "Name",
                "InstrumentationKey",
                "ConnectionString",
                "TenantId",
                "CreationDate",
            )
        ),
    ),
]
