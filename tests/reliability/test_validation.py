"""Validation Azure would do: what ARM and the resource providers refuse, the local ARM
refuses — with ARM's error codes, in validate, what-if and deployment alike — and the values
the CLI reads are checked where they are read.

Each table row is one bad input and the exact error it must get: through the official SDK
against a real local ARM over HTTPS, and through ``bicep-assets`` as a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from azure.core.exceptions import HttpResponseError

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.armlocal.engine import DeploymentContext, expand
from bicep_assets.armlocal.service.behaviors.naming import NAME_RULES, describe
from bicep_assets.armlocal.service.behaviors.regions import region_names
from bicep_assets.environments import load_environment, load_environments
from bicep_assets.manifest_yaml import ManifestError
from bicep_assets.models import CompiledTemplate
from bicep_assets.pipeline.plan import plan_from_what_if, what_if_at_scope
from bicep_assets.pipeline.static_checks import static_checks
from bicep_assets.resources.arm import ArmClient
from tests.cli_helpers import run_bicep_assets
from tests.conftest import fresh_arm

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)
CLI = str(Path(sys.executable).with_name("bicep-assets"))
REPO = Path(__file__).resolve().parents[2]
SOURCE = "(Microsoft's 'Naming rules and restrictions for Azure resources')"
REGIONS = ",".join(region_names())
VALIDATION_FAILED = (
    "The template deployment 'check' is not valid according to the validation procedure. "
    "See inner errors for details."
)


def template(*resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources)} | (
        sections
    )


def resource(kind: str, name: str, location: Any = "westeurope", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "apiVersion": "2023-01-01", "name": name, **extra}
    if location is not None:
        body["location"] = location
    return body


STORAGE = "Microsoft.Storage/storageAccounts"
STORAGE_RULE = (
    "is not a valid storage account name. Storage account name must be between 3 and 24 "
    "characters in length and use numbers and lower-case letters only."
)


def invalid_name(name: str, kind: str, problem: str) -> str:
    return (
        f"The resource name '{name}' is invalid for resource type '{kind}': {problem}. The name "
        f"must be {describe(NAME_RULES[kind])} {SOURCE}."
    )


# (id, resource, inner error code, inner error message)
BAD_RESOURCES = [
    (
        "storage-uppercase",
        resource(STORAGE, "UPPER"),
        "AccountNameInvalid",
        f"UPPER {STORAGE_RULE}",
    ),
    (
        "storage-100-characters",
        resource(STORAGE, "a" * 100),
        "AccountNameInvalid",
        f"{'a' * 100} {STORAGE_RULE}",
    ),
    (
        "storage-quotes",
        resource(STORAGE, 'it\'s"quoted"'),
        "AccountNameInvalid",
        f'it\'s"quoted" {STORAGE_RULE}',
    ),
    ("storage-too-short", resource(STORAGE, "ab"), "AccountNameInvalid", f"ab {STORAGE_RULE}"),
    (
        "storage-1000-characters",
        resource(STORAGE, "b" * 1000),
        "AccountNameInvalid",
        f"{'b' * 64}… (1,000 characters) {STORAGE_RULE}",
    ),
    (
        "key-vault-starts-with-a-digit",
        resource("Microsoft.KeyVault/vaults", "1vault"),
        "VaultNameNotValid",
        "The vault name '1vault' is invalid. A vault's name must be between 3-24 alphanumeric "
        "characters. The name must begin with a letter, end with a letter or digit, and not "
        "contain consecutive hyphens.",
    ),
    (
        "key-vault-double-hyphen",
        resource("Microsoft.KeyVault/vaults", "kv--x"),
        "VaultNameNotValid",
        "The vault name 'kv--x' is invalid. A vault's name must be between 3-24 alphanumeric "
        "characters. The name must begin with a letter, end with a letter or digit, and not "
        "contain consecutive hyphens.",
    ),
    (
        "web-site-leading-hyphen",
        resource("Microsoft.Web/sites", "-site"),
        "InvalidResourceName",
        invalid_name("-site", "Microsoft.Web/sites", "it starts with '-'"),
    ),
    (
        "web-site-61-characters",
        resource("Microsoft.Web/sites", "s" * 61),
        "InvalidResourceName",
        invalid_name("s" * 61, "Microsoft.Web/sites", "it is 61 characters long"),
    ),
    (
        "app-service-plan-underscore",
        resource("Microsoft.Web/serverfarms", "plan_1"),
        "InvalidResourceName",
        invalid_name("plan_1", "Microsoft.Web/serverfarms", "it contains '_'"),
    ),
    (
        "sql-server-uppercase",
        resource("Microsoft.Sql/servers", "SqlSrv"),
        "InvalidResourceName",
        invalid_name("SqlSrv", "Microsoft.Sql/servers", "it contains 'S'"),
    ),
    (
        "sql-database-trailing-period",
        resource("Microsoft.Sql/servers/databases", "sqlsrv/db."),
        "InvalidResourceName",
        invalid_name("db.", "Microsoft.Sql/servers/databases", "it ends with '.'"),
    ),
    (
        "cosmos-uppercase",
        resource("Microsoft.DocumentDB/databaseAccounts", "Cosmos"),
        "InvalidResourceName",
        invalid_name("Cosmos", "Microsoft.DocumentDB/databaseAccounts", "it contains 'C'"),
    ),
    (
        "vnet-one-character",
        resource("Microsoft.Network/virtualNetworks", "v"),
        "InvalidResourceName",
        invalid_name("v", "Microsoft.Network/virtualNetworks", "it is 1 character long"),
    ),
    (
        "nsg-trailing-hyphen",
        resource("Microsoft.Network/networkSecurityGroups", "nsg-"),
        "InvalidResourceName",
        invalid_name("nsg-", "Microsoft.Network/networkSecurityGroups", "it ends with '-'"),
    ),
    (
        "subnet-space",
        resource("Microsoft.Network/virtualNetworks/subnets", "vnet/sub net", location=None),
        "InvalidResourceName",
        invalid_name("sub net", "Microsoft.Network/virtualNetworks/subnets", "it contains ' '"),
    ),
    (
        "blob-container-double-hyphen",
        resource(
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            "stok/default/bad--name",
            location=None,
        ),
        "InvalidResourceName",
        invalid_name(
            "bad--name",
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            "it contains consecutive hyphens",
        ),
    ),
    (
        "blob-service-not-default",
        resource("Microsoft.Storage/storageAccounts/blobServices", "stok/blobs", location=None),
        "InvalidResourceName",
        invalid_name(
            "blobs",
            "Microsoft.Storage/storageAccounts/blobServices",
            "it is not the one name allowed",
        ),
    ),
    (
        "role-assignment-not-a-guid",
        resource("Microsoft.Authorization/roleAssignments", "admin", location=None),
        "InvalidResourceName",
        invalid_name("admin", "Microsoft.Authorization/roleAssignments", "it is not a GUID"),
    ),
    (
        "insights-control-character",
        resource("Microsoft.Insights/components", "ai\u0007x"),
        "InvalidResourceName",
        invalid_name("ai\\u0007x", "Microsoft.Insights/components", "it contains '\\u0007'"),
    ),
    (
        "location-not-a-region",
        resource(STORAGE, "stloc", location="not a region!!"),
        "LocationNotAvailableForResourceType",
        "The provided location 'not a region!!' is not available for resource type "
        f"'{STORAGE}'. List of available regions for the resource type is '{REGIONS}'.",
    ),
    (
        "location-10000-characters",
        resource(STORAGE, "stloc", location="x" * 10_000),
        "LocationNotAvailableForResourceType",
        f"The provided location '{'x' * 64}… (10,000 characters)' is not available for "
        f"resource type '{STORAGE}'. List of available regions for the resource type is "
        f"'{REGIONS}'.",
    ),
    (
        "location-global-for-a-regional-type",
        resource("Microsoft.Web/sites", "app-global", location="global"),
        "LocationNotAvailableForResourceType",
        "The provided location 'global' is not available for resource type "
        f"'Microsoft.Web/sites'. List of available regions for the resource type is "
        f"'{REGIONS}'.",
    ),
    (
        "location-not-a-string",
        resource(STORAGE, "stloc", location={"region": "westeurope"}),
        "LocationNotAvailableForResourceType",
        'The provided location \'{"region": "westeurope"}\' is not available for resource '
        f"type '{STORAGE}'. List of available regions for the resource type is '{REGIONS}'.",
    ),
]
BAD_IDS = [row[0] for row in BAD_RESOURCES]

# names and locations Azure accepts: none of them may be refused
GOOD_RESOURCES = [
    resource(STORAGE, "st0123456789abcdefghijkl"),  # 24 characters
    resource(STORAGE, "abc", location="West Europe"),  # a display name, any spacing and case
    resource(STORAGE, "stnorth", location="NORTHEUROPE"),
    resource("Microsoft.KeyVault/vaults", "kv-ok-1"),
    resource("Microsoft.Web/serverfarms", "plan-1"),
    resource("Microsoft.Web/sites", "app-ok", location="swedencentral"),
    resource("Microsoft.Web/sites", "café-app"),  # Unicode, mapped to Punycode by App Service
    resource("Microsoft.Sql/servers", "sql-ok"),
    resource("Microsoft.DocumentDB/databaseAccounts", "cosmos-ok"),
    resource("Microsoft.Network/virtualNetworks", "vnet_1.a"),
    resource("Microsoft.Network/networkSecurityGroups", "NSG.web_"),
    resource("Microsoft.Network/privateDnsZones", "privatelink.blob.core.windows.net", "global"),
    resource("Microsoft.Foo/bars", "Anything Goes!", location="global"),  # unmodelled type
    resource(
        "Microsoft.Authorization/roleAssignments",
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        location=None,
    ),
]


@pytest.fixture
def arm(session_arm: LocalArm) -> LocalArm:
    fresh_arm(session_arm).connection.resource_client().resource_groups.create_or_update(
        "rg", {"location": "westeurope"}
    )
    return session_arm


def body(tpl: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"properties": {"mode": "Incremental", "template": tpl, "parameters": parameters or {}}}


def submit(arm: LocalArm, operation: str, tpl: dict[str, Any], **parameters: Any) -> Any:
    """Validate, what-if or deploy ``tpl`` into group ``rg`` as deployment ``check``."""
    ops = arm.connection.deployments_client().deployments
    request = body(tpl, {k: {"value": v} for k, v in parameters.items()})
    if operation == "validate":
        return ops.begin_validate("rg", "check", request).result()
    if operation == "what-if":
        return ops.begin_what_if("rg", "check", request).result()
    return ops.begin_create_or_update("rg", "check", request).result()


def refusal(arm: LocalArm, operation: str, tpl: dict[str, Any], **parameters: Any) -> Any:
    """ARM's error: a 400 from validate and the deployment's PUT; what-if reports a template
    it refuses in its result (status ``Failed``, ``error``), as ARM's what-if does."""
    if operation == "what-if":
        result = submit(arm, operation, tpl, **parameters).as_dict()
        assert result["status"] == "Failed"
        return result["error"]
    with pytest.raises(HttpResponseError) as info:
        submit(arm, operation, tpl, **parameters)
    assert info.value.status_code == 400
    return info.value.response.json()["error"]


@pytest.mark.parametrize("operation", ["validate", "what-if", "deploy"])
@pytest.mark.parametrize(("bad", "code", "message"), [r[1:] for r in BAD_RESOURCES], ids=BAD_IDS)
def test_a_bad_name_or_location_is_refused_by_validate_what_if_and_deploy_alike(
    arm: LocalArm, operation: str, bad: dict[str, Any], code: str, message: str
) -> None:
    error = refusal(arm, operation, template(bad))
    assert error["code"] == "InvalidTemplateDeployment"
    assert error["message"] == VALIDATION_FAILED
    assert [(d["code"], d["message"]) for d in error["details"]] == [(code, message)]
    namespace, *types = bad["type"].split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, bad["name"].split("/"), strict=True))
    full = f"/subscriptions/{arm.config.subscription_id}/resourceGroups/rg/providers/{namespace}/"
    full += path
    expected = full if len(full) <= 1000 else f"{full[:200]}… ({len(full):,} characters)"
    assert error["details"][0]["target"] == expected
    # refused before anything was written: no resource, no deployment record
    assert arm.store.list_resources(arm.config.subscription_id) == []
    assert (
        arm.store.list_deployments(f"/subscriptions/{arm.config.subscription_id}/resourceGroups/rg")
        == []
    )


def test_every_problem_of_a_template_is_reported_at_once(arm: LocalArm) -> None:
    bad = [r[1] for r in BAD_RESOURCES[:3]] + [resource(STORAGE, "stgood")]
    error = refusal(arm, "validate", template(*bad))
    assert [d["code"] for d in error["details"]] == ["AccountNameInvalid"] * 3


@pytest.mark.parametrize("operation", ["validate", "deploy"])
def test_names_and_locations_azure_accepts_are_accepted(arm: LocalArm, operation: str) -> None:
    result = submit(arm, operation, template(*GOOD_RESOURCES))
    assert result.properties.provisioning_state == "Succeeded"


def test_a_name_from_a_parameter_is_refused_by_validate_before_any_deployment(
    arm: LocalArm,
) -> None:
    tpl = template(
        resource(STORAGE, "[parameters('name')]", location="[parameters('where')]"),
        parameters={"name": {"type": "string"}, "where": {"type": "string"}},
    )
    error = refusal(arm, "validate", tpl, name="Shop_Storage", where="moon")
    assert [d["code"] for d in error["details"]] == [
        "AccountNameInvalid",
        "LocationNotAvailableForResourceType",
    ]
    assert submit(arm, "validate", tpl, name="shopstorage", where="westeurope")


def test_a_resource_cannot_be_created_again_in_another_location(arm: LocalArm) -> None:
    submit(arm, "deploy", template(resource(STORAGE, "stmoved", location="westeurope")))
    moved = template(resource(STORAGE, "stmoved", location="northeurope"))
    for operation in ("validate", "deploy"):
        error = refusal(arm, operation, moved)
        assert error["details"] == [
            {
                "code": "InvalidResourceLocation",
                "message": "The resource 'stmoved' already exists in location 'westeurope' in "
                "resource group 'rg'. A resource with the same name cannot be created in "
                "location 'northeurope'. Please select a new resource name.",
                "target": f"/subscriptions/{arm.config.subscription_id}/resourceGroups/rg/"
                f"providers/{STORAGE}/stmoved",
            }
        ]
    # the same location, however spelled, is the same resource
    again = template(resource(STORAGE, "stmoved", location="West Europe"))
    assert submit(arm, "deploy", again).properties.provisioning_state == "Succeeded"


def test_a_location_known_only_while_deploying_is_checked_before_the_resource_is_written(
    arm: LocalArm,
) -> None:
    """A location read from a resource of the same deployment cannot be known in advance —
    by ARM either — so validate passes; the deployment checks it just before writing and
    fails that resource's operation with the same error."""
    first = resource(STORAGE, "stfirst")
    second = resource(
        STORAGE,
        "stsecond",
        location="[concat(reference('stfirst').primaryLocation, '-nowhere')]",
        dependsOn=["stfirst"],
    )
    tpl = template(first, second)
    submit(arm, "validate", tpl)
    with pytest.raises(HttpResponseError):
        submit(arm, "deploy", tpl)
    record = arm.connection.deployments_client().deployments.get("rg", "check")
    assert record.properties.provisioning_state == "Failed"
    detail = record.properties.error.details[0]
    assert (detail.code, detail.message) == (
        "LocationNotAvailableForResourceType",
        f"The provided location 'westeurope-nowhere' is not available for resource type "
        f"'{STORAGE}'. List of available regions for the resource type is '{REGIONS}'.",
    )
    written = [r["name"] for r in arm.store.list_resources(arm.config.subscription_id)]
    assert written == ["stfirst"]
    operations = arm.connection.deployments_client().deployment_operations.list("rg", "check")
    failed = [o for o in operations if o.properties.provisioning_state == "Failed"]
    assert [o.properties.status_code for o in failed] == ["BadRequest"]


# -- resource groups, subscription deployments, direct PUTs -----------------------------------


@pytest.mark.parametrize("location", ["not a region!!", "x" * 10_000, "global", ""])
def test_a_resource_group_in_no_region_is_refused(arm: LocalArm, location: str) -> None:
    groups = arm.connection.resource_client().resource_groups
    with pytest.raises(HttpResponseError) as info:
        groups.create_or_update("rg-nowhere", {"location": location})
    error = info.value.response.json()["error"]
    if not location:
        assert error["code"] == "LocationRequired"
        return
    shown = location if len(location) <= 100 else f"{'x' * 64}… (10,000 characters)"
    assert error == {
        "code": "LocationNotAvailableForResourceGroup",
        "message": f"The provided location '{shown}' is not available for resource group. "
        f"List of available regions is '{REGIONS}'.",
    }
    assert not groups.check_existence("rg-nowhere")


def test_a_subscription_deployment_in_no_region_is_refused(arm: LocalArm) -> None:
    ops = arm.connection.deployments_client().deployments
    tpl = {"$schema": SUB_SCHEMA, "contentVersion": "1.0.0.0", "resources": []}
    with pytest.raises(HttpResponseError) as info:
        ops.begin_create_or_update_at_subscription_scope(
            "sub-check", {"location": "mars", "properties": body(tpl)["properties"]}
        ).result()
    assert info.value.response.json()["error"] == {
        "code": "LocationNotAvailableForDeployment",
        "message": "The provided location 'mars' is not available for deployment. List of "
        f"available regions is '{REGIONS}'.",
    }


def test_a_resource_group_a_template_creates_is_checked_too(arm: LocalArm) -> None:
    ops = arm.connection.deployments_client().deployments
    tpl = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [resource("Microsoft.Resources/resourceGroups", "rg-new", "atlantis")],
    }
    request = {"location": "westeurope", "properties": body(tpl)["properties"]}
    with pytest.raises(HttpResponseError) as info:
        ops.begin_validate_at_subscription_scope("sub-check", request).result()
    error = info.value.response.json()["error"]
    assert error["code"] == "InvalidTemplateDeployment"
    assert [d["code"] for d in error["details"]] == ["LocationNotAvailableForResourceGroup"]
    assert arm.store.get_resource_group(arm.config.subscription_id, "rg-new") is None


@pytest.mark.parametrize(
    ("bad", "code", "message"), [r[1:] for r in BAD_RESOURCES[:8]], ids=BAD_IDS[:8]
)
def test_a_direct_resource_put_gets_the_providers_error(
    arm: LocalArm, bad: dict[str, Any], code: str, message: str
) -> None:
    client = arm.connection.resource_client()
    rid = (
        f"/subscriptions/{arm.config.subscription_id}/resourceGroups/rg/providers/"
        f"{bad['type']}/{bad['name']}"
    )
    with pytest.raises(HttpResponseError) as info:
        client.resources.begin_create_or_update_by_id(
            rid, {"location": bad["location"]}, api_version="2023-01-01"
        ).result()
    error = info.value.response.json()["error"]
    assert (info.value.status_code, error["code"], error["message"]) == (400, code, message)
    assert arm.store.get_resource(rid) is None


# -- parameters: maxLength, minLength, minValue, maxValue ------------------------------------


PARAMETER_BOUNDS = [
    (
        {"type": "string", "maxLength": 24},
        "a" * 25,
        "Length of the value should be less than or equal to '24'.",
    ),
    (
        {"type": "string", "minLength": 3},
        "ab",
        "Length of the value should be greater than or equal to '3'.",
    ),
    ({"type": "int", "minValue": 1}, 0, "Value should be greater than or equal to '1'."),
    ({"type": "int", "maxValue": 10}, 11, "Value should be less than or equal to '10'."),
    (
        {"type": "array", "maxLength": 1},
        ["a", "b"],
        "Length of the value should be less than or equal to '1'.",
    ),
]


@pytest.mark.parametrize("operation", ["validate", "deploy"])
@pytest.mark.parametrize(("declared", "value", "problem"), PARAMETER_BOUNDS)
def test_parameter_bounds_are_enforced_by_validate_and_deploy(
    arm: LocalArm, operation: str, declared: dict[str, Any], value: Any, problem: str
) -> None:
    tpl = template(parameters={"p": declared})
    error = refusal(arm, operation, tpl, p=value)
    assert error["code"] == "InvalidTemplate"
    assert error["message"] == (
        f"Deployment template validation failed: 'The provided value for the template "
        f"parameter 'p' is not valid. {problem} Please see https://aka.ms/arm-syntax-parameters "
        "for usage details.'."
    )


def test_a_default_value_out_of_bounds_is_refused_too(arm: LocalArm) -> None:
    tpl = template(parameters={"p": {"type": "string", "maxLength": 3, "defaultValue": "abcd"}})
    assert (
        "Length of the value should be less than or equal to '3'."
        in (refusal(arm, "validate", tpl)["message"])
    )


# -- plan of a resource group that does not exist yet (ARM answers, at subscription scope) ----


def _spec(tmp_path: Path, location: str = "westeurope") -> Any:
    (tmp_path / "parameters").mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.json").write_text("{}", encoding="utf-8")
    manifest = tmp_path / "parameters" / "dev.yaml"
    manifest.write_text(
        "template: ../infra/main.json\n"
        f"scope:\n  resource_group: rg-not-yet-{tmp_path.name[-12:]}\n  location: {location}\n",
        encoding="utf-8",
    )
    return load_environment(manifest)


def _compiled(tpl: dict[str, Any]) -> CompiledTemplate:
    return CompiledTemplate(
        environment="dev",
        template_path="infra/main.json",
        template=tpl,
        template_hash="h",
        parameters_hash="h",
    )


def _client(arm: LocalArm) -> ArmClient:
    conn = arm.connection
    return ArmClient(
        local_endpoint=conn.base_url, local_token=conn.token, local_ca_file=conn.ca_file
    )


def test_planning_a_group_that_does_not_exist_yet_refuses_what_deploy_would(
    tmp_path: Path, arm: LocalArm
) -> None:
    spec, client = _spec(tmp_path), _client(arm)
    bad, _ = what_if_at_scope(
        spec, _compiled(template(resource(STORAGE, "Bad_Name"))), {}, client, "dev-plan"
    )
    with pytest.raises(dg.Failure) as info:  # ARM's InvalidTemplateDeployment, its cause inside
        plan_from_what_if("dev", bad)
    assert info.value.metadata["arm_code"].value == "AccountNameInvalid"
    assert f"Bad_Name {STORAGE_RULE}" in info.value.description
    fine, new_group = what_if_at_scope(
        spec, _compiled(template(resource(STORAGE, "goodname"))), {}, client, "dev-plan"
    )
    assert new_group
    changes = [
        (c["changeType"], c["resourceId"].rsplit("/", 2)[-2]) for c in fine["properties"]["changes"]
    ]
    assert changes == [("Create", "resourceGroups"), ("Create", "storageAccounts")]
    # nothing was written: the group is still missing
    assert not client.resource_group_exists(
        subscription_id=spec.scope.subscription, name=spec.scope.group
    )


def test_planning_a_group_in_no_region_is_refused(tmp_path: Path, arm: LocalArm) -> None:
    spec = _spec(tmp_path, location="nowhere")
    with pytest.raises(HttpResponseError) as info:
        what_if_at_scope(spec, _compiled(template()), {}, _client(arm), "dev-plan")
    assert info.value.error.code == "LocationNotAvailableForDeployment"


# -- the engine's preflight is one place: validate and deploy agree on the whole corpus -------


def test_the_example_template_passes_the_preflight(arm: LocalArm) -> None:
    tpl = json.loads((REPO / "infra" / "main.json").read_text(encoding="utf-8"))
    params = json.loads((REPO / "parameters" / "dev.parameters.json").read_text())["parameters"]
    parameters = {k: v["value"] for k, v in params.items()}
    parameters |= {"environmentName": "dev", "appSecret": "a-long-enough-secret-value"}
    assert submit(arm, "validate", tpl, **parameters).properties.provisioning_state == "Succeeded"
    expand(tpl, {k: {"value": v} for k, v in parameters.items()}, DeploymentContext())


# -- manifests: files outside the project ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "written"),
    [("template", "../../outside/t.json"), ("parameters_file", "../../outside/p.json")],
)
def test_a_manifest_naming_a_file_outside_the_project_is_refused(
    tmp_path: Path, key: str, written: str
) -> None:
    project = tmp_path / "project"
    (project / "parameters").mkdir(parents=True)
    (project / "infra").mkdir()
    (project / "infra" / "main.json").write_text("{}", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "t.json").write_text("{}", encoding="utf-8")
    (tmp_path / "outside" / "p.json").write_text('{"parameters": {}}', encoding="utf-8")
    lines = ["template: ../infra/main.json", "scope: {resource_group: rg, location: westeurope}"]
    if key == "template":
        lines[0] = f"template: {written}"
    else:
        lines.append(f"parameters_file: {written}")
    (project / "parameters" / "dev.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = 1 if key == "template" else 3
    shown = written if key == "template" else tmp_path / "outside" / "p.json"
    with pytest.raises(ManifestError) as info:
        load_environments(project)
    assert str(info.value) == (
        f"parameters/dev.yaml: {key}: '{shown}' is outside the project folder "
        f"{project.resolve()}: keep the files a manifest names inside the project at line {line}"
    )


def test_a_symbolic_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "parameters").mkdir(parents=True)
    (project / "infra").mkdir()
    (tmp_path / "secret.json").write_text("{}", encoding="utf-8")
    (project / "infra" / "main.json").symlink_to(tmp_path / "secret.json")
    (project / "parameters" / "dev.yaml").write_text(
        "template: ../infra/main.json\nscope: {resource_group: rg, location: westeurope}\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match=r"template: '\.\./infra/main\.json' is outside"):
        load_environments(project)


# -- the CLI ---------------------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_bicep_assets(list(args), cwd=Path.cwd(), env=dict(os.environ), timeout=timeout)


# (arguments, the argparse error after "error: argument ")
CLI_VALUES = [
    (
        ["emulator", "serve", "--port", "99999"],
        "--port: 99999 is not a port: use 0-65535 (0 picks a free port)",
    ),
    (
        ["emulator", "serve", "--port", "-1"],
        "--port: -1 is not a port: use 0-65535 (0 picks a free port)",
    ),
    (["emulator", "serve", "--port", "http"], "--port: 'http' is not a port number"),
    (
        ["emulator", "serve", "--resource-delay", "-1"],
        "--resource-delay: -1 seconds is out of range: use 0-3600",
    ),
    (
        ["emulator", "serve", "--resource-delay", "nan"],
        "--resource-delay: nan seconds is out of range: use 0-3600",
    ),
    (
        ["emulator", "serve", "--resource-delay", "1e9"],
        "--resource-delay: 1e9 seconds is out of range: use 0-3600",
    ),
    (
        ["emulator", "serve", "--retry-after", "-5"],
        "--retry-after: -5 seconds is out of range: use 0-3600",
    ),
    (
        ["emulator", "serve", "--retry-after", "0.5"],
        "--retry-after: '0.5' is not a whole number of seconds",
    ),
    (
        ["audit", "export", "--env", "dev", "--limit", "-1"],
        "--limit: -1 is not a count: use 1 or more",
    ),
    (
        ["audit", "export", "--env", "dev", "--limit", "0"],
        "--limit: 0 is not a count: use 1 or more",
    ),
    (["audit", "export", "--env", "dev", "--limit", "all"], "--limit: 'all' is not a whole number"),
]


@pytest.mark.parametrize(
    ("args", "message"), CLI_VALUES, ids=[" ".join(a[-2:]) for a, _ in CLI_VALUES]
)
def test_a_cli_value_out_of_range_exits_2_naming_the_option(
    args: list[str], message: str, cli_here: Any, tmp_path: Path
) -> None:
    done = cli_here(tmp_path, *args)  # the entry point in this process (argparse's exit 2)
    assert done.returncode == 2
    assert done.stderr.rstrip().endswith(f"error: argument {message}")
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_audit_export_limit_applies_to_env_only(tmp_path: Path, cli_here: Any) -> None:
    done = cli_here(tmp_path, "audit", "export", "--run", "abc", "--limit", "3")
    assert (done.returncode, done.stderr) == (
        2,
        "error: --limit applies to --env only (--run exports one run)\n",
    )


def test_local_arm_config_refuses_negative_delays() -> None:
    with pytest.raises(ValueError, match="resource_delay_s must be ≥ 0 seconds, not -1"):
        LocalArmConfig(resource_delay_s=-1)
    with pytest.raises(ValueError, match="retry_after must be a whole number ≥ 0, not -2"):
        LocalArmConfig(retry_after=-2)


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [CLI, "emulator", "serve", "--cert-dir", str(tmp_path / "certs"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    return process, json.loads(line)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return err


def test_listening_beyond_loopback_warns_on_stderr(tmp_path: Path) -> None:
    process, info = _serve(tmp_path, "--host", "0.0.0.0")
    assert info["base_url"].startswith("https://0.0.0.0:")
    stderr = _stop(process)
    assert stderr.splitlines()[0] == (
        "warning: the local ARM listens on 0.0.0.0: it is reachable from the network, and only "
        "its bearer token protects it (use --host 127.0.0.1 to keep it local)"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_listening_on_loopback_does_not_warn(tmp_path: Path, host: str) -> None:
    process, _ = _serve(tmp_path, "--host", host)
    assert "warning" not in _stop(process)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_as_soon_as_it_serves_stops_it(tmp_path: Path, signum: int) -> None:
    """The signal comes the moment the server has printed where it listens — when a
    KeyboardInterrupt raised into its serving loop could land before the loop began, and the
    stop then waited for good (a CI run's 30 s timeout caught it once)."""
    for attempt in range(3):
        process, _ = _serve(tmp_path / str(attempt))
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Traceback" not in err


def test_arm_validate_prints_the_inner_errors_as_az_does(tmp_path: Path) -> None:
    state = str(tmp_path / "arm.sqlite")
    assert (
        run_cli(
            "arm", "--state", state, "group", "create", "-n", "rg", "-l", "westeurope"
        ).returncode
        == 0
    )
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(template(resource(STORAGE, "UPPER"))), encoding="utf-8")
    for verb in ("validate", "create"):
        done = run_cli(
            "arm", "--state", state, "deployment", "group", verb, "-g", "rg", "-f", str(path)
        )
        assert done.returncode == 1
        error = json.loads(done.stderr)["error"]
        assert error["code"] == "InvalidTemplateDeployment"
        assert [(d["code"], d["message"]) for d in error["details"]] == [
            ("AccountNameInvalid", f"UPPER {STORAGE_RULE}")
        ]


# -- the emulator: token and web apps ------------------------------------------------------


def _get(arm: LocalArm, path: str, token: str | None) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context(cafile=arm.connection.ca_file)
    request = urllib.request.Request(f"{arm.base_url}{path}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    "token",
    ["", "wrong", "x" * 32, "tökén-ünïcode", None],
    ids=["empty", "wrong", "same-length", "non-ascii", "missing"],
)
def test_a_wrong_token_is_refused_whatever_it_looks_like(arm: LocalArm, token: str | None) -> None:
    sub = arm.config.subscription_id
    status, answer = _get(arm, f"/subscriptions/{sub}/resourcegroups?api-version=2024-03-01", token)
    assert status == 401
    expected = "AuthenticationFailed" if token is None else "InvalidAuthenticationToken"
    assert answer["error"]["code"] == expected
    good, _ = _get(
        arm, f"/subscriptions/{sub}/resourcegroups?api-version=2024-03-01", arm.config.token
    )
    assert good == 200


def test_web_apps_answer_without_a_token_and_unknown_ones_as_app_service_does(
    arm: LocalArm,
) -> None:
    sub = arm.config.subscription_id
    submit(
        arm,
        "deploy",
        template(
            resource("Microsoft.Web/serverfarms", "plan"),
            resource("Microsoft.Web/sites", "app-here"),
        ),
    )
    assert _get(arm, f"/sites/{sub}/rg/app-here/", None)[0] == 200
    unknown = [
        f"/sites/{sub}/rg/app-elsewhere/",
        f"/sites/{sub}/rg-other/app-here/",
        "/sites/x/y/z/",
    ]
    for path in unknown:
        assert _get(arm, path, None) == (404, {"status": 404, "message": "Web Site not found."})
    # the ARM API itself still needs the token
    assert (
        _get(arm, f"/subscriptions/{sub}/resourcegroups/rg?api-version=2024-03-01", None)[0] == 401
    )


def test_the_docs_list_every_naming_rule_as_the_code_has_it() -> None:
    text = (REPO / "docs" / "local-arm.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `Microsoft.")]
    expected = [f"| `{t}` | {describe(r)} | {r.scope} |" for t, r in NAME_RULES.items()]
    assert rows == expected


def test_lint_reports_a_name_the_provider_refuses_where_the_template_makes_it() -> None:
    tpl = template(
        resource(STORAGE, "[concat('St', parameters('suffix'))]", location="chinanorth"),
        parameters={"suffix": {"type": "string"}},
    )
    findings = static_checks(tpl, {"suffix": {"value": "orage"}}, source="infra/main.json")
    assert [(f.severity, f.code, f.location, f.message) for f in findings] == [
        (
            "error",
            "arm-resource-name",
            "infra/main.json:resources[0].name",
            f"Storage {STORAGE_RULE} (AccountNameInvalid)",
        )
    ]  # the location is the target's to judge: chinanorth exists in Azure China


def test_a_resource_group_a_template_creates_needs_a_location(arm: LocalArm) -> None:
    ops = arm.connection.deployments_client().deployments
    tpl = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [resource("Microsoft.Resources/resourceGroups", "rg-new", None)],
    }
    request = {"location": "westeurope", "properties": body(tpl)["properties"]}
    with pytest.raises(HttpResponseError) as info:
        ops.begin_validate_at_subscription_scope("sub-check", request).result()
    details = info.value.response.json()["error"]["details"]
    assert [(d["code"], d["message"]) for d in details] == [
        ("LocationRequired", "The location property is required for this definition.")
    ]


def _nested_into(group: str) -> dict[str, Any]:
    inner = template(resource(STORAGE, "stnested"))
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "inner",
        "resourceGroup": group,
        "properties": {"mode": "Incremental", "template": inner},
    }


def test_a_deployment_into_a_group_that_does_not_exist_is_refused_by_validate(
    arm: LocalArm,
) -> None:
    tpl = template(_nested_into("rg-missing"))
    for operation in ("validate", "deploy"):
        error = refusal(arm, operation, tpl)
        assert [(d["code"], d["message"]) for d in error["details"]] == [
            ("ResourceGroupNotFound", "Resource group 'rg-missing' could not be found.")
        ]
    arm.connection.resource_client().resource_groups.create_or_update(
        "rg-missing", {"location": "westeurope"}
    )
    assert submit(arm, "deploy", tpl).properties.provisioning_state == "Succeeded"


def test_a_group_the_template_creates_may_be_deployed_into(arm: LocalArm) -> None:
    ops = arm.connection.deployments_client().deployments
    tpl = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [
            resource("Microsoft.Resources/resourceGroups", "rg-made", "westeurope"),
            {**_nested_into("rg-made"), "dependsOn": ["rg-made"]},
        ],
    }
    request = {"location": "westeurope", "properties": body(tpl)["properties"]}
    assert ops.begin_validate_at_subscription_scope("sub-check", request).result()
    ops.begin_create_or_update_at_subscription_scope("sub-check", request).result()
    moved = {
        **tpl,
        "resources": [resource("Microsoft.Resources/resourceGroups", "rg-made", "uksouth")],
    }
    with pytest.raises(HttpResponseError) as info:
        ops.begin_validate_at_subscription_scope(
            "sub-check", {"location": "westeurope", "properties": body(moved)["properties"]}
        ).result()
    assert [(d["code"], d["message"]) for d in info.value.response.json()["error"]["details"]] == [
        (
            "InvalidResourceGroupLocation",
            "Invalid resource group location 'uksouth'. The Resource group already exists in "
            "location 'westeurope'.",
        )
    ]


def test_the_arm_resource_refuses_a_negative_delay() -> None:
    with pytest.raises(ValueError, match="local_resource_delay_s\n  Input should be greater"):
        ArmClient(local_resource_delay_s=-1)
