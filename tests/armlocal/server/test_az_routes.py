"""What clients other than our SDK calls need from the local ARM, in process over HTTPS:
cloud metadata, the managed-identity token endpoint and ARM's 401s, subscriptions and
tenants, ARM's lenient JSON reader, $filter, provider resource types and collections, and
long-running work answered at once. Expected values come from Microsoft's REST reference."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.resource.resources import ResourceManagementClient

from bicep_assets.armlocal import LocalArm

from .conftest import deploy_body, storage, template

SUB = "00000000-0000-0000-0000-000000000000"
DEPLOYMENTS = (
    f"/subscriptions/{SUB}/resourcegroups/rg-test/providers/Microsoft.Resources/deployments"
)
ARM_AUDIENCE = "https://management.core.windows.net/"


def _get(arm: LocalArm, path: str, token: str | None = "", **kwargs: Any) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token or arm.config.token}"
    return requests.get(
        f"{arm.base_url}{path}", headers=headers, verify=str(arm.ca_file), timeout=10, **kwargs
    )


def _send(arm: LocalArm, method: str, path: str, data: bytes | str) -> requests.Response:
    return requests.request(
        method,
        f"{arm.base_url}{path}",
        data=data.encode() if isinstance(data, str) else data,
        headers={"Authorization": f"Bearer {arm.config.token}", "Content-Type": "application/json"},
        verify=str(arm.ca_file),
        timeout=10,
    )


# -- metadata --------------------------------------------------------------------------------
def test_metadata_endpoints_need_no_token_and_follow_the_api_version(arm: LocalArm) -> None:
    base = arm.base_url + "/"
    single = _get(arm, "/metadata/endpoints?api-version=2022-09-01", token=None)
    assert single.status_code == 200
    cloud = single.json()
    assert cloud["name"] == "LocalArm"
    assert cloud["resourceManager"] == base
    assert cloud["authentication"]["audiences"][0] == ARM_AUDIENCE
    listed = _get(arm, "/metadata/endpoints?api-version=2019-05-01", token=None).json()
    assert listed == [cloud]
    legacy = _get(arm, "/metadata/endpoints?api-version=2015-01-01", token=None).json()
    assert legacy["authentication"]["loginEndpoint"] == base
    assert "name" not in legacy
    missing = _get(arm, "/metadata/endpoints", token=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"


# -- the token endpoint and authentication ---------------------------------------------------
def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token(arm: LocalArm, resource: str = ARM_AUDIENCE) -> requests.Response:
    return _get(
        arm,
        f"/msi/token?api-version=2019-08-01&resource={resource}",
        token=None,
        headers={"X-IDENTITY-HEADER": arm.config.token},
    )


def test_the_identity_endpoint_issues_jwt_tokens_that_arm_accepts(arm: LocalArm) -> None:
    answer = _token(arm)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["resource"] == ARM_AUDIENCE
    claims = _claims(body["access_token"])
    assert claims["aud"] == ARM_AUDIENCE
    assert claims["tid"] == arm.config.tenant_id
    assert claims["exp"] == int(body["expires_on"]) and claims["exp"] > time.time() + 3600
    assert {"oid", "iat", "nbf", "iss", "appid"} <= set(claims)
    listed = _get(arm, "/subscriptions?api-version=2022-12-01", token=body["access_token"])
    assert listed.status_code == 200
    assert listed.json()["value"][0]["subscriptionId"] == SUB


def test_the_identity_endpoint_needs_its_header(arm: LocalArm) -> None:
    no_header = _get(arm, f"/msi/token?api-version=2019-08-01&resource={ARM_AUDIENCE}", None)
    assert no_header.status_code == 401
    assert "X-IDENTITY-HEADER" in no_header.json()["message"]
    no_resource = _get(
        arm,
        "/msi/token?api-version=2019-08-01",
        token=None,
        headers={"X-IDENTITY-HEADER": arm.config.token},
    )
    assert no_resource.status_code == 400
    assert no_resource.json() == {
        "statusCode": 400,
        "message": "The 'resource' query parameter is required.",
    }


def _unauthorized(answer: requests.Response, code: str) -> str:
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == code
    challenge = answer.headers["WWW-Authenticate"]
    assert (
        challenge.startswith("Bearer authorization_uri=") and 'error="invalid_token"' in challenge
    )
    return answer.json()["error"]["message"]


def test_arm_refuses_bad_tokens_with_its_own_codes(arm: LocalArm) -> None:
    path = "/subscriptions?api-version=2022-12-01"
    missing = _get(arm, path, token=None)
    assert _unauthorized(missing, "AuthenticationFailed") == (
        "Authentication failed. The 'Authorization' header is missing."
    )
    not_jwt = _get(arm, path, token="not-a-jwt")
    assert _unauthorized(not_jwt, "InvalidAuthenticationToken") == "The access token is invalid."
    good = _token(arm).json()["access_token"]
    head, _, signature = good.split(".")
    forged = json.dumps({**_claims(good), "tid": "someone-else"}).encode()
    tampered = f"{head}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}.{signature}"
    assert _unauthorized(_get(arm, path, token=tampered), "InvalidAuthenticationToken")
    expired = arm.app.authority.issue(ARM_AUDIENCE, now=time.time() - 2 * 86400)["access_token"]
    message = _unauthorized(_get(arm, path, token=expired), "ExpiredAuthenticationToken")
    assert message.startswith("The access token expiry UTC time '")
    assert "' is earlier than current UTC time '" in message
    vault = arm.app.authority.issue("https://vault.azure.net")["access_token"]
    message = _unauthorized(_get(arm, path, token=vault), "InvalidAuthenticationTokenAudience")
    assert "wrong audience or resource 'https://vault.azure.net'" in message
    basic = _get(arm, path, token=None, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert _unauthorized(basic, "AuthenticationFailed").endswith("in an invalid format.")


# -- subscriptions, locations, tenants -------------------------------------------------------
def test_subscriptions_locations_and_tenants(arm: LocalArm) -> None:
    listed = _get(arm, "/subscriptions?api-version=2022-12-01").json()
    assert listed["count"] == {"type": "Total", "value": 1}
    sub = listed["value"][0]
    assert sub["id"] == f"/subscriptions/{SUB}" and sub["state"] == "Enabled"
    assert sub["tenantId"] == arm.config.tenant_id
    assert _get(arm, f"/subscriptions/{SUB}?api-version=2022-12-01").json() == sub
    bad = _get(arm, "/subscriptions/not-a-guid?api-version=2022-12-01")
    assert bad.status_code == 400
    assert bad.json()["error"] == {
        "code": "InvalidSubscriptionId",
        "message": "The provided subscription identifier 'not-a-guid' is malformed or invalid.",
    }
    other = "11111111-2222-3333-4444-555555555555"
    unknown = _get(arm, f"/subscriptions/{other}/locations?api-version=2022-12-01")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "code": "SubscriptionNotFound",
        "message": f"The subscription '{other}' could not be found.",
    }
    locations = _get(arm, f"/subscriptions/{SUB}/locations?api-version=2022-12-01").json()
    west = next(x for x in locations["value"] if x["name"] == "westeurope")
    assert west["displayName"] == "West Europe" and west["type"] == "Region"
    assert west["metadata"]["pairedRegion"][0]["name"] == "northeurope"
    tenants = _get(arm, "/tenants?api-version=2022-12-01").json()["value"]
    assert [t["tenantId"] for t in tenants] == [arm.config.tenant_id]
    # the same tenant a template's tenant() describes, with the keys GetTenants.json lists
    assert (tenants[0]["countryCode"], tenants[0]["displayName"]) == ("US", "Local ARM tenant")
    assert tenants[0]["tenantCategory"] == "Home" and tenants[0]["tenantType"] == "AAD"


# -- ARM's lenient JSON reader ---------------------------------------------------------------
AZ_TEMPLATE = """{
  // a comment, as templates may carry
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  /* a block comment */
  "parameters": {"name": {"type": "string",}},
  "resources": [],
  "outputs": {"echo": {"type": "string", "value": "[
      parameters('name')]"}}
}"""


def test_a_body_as_az_sends_it_deploys(arm: LocalArm, group: str) -> None:
    # az splices the template file, as written, behind an unquoted key
    prefix = json.dumps(
        {"properties": {"mode": "Incremental", "parameters": {"name": {"value": "x"}}}}
    )
    body = prefix[:-2] + ", template:" + AZ_TEMPLATE + "}}"
    path = f"{DEPLOYMENTS}/lenient?api-version=2025-04-01"
    answer = _send(arm, "PUT", path, body)
    assert answer.status_code == 201, answer.text
    arm.backend.runner.wait_idle()
    record = _get(arm, path).json()
    assert record["properties"]["provisioningState"] == "Succeeded"
    assert record["properties"]["outputs"]["echo"]["value"] == "x"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"properties": {"mode": "Incremental" "template": {}}}', "line 1, column 39"),
        ('{"properties":\n  {"template": {]}}', "line 2, column 17"),
        ('{"properties": {}} trailing', "line 1, column 20"),
        ('{"properties": {"template": "unterminated}}', "line 1, column 44"),
    ],
    ids=["missing-comma", "bad-bracket", "trailing-text", "unterminated-string"],
)
def test_a_malformed_body_names_line_and_column(
    arm: LocalArm, group: str, body: str, where: str
) -> None:
    path = f"{DEPLOYMENTS}/bad?api-version=2025-04-01"
    answer = _send(arm, "PUT", path, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "InvalidRequestContent"
    assert error["message"].startswith(
        "The request content was invalid and could not be deserialized: "
    )
    assert where in error["message"]


# -- $filter, provider types and collections -------------------------------------------------
@pytest.fixture
def deployed(arm: LocalArm, group: str, deployments: Any, resources: Any) -> str:
    resources.resource_groups.create_or_update("rg-other", {"location": "westeurope"})
    tpl = template(
        [
            storage("stfilterone", tags={"team": "a"}),
            storage("stfiltertwo", tags={"team": "b"}),
            {
                "type": "Microsoft.Web/serverfarms",
                "apiVersion": "2022-09-01",
                "name": "plan-filter",
                "location": "northeurope",
                "sku": {"name": "B1"},
            },
        ]
    )
    deployments.deployments.begin_create_or_update(group, "d", deploy_body(tpl)).result()
    deployments.deployments.begin_create_or_update(
        "rg-other", "d", deploy_body(template([storage("stfilterother")]))
    ).result()
    return group


def _names(arm: LocalArm, path: str, flt: str) -> list[str]:
    answer = _get(arm, path, params={"api-version": "2025-04-01", "$filter": flt})
    assert answer.status_code == 200, answer.text
    return sorted(r["name"] for r in answer.json()["value"])


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("resourceGroup eq 'RG-TEST'", ["plan-filter", "stfilterone", "stfiltertwo"]),
        ("name eq 'stfilterother'", ["stfilterother"]),
        (
            "resourceGroup eq 'rg-test' and resourceType eq 'Microsoft.Storage/storageAccounts'",
            ["stfilterone", "stfiltertwo"],
        ),
        ("location eq 'North Europe'", ["plan-filter"]),
        ("resourceType ne 'Microsoft.Storage/storageAccounts'", ["plan-filter"]),
        (
            "substringof('two', name) or substringof('other', name)",
            ["stfilterother", "stfiltertwo"],
        ),
        ("tagName eq 'team' and tagValue eq 'b'", ["stfiltertwo"]),
        ("startswith(tagName, 'te')", ["stfilterone", "stfiltertwo"]),
    ],
    ids=[
        "group",
        "name",
        "group-and-type",
        "location",
        "ne",
        "substringof-or",
        "tag",
        "tag-prefix",
    ],
)
def test_resource_list_filters(arm: LocalArm, deployed: str, flt: str, expected: list[str]) -> None:
    assert _names(arm, f"/subscriptions/{SUB}/resources", flt) == expected


def test_tag_filters_drop_tags_and_refuse_other_properties(arm: LocalArm, deployed: str) -> None:
    path = f"/subscriptions/{SUB}/resources"
    tagged = _get(arm, path, params={"api-version": "2025-04-01", "$filter": "tagName eq 'team'"})
    assert all("tags" not in r for r in tagged.json()["value"])
    for flt in ("tagName eq 'team' and name eq 'x'", "sku eq 'x'", "name gt 'a'"):
        answer = _get(arm, path, params={"api-version": "2025-04-01", "$filter": flt})
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "InvalidFilterInQueryString"
        assert error["message"].startswith(f"Invalid $filter '{flt}': ")


def test_providers_list_resource_types_and_collections(arm: LocalArm, deployed: str) -> None:
    provider = _get(arm, f"/subscriptions/{SUB}/providers/Microsoft.Storage?api-version=2025-04-01")
    types = {t["resourceType"]: t for t in provider.json()["resourceTypes"]}
    assert "2023-01-01" in types["storageAccounts"]["apiVersions"]
    assert types["storageAccounts"]["defaultApiVersion"] >= "2023-01-01"
    # a type the local ARM models but holds nothing of is listed too, with a version it takes
    vault = _get(arm, f"/subscriptions/{SUB}/providers/Microsoft.KeyVault?api-version=2025-04-01")
    vaults = {t["resourceType"]: t for t in vault.json()["resourceTypes"]}["vaults"]
    assert vaults["apiVersions"]
    assert "West Europe" in types["storageAccounts"]["locations"]
    in_group = _get(
        arm,
        f"/subscriptions/{SUB}/resourceGroups/{deployed}/providers/Microsoft.Storage/"
        "storageAccounts?api-version=2023-01-01",
    )
    assert sorted(r["name"] for r in in_group.json()["value"]) == ["stfilterone", "stfiltertwo"]
    everywhere = _get(
        arm,
        f"/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts?api-version=2023-01-01",
    )
    assert len(everywhere.json()["value"]) == 3
    # '//' is read as '/', as az's ids with an empty parent path need
    doubled = _get(
        arm,
        f"/subscriptions/{SUB}/resourceGroups/{deployed}/providers/Microsoft.Web//serverfarms/"
        "plan-filter?api-version=2022-09-01",
    )
    assert doubled.status_code == 200 and doubled.json()["name"] == "plan-filter"


# -- long-running work that is done is answered at once --------------------------------------
def test_validate_and_what_if_answer_their_result_at_once(arm: LocalArm, group: str) -> None:
    base = f"{DEPLOYMENTS}/quick"
    body = json.dumps(deploy_body(template([storage("stquick")])))
    validated = _send(arm, "POST", f"{base}/validate?api-version=2025-04-01", body)
    assert validated.status_code == 200
    assert validated.json()["properties"]["validatedResources"][0]["id"].endswith("/stquick")
    changes = _send(arm, "POST", f"{base}/whatIf?api-version=2025-04-01", body)
    assert changes.status_code == 200
    assert [c["changeType"] for c in changes.json()["properties"]["changes"]] == ["Create"]


def test_a_finished_delete_answers_on_the_first_poll(arm: LocalArm, resources: Any) -> None:
    resources.resource_groups.create_or_update("rg-gone", {"location": "westeurope"})
    deleted = requests.delete(
        f"{arm.base_url}/subscriptions/{SUB}/resourcegroups/rg-gone?api-version=2025-04-01",
        headers={"Authorization": f"Bearer {arm.config.token}"},
        verify=str(arm.ca_file),
        timeout=10,
    )
    assert deleted.status_code == 202
    poll = _get(arm, deleted.headers["Location"].removeprefix(arm.base_url))
    assert poll.status_code == 200  # "…the URI in the Location header returns a status of 200"


def test_resource_lists_hold_tracked_resources_only(
    arm: LocalArm, group: str, deployments: Any
) -> None:
    container = {
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
        "apiVersion": "2023-01-01",
        "name": "sttracked/default/data",
        "dependsOn": ["[resourceId('Microsoft.Storage/storageAccounts', 'sttracked')]"],
    }
    tpl = template([storage("sttracked"), container])
    deployments.deployments.begin_create_or_update(group, "t", deploy_body(tpl)).result()
    in_group = _get(
        arm, f"/subscriptions/{SUB}/resourceGroups/{group}/resources?api-version=2025-04-01"
    )
    assert [r["name"] for r in in_group.json()["value"]] == ["sttracked"]
    # the container is a proxy resource: not listed, but its provider collection has it
    containers = _get(
        arm,
        f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/"
        "storageAccounts/sttracked/blobServices/default/containers?api-version=2023-01-01",
    )
    assert [r["name"] for r in containers.json()["value"]] == [
        "data"
    ]  # Azure names a child by its last segment


def test_azure_identity_managed_identity_credential_works_unchanged(
    arm: LocalArm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azure-identity's ManagedIdentityCredential (what DefaultAzureCredential tries) with the
    variables `emulator az-env` prints, then the SDK with that credential."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{arm.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", arm.config.token)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(arm.ca_file))
    credential = ManagedIdentityCredential(connection_verify=str(arm.ca_file))
    token = credential.get_token("https://management.azure.com/.default")
    assert _claims(token.token)["aud"] == "https://management.azure.com"
    client = ResourceManagementClient(
        credential,
        SUB,
        base_url=arm.base_url,
        credential_scopes=["https://management.azure.com/.default"],
        connection_verify=str(arm.ca_file),
    )
    client.resource_groups.create_or_update("rg-identity", {"location": "westeurope"})
    assert client.resource_groups.get("rg-identity").location == "westeurope"


def test_deleting_a_resource_group_that_does_not_exist_is_not_found(resources: Any) -> None:
    """ARM answers 404 ResourceGroupNotFound (az: "Resource group 'nope' could not be
    found."), not the 204 of a missing resource's DELETE."""
    with pytest.raises(HttpResponseError) as info:
        resources.resource_groups.begin_delete("nope").result()
    assert info.value.status_code == 404
    assert info.value.error.code == "ResourceGroupNotFound"
    assert info.value.error.message == "Resource group 'nope' could not be found."


def test_resource_groups_are_filtered_by_tag(resources: Any) -> None:
    """Resource Groups - List takes ``$filter=tagName eq 'n' and tagValue eq 'v'`` (what
    ``az group list --tag n=v`` sends), and the groups keep their tags."""
    groups = resources.resource_groups
    groups.create_or_update("rg-tagged", {"location": "westeurope", "tags": {"team": "a"}})
    groups.create_or_update("rg-other", {"location": "westeurope", "tags": {"team": "b"}})
    groups.create_or_update("rg-plain", {"location": "westeurope"})
    found = groups.list(filter="tagName eq 'team' and tagValue eq 'a'")
    assert [(g.name, g.tags) for g in found] == [("rg-tagged", {"team": "a"})]
    named = sorted(g.name for g in groups.list(filter="tagName eq 'team'"))
    assert named == ["rg-other", "rg-tagged"]


def test_reason_phrases_are_written_as_azure_writes_them(arm: LocalArm) -> None:
    """``az rest`` prints the reason phrase of an error (``Not Found(...)``): the standard
    phrases in their usual case, not Werkzeug's capitals."""
    assert _get(arm, f"/subscriptions/{SUB}/resourcegroups/nope?api-version=2021-04-01").reason == (
        "Not Found"
    )
    assert _get(arm, f"/subscriptions/{SUB}?api-version=2022-12-01", token=None).reason == (
        "Unauthorized"
    )
    assert _get(arm, f"/subscriptions/{SUB}/resourcegroups?api-version=2021-04-01").reason == "OK"
