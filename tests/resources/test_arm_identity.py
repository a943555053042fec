"""Per-environment credentials: the manifest's identity picks azure-identity's credential on
Azure, and on the local ARM a client id is a managed identity of its own — the same principal
azure-identity's ManagedIdentityCredential gets from the local ARM's token endpoint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from azure.identity import (
    DefaultAzureCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)

from bicep_assets.armlocal import LocalArm
from bicep_assets.environments import Identity
from bicep_assets.resources.arm import ArmClient

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "aaaaaaaa-0000-4000-8000-00000000000a"
OTHER = "bbbbbbbb-0000-4000-8000-00000000000b"
SUB = "00000000-0000-0000-0000-000000000000"


def oid(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]


def test_each_identity_kind_gets_its_azure_identity_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "federated-token"
    token_file.write_text("a federated token", encoding="utf-8")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    arm = ArmClient(target="azure")
    workload = Identity(kind="workload_identity", tenant_id=TENANT, client_id=CLIENT)
    assert isinstance(arm.credential(workload), WorkloadIdentityCredential)
    assert isinstance(arm.credential(Identity(kind="managed_identity")), ManagedIdentityCredential)
    assert isinstance(arm.credential(Identity()), DefaultAzureCredential)
    assert isinstance(arm.credential(Identity(client_id=CLIENT)), DefaultAzureCredential)
    # one credential per identity, kept; the default identity is the resource's default
    assert arm.credential(workload) is arm.credential(workload.model_copy())
    assert arm.credential(Identity()) is arm.credential(None)
    assert arm.credential(Identity(client_id=CLIENT)) is not arm.credential(None)


def test_a_client_id_on_the_local_arm_is_the_managed_identity_azure_identity_sees(
    session_arm: LocalArm, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = session_arm.connection
    arm = ArmClient(
        local_endpoint=conn.base_url, local_token=conn.token, local_ca_file=conn.ca_file
    )
    scope = "https://management.azure.com/.default"
    ours = arm.credential(Identity(kind="managed_identity", client_id=CLIENT)).get_token(scope)
    other = arm.credential(Identity(kind="managed_identity", client_id=OTHER)).get_token(scope)
    # azure-identity itself, told where the (App Service) managed-identity endpoint is
    monkeypatch.setenv("IDENTITY_ENDPOINT", conn.base_url.rstrip("/") + "/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", conn.token)
    theirs = ManagedIdentityCredential(client_id=CLIENT, connection_verify=conn.ca_file)
    assert oid(ours.token) == oid(theirs.get_token(scope).token)
    assert oid(ours.token) == session_arm.app.authority.principal_id(CLIENT)
    assert oid(other.token) != oid(ours.token)
    # ARM accepts the token: an SDK call made as that identity is answered
    identity = Identity(kind="managed_identity", client_id=CLIENT)
    assert not arm.resource_group_exists(subscription_id=SUB, name="rg-none", identity=identity)
