"""The shipped example infrastructure: every ``.bicep`` parses, ``main.json`` is the same
template as ``main.bicep``, and it deploys on the local ARM with each shipped environment's
parameters (then plans as no change, probes answer and the secret is stored nowhere)."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from bicep_assets.armlocal import LocalArm
from bicep_assets.armlocal.engine import MASK
from bicep_assets.environments import (
    EnvironmentSpec,
    load_environments,
    read_parameters_file,
    render_placeholders,
)

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
CANARY = "canary-app-secret-7f3a"


def parse_bicep(path: Path) -> dict[str, Any]:
    return BicepParser().parse(file_path=path)


@pytest.fixture(scope="module")
def bicep() -> dict[str, Any]:
    return parse_bicep(INFRA / "main.bicep")


@pytest.fixture(scope="module")
def arm_json() -> dict[str, Any]:
    return json.loads((INFRA / "main.json").read_text(encoding="utf-8"))


# --- syntax ---------------------------------------------------------------------------------


def test_there_is_bicep_to_parse() -> None:
    assert INFRA / "main.bicep" in BICEP_FILES


@pytest.mark.parametrize(
    "path", BICEP_FILES, ids=[p.relative_to(INFRA).as_posix() for p in BICEP_FILES]
)
def test_every_shipped_bicep_file_parses(path: Path) -> None:
    parsed = parse_bicep(path)
    assert parsed["resources"], f"{path} declares no resources"


def test_the_parser_rejects_broken_bicep(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bicep"
    text = (INFRA / "main.bicep").read_text(encoding="utf-8")
    broken.write_text(text.replace("resource storage ", "resource storage = ", 1), "utf-8")
    with pytest.raises(Exception, match=r"broken\.bicep|Unexpected"):
        parse_bicep(broken)


# --- main.json is main.bicep compiled ------------------------------------------------------


def _decorators(declaration: dict[str, Any]) -> dict[str, Any]:
    return {d["type"]: d.get("argument") for d in declaration.get("decorators", [])}


def test_same_parameters(bicep: dict[str, Any], arm_json: dict[str, Any]) -> None:
    expected: dict[str, Any] = {}
    for name, param in bicep["parameters"].items():
        decorators = _decorators(param)
        secure = "secure" in decorators
        entry: dict[str, Any] = {"type": ("secure" if secure else "") + param["type"]}
        if isinstance(param["default"], (str, int, bool)):
            entry["defaultValue"] = param["default"]
        if "allowed" in decorators:
            entry["allowedValues"] = decorators["allowed"]
        entry["description"] = decorators.get("description")
        expected[name] = entry
    actual = {
        name: {
            "type": p["type"],
            **({"defaultValue": p["defaultValue"]} if "defaultValue" in p else {}),
            **({"allowedValues": p["allowedValues"]} if "allowedValues" in p else {}),
            "description": p.get("metadata", {}).get("description"),
        }
        for name, p in arm_json["parameters"].items()
    }
    # an expression default (resourceGroup().location) has no literal to compare
    actual["location"].pop("defaultValue")
    assert actual["location"] == {
        "type": "string",
        "description": "Azure region of every resource.",
    }
    assert list(actual) == list(expected)
    assert actual == expected
    assert arm_json["parameters"]["location"]["defaultValue"] == "[resourceGroup().location]"


def test_same_variables(bicep: dict[str, Any], arm_json: dict[str, Any]) -> None:
    assert list(arm_json["variables"]) == list(bicep["variables"])


def test_same_resources_in_the_same_order(bicep: dict[str, Any], arm_json: dict[str, Any]) -> None:
    from_bicep = [(r["type"], r["api_version"]) for r in bicep["resources"].values()]
    from_json = [(r["type"], r["apiVersion"]) for r in arm_json["resources"]]
    assert from_json == from_bicep
    assert {t for t, _ in from_json} >= {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.KeyVault/vaults",
        "Microsoft.KeyVault/vaults/secrets",
        "Microsoft.Authorization/roleAssignments",
    }


def _bicep_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Key paths of a pycep resource body; an expression node is one leaf."""
    if isinstance(value, dict) and not (
        len(value) == 1 and {"function", "operator"} & value.keys()
    ):
        for key, item in value.items():
            yield from _bicep_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bicep_leaves(item, (*path, index))
    else:
        yield path, value


def _json_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_leaves(item, (*path, index))
    else:
        yield path, value


def test_same_resource_bodies(bicep: dict[str, Any], arm_json: dict[str, Any]) -> None:
    """The same property paths in every resource, and the same literal values where the ARM
    JSON has a literal (expressions are compared by shape only)."""
    for (symbol, declared), compiled in zip(
        bicep["resources"].items(), arm_json["resources"], strict=True
    ):
        config = {k: v for k, v in declared["config"].items() if k != "parent"}
        body = {k: v for k, v in compiled.items() if k not in ("type", "apiVersion", "dependsOn")}
        bicep_leaves = dict(_bicep_leaves(config))
        json_leaves = dict(_json_leaves(body))
        assert sorted(map(str, json_leaves)) == sorted(map(str, bicep_leaves)), symbol
        for path, value in json_leaves.items():
            if not (isinstance(value, str) and value.startswith("[")):
                assert bicep_leaves[path] == value, (symbol, path)


def test_same_outputs(bicep: dict[str, Any], arm_json: dict[str, Any]) -> None:
    from_bicep = {
        name: (o["type"], _decorators(o).get("description", "").replace("\\'", "'"))
        for name, o in bicep["outputs"].items()
    }
    from_json = {
        name: (o["type"], o["metadata"]["description"]) for name, o in arm_json["outputs"].items()
    }
    assert from_json == from_bicep
    assert set(from_json) == {
        "webHost",
        "webUrl",
        "storageBlobEndpoint",
        "keyVaultUri",
        "webPrincipalId",
    }


def test_the_secret_comes_only_from_the_secure_parameter(arm_json: dict[str, Any]) -> None:
    assert arm_json["parameters"]["appSecret"]["type"] == "securestring"
    assert "defaultValue" not in arm_json["parameters"]["appSecret"]
    secret = next(
        r for r in arm_json["resources"] if r["type"] == "Microsoft.KeyVault/vaults/secrets"
    )
    assert secret["properties"] == {"value": "[parameters('appSecret')]"}
    assert "appSecret" not in json.dumps(arm_json["outputs"])


# --- it deploys on the local ARM ------------------------------------------------------------


@dataclass
class Rollout:
    """One environment deployed on the local ARM: the plans before and after, the outputs."""

    spec: EnvironmentSpec
    first_plan: list[dict[str, Any]]
    provisioning_state: str
    outputs: dict[str, Any]
    second_plan: list[dict[str, Any]]


def deployment_parameters(spec: EnvironmentSpec, secret: str) -> dict[str, Any]:
    """The parameters a deploy of ``spec`` sends: file, inline values, then the secret."""
    parameters = read_parameters_file(spec.parameters_file) if spec.parameters_file else {}
    parameters.update({k: {"value": v} for k, v in spec.parameters.items()})
    parameters.update({k: {"value": secret} for k in spec.secure_parameters})
    return parameters


def _changes(result: Any) -> list[dict[str, Any]]:
    return result.as_dict()["properties"]["changes"]


@pytest.fixture(scope="module")
def arm() -> Iterator[LocalArm]:
    with LocalArm() as local_arm:
        yield local_arm


@pytest.fixture(scope="module")
def rollouts(arm: LocalArm) -> Callable[[str], Rollout]:
    """``rollout(env)``: what-if, deploy and what-if again through the SDK, once per env."""
    done: dict[str, Rollout] = {}

    def rollout(env: str) -> Rollout:
        if env in done:
            return done[env]
        spec = load_environments(ROOT)[env]
        template = json.loads(spec.template_file.read_text(encoding="utf-8"))
        group = spec.scope.resource_group
        resources = arm.connection.resource_client()
        deployments = arm.connection.deployments_client().deployments
        resources.resource_groups.create_or_update(group, {"location": spec.scope.location})
        body = {
            "properties": {
                "mode": spec.deployment.mode,
                "template": template,
                "parameters": deployment_parameters(spec, CANARY),
            }
        }
        first = _changes(deployments.begin_what_if(group, f"{env}-plan", body).result())
        deployed = deployments.begin_create_or_update(group, f"{env}-deploy", body).result()
        outputs = {name: o["value"] for name, o in (deployed.properties.outputs or {}).items()}
        second = _changes(deployments.begin_what_if(group, f"{env}-plan", body).result())
        done[env] = Rollout(spec, first, deployed.properties.provisioning_state, outputs, second)
        return done[env]

    return rollout


ENVIRONMENTS = ["dev", "prod"]


@pytest.mark.slow
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploys_with_each_environment_then_plans_no_change(
    rollouts: Callable[[str], Rollout], env: str
) -> None:
    rollout = rollouts(env)
    assert sorted(c["changeType"] for c in rollout.first_plan) == ["Create"] * 6
    assert rollout.provisioning_state == "Succeeded"
    outputs = rollout.outputs
    assert outputs["webUrl"] == f"https://{outputs['webHost']}"
    assert outputs["keyVaultUri"].startswith(f"https://kv-{env}-")
    assert outputs["storageBlobEndpoint"].startswith(f"https://st{env}")

    assert len(rollout.second_plan) == 6
    for change in rollout.second_plan:
        real = [d for d in change.get("delta") or [] if d["propertyChangeType"] != "NoEffect"]
        if "/providers/Microsoft.Authorization/roleAssignments/" in change["resourceId"]:
            # ARM's what-if cannot evaluate reference(): the principal id is shown as the
            # expression; the manifests ignore exactly that path
            assert change["changeType"] == "Modify"
            assert [(d["path"], d["before"]) for d in real] == [
                ("properties.principalId", outputs["webPrincipalId"])
            ]
            assert real[0]["after"].startswith("[reference(")
            assert "properties.principalId" in rollout.spec.deployment.what_if_ignore
        elif "/providers/Microsoft.KeyVault/vaults/" in change["resourceId"] and (
            "/secrets/" in change["resourceId"]
        ):
            # as Azure's: the GET never returns the value, so it is written (Create) again,
            # masked; the plan lists it as write-only, not as a change
            assert change["changeType"] == "Modify"
            assert real == [
                {"path": "properties.value", "propertyChangeType": "Create", "after": MASK}
            ]
        else:
            assert change["changeType"] == "NoChange", change
            assert real == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_shipped_health_checks_pass_against_the_deployment(
    arm: LocalArm, rollouts: Callable[[str], Rollout], env: str
) -> None:
    rollout = rollouts(env)
    checks = rollout.spec.health_checks
    tls = ssl.create_default_context(cafile=arm.connection.ca_file)
    for check in checks.http:
        url = render_placeholders(check.url, rollout.outputs)
        with urllib.request.urlopen(url, timeout=check.timeout_s, context=tls) as response:
            assert response.status == check.expected_status
    for tcp in checks.tcp:
        host, port = tcp.endpoint(rollout.outputs)
        with socket.create_connection((host, port), timeout=tcp.timeout_s):
            pass
    assert checks.http and (env == "dev" or checks.tcp)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_secret_is_stored_nowhere(
    arm: LocalArm, rollouts: Callable[[str], Rollout], env: str
) -> None:
    group = rollouts(env).spec.scope.resource_group
    client = arm.connection.deployments_client()
    resources = arm.connection.resource_client()
    deployment = client.deployments.get(group, f"{env}-deploy").as_dict()
    operations = [o.as_dict() for o in client.deployment_operations.list(group, f"{env}-deploy")]
    # every resource the deployment wrote, read back by id (child and extension ones too)
    ids = [o["properties"]["targetResource"]["id"] for o in operations]
    stored = [resources.resources.get_by_id(i, api_version="2023-07-01").as_dict() for i in ids]
    assert len(stored) == 6
    assert deployment["properties"]["parameters"]["appSecret"] == {"type": "SecureString"}
    assert CANARY not in json.dumps([deployment, operations, stored])
