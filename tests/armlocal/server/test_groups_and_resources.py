"""Resource groups, generic resources, providers and auth through the real SDK over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from bicep_assets.armlocal import LocalArm, StaticTokenCredential

from .conftest import deploy_body, storage, template

GROUP_PREFIX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups"


def test_resource_group_lifecycle(resources: Any) -> None:
    groups = resources.resource_groups
    created = groups.create_or_update("rg-Life", {"location": "westeurope", "tags": {"a": "1"}})
    assert (
        created.id == "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-Life"
    )
    assert created.location == "westeurope"
    assert created.tags == {"a": "1"}
    assert created.properties.provisioning_state == "Succeeded"
    assert groups.check_existence("RG-LIFE") is True  # names are case-insensitive
    assert groups.get("rg-life").name == "rg-Life"  # the original spelling is kept
    assert [g.name for g in groups.list()] == ["rg-Life"]
    updated = groups.update("rg-life", {"tags": {"b": "2"}})
    assert updated.tags == {"b": "2"}
    groups.begin_delete("rg-life").result()
    assert groups.check_existence("rg-life") is False


def test_get_missing_group_is_resource_group_not_found(resources: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        resources.resource_groups.get("nope")
    assert info.value.error.code == "ResourceGroupNotFound"
    assert info.value.error.message == "Resource group 'nope' could not be found."


def test_group_in_another_location_is_a_conflict(resources: Any) -> None:
    resources.resource_groups.create_or_update("rg-loc", {"location": "westeurope"})
    with pytest.raises(HttpResponseError) as info:
        resources.resource_groups.create_or_update("rg-loc", {"location": "eastus"})
    assert info.value.status_code == 409
    assert info.value.error.code == "InvalidResourceGroupLocation"
    assert "already exists in location 'westeurope'" in info.value.error.message


@pytest.mark.parametrize(
    "name",
    ["a" * 91, "bad/../name", "ends.", "sp ace"],
    ids=["too-long", "path-trick", "dot", "space"],
)
def test_invalid_group_names_are_rejected(resources: Any, name: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    assert info.value.status_code == 400
    assert info.value.error.code in ("InvalidResourceGroupName", "InvalidRequestUri")


def test_generic_resources_by_id_and_by_group(resources: Any, deployments: Any, group: str) -> None:
    deployments.deployments.begin_create_or_update(
        group, "d1", deploy_body(template([storage("sa1"), storage("sa2")]))
    ).result()
    listed = sorted(r.name for r in resources.resources.list_by_resource_group(group))
    assert listed == ["sa1", "sa2"]
    rid = f"{GROUP_PREFIX}/{group}/providers/Microsoft.Storage/storageAccounts/sa1"
    got = resources.resources.get_by_id(rid, api_version="2023-01-01")
    assert got.name == "sa1"
    assert got.properties["primaryEndpoints"]["blob"] == "https://sa1.blob.core.windows.net/"
    assert resources.resources.check_existence_by_id(rid, api_version="2023-01-01") is True
    resources.resources.begin_delete_by_id(rid, api_version="2023-01-01").result()
    assert resources.resources.check_existence_by_id(rid, api_version="2023-01-01") is False
    assert [r.name for r in resources.resources.list()] == ["sa2"]
    filtered = resources.resources.list_by_resource_group(
        group, filter="resourceType eq 'Microsoft.Web/sites'"
    )
    assert list(filtered) == []


def test_missing_resource_is_resource_not_found(resources: Any, group: str) -> None:
    rid = f"{GROUP_PREFIX}/{group}/providers/Microsoft.Storage/storageAccounts/ghost"
    with pytest.raises(ResourceNotFoundError) as info:
        resources.resources.get_by_id(rid, api_version="2023-01-01")
    assert info.value.error.code == "ResourceNotFound"
    assert (
        "Microsoft.Storage/storageAccounts/ghost' under resource group 'rg-test' was not found"
        in info.value.error.message
    )


def test_provider_registration(resources: Any) -> None:
    provider = resources.providers.register("Microsoft.Web")
    assert provider.namespace == "Microsoft.Web"
    assert provider.registration_state == "Registered"
    assert resources.providers.get("Microsoft.Web").registration_state == "Registered"
    assert "Microsoft.Web" in [p.namespace for p in resources.providers.list()]
    # the specification's GetProviders.json: resource providers need registration,
    # Microsoft.Resources does not
    policies = {p.namespace: p.registration_policy for p in resources.providers.list()}
    assert policies["Microsoft.Web"] == "RegistrationRequired"
    assert policies["Microsoft.Resources"] == "RegistrationFree"


def test_wrong_token_is_401_invalid_authentication_token(arm: LocalArm) -> None:
    client = arm.connection.resource_client(credential=StaticTokenCredential("wrong"))
    with pytest.raises(ClientAuthenticationError) as info:
        client.resource_groups.get("x")
    assert info.value.status_code == 401
    assert info.value.error.code == "InvalidAuthenticationToken"
    assert info.value.error.message == "The access token is invalid."


def test_missing_token_is_401_authentication_failed(arm: LocalArm) -> None:
    response = requests.get(
        f"{arm.base_url}/subscriptions/x/resourcegroups?api-version=2025-04-01",
        verify=str(arm.ca_file),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "AuthenticationFailed",
        "message": "Authentication failed. The 'Authorization' header is missing.",
    }


def raw(arm: LocalArm, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {arm.config.token}", **kwargs.pop("headers", {})}
    return requests.request(
        method,
        f"{arm.base_url}{path}",
        headers=headers,
        verify=str(arm.ca_file),
        timeout=10,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "message"),
    [
        (
            "GET",
            "/subscriptions/s/resourcegroups",
            {},
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ),
        (
            "GET",
            "/subscriptions/s/resourcegroups?api-version=1999-01-01",
            {},
            400,
            "InvalidApiVersionParameter",
            "The api-version '1999-01-01' is invalid.",
        ),
        (
            "PUT",
            "/subscriptions/s/resourcegroups/rg?api-version=2025-04-01",
            {"data": "{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "InvalidRequestContent",
            "could not be deserialized",
        ),
        (
            "PUT",
            "/subscriptions/s/resourcegroups/rg?api-version=2025-04-01",
            {
                "data": "location=x",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            415,
            "UnsupportedMediaType",
            "Only 'application/json' is supported.",
        ),
        (
            "PUT",
            "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Resources/deployments/d"
            "?api-version=2026-06-01",
            {
                "data": b"{" + b" " * (4 * 1024 * 1024 + 10) + b"}",
                "headers": {"Content-Type": "application/json"},
            },
            413,
            "RequestContentTooLarge",
            "exceeds the maximum allowed size of 4194304 bytes",
        ),
        (
            "GET",
            "/subscriptions/s/resourcegroups/%2e%2e/x?api-version=2025-04-01",
            {},
            400,
            "InvalidRequestUri",
            "'.' or '..' segment",
        ),
        (
            "PATCH",
            "/subscriptions/s/resourcegroups?api-version=2025-04-01",
            {},
            405,
            "MethodNotAllowed",
            "The HTTP method 'PATCH' is not supported",
        ),
    ],
    ids=[
        "no-api-version",
        "unknown-api-version",
        "malformed-json",
        "wrong-content-type",
        "body-over-4mb",
        "dot-dot-segment",
        "wrong-method",
    ],
)
def test_bad_requests_are_arm_shaped(
    arm: LocalArm, method: str, path: str, kwargs: dict, status: int, code: str, message: str
) -> None:
    response = raw(arm, method, path, **kwargs)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert message in error["message"]
    assert raw(arm, "GET", "/subscriptions/s/resourcegroups?api-version=2025-04-01").ok
