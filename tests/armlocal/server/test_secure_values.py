"""No answer of the local ARM carries a secure value, nor a value computed from one: every
response of a conversation — validate, what-if, the deployment, its list, operations and
exported templates, nested deployments' too — is captured as raw bytes through the official
SDK over HTTPS, and searched for each secret.

Paths: a value supplied for a ``secureString``/``secureObject`` parameter, a secure
``defaultValue``, a Key Vault reference, values flowing into resource properties (as they
are, inside a longer string, transformed by ``base64()``, shorter than the 8 characters the
text mask needs), nested deployments with inner and outer scope and a template given as an
expression, and a secret rotated since the last deployment (what-if's ``before``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bicep_assets.armlocal import LocalArm
from bicep_assets.armlocal.engine import MASK

from .conftest import SCHEMA, template

SUPPLIED = "Supplied-Secret-7f3a9c41"
DEFAULT = "Default-Secret-b82e6d07"
OBJECT_SECRET = "Object-Secret-5c19e2aa"
SHORT = "Pw7!q"  # shorter than the text mask's 8 characters
ROTATED = "Rotated-Secret-0d4b8e13"
SECRETS = [SUPPLIED, DEFAULT, OBJECT_SECRET, SHORT, ROTATED]


def derived(secret: str) -> list[str]:
    """The forms a secret may take on its way into a property."""
    return [secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]]


GROUP_CONTAINER = "Microsoft.ContainerInstance/containerGroups"


def group_with_env(name: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": GROUP_CONTAINER,
        "apiVersion": "2023-05-01",
        "name": name,
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "containers": [
                {
                    "name": "app",
                    "properties": {
                        "image": "mcr.microsoft.com/azuredocs/aci-helloworld",
                        "resources": {"requests": {"cpu": 1, "memoryInGB": 1}},
                        "environmentVariables": env,
                    },
                }
            ],
        },
    }


INNER = {
    "$schema": SCHEMA,
    "contentVersion": "1.0.0.0",
    "parameters": {"plain": {"type": "string"}},
    "resources": [group_with_env("aci-inner", [{"name": "P", "value": "[parameters('plain')]"}])],
    "outputs": {"echo": {"type": "string", "value": "[parameters('plain')]"}},
}


def nested(name: str, tpl: Any, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": name,
        "properties": {"mode": "Incremental", "template": tpl, **properties},
    }


TEMPLATE = template(
    [
        group_with_env(
            "aci-main",
            [
                {"name": "DIRECT", "secureValue": "[parameters('pw')]"},
                {"name": "CONN", "value": "[format('Server=db;Password={0};', parameters('pw'))]"},
                {"name": "B64", "value": "[base64(parameters('pw'))]"},
                {"name": "SHORT", "value": "[concat('pre-', parameters('short'), '-post')]"},
                {"name": "DEFAULT", "value": "[parameters('dflt')]"},
                {"name": "OBJ", "value": "[parameters('obj').db.password]"},
                {"name": "KV", "value": "[parameters('fromVault')]"},
                {"name": "LEN", "value": "[string(length(parameters('pw')))]"},
                {"name": "PLAIN", "value": "not a secret"},
            ],
        ),
        nested(
            "inner-scope",
            INNER,
            expressionEvaluationOptions={"scope": "inner"},
            parameters={"plain": {"value": "[base64(parameters('pw'))]"}},
        ),
        nested(
            "outer-scope",
            template([group_with_env("aci-outer", [{"name": "P", "value": "[parameters('pw')]"}])]),
        ),
        nested("from-variable", "[variables('inlined')]"),
    ],
    parameters={
        "pw": {"type": "securestring"},
        "short": {"type": "securestring"},
        "dflt": {"type": "securestring", "defaultValue": DEFAULT},
        "obj": {"type": "secureObject"},
        "fromVault": {"type": "securestring"},
    },
    variables={
        "inlined": template(
            [group_with_env("aci-var", [{"name": "P", "value": "[parameters('pw')]"}])]
        )
    },
    outputs={
        "conn": {"type": "string", "value": "[format('Password={0}', parameters('short'))]"},
        "encoded": {"type": "string", "value": "[base64(parameters('pw'))]"},
        "length": {"type": "int", "value": "[length(parameters('pw'))]"},
    },
)

VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers/"
    "Microsoft.KeyVault/vaults/kv-secrets"
)


def parameters(pw: str = SUPPLIED) -> dict[str, Any]:
    return {
        "pw": {"value": pw},
        "short": {"value": SHORT},
        "obj": {"value": {"db": {"password": OBJECT_SECRET}, "port": 5432}},
        "fromVault": {"reference": {"keyVault": {"id": VAULT_ID}, "secretName": "db-password"}},
    }


def body(pw: str = SUPPLIED) -> dict[str, Any]:
    return {
        "properties": {"mode": "Incremental", "template": TEMPLATE, "parameters": parameters(pw)}
    }


class Conversation:
    """Every response body the SDK clients received."""

    def __init__(self, arm: LocalArm) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        self.deployments = arm.connection.deployments_client(raw_response_hook=self._hook)
        self.resources = arm.connection.resource_client(raw_response_hook=self._hook)

    def _hook(self, response: Any) -> None:
        request = response.http_request
        self.bodies.append((f"{request.method} {request.url}", response.http_response.body()))

    def leaks(self, secrets: list[str]) -> Iterator[str]:
        for where, raw in self.bodies:
            text = raw.decode("utf-8", errors="replace")
            for secret in secrets:
                for form in derived(secret):
                    if form in text:
                        yield f"{where}: {form}"


@pytest.fixture
def talk(arm: LocalArm, group: str) -> Conversation:
    return Conversation(arm)


def test_validate_what_if_and_deployment_answer_no_secure_value(talk: Conversation) -> None:
    ops = talk.deployments.deployments
    validated = ops.begin_validate("rg-test", "main", body()).result().as_dict()
    assert validated["properties"]["parameters"]["pw"] == {"type": "SecureString"}
    reference = {"keyVault": {"id": VAULT_ID}, "secretName": "db-password"}
    # a Key Vault reference is reported as the reference, as ARM does (never a value)
    assert validated["properties"]["parameters"]["fromVault"] == {
        "type": "SecureString",
        "reference": reference,
    }
    plan = ops.begin_what_if("rg-test", "main", body()).result().as_dict()
    main = next(c for c in plan["properties"]["changes"] if c["resourceId"].endswith("/aci-main"))
    env = main["after"]["properties"]["containers"][0]["properties"]["environmentVariables"]
    values = {e["name"]: e.get("value", e.get("secureValue")) for e in env}
    assert values == {
        "DIRECT": MASK,
        "CONN": MASK,
        "B64": MASK,
        "SHORT": MASK,
        "DEFAULT": MASK,
        "OBJ": MASK,
        "KV": MASK,
        "LEN": str(len(SUPPLIED)),  # a secret's length is not the secret
        "PLAIN": "not a secret",
    }
    result = ops.begin_create_or_update("rg-test", "main", body()).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.outputs == {
        "conn": {"type": "String"},
        "encoded": {"type": "String"},
        "length": {"type": "Int", "value": len(SUPPLIED)},
    }
    for name in ("main", "inner-scope", "outer-scope", "from-variable"):
        ops.get("rg-test", name)
        list(talk.deployments.deployment_operations.list("rg-test", name))
        ops.export_template("rg-test", name)
    list(ops.list_by_resource_group("rg-test"))
    recorded = ops.get("rg-test", "main").as_dict()["properties"]["parameters"]
    assert recorded["fromVault"] == {"type": "SecureString", "reference": reference}
    assert recorded["pw"] == {"type": "SecureString"}
    inner = ops.get("rg-test", "inner-scope").properties
    assert (inner.parameters, inner.outputs) == (
        {"plain": {"type": "String"}},
        {"echo": {"type": "String"}},
    )
    assert list(talk.leaks(SECRETS)) == []


def test_exported_template_masks_secure_defaults(talk: Conversation) -> None:
    ops = talk.deployments.deployments
    ops.begin_create_or_update("rg-test", "main", body()).result()
    exported = ops.export_template("rg-test", "main").template
    # ARM returns the template as deployed, secure defaults included; the local ARM masks them
    assert exported["parameters"]["dflt"] == {"type": "securestring", "defaultValue": MASK}
    assert exported["resources"] == TEMPLATE["resources"]  # the rest as deployed
    from_variable = ops.export_template("rg-test", "from-variable").template
    (aci,) = from_variable["resources"]
    env = aci["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert env == [{"name": "P", "value": MASK}]  # evaluated from the variable: masked
    assert list(talk.leaks(SECRETS)) == []


def test_what_if_before_masks_an_older_secret(talk: Conversation) -> None:
    ops = talk.deployments.deployments
    ops.begin_create_or_update("rg-test", "main", body(pw=ROTATED)).result()
    plan = ops.begin_what_if("rg-test", "main", body(pw=SUPPLIED)).result().as_dict()
    main = next(c for c in plan["properties"]["changes"] if c["resourceId"].endswith("/aci-main"))
    assert main["changeType"] == "Modify"
    before = main["before"]["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert {e["name"]: e.get("value", e.get("secureValue")) for e in before}["CONN"] == MASK
    paths = json.dumps(main["delta"])
    assert "environmentVariables" in paths and MASK in paths
    assert list(talk.leaks(SECRETS)) == []
