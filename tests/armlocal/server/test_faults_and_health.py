"""Fault injection through the SDK (retries, resets, deployment errors), Resource Health and
the web-app health endpoints."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm

from .conftest import deploy_body, storage, template

SUB = "00000000-0000-0000-0000-000000000000"


def faults(arm: LocalArm, *rules: FaultRule, seed: int = 7) -> None:
    arm.backend.faults.replace(FaultPlanSpec(seed=seed, rules=list(rules)))


@pytest.mark.slow
def test_fault_soak_every_sdk_call_succeeds_and_no_deployment_is_duplicated(
    arm: LocalArm, resources: Any
) -> None:
    resources.resource_groups.create_or_update("rg-soak", {"location": "westeurope"})
    # ~30% of requests fail: 503 anywhere, 429 on the methods azure-core retries (it never
    # retries a POST on 429 - what-if and validate see only 503s, as with real ARM)
    faults(
        arm,
        FaultRule(kind="status", status=503, probability=0.15, retry_after=0),
        FaultRule(kind="status", status=429, method="GET", probability=0.18, retry_after=0),
        FaultRule(kind="status", status=429, method="PUT", probability=0.18, retry_after=0),
    )
    # clients as the pipeline configures them: more status retries than azure-core's 3, and
    # a short backoff (Retry-After: 0 makes azure-core fall back to its exponential backoff)
    deployments = arm.connection.deployments_client(
        retry_status=12, retry_total=12, retry_backoff_factor=0.01
    )
    ops = deployments.deployments
    for i in range(8):
        result = ops.begin_create_or_update(
            "rg-soak", f"soak{i}", deploy_body(template([storage(f"soak{i}")]))
        ).result()
        assert result.properties.provisioning_state == "Succeeded"
        assert ops.get("rg-soak", f"soak{i}").name == f"soak{i}"
        assert ops.begin_what_if("rg-soak", f"soak{i}", deploy_body(template([]))).result()
    injected = arm.backend.faults.injected
    assert len(injected) >= 10, "the soak injected too few faults to mean anything"
    statuses = [s for _, p, s in arm.app.requests]
    assert statuses.count(429) + statuses.count(503) == len(injected)
    names = sorted(d.name for d in ops.list_by_resource_group("rg-soak"))
    assert names == [f"soak{i}" for i in range(8)]
    # each deployment ran once: one operation per resource, never a second run
    for i in range(8):
        assert len(list(deployments.deployment_operations.list("rg-soak", f"soak{i}"))) == 1


def test_faults_are_deterministic_by_seed(arm: LocalArm) -> None:
    rule = FaultRule(kind="status", status=503, probability=0.5)
    decisions = []
    for _ in range(2):
        faults(arm, rule, seed=42)
        decisions.append(
            [bool(arm.backend.faults.request_faults("Op", "GET", "/x")) for _ in range(30)]
        )
    assert decisions[0] == decisions[1]
    assert 5 < sum(decisions[0]) < 25


def test_throttling_reported_as_bad_request_surfaces_to_the_sdk(
    arm: LocalArm, resources: Any
) -> None:
    faults(
        arm,
        FaultRule(
            kind="status",
            status=400,
            operation="ResourceGroups_Get",
            arm_code="BadRequest",
            arm_message="Rate limit exceeded, retry later.",
            retry_after=None,
            times=1,
        ),
    )
    with pytest.raises(HttpResponseError) as info:
        resources.resource_groups.get("anything")
    assert info.value.status_code == 400
    assert info.value.error.code == "BadRequest"
    assert info.value.error.message == "Rate limit exceeded, retry later."


def test_connection_reset_is_a_transport_error(arm: LocalArm, resources: Any) -> None:
    faults(arm, FaultRule(kind="reset", operation="ResourceGroups_List"))
    client = arm.connection.resource_client(retry_total=0)
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        list(client.resource_groups.list())
    faults(arm)
    assert list(client.resource_groups.list()) == []  # the server is still up


def test_latency_is_added(arm: LocalArm, resources: Any) -> None:
    import time

    faults(arm, FaultRule(kind="latency", operation="ResourceGroups_List", delay_s=0.3))
    start = time.monotonic()
    list(resources.resource_groups.list())
    assert time.monotonic() - start >= 0.3


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ResourceQuotaExceeded", "Quota exceeded for resource type."),
        ("AllocationFailed", "Allocation failed. Try another size or region."),
        ("RequestDisallowedByPolicy", "Resource 'web1' was disallowed by policy."),
        ("InvalidTemplateDeployment", "The template deployment failed."),
        ("BadRequest", "Rate limit exceeded for storage accounts."),
    ],
    ids=[
        "quota",
        "allocation",
        "policy",
        "invalid-template-deployment",
        "throttling-as-bad-request",
    ],
)
def test_deployment_fails_with_the_chosen_arm_error(
    arm: LocalArm, deployments: Any, group: str, code: str, message: str
) -> None:
    faults(
        arm,
        FaultRule(
            kind="deployment_error", resource_name="victim", arm_code=code, arm_message=message
        ),
    )
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update(
            group, "f", deploy_body(template([storage("bystander"), storage("victim")]))
        ).result()
    detail = info.value.error.details[0]
    assert (detail.code, detail.message) == (code, message)


def test_resource_health_available_and_injected_unavailable(
    arm: LocalArm, deployments: Any, health: Any, group: str
) -> None:
    deployments.deployments.begin_create_or_update(
        group, "h", deploy_body(template([storage("healthy"), storage("sick")]))
    ).result()
    base = (
        f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts"
    )
    ok = health.availability_statuses.get_by_resource(f"{base}/healthy")
    assert ok.properties.availability_state == "Available"
    faults(arm, FaultRule(kind="health", resource_name="sick", availability_state="Unavailable"))
    sick = health.availability_statuses.get_by_resource(f"{base}/sick")
    assert sick.properties.availability_state == "Unavailable"
    assert sick.name == "current"


def test_web_app_url_answers_probes(arm: LocalArm, deployments: Any, group: str) -> None:
    site_template = template(
        [
            {
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-09-01",
                "name": "probe-me",
                "location": "westeurope",
                "properties": {},
            }
        ],
        outputs={
            "url": {
                "type": "string",
                "value": "[format('https://{0}/health', reference('probe-me').defaultHostName)]",
            }
        },
    )
    result = deployments.deployments.begin_create_or_update(
        group, "site", deploy_body(site_template)
    ).result()
    url = result.properties.outputs["url"]["value"]
    assert url.startswith(f"https://127.0.0.1:{arm.port}/sites/")
    assert requests.get(url, verify=str(arm.ca_file), timeout=10).status_code == 200
    faults(arm, FaultRule(kind="site_status", resource_name="probe-me", status=503))
    assert requests.get(url, verify=str(arm.ca_file), timeout=10).status_code == 503


def test_fault_plan_admin_api(arm: LocalArm) -> None:
    headers = {"Authorization": f"Bearer {arm.config.token}"}
    url = f"{arm.base_url}/_localarm/faults"
    plan = {"seed": 1, "rules": [{"kind": "status", "status": 503, "operation": "Nope_*"}]}
    put = requests.put(url, json=plan, headers=headers, verify=str(arm.ca_file), timeout=10)
    assert put.status_code == 200
    assert put.json()["rules"][0]["status"] == 503
    bad = requests.put(
        url,
        json={"rules": [{"kind": "status", "statuss": 1}]},
        headers=headers,
        verify=str(arm.ca_file),
        timeout=10,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidFaultPlan"
    assert "statuss" in bad.json()["error"]["message"]
