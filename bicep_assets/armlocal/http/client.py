"""Connecting the official Azure SDK clients to a local ARM.

The local ARM serves HTTPS with a certificate made when it starts (by ``trustme``), and
checks a bearer token. The SDK's own credential pipeline is used unchanged — its
``BearerTokenCredentialPolicy`` refuses tokens over plain HTTP, which is why the service is
HTTPS rather than the client carrying a custom authentication policy: nothing about the
client differs from talking to management.azure.com except ``base_url`` and the CA file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError


class StaticTokenCredential(TokenCredential):
    """A credential that always presents the same bearer token (the local ARM's)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


class LocalIdentityCredential(TokenCredential):
    """A managed identity of the local ARM, by client id: tokens from its managed-identity
    endpoint (``/msi/token``, Azure App Service's protocol: ``X-IDENTITY-HEADER``,
    ``api-version=2019-08-01``, ``resource``, ``client_id``), so that each client id acts as
    a principal of its own (the token's ``oid``). Tokens are kept until 5 minutes before
    they expire."""

    def __init__(self, base_url: str, identity_header: str, ca_file: str, client_id: str) -> None:
        self._url = base_url.rstrip("/") + "/msi/token"
        self._header = identity_header
        self._ca_file = ca_file
        self.client_id = client_id
        self._tokens: dict[str, AccessToken] = {}

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        resource = (scopes[0] if scopes else "https://management.azure.com/").removesuffix(
            ".default"
        )
        cached = self._tokens.get(resource)
        if cached is not None and cached.expires_on > time.time() + 300:
            return cached
        answer = requests.get(
            self._url,
            params={"api-version": "2019-08-01", "resource": resource, "client_id": self.client_id},
            headers={"X-IDENTITY-HEADER": self._header},
            verify=self._ca_file,
            timeout=30,
        )
        if answer.status_code != 200:
            raise ClientAuthenticationError(
                f"The local ARM's managed-identity endpoint refused client id {self.client_id}: "
                f"{answer.status_code} {answer.text[:200]}"
            )
        body = answer.json()
        token = AccessToken(body["access_token"], int(body["expires_on"]))
        self._tokens[resource] = token
        return token


@dataclass(frozen=True)
class LocalArmConnection:
    """Where a local ARM listens and how to reach it: base URL, token, CA bundle."""

    base_url: str
    token: str
    ca_file: str
    subscription_id: str

    def credential(self, client_id: str | None = None) -> TokenCredential:
        """The server's own token, or with ``client_id`` that managed identity's tokens."""
        if client_id:
            return LocalIdentityCredential(self.base_url, self.token, self.ca_file, client_id)
        return StaticTokenCredential(self.token)

    def client_kwargs(self, *, polling_interval: float = 0.1) -> dict[str, Any]:
        """Keyword arguments every SDK management client accepts."""
        return {
            "credential": self.credential(),
            "subscription_id": self.subscription_id,
            "base_url": self.base_url,
            "connection_verify": self.ca_file,
            "polling_interval": polling_interval,
        }

    def resource_client(self, **kwargs: Any) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(**{**self.client_kwargs(), **kwargs})

    def deployments_client(self, **kwargs: Any) -> Any:
        from azure.mgmt.resource.deployments import DeploymentsMgmtClient

        return DeploymentsMgmtClient(**{**self.client_kwargs(), **kwargs})

    def stacks_client(self, **kwargs: Any) -> Any:
        """``azure-mgmt-resource-deploymentstacks``' client (the stacks API)."""
        from azure.mgmt.resource.deploymentstacks import DeploymentStacksClient

        return DeploymentStacksClient(**{**self.client_kwargs(), **kwargs})

    def health_client(self, **kwargs: Any) -> Any:
        from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

        return ResourceHealthMgmtClient(**{**self.client_kwargs(), **kwargs})

    def management_groups_client(self, **kwargs: Any) -> Any:
        """``azure-mgmt-managementgroups``' client (tenant-level: no subscription id)."""
        from azure.mgmt.managementgroups import ManagementGroupsMgmtClient

        options = {**self.client_kwargs(), **kwargs}
        options.pop("subscription_id", None)
        return ManagementGroupsMgmtClient(**options)
