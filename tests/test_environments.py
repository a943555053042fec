"""Environment manifests: every error a person can make, phrased with file, key and line;
the shipped manifests; placeholders; ARM parameters files."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.environments import (
    EnvironmentSpec,
    ManifestError,
    TcpCheck,
    job_name,
    load_environment,
    load_environments,
    placeholder_names,
    read_parameters_file,
    render_placeholders,
    split_endpoint,
)
from bicep_assets.models import SecureReference

ROOT = Path(__file__).resolve().parents[1]
VAULT_ID = (
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-sec"
    "/providers/Microsoft.KeyVault/vaults/kv-sec"
)
TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"name": {"type": "string"}, "pw": {"type": "securestring"}},
    "resources": [],
}
MINIMAL = """\
template: ../infra/main.json
scope:
  resource_group: rg-test
  location: westeurope
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with infra/main.json (and main.bicep) and an empty parameters/."""
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.json").write_text(json.dumps(TEMPLATE), encoding="utf-8")
    (tmp_path / "infra" / "main.bicep").write_text("param name string\n", encoding="utf-8")
    (tmp_path / "parameters").mkdir()
    return tmp_path


def write(project: Path, name: str, text: str) -> Path:
    path = project / "parameters" / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(project: Path, text: str, name: str = "test.yaml") -> EnvironmentSpec:
    path = write(project, name, text)
    return load_environment(path, display_name=f"parameters/{name}")


# --- a valid manifest, its defaults and what it resolves -------------------------------


def test_minimal_manifest_gets_the_documented_defaults(project: Path) -> None:
    spec = load(project, MINIMAL)
    assert spec.name == "test"
    assert spec.manifest_path == (project / "parameters" / "test.yaml").resolve()
    assert spec.template_file == (project / "infra" / "main.json").resolve()
    assert not spec.is_bicep
    assert spec.parameters_file is None
    assert spec.scope.subscription_id is None
    assert (spec.deployment.mode, spec.deployment.rollback_on_error) == ("Incremental", False)
    assert spec.deployment.what_if_ignore == []
    assert (spec.retry.max_retries, spec.retry.base_delay_s) == (5, 5.0)
    assert spec.health_checks.provisioning_state and not spec.health_checks.resource_health
    assert spec.health_checks.http == [] and spec.health_checks.tcp == []
    assert spec.tags == {} and spec.parameters == {} and spec.secure_parameters == {}


def test_full_manifest_resolves_paths_and_references(project: Path) -> None:
    (project / "parameters" / "full.parameters.json").write_text(
        json.dumps({"parameters": {"name": {"value": "from-file"}}}), encoding="utf-8"
    )
    spec = load(
        project,
        f"""\
        template: ../infra/main.bicep
        parameters_file: full.parameters.json
        parameters: {{name: inline, count: 3, flags: {{a: true}}}}
        secure_parameters:
          pw: {{env: FULL_PW}}
          dbPassword: {{key_vault: "{VAULT_ID}", secret: db-password, version: abc123}}
        scope:
          subscription_id: 11111111-2222-3333-4444-555555555555
          resource_group: rg-full
          location: West Europe
        deployment:
          mode: Complete
          rollback_on_error: true
          what_if_ignore: [properties.siteConfig.healthCheckPath]
        retry: {{max_retries: 0, base_delay_s: 1}}
        health_checks:
          resource_health: true
          http: [{{url: "https://{{outputs.webHost}}/health", expected_status: 204}}]
          tcp: [{{host: "{{outputs.dbHost}}", port: 1433}}]
        tags: {{owner: platform-team}}
        """,
        name="full.yaml",
    )
    assert spec.is_bicep and spec.template_file.name == "main.bicep"
    assert spec.parameters_file == (project / "parameters" / "full.parameters.json").resolve()
    assert spec.parameters == {"name": "inline", "count": 3, "flags": {"a": True}}
    assert spec.retry.base_delay_s == 1.0 and isinstance(spec.retry.base_delay_s, float)
    assert spec.secure_references() == {
        "pw": SecureReference(env="FULL_PW"),
        "dbPassword": SecureReference(
            key_vault_id=VAULT_ID, secret_name="db-password", secret_version="abc123"
        ),
    }
    assert spec.referenced_outputs() == {"webHost", "dbHost"}
    assert spec.deployment.mode == "Complete"
    assert spec.health_checks.http[0].expected_status == 204
    assert spec.health_checks.tcp[0].port == 1433


def test_a_bicepparam_parameters_file_is_accepted_as_a_path(project: Path) -> None:
    (project / "parameters" / "b.bicepparam").write_text(
        "using '../infra/main.bicep'\n", encoding="utf-8"
    )
    spec = load(project, MINIMAL + "parameters_file: b.bicepparam\n")
    assert spec.parameters_file == (project / "parameters" / "b.bicepparam").resolve()


# --- every class of manifest error ------------------------------------------------------

ERRORS: list[tuple[str, str, str]] = [
    (
        "unknown-key-with-suggestion",
        MINIMAL + "deployment:\n  modee: Incremental\n",
        r"^parameters/test\.yaml: deployment\.modee: unknown key \(did you mean 'mode'\?\) "
        r"at line 6$",
    ),
    (
        "unknown-top-level-key-lists-allowed",
        MINIMAL + "colour: red\n",
        r"parameters/test\.yaml: colour: unknown key; allowed here: template, parameters_file, "
        r"parameters, secure_parameters, scope, identity, deployment, retry, health_checks, tags, "
        r"triggers "
        r"at line 5",
    ),
    (
        "misspelled-top-level-key",
        MINIMAL + "secure_parameter: {}\n",
        r"secure_parameter: unknown key \(did you mean 'secure_parameters'\?\)",
    ),
    (
        "wrong-type-bool",
        MINIMAL + "deployment: {rollback_on_error: 'yes'}\n",
        r"deployment\.rollback_on_error: must be true or false, not 'yes' at line 5",
    ),
    (
        "wrong-type-int-as-string",
        MINIMAL + "retry: {max_retries: '5'}\n",
        r"retry\.max_retries: must be an integer, not '5'",
    ),
    (
        "wrong-type-mapping",
        MINIMAL + "health_checks: [http]\n",
        r"health_checks: must be a mapping, not \['http'\]",
    ),
    (
        "bad-enum",
        MINIMAL + "deployment: {mode: incremental}\n",
        r"deployment\.mode: must be 'Incremental' or 'Complete', not 'incremental' at line 5",
    ),
    (
        "out-of-range",
        MINIMAL + "retry: {max_retries: -1}\n",
        r"retry\.max_retries: must be greater than or equal to 0, not -1",
    ),
    (
        "missing-template",
        "scope: {resource_group: rg, location: westeurope}\n",
        r"^parameters/test\.yaml: template: required key is missing$",
    ),
    (
        "missing-nested-key",
        "template: ../infra/main.json\nscope: {resource_group: rg}\n",
        r"scope\.location: required key is missing at line 2",
    ),
    (
        "template-file-missing",
        MINIMAL.replace("main.json", "nope.json"),
        r"template: '\.\./infra/nope\.json' does not exist \(looked for .*nope\.json\); the "
        r"path is relative to the manifest at line 1",
    ),
    (
        "template-not-a-template",
        MINIMAL.replace("main.json", "main.txt"),
        r"template: '\.\./infra/main\.txt' must be a \.bicep or an ARM \.json file",
    ),
    (
        "parameters-file-missing",
        MINIMAL + "parameters_file: nope.parameters.json\n",
        r"parameters_file: '.*nope\.parameters\.json' does not exist",
    ),
    (
        "both-inline-and-secure",
        MINIMAL + "parameters: {pw: hunter2}\nsecure_parameters: {pw: {env: PW}}\n",
        r"secure_parameters: pw also in parameters; a secure parameter is given only by "
        r"reference: remove it from parameters at line 6",
    ),
    (
        "secure-value-inline",
        MINIMAL + "secure_parameters: {pw: {value: hunter2}}\n",
        r"secure_parameters\.pw\.value: a secure value is never written in a manifest",
    ),
    (
        "secure-env-and-vault",
        MINIMAL + f"secure_parameters: {{pw: {{env: PW, key_vault: '{VAULT_ID}', secret: s}}}}\n",
        r"secure_parameters\.pw: give either env or key_vault \+ secret, not both",
    ),
    (
        "secure-vault-without-secret",
        MINIMAL + f"secure_parameters: {{pw: {{key_vault: '{VAULT_ID}'}}}}\n",
        r"secure_parameters\.pw: a Key Vault reference needs both key_vault and secret",
    ),
    (
        "secure-nothing",
        MINIMAL + "secure_parameters: {pw: {}}\n",
        r"secure_parameters\.pw: give env: VARIABLE, or key_vault: VAULT_ID with secret: NAME",
    ),
    (
        "secure-bad-vault-id",
        MINIMAL + "secure_parameters: {pw: {key_vault: kv-sec, secret: s}}\n",
        r"secure_parameters\.pw\.key_vault: must be a key vault resource id",
    ),
    (
        "secure-version-with-env",
        MINIMAL + "secure_parameters: {pw: {env: PW, version: abc}}\n",
        r"secure_parameters\.pw: version applies to Key Vault secrets only",
    ),
    (
        "secure-bad-env-name",
        MINIMAL + "secure_parameters: {pw: {env: MY-PW}}\n",
        r"secure_parameters\.pw\.env: must be an environment variable name .*, not 'MY-PW'",
    ),
    (
        "bad-subscription-id",
        MINIMAL + "  subscription_id: my-subscription\n",
        r"scope\.subscription_id: must be a subscription id \(a GUID\), not 'my-subscription'",
    ),
    (
        "bad-resource-group",
        MINIMAL.replace("rg-test", "rg-test."),
        r"scope\.resource_group: must be a resource group name .*, not 'rg-test\.'",
    ),
    (
        "http-bad-scheme",
        MINIMAL + "health_checks: {http: [{url: 'ftp://host/'}]}\n",
        r"health_checks\.http\[0\]\.url: 'ftp://host/' must start with http:// or https://",
    ),
    (
        "http-unknown-placeholder",
        MINIMAL + "health_checks: {http: [{url: 'https://{output.webHost}/'}]}\n",
        r"health_checks\.http\[0\]\.url: unknown placeholder '\{output\.webHost\}'",
    ),
    (
        "http-unbalanced-brace",
        MINIMAL + "health_checks: {http: [{url: 'https://{outputs.webHost/'}]}\n",
        r"health_checks\.http\[0\]\.url: unbalanced '\{'",
    ),
    (
        "http-bad-status",
        MINIMAL + "health_checks: {http: [{url: 'https://x/', expected_status: 700}]}\n",
        r"health_checks\.http\[0\]\.expected_status: must be less than or equal to 599, not 700",
    ),
    (
        "tcp-without-port",
        MINIMAL + "health_checks: {tcp: [{host: db.example.net}]}\n",
        r"health_checks\.tcp\[0\]: no port for 'db\.example\.net': add port: N",
    ),
    (
        "tcp-url-as-host",
        MINIMAL + "health_checks: {tcp: [{host: 'https://{outputs.webHost}', port: 443}]}\n",
        r"health_checks\.tcp\[0\]\.host: '.*' must be a host, not a URL",
    ),
    (
        "tag-name",
        MINIMAL + "tags: {'a/b': c}\n",
        r"tags\.a/b: must be a tag name without",
    ),
    (
        "tag-value-type",
        MINIMAL + "tags: {costCenter: 1234}\n",
        r"tags\.costCenter: must be a string, not 1234",
    ),
    (
        "name-is-the-file-name",
        MINIMAL + "name: prod\n",
        r"^parameters/test\.yaml: name: not a manifest key \(an environment is named after its "
        r"file\); remove it$",
    ),
    ("empty-file", "", r"parameters/test\.yaml: the manifest is empty"),
    ("list-not-mapping", "- template\n", r"must be a mapping of keys .*, not a list"),
    (
        "bad-yaml-line-column",
        "template: ../infra/main.json\nscope:\n  resource_group: [rg\n  location: westeurope\n",
        r"^parameters/test\.yaml:4:11: invalid YAML: expected ',' or '\]', but got ':'",
    ),
    (
        "bad-yaml-indentation",
        "template: x\n scope: y\n",
        r"^parameters/test\.yaml:2:7: invalid YAML: mapping values are not allowed here",
    ),
    (
        "duplicate-key",
        MINIMAL + "deployment:\n  mode: Incremental\n  mode: Complete\n",
        r"^parameters/test\.yaml: deployment\.mode: duplicate key at line 7, column 3 \(first at "
        r"line 6\); YAML would silently keep only the last one: remove one$",
    ),
    (
        "duplicate-top-level-key",
        MINIMAL + "template: ../infra/main.bicep\n",
        r"parameters/test\.yaml: template: duplicate key at line 5, column 1 \(first at line 1\)",
    ),
    # -- scopes ---------------------------------------------------------------------------
    (
        "scope-keys-mixed",
        "template: ../infra/main.json\nscope:\n  resource_group: rg\n  management_group_id: mg\n"
        "  location: westeurope\n",
        r"^parameters/test\.yaml: scope: management_group_id deploys at management group scope, "
        r"which takes only location: remove resource_group \(a template reaches subscriptions "
        r"and resource groups below it with nested deployments\) at line 2$",
    ),
    (
        "scope-tenant-with-subscription",
        "template: ../infra/main.json\nscope:\n  tenant: true\n"
        "  subscription_id: 11111111-2222-3333-4444-555555555555\n  location: westeurope\n",
        r"^parameters/test\.yaml: scope: tenant: true deploys at tenant scope, which takes only "
        r"location: remove subscription_id at line 2$",
    ),
    (
        "scope-names-none",
        "template: ../infra/main.json\nscope:\n  location: westeurope\n",
        r"^parameters/test\.yaml: scope: names no scope: give resource_group \(a resource group\), "
        r"subscription_id \(a subscription\), management_group_id \(a management group\) or "
        r"tenant: true at line 2$",
    ),
    (
        "scope-tenant-false",
        "template: ../infra/main.json\nscope:\n  tenant: false\n  location: westeurope\n",
        r"^parameters/test\.yaml: scope: tenant: false names no scope; remove it \(tenant: true "
        r"deploys at tenant scope\) at line 2$",
    ),
    (
        "scope-management-group-id-shape",
        "template: ../infra/main.json\nscope:\n  management_group_id: a/b\n  location: x\n",
        r"^parameters/test\.yaml: scope\.management_group_id: must be a management group id "
        r"\(1-90 letters, digits, '-', '_', '\.', '\(' or '\)', not ending in '\.'\), not 'a/b' "
        r"at line 3$",
    ),
    (
        "rollback-above-resource-groups",
        "template: ../infra/main.json\nscope:\n  subscription_id: 11111111-2222-3333-4444-"
        "555555555555\n  location: westeurope\ndeployment:\n  rollback_on_error: true\n",
        r"^parameters/test\.yaml: deployment\.rollback_on_error: ARM rolls back to the last "
        r"successful deployment at resource group scope only, and this scope is a subscription "
        r"11111111-2222-3333-4444-555555555555 \(westeurope\): remove rollback_on_error$",
    ),
    # -- identities ---------------------------------------------------------------------------
    (
        "identity-secret-refused",
        MINIMAL + "identity:\n  client_id: 11111111-2222-3333-4444-555555555555\n"
        "  client_secret: hunter2hunter2\n",
        r"^parameters/test\.yaml: identity: client_secret: a manifest never holds a secret \(it "
        r"is committed to git\); use kind: workload_identity \(federated credentials\) or kind: "
        r"managed_identity, or kind: default with the secret in the AZURE_CLIENT_SECRET "
        r"environment variable of the runner at line 5$",
    ),
    (
        "identity-workload-needs-tenant",
        MINIMAL + "identity:\n  kind: workload_identity\n"
        "  client_id: 11111111-2222-3333-4444-555555555555\n",
        r"^parameters/test\.yaml: identity: kind: workload_identity needs tenant_id and "
        r"client_id at line 5$",
    ),
    (
        "identity-kind-unknown",
        MINIMAL + "identity:\n  kind: service_principal\n",
        r"^parameters/test\.yaml: identity\.kind: ",
    ),
    (
        "identity-client-id-shape",
        MINIMAL + "identity:\n  client_id: my-app\n",
        r"^parameters/test\.yaml: identity\.client_id: must be a client id \(a GUID: the app "
        r"registration's or managed identity's\), not 'my-app' at line 6$",
    ),
]


@pytest.mark.parametrize(("text", "match"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_manifest_errors_name_file_key_and_fix(project: Path, text: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match):
        load(project, text)


def test_several_errors_are_all_reported_in_line_order(project: Path) -> None:
    text = MINIMAL + "deployment: {mode: x}\nretry: {max_retries: x}\ncolor: 1\n"
    with pytest.raises(ManifestError) as info:
        load(project, text)
    lines = str(info.value).splitlines()
    assert [re.search(r"at line (\d+)$", line)[1] for line in lines] == ["5", "6", "7"]
    assert all(line.startswith("parameters/test.yaml: ") for line in lines)


def test_a_secure_parameter_also_in_the_parameters_file_is_an_error(project: Path) -> None:
    (project / "parameters" / "x.parameters.json").write_text(
        json.dumps({"pw": {"value": "hunter2"}}), encoding="utf-8"
    )
    text = MINIMAL + "parameters_file: x.parameters.json\nsecure_parameters: {pw: {env: PW}}\n"
    with pytest.raises(ManifestError, match=r"secure_parameters: pw also given in x\.param"):
        load(project, text)


BAD_NAMES = [("space", "my env.yaml"), ("dot", "eu.west.yaml"), ("leading-dash", "-dev.yaml")]


@pytest.mark.parametrize("file_name", [n[1] for n in BAD_NAMES], ids=[n[0] for n in BAD_NAMES])
def test_environment_names_that_cannot_name_a_job_are_rejected(
    project: Path, file_name: str
) -> None:
    stem = file_name.rsplit(".", 1)[0]
    with pytest.raises(
        ManifestError,
        match=rf"^parameters/{re.escape(file_name)}: environment name '{re.escape(stem)}' "
        r"\(the file name\) cannot name a Dagster job",
    ):
        load(project, MINIMAL, name=file_name)


def test_a_missing_manifest_is_named(project: Path) -> None:
    missing = project / "parameters" / "nope.yaml"
    with pytest.raises(ManifestError, match=r"nope\.yaml: no such manifest file"):
        load_environment(missing)


# --- job names ------------------------------------------------------------------------

JOB_NAMES = [
    ("deploy", "dev", "deploy_dev"),
    ("plan", "prod", "plan_prod"),
    ("deploy", "eu-west", "deploy_eu_west"),
    ("plan", "Team_2", "plan_Team_2"),
    ("deploy", "2024", "deploy_2024"),
]


@pytest.mark.parametrize(
    ("kind", "env", "expected"), JOB_NAMES, ids=[f"{k}-{e}" for k, e, _ in JOB_NAMES]
)
def test_job_name(kind: Any, env: str, expected: str) -> None:
    assert job_name(kind, env) == expected


@pytest.mark.parametrize(
    ("kind", "env", "match"),
    [
        ("deploy", "eu west", r"environment name 'eu west' cannot name a Dagster job"),
        ("deploy", "", r"environment name '' cannot name a Dagster job"),
        ("destroy", "dev", r"job kind must be 'deploy' or 'plan', not 'destroy'"),
    ],
    ids=["space", "empty", "bad-kind"],
)
def test_job_name_rejects(kind: Any, env: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        job_name(kind, env)


# --- load_environments ------------------------------------------------------------------


def test_load_environments_reads_yaml_and_yml_sorted(project: Path) -> None:
    write(project, "stage.yml", MINIMAL)
    write(project, "dev.yaml", MINIMAL)
    write(project, "notes.txt", "not a manifest")
    assert list(load_environments(project)) == ["dev", "stage"]


def test_load_environments_reports_every_broken_manifest(project: Path) -> None:
    write(project, "a.yaml", MINIMAL + "colour: red\n")
    write(project, "b.yaml", "template: [\n")
    write(project, "c.yaml", MINIMAL)
    with pytest.raises(ManifestError) as info:
        load_environments(project)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("parameters/a.yaml: colour: unknown key")
    assert lines[1].startswith("parameters/b.yaml:2:1: invalid YAML")
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [("eu-west.yaml", "eu_west.yaml"), ("dev.yaml", "dev.yml")],
    ids=["dash-and-underscore", "yaml-and-yml"],
)
def test_environments_mapping_to_the_same_job_are_rejected(
    project: Path, first: str, second: str
) -> None:
    write(project, first, MINIMAL)
    write(project, second, MINIMAL)
    with pytest.raises(
        ManifestError,
        match=rf"parameters/{re.escape(second)}: environment '.*' maps to the same jobs as "
        rf"parameters/{re.escape(first)} \(deploy_\w+\); rename one of them",
    ):
        load_environments(project)


def test_load_environments_without_a_parameters_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no parameters/ folder; add one <env>\.yaml"):
        load_environments(tmp_path)


# --- the shipped manifests ----------------------------------------------------------------


def test_the_shipped_manifests_load() -> None:
    envs = load_environments(ROOT)
    assert list(envs) == ["dev", "landing", "prod"]
    dev, prod = envs["dev"], envs["prod"]
    for spec in (dev, prod):
        assert spec.template_file == ROOT / "infra" / "main.json"
        assert spec.health_checks.resource_health
        assert [c.url for c in spec.health_checks.http] == ["https://{outputs.webHost}/"]
        assert spec.health_checks.http[0].expected_status == 200
    assert dev.parameters_file == ROOT / "parameters" / "dev.parameters.json"
    assert read_parameters_file(dev.parameters_file)["appServiceSku"] == {"value": "B1"}
    assert dev.secure_references() == {"appSecret": SecureReference(env="DEV_APP_SECRET")}
    assert (dev.deployment.mode, dev.deployment.rollback_on_error) == ("Incremental", False)
    assert prod.parameters["appServiceSku"] == "P1v3"
    assert prod.secure_references() == {"appSecret": SecureReference(env="PROD_APP_SECRET")}
    assert not prod.deployment.rollback_on_error  # a stack has no onErrorDeployment
    assert prod.deployment.stack is not None
    assert prod.deployment.stack.deny_settings.mode == "denyWriteAndDelete"
    assert prod.deployment.stack.action_on_unmanage.resources == "detach"
    assert prod.scope.resource_group != dev.scope.resource_group
    assert [(c.host, c.port) for c in prod.health_checks.tcp] == [("{outputs.webHost}", 443)]
    landing = envs["landing"]
    assert (landing.scope.kind, landing.scope.scope_id) == (
        "subscription",
        "/subscriptions/00000000-0000-0000-0000-000000000000",
    )
    assert landing.template_file == ROOT / "infra" / "landing.json"


@pytest.mark.parametrize("env", ["dev", "landing", "prod"])
def test_shipped_manifests_fit_their_template(env: str) -> None:
    """Every parameter given is declared, every required one is given, and the health checks
    use outputs the template has."""
    spec = load_environments(ROOT)[env]
    template = json.loads(spec.template_file.read_text(encoding="utf-8"))
    declared = template["parameters"]
    from_file = read_parameters_file(spec.parameters_file) if spec.parameters_file else {}
    given = set(from_file) | set(spec.parameters) | set(spec.secure_parameters)
    assert given <= set(declared)
    assert {n for n, p in declared.items() if "defaultValue" not in p} <= given
    assert {n for n, p in declared.items() if p["type"].lower() == "securestring"} == set(
        spec.secure_parameters
    )
    assert spec.referenced_outputs() <= set(template["outputs"])
    for name, value in spec.parameters.items():
        allowed = declared[name].get("allowedValues")
        assert allowed is None or value in allowed, (name, value)


# --- placeholders -------------------------------------------------------------------------

OUTPUTS = {
    "webHost": "app.azurewebsites.net",
    "dbPort": 1433,
    "sdkShaped": {"type": "String", "value": "db.example.net"},
    "list": ["a", 1],
}
RENDERED = [
    ("plain", "https://{outputs.webHost}/health", "https://app.azurewebsites.net/health"),
    ("two", "{outputs.webHost}:{outputs.dbPort}", "app.azurewebsites.net:1433"),
    ("ignores-case", "{outputs.WEBHOST}", "app.azurewebsites.net"),
    ("spaces-inside", "{ outputs.webHost }", "app.azurewebsites.net"),
    ("sdk-shape", "{outputs.sdkShaped}", "db.example.net"),
    ("json-value", "{outputs.list}", '["a",1]'),
    ("literal-braces", "x{{y}}z", "x{y}z"),
    ("none", "https://example.net/", "https://example.net/"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [r[1:] for r in RENDERED], ids=[r[0] for r in RENDERED]
)
def test_render_placeholders(text: str, expected: str) -> None:
    assert render_placeholders(text, OUTPUTS) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "https://{outputs.webHots}/",
            r"'https://\{outputs\.webHots\}/': the deployment has no output 'webHots' \(its "
            r"outputs: dbPort, list, sdkShaped, webHost\)",
        ),
        ("{output.webHost}", r"malformed placeholder '\{output\.webHost\}'"),
    ],
    ids=["missing-output", "malformed"],
)
def test_render_placeholders_errors(text: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match):
        render_placeholders(text, OUTPUTS)


def test_render_placeholders_with_no_outputs_says_so() -> None:
    with pytest.raises(ManifestError, match=r"no output 'webHost' \(its outputs: none\)"):
        render_placeholders("{outputs.webHost}", {})


def test_placeholder_names() -> None:
    assert placeholder_names("https://{outputs.a}:{outputs.b_2}/{{x}}") == ["a", "b_2"]
    with pytest.raises(ValueError, match=r"unbalanced '\}'"):
        placeholder_names("a}b")


ENDPOINTS = [
    ("name-and-port", "db.example.net:1433", None, ("db.example.net", 1433)),
    ("default-port", "app.azurewebsites.net", 443, ("app.azurewebsites.net", 443)),
    ("host-port-wins", "127.0.0.1:8443", 443, ("127.0.0.1", 8443)),
    ("path-ignored", "127.0.0.1:39749/sites/s/rg/app", 443, ("127.0.0.1", 39749)),
    ("ipv6", "[::1]:80", None, ("::1", 80)),
]


@pytest.mark.parametrize(
    ("host", "port", "expected"), [e[1:] for e in ENDPOINTS], ids=[e[0] for e in ENDPOINTS]
)
def test_tcp_endpoint(host: str, port: int | None, expected: tuple[str, int]) -> None:
    check = TcpCheck(host="{outputs.h}", port=port)
    assert check.endpoint({"h": host}) == expected


def test_tcp_endpoint_errors() -> None:
    with pytest.raises(ManifestError, match=r"'\{outputs\.h\}' → 'db' names no port: add port"):
        TcpCheck(host="{outputs.h}").endpoint({"h": "db"})
    with pytest.raises(ManifestError, match=r"must be a host name or address"):
        TcpCheck(host="{outputs.h}", port=1).endpoint({"h": "not a host"})
    with pytest.raises(ValueError, match=r"port 70000 in 'db:70000' is outside 1-65535"):
        split_endpoint("db:70000")


# --- ARM parameters files -----------------------------------------------------------------

KV_REFERENCE = {"keyVault": {"id": VAULT_ID}, "secretName": "db-password"}
PARAMETER_FILES = [
    (
        "full-file",
        {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
            "deploymentParameters.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"sku": {"value": "B1"}, "pw": {"reference": KV_REFERENCE}},
        },
        {"sku": {"value": "B1"}, "pw": {"reference": KV_REFERENCE}},
    ),
    ("bare-object", {"sku": {"value": "B1"}}, {"sku": {"value": "B1"}}),
    ("empty", {"parameters": {}}, {}),
]


@pytest.mark.parametrize(
    ("content", "expected"),
    [p[1:] for p in PARAMETER_FILES],
    ids=[p[0] for p in PARAMETER_FILES],
)
def test_read_parameters_file(tmp_path: Path, content: Any, expected: Any) -> None:
    path = tmp_path / "p.parameters.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    assert read_parameters_file(path) == expected


BAD_PARAMETER_FILES = [
    ("invalid-json", '{"a": ', r"p\.parameters\.json' is not valid JSON: .* line 1, column 7"),
    ("not-an-object", "[1]", r"p\.parameters\.json' must hold a JSON object"),
    ("no-value", '{"a": 1}', r"parameter 'a' in '.*p\.parameters\.json' must be an object with"),
    (
        "value-and-reference",
        json.dumps({"a": {"value": 1, "reference": KV_REFERENCE}}),
        r"p\.parameters\.json: parameter 'a' has both 'value' and 'reference'; keep one",
    ),
    (
        "bad-reference",
        json.dumps({"a": {"reference": {"keyVault": VAULT_ID}}}),
        r"p\.parameters\.json: parameter 'a': a Key Vault reference needs",
    ),
]


@pytest.mark.parametrize(
    ("content", "match"),
    [b[1:] for b in BAD_PARAMETER_FILES],
    ids=[b[0] for b in BAD_PARAMETER_FILES],
)
def test_read_parameters_file_errors(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "p.parameters.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError, match=match):
        read_parameters_file(path)


def test_read_parameters_file_missing_and_bicepparam(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"parameters file '.*nope\.json' does not exist"):
        read_parameters_file(tmp_path / "nope.json")
    with pytest.raises(ManifestError, match=r"x\.bicepparam: a \.bicepparam file is compiled"):
        read_parameters_file(tmp_path / "x.bicepparam")


def test_a_broken_parameters_file_fails_the_manifest(project: Path) -> None:
    (project / "parameters" / "x.parameters.json").write_text("{", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"x\.parameters\.json' is not valid JSON"):
        load(project, MINIMAL + "parameters_file: x.parameters.json\n")


# --- triggers: push deployments and drift schedules --------------------------------------


def test_triggers_default_to_nothing_automatic(project: Path) -> None:
    triggers = load(project, MINIMAL).triggers
    assert (triggers.deploy_on_push, triggers.branch) == (False, "main")
    assert (triggers.drift_schedule, triggers.drift_timezone) == (None, "UTC")


def test_triggers_as_written(project: Path) -> None:
    spec = load(
        project,
        MINIMAL + "triggers:\n  deploy_on_push: true\n  branch: release/v2\n"
        "  drift_schedule: '30 5 * * 1-5'\n  drift_timezone: Europe/Amsterdam\n",
    )
    assert spec.triggers.deploy_on_push and spec.triggers.branch == "release/v2"
    assert spec.triggers.drift_schedule == "30 5 * * 1-5"
    assert spec.triggers.drift_timezone == "Europe/Amsterdam"


TRIGGER_ERRORS = [
    (
        "deploy-on-push-not-bool",
        "triggers: {deploy_on_push: 'yes'}\n",
        r"triggers\.deploy_on_push: must be true or false, not 'yes' at line 5",
    ),
    (
        "branch-with-dots",
        "triggers: {branch: 'release..x'}\n",
        r"triggers\.branch: 'release\.\.x' is not a git branch name \(no spaces, '\.\.'",
    ),
    (
        "branch-with-space",
        "triggers: {branch: 'my branch'}\n",
        r"triggers\.branch: 'my branch' is not a git branch name",
    ),
    (
        "branch-lock-suffix",
        "triggers: {branch: main.lock}\n",
        r"triggers\.branch: 'main\.lock' is not a git branch name",
    ),
    (
        "cron-hour-out-of-range",
        "triggers: {drift_schedule: '0 25 * * *'}\n",
        r"triggers\.drift_schedule: '0 25 \* \* \*' is not a cron schedule: five fields, minute "
        r"hour day-of-month month day-of-week, e\.g\. '0 6 \* \* 1-5' .* at line 5",
    ),
    (
        "cron-with-seconds",
        "triggers: {drift_schedule: '0 0 6 * * *'}\n",
        r"triggers\.drift_schedule: '0 0 6 \* \* \*' is not a cron schedule",
    ),
    (
        "cron-february-30",
        "triggers: {drift_schedule: '0 6 30 2 *'}\n",
        r"triggers\.drift_schedule: '0 6 30 2 \*' is not a cron schedule",
    ),
    (
        "unknown-timezone",
        "triggers: {drift_schedule: '@daily', drift_timezone: Europe/Amsterdamm}\n",
        r"triggers\.drift_timezone: 'Europe/Amsterdamm' is not an IANA time zone; use a name "
        r"such as UTC or Europe/Amsterdam",
    ),
    (
        "timezone-without-schedule",
        "triggers: {drift_timezone: UTC}\n",
        r"triggers: drift_timezone applies to drift_schedule only: add drift_schedule",
    ),
    (
        "misspelled-key",
        "triggers: {deploy_on_pushes: true}\n",
        r"triggers\.deploy_on_pushes: unknown key \(did you mean 'deploy_on_push'\?\)",
    ),
]


@pytest.mark.parametrize(
    ("text", "match"), [e[1:] for e in TRIGGER_ERRORS], ids=[e[0] for e in TRIGGER_ERRORS]
)
def test_trigger_errors_name_file_key_and_fix(project: Path, text: str, match: str) -> None:
    with pytest.raises(ManifestError, match=rf"^parameters/test\.yaml: {match}"):
        load(project, MINIMAL + text)
