"""The official Azure CLI, unmodified, logged in as a user-assigned identity (``az login
--identity --client-id``): the local ARM serves it as that identity's own principal, which the
shipped landing zone (infra/landing.json, subscription scope) reports as ``deployedBy``
(``deployer().objectId``) — the same object id az's own access token carries."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from .conftest import SUB, Az

pytestmark = pytest.mark.slow

LANDING = Path(__file__).resolve().parents[2] / "infra" / "landing.json"
CLIENT = "c1c1c1c1-0000-4000-8000-0000000000c1"
TEAM = "6f1c2b9e-3a4d-4c5e-9f7a-1b2c3d4e5f60"


def oid(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]


def test_az_deploys_the_landing_zone_as_the_identity_it_logged_in_as(az: Az) -> None:
    params = ["-p", "prefix=azid", f"platformTeamPrincipalId={TEAM}"]
    where = ["-l", "westeurope", "-n", "landing-azid", "-f", str(LANDING), *params]
    try:
        (account,) = az.json("login", "--identity", "--client-id", CLIENT)
        assert (account["id"], account["user"]["name"]) == (SUB, "userAssignedIdentity")
        principal = oid(az.json("account", "get-access-token")["accessToken"])
        planned = az.json("deployment", "sub", "what-if", *where, "--no-pretty-print")
        assert sorted(c["changeType"] for c in planned["changes"]) == ["Create"] * 6
        created = az.json("deployment", "sub", "create", *where)
        outputs = created["properties"]["outputs"]
        assert created["properties"]["provisioningState"] == "Succeeded"
        assert outputs["deployedBy"]["value"] == principal
        assert outputs["sharedResourceGroup"]["value"] == "rg-azid-shared"
    finally:
        az.json("login", "--identity")  # the session's other tests run as the system identity
    # the system identity is another principal
    assert oid(az.json("account", "get-access-token")["accessToken"]) != principal
