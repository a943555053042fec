"""The ARM client resource: real Azure or the local ARM, through the same SDK calls.

``target: local`` (the default) talks to a local ARM: an embedded one started in this
process over a state file under ``DAGSTER_HOME`` (shared by every run process), or a running
``bicep-assets emulator serve`` given by ``local_endpoint``/``local_token``/``local_ca_file``.
``target: azure`` uses azure-identity against ``management_endpoint`` (sovereign clouds: set
it and ``credential_scope``): the environment's ``identity:`` block picks the credential
(``DefaultAzureCredential``, ``WorkloadIdentityCredential`` or ``ManagedIdentityCredential``),
so that environments in different subscriptions deploy as different principals. On the local
ARM an identity's ``client_id`` gets tokens for its own principal from the local ARM's
managed-identity endpoint. Either way the pipeline calls only the methods below, which call
only the official SDK clients, with one client per (kind, subscription, identity).

Deployments go to the environment's scope (``Scope.kind``): the SDK's resource group calls,
or their ``_at_subscription_scope`` / ``_at_management_group_scope`` / ``_at_tenant_scope``
forms.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from pydantic import Field, PrivateAttr

from ..armlocal import FaultPlan, LocalArm, LocalArmConfig, LocalArmConnection
from ..armlocal.engine.context import DEFAULT_SUBSCRIPTION
from ..environments import Identity, Scope
from ..failures import LogicFailure

_LOCAL_SERVERS: dict[str, Any] = {}  # state path → LocalArm running in this process
_LOCAL_LOCK = threading.Lock()
DEFAULT_API_VERSION = "2023-01-01"
LOCKS_API_VERSION = "2016-09-01"
LOCATIONS_API_VERSION = "2022-12-01"  # Microsoft.Resources subscriptions


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

    _clients: dict[tuple[str, str, Identity | None], Any] = PrivateAttr(default_factory=dict)
    _credentials: dict[Identity | None, Any] = PrivateAttr(default_factory=dict)
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
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

    def credential(self, identity: Identity | None = None) -> Any:
        """The credential an environment deploys with (one per identity, kept)."""
        identity = identity if identity != Identity() else None
        with self._client_lock:
            if identity not in self._credentials:
                self._credentials[identity] = self._new_credential(identity)
            return self._credentials[identity]

    def _new_credential(self, identity: Identity | None) -> Any:
        connection = self.local_connection()
        if connection is not None:
            return connection.credential(identity.client_id if identity else None)
        from azure.identity import (
            DefaultAzureCredential,
            ManagedIdentityCredential,
            WorkloadIdentityCredential,
        )

        if identity is None:
            return DefaultAzureCredential()
        if identity.kind == "workload_identity":
            # the federated token file: AZURE_FEDERATED_TOKEN_FILE (set by the runner)
            return WorkloadIdentityCredential(
                tenant_id=identity.tenant_id, client_id=identity.client_id
            )
        if identity.kind == "managed_identity":
            return ManagedIdentityCredential(client_id=identity.client_id)
        options: dict[str, Any] = {}
        if identity.client_id:
            options["managed_identity_client_id"] = identity.client_id
            options["workload_identity_client_id"] = identity.client_id
        if identity.tenant_id:
            options["workload_identity_tenant_id"] = identity.tenant_id
            options["additionally_allowed_tenants"] = [identity.tenant_id]
        return DefaultAzureCredential(**options)

    def _kwargs(self, subscription_id: str, identity: Identity | None = None) -> dict[str, Any]:
        common = {
            "subscription_id": subscription_id,
            "retry_total": self.sdk_retry_total,
            "retry_status": self.sdk_retry_status,
            "credential": self.credential(identity),
        }
        connection = self.local_connection()
        if connection is not None:
            return {
                **common,
                "base_url": connection.base_url,
                "connection_verify": connection.ca_file,
                "polling_interval": self.polling_interval_s or 0.2,
            }
        endpoint = self.management_endpoint.rstrip("/")
        return {
            **common,
            "base_url": endpoint,
            "credential_scopes": [self.credential_scope or f"{endpoint}/.default"],
            "polling_interval": self.polling_interval_s or 5.0,
        }

    def _client(self, kind: str, subscription_id: str, identity: Identity | None = None) -> Any:
        identity = identity if identity != Identity() else None
        key = (kind, subscription_id, identity)
        if key not in self._clients:
            kwargs = self._kwargs(subscription_id, identity)
            if kind == "resources":
                from azure.mgmt.resource.resources import ResourceManagementClient

                client: Any = ResourceManagementClient(**kwargs)
            elif kind == "deployments":
                from azure.mgmt.resource.deployments import DeploymentsMgmtClient

                client = DeploymentsMgmtClient(**kwargs)
            elif kind == "stacks":
                from azure.mgmt.resource.deploymentstacks import DeploymentStacksClient

                client = DeploymentStacksClient(**kwargs)
            elif kind == "management_groups":
                from azure.mgmt.managementgroups import ManagementGroupsMgmtClient

                kwargs.pop("subscription_id")
                client = ManagementGroupsMgmtClient(**kwargs)
            else:
                from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

                client = ResourceHealthMgmtClient(**kwargs)
            with self._client_lock:
                self._clients.setdefault(key, client)
        return self._clients[key]

    def stacks_client(self, subscription_id: str, identity: Identity | None = None) -> Any:
        """The official deployment stacks client (pipeline/stacks.py calls it)."""
        return self._client("stacks", subscription_id, identity)

    # -- resource groups and management groups -----------------------------------------
    def ensure_resource_group(
        self,
        *,
        subscription_id: str,
        name: str,
        location: str,
        tags: dict[str, str],
        identity: Identity | None = None,
    ) -> bool:
        """Create the group when it is missing; True when it was created."""
        groups = self._client("resources", subscription_id, identity).resource_groups
        if groups.check_existence(name):
            return False
        groups.create_or_update(name, {"location": location, "tags": tags})
        return True

    def resource_group_exists(
        self, *, subscription_id: str, name: str, identity: Identity | None = None
    ) -> bool:
        return bool(
            self._client("resources", subscription_id, identity).resource_groups.check_existence(
                name
            )
        )

    def management_group_exists(self, *, name: str, identity: Identity | None = None) -> bool:
        """Whether the management group exists (and this identity may read it)."""
        client = self._client("management_groups", DEFAULT_SUBSCRIPTION, identity)
        try:
            client.management_groups.get(name)
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            if exc.status_code == 403:  # Azure answers 403 for a group the caller cannot see
                return False
            raise
        return True

    # -- deployments at every scope --------------------------------------------------------
    @staticmethod
    def _body(
        template: dict[str, Any],
        parameters: dict[str, Any],
        mode: str,
        *,
        tags: dict[str, str] | None = None,
        on_error_last_successful: bool = False,
        what_if_format: str | None = None,
        location: str | None = None,
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {"mode": mode, "template": template, "parameters": parameters}
        if on_error_last_successful:
            properties["onErrorDeployment"] = {"type": "LastSuccessful"}
        if what_if_format:
            properties["whatIfSettings"] = {"resultFormat": what_if_format}
        body: dict[str, Any] = {"properties": properties}
        if location:
            body["location"] = location
        if tags:
            body["tags"] = tags
        return body

    @staticmethod
    def _location(scope: Scope) -> str | None:
        """Deployments above resource groups carry a location (where ARM keeps their data)."""
        return None if scope.kind == "resourceGroup" else scope.location

    @staticmethod
    def _at_scope(operations: Any, method: str, scope: Scope, *args: Any, **kwargs: Any) -> Any:
        """``operations.<method>`` in the SDK's form for the scope: ``method(group, …)``, or
        ``method_at_subscription_scope(…)``, ``…_at_management_group_scope(group id, …)``,
        ``…_at_tenant_scope(…)``."""
        if scope.kind == "resourceGroup":
            return getattr(operations, method)(scope.group, *args, **kwargs)
        if scope.kind == "managementGroup":
            call = getattr(operations, f"{method}_at_management_group_scope")
            return call(scope.management_group_id, *args, **kwargs)
        suffix = "_at_subscription_scope" if scope.kind == "subscription" else "_at_tenant_scope"
        return getattr(operations, method + suffix)(*args, **kwargs)

    def what_if(
        self,
        *,
        scope: Scope,
        deployment_name: str,
        template: dict[str, Any],
        parameters: dict[str, Any],
        mode: str,
        identity: Identity | None = None,
    ) -> dict[str, Any]:
        """ARM what-if at the environment's scope (``WhatIfOperationResult`` as JSON).
        ``parameters`` may carry secure values: they go into the request and nowhere else."""
        ops = self._client("deployments", scope.subscription, identity).deployments
        body = self._body(
            template,
            parameters,
            mode,
            what_if_format="FullResourcePayloads",
            location=self._location(scope),
        )
        poller = self._at_scope(ops, "begin_what_if", scope, deployment_name, body)
        return poller.result().as_dict()

    def get_deployment(
        self, *, scope: Scope, name: str, identity: Identity | None = None
    ) -> dict[str, Any] | None:
        ops = self._client("deployments", scope.subscription, identity).deployments
        try:
            found = self._at_scope(ops, "get", scope, name)
        except ResourceNotFoundError:
            return None
        return found.as_dict()

    def start_deployment(
        self,
        *,
        scope: Scope,
        name: str,
        template: dict[str, Any],
        parameters: dict[str, Any],
        mode: str,
        tags: dict[str, str],
        rollback_on_error: bool,
        identity: Identity | None = None,
    ) -> dict[str, Any]:
        """PUT the deployment and return at once (the caller polls, streaming operations)."""
        ops = self._client("deployments", scope.subscription, identity).deployments
        body = self._body(
            template,
            parameters,
            mode,
            tags=tags,
            on_error_last_successful=rollback_on_error,
            location=self._location(scope),
        )
        poller = self._at_scope(ops, "begin_create_or_update", scope, name, body, polling=False)
        return poller.result().as_dict()

    def export_template(
        self, *, scope: Scope, name: str, identity: Identity | None = None
    ) -> dict[str, Any] | None:
        """The template deployment ``name`` ran, as ARM kept it (``exportTemplate``), or None
        when ARM no longer has the deployment."""
        ops = self._client("deployments", scope.subscription, identity).deployments
        try:
            found = self._at_scope(ops, "export_template", scope, name)
        except ResourceNotFoundError:
            return None
        template = found.template
        return template if isinstance(template, dict) else None

    def list_operations(
        self, *, scope: Scope, name: str, identity: Identity | None = None
    ) -> list[dict[str, Any]]:
        ops = self._client("deployments", scope.subscription, identity).deployment_operations
        return [o.as_dict() for o in self._at_scope(ops, "list", scope, name)]

    # -- resources and health ------------------------------------------------------------
    def list_locks(
        self, *, subscription_id: str, identity: Identity | None = None
    ) -> list[dict[str, Any]]:
        """Every management lock in the subscription (at it, its groups and their resources):
        ``GET /subscriptions/{id}/providers/Microsoft.Authorization/locks``, page by page."""
        client = self._client("resources", subscription_id, identity)
        locks: list[dict[str, Any]] = []
        url: str | None = (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/locks"
            f"?api-version={LOCKS_API_VERSION}"
        )
        while url:
            response = client.send_request(HttpRequest("GET", url))
            response.raise_for_status()
            page = response.json()
            locks.extend(page.get("value") or [])
            url = page.get("nextLink")
        return locks

    def list_locations(
        self, *, subscription_id: str, identity: Identity | None = None
    ) -> list[dict[str, Any]]:
        """The subscription's locations (``name``, ``displayName`` …):
        ``GET /subscriptions/{id}/locations``."""
        client = self._client("resources", subscription_id, identity)
        url = f"/subscriptions/{subscription_id}/locations?api-version={LOCATIONS_API_VERSION}"
        response = client.send_request(HttpRequest("GET", url))
        response.raise_for_status()
        return list(response.json().get("value") or [])

    def api_version_for(
        self, *, subscription_id: str, resource_type: str, identity: Identity | None = None
    ) -> str:
        """The newest api-version the provider lists for a type (cached)."""
        key = resource_type.lower()
        if key not in self._api_versions:
            namespace, _, rest = resource_type.partition("/")
            version = DEFAULT_API_VERSION
            try:
                client = self._client("resources", subscription_id, identity)
                provider = client.providers.get(namespace)
                for item in provider.resource_types or []:
                    if (item.resource_type or "").lower() == rest.lower() and item.api_versions:
                        version = item.api_versions[0]
            except ResourceNotFoundError:
                pass
            self._api_versions[key] = version
        return self._api_versions[key]

    def get_resource(
        self,
        *,
        subscription_id: str,
        resource_id: str,
        api_version: str,
        identity: Identity | None = None,
    ) -> dict[str, Any] | None:
        client = self._client("resources", subscription_id, identity)
        try:
            return client.resources.get_by_id(resource_id, api_version=api_version).as_dict()
        except ResourceNotFoundError:
            return None

    def availability(
        self, *, subscription_id: str, resource_id: str, identity: Identity | None = None
    ) -> dict[str, Any]:
        """Resource Health ``availabilityStatuses/current`` of a resource."""
        client = self._client("health", subscription_id, identity)
        return client.availability_statuses.get_by_resource(resource_id).as_dict()
