"""The ARM client resource: real Azure or the local ARM, through the same SDK calls.

``target: local`` (the default) talks to a local ARM: an embedded one started in this
process over a state file under ``DAGSTER_HOME`` (shared by every run process), or a running
``bicep-assets emulator serve`` given by ``local_endpoint``/``local_token``/``local_ca_file``.
``target: azure`` uses azure-identity's ``DefaultAzureCredential`` against
``management_endpoint`` (sovereign clouds: set it and ``credential_scope``). Either way the
pipeline calls only the methods below, which call only the official SDK clients.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from azure.core.exceptions import ResourceNotFoundError
from pydantic import Field, PrivateAttr

from ..armlocal import FaultPlan, LocalArm, LocalArmConfig, LocalArmConnection
from ..failures import LogicFailure

_LOCAL_SERVERS: dict[str, Any] = {}  # state path → LocalArm running in this process
_LOCAL_LOCK = threading.Lock()
DEFAULT_API_VERSION = "2023-01-01"


def default_local_state() -> Path:
    """``$DAGSTER_HOME/localarm/state.sqlite`` (a temp folder when DAGSTER_HOME is unset)."""
    home = os.environ.get("DAGSTER_HOME")
    base = Path(home) if home else Path(tempfile.gettempdir()) / "bicep_assets"
    return base / "localarm" / "state.sqlite"


def embedded_local_arm(
    state: Path, *, resource_delay_s: float = 0.0, faults_file: str | None = None
) -> LocalArmConnection:
    """The local ARM this process runs over ``state`` (started on first use; the rehearsal
    settings — per-resource delay, a fault plan file — apply when it starts)."""

    key = str(state.resolve())
    with _LOCAL_LOCK:
        arm = _LOCAL_SERVERS.get(key)
        if arm is None:
            state.parent.mkdir(parents=True, exist_ok=True)
            faults = None
            if faults_file:
                faults = FaultPlan.from_json(json.loads(Path(faults_file).read_text("utf-8")))
            # Retry-After 0: its only clients are this process's, which then poll at their
            # own interval (0.2 s) rather than waiting a whole second per long-running call
            config = LocalArmConfig(retry_after=0, resource_delay_s=resource_delay_s)
            arm = LocalArm(state=state, config=config, faults=faults).start()
            _LOCAL_SERVERS[key] = arm
        return arm.connection


def stop_embedded_local_arms(under: Path) -> int:
    """Stop the local ARMs this process runs over state files under the folder ``under``
    (a process that deploys one project after another frees each when it is done with it;
    the CLI's process simply exits); how many were stopped."""
    folder = under.resolve()
    with _LOCAL_LOCK:
        keys = [key for key in _LOCAL_SERVERS if Path(key).is_relative_to(folder)]
        stopping = [_LOCAL_SERVERS.pop(key) for key in keys]
    for arm in stopping:
        arm.stop()
    return len(stopping)


class ArmClient(dg.ConfigurableResource):
    """Azure Resource Manager for the pipeline (see the module docstring)."""

    target: Literal["local", "azure"] = "local"
    local_state: str | None = None
    local_endpoint: str | None = None
    local_token: str | None = None
    local_ca_file: str | None = None
    # embedded local ARM: seconds each resource takes (0-3600, as `emulator serve` allows)
    local_resource_delay_s: float = Field(default=0.0, ge=0, le=3600)
    local_faults_file: str | None = None  # embedded local ARM: a fault plan (JSON) to inject
    management_endpoint: str = "https://management.azure.com"
    credential_scope: str | None = None
    polling_interval_s: float | None = None  # default: 0.2 s locally, 5 s on Azure
    sdk_retry_total: int = 10
    sdk_retry_status: int = 5

    _clients: dict[tuple[str, str], Any] = PrivateAttr(default_factory=dict)
    _api_versions: dict[str, str] = PrivateAttr(default_factory=dict)

    # -- connection ----------------------------------------------------------------------
    def local_connection(self) -> LocalArmConnection | None:
        """The local ARM this resource talks to (``None`` for Azure)."""
        if self.target != "local":
            return None
        if self.local_endpoint:
            if not (self.local_token and self.local_ca_file):
                raise LogicFailure(
                    "resources.arm: local_endpoint needs local_token and local_ca_file (the "
                    "values `bicep-assets emulator serve` prints)."
                )
            return LocalArmConnection(self.local_endpoint, self.local_token, self.local_ca_file, "")
        state = Path(self.local_state) if self.local_state else default_local_state()
        return embedded_local_arm(
            state,
            resource_delay_s=self.local_resource_delay_s,
            faults_file=self.local_faults_file,
        )

    @property
    def ca_bundle(self) -> str | None:
        """The CA file probes must trust for the local ARM's web apps (``None`` on Azure)."""
        connection = self.local_connection()
        return connection.ca_file if connection else None

    def _kwargs(self, subscription_id: str) -> dict[str, Any]:
        common = {
            "subscription_id": subscription_id,
            "retry_total": self.sdk_retry_total,
            "retry_status": self.sdk_retry_status,
        }
        connection = self.local_connection()
        if connection is not None:
            return {
                **common,
                "credential": connection.credential(),
                "base_url": connection.base_url,
                "connection_verify": connection.ca_file,
                "polling_interval": self.polling_interval_s or 0.2,
            }
        from azure.identity import DefaultAzureCredential

        endpoint = self.management_endpoint.rstrip("/")
        return {
            **common,
            "credential": DefaultAzureCredential(),
            "base_url": endpoint,
            "credential_scopes": [self.credential_scope or f"{endpoint}/.default"],
            "polling_interval": self.polling_interval_s or 5.0,
        }

    def _client(self, kind: str, subscription_id: str) -> Any:
        key = (kind, subscription_id)
        if key not in self._clients:
            kwargs = self._kwargs(subscription_id)
            if kind == "resources":
                from azure.mgmt.resource.resources import ResourceManagementClient

                self._clients[key] = ResourceManagementClient(**kwargs)
            elif kind == "deployments":
                from azure.mgmt.resource.deployments import DeploymentsMgmtClient

                self._clients[key] = DeploymentsMgmtClient(**kwargs)
            elif kind == "stacks":
                from azure.mgmt.resource.deploymentstacks import DeploymentStacksClient

                self._clients[key] = DeploymentStacksClient(**kwargs)
            else:
                from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

                self._clients[key] = ResourceHealthMgmtClient(**kwargs)
        return self._clients[key]

    def stacks_client(self, subscription_id: str) -> Any:
        """The official deployment stacks client (pipeline/stacks.py calls it)."""
        return self._client("stacks", subscription_id)

    # -- resource groups -----------------------------------------------------------------
    def ensure_resource_group(
        self, *, subscription_id: str, name: str, location: str, tags: dict[str, str]
    ) -> bool:
        """Create the group when it is missing; True when it was created."""
        groups = self._client("resources", subscription_id).resource_groups
        if groups.check_existence(name):
            return False
        groups.create_or_update(name, {"location": location, "tags": tags})
        return True

    def resource_group_exists(self, *, subscription_id: str, name: str) -> bool:
        return bool(
            self._client("resources", subscription_id).resource_groups.check_existence(name)
        )

    # -- deployments ---------------------------------------------------------------------
    @staticmethod
    def _body(
        template: dict[str, Any],
        parameters: dict[str, Any],
        mode: str,
        *,
        tags: dict[str, str] | None = None,
        on_error_last_successful: bool = False,
        what_if_format: str | None = None,
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {"mode": mode, "template": template, "parameters": parameters}
        if on_error_last_successful:
            properties["onErrorDeployment"] = {"type": "LastSuccessful"}
        if what_if_format:
            properties["whatIfSettings"] = {"resultFormat": what_if_format}
        body: dict[str, Any] = {"properties": properties}
        if tags:
            body["tags"] = tags
        return body

    def what_if(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        deployment_name: str,
        template: dict[str, Any],
        parameters: dict[str, Any],
        mode: str,
    ) -> dict[str, Any]:
        """ARM what-if (``WhatIfOperationResult`` as JSON). ``parameters`` may carry secure
        values: they go into the request and nowhere else."""
        client = self._client("deployments", subscription_id)
        body = self._body(template, parameters, mode, what_if_format="FullResourcePayloads")
        poller = client.deployments.begin_what_if(resource_group, deployment_name, body)
        return poller.result().as_dict()

    def get_deployment(
        self, *, subscription_id: str, resource_group: str, name: str
    ) -> dict[str, Any] | None:
        client = self._client("deployments", subscription_id)
        try:
            return client.deployments.get(resource_group, name).as_dict()
        except ResourceNotFoundError:
            return None

    def start_deployment(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        name: str,
        template: dict[str, Any],
        parameters: dict[str, Any],
        mode: str,
        tags: dict[str, str],
        rollback_on_error: bool,
    ) -> dict[str, Any]:
        """PUT the deployment and return at once (the caller polls, streaming operations)."""
        client = self._client("deployments", subscription_id)
        body = self._body(
            template, parameters, mode, tags=tags, on_error_last_successful=rollback_on_error
        )
        poller = client.deployments.begin_create_or_update(
            resource_group, name, body, polling=False
        )
        return poller.result().as_dict()

    def list_operations(
        self, *, subscription_id: str, resource_group: str, name: str
    ) -> list[dict[str, Any]]:
        client = self._client("deployments", subscription_id)
        return [o.as_dict() for o in client.deployment_operations.list(resource_group, name)]

    # -- resources and health ------------------------------------------------------------
    def api_version_for(self, *, subscription_id: str, resource_type: str) -> str:
        """The newest api-version the provider lists for a type (cached)."""
        key = resource_type.lower()
        if key not in self._api_versions:
            namespace, _, rest = resource_type.partition("/")
            version = DEFAULT_API_VERSION
            try:
                provider = self._client("resources", subscription_id).providers.get(namespace)
                for item in provider.resource_types or []:
                    if (item.resource_type or "").lower() == rest.lower() and item.api_versions:
                        version = item.api_versions[0]
            except ResourceNotFoundError:
                pass
            self._api_versions[key] = version
        return self._api_versions[key]

    def get_resource(
        self, *, subscription_id: str, resource_id: str, api_version: str
    ) -> dict[str, Any] | None:
        client = self._client("resources", subscription_id)
        try:
            return client.resources.get_by_id(resource_id, api_version=api_version).as_dict()
        except ResourceNotFoundError:
            return None

    def availability(self, *, subscription_id: str, resource_id: str) -> dict[str, Any]:
        """Resource Health ``availabilityStatuses/current`` of a resource."""
        client = self._client("health", subscription_id)
        return client.availability_statuses.get_by_resource(resource_id).as_dict()
