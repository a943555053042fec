"""bicep_assets.failures: which failures are retried (environmental) and which
are not (logic), and the failure hierarchy an op raises.

One table of synthetic inputs (ARM error mappings, SDK and transport exceptions), then the
real SDK exceptions the local ARM produces, the failures an op raises (their structure,
redaction, the failure boundary), the RetryPolicy, and the Dagster contract the pipeline
relies on: ``allow_retries=False`` is never retried, and ``STEP_UP_FOR_RETRY`` keeps no
metadata, so the boundary logs an attempt record.

No ``from __future__ import annotations`` here: Dagster checks an op's ``context`` annotation
by identity, and a string annotation fails that check.
"""

import builtins
import dataclasses
import errno
import re
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import requests
import urllib3.exceptions
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    IncompleteReadError,
    ODataV4Format,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.mgmt.resource.deployments.models import ErrorResponse

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig
from bicep_assets.armlocal.engine import SecretMask
from bicep_assets.failures import (
    Classification,
    DeploymentFailure,
    EnvironmentalFailure,
    FailureFacts,
    FailureKind,
    LogicFailure,
    classify_failure,
    failure_boundary,
    retry_policy,
)

LOGIC, ENV = FailureKind.LOGIC, FailureKind.ENVIRONMENTAL
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


# -- synthetic inputs -------------------------------------------------------------------------
def arm(code: str | None, message: str = "m", *details: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"message": message, "details": list(details)}
    if code is not None:
        node["code"] = code
    return node


def deployment_failed(*details: dict[str, Any]) -> dict[str, Any]:
    return arm("DeploymentFailed", "At least one resource deployment operation failed.", *details)


class FakeResponse:
    """Just what ``HttpResponseError`` reads from a response: status, reason, headers, body."""

    def __init__(self, status: int, body: str = "", headers: dict[str, str] | None = None):
        self.status_code = status
        self.reason = "Reason"
        self.headers = headers or {}
        self._body = body

    def text(self, encoding: str | None = None) -> str:
        return self._body


def http_error(status: int, body: str = "", **headers: str) -> HttpResponseError:
    return HttpResponseError(response=FakeResponse(status, body, headers))  # type: ignore[arg-type]


def chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def requests_http_error(status: int) -> requests.exceptions.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.exceptions.HTTPError(f"{status} Server Error", response=response)


def cert_error() -> ServiceRequestError:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "self-signed certificate"
    inner = requests.exceptions.SSLError(urllib3.exceptions.SSLError(verify))
    return ServiceRequestError(inner, error=inner)


QUOTA_MESSAGE = (
    "Operation could not be completed as it results in exceeding approved standardDSv3Family "
    "Cores quota."
)

CASES: list[tuple[str, Any, FailureKind, str | None]] = [
    # ARM codes, top level, both mapping shapes, any case
    ("invalid-template", arm("InvalidTemplate"), LOGIC, "InvalidTemplate"),
    ("error-body", {"error": arm("TooManyRequests")}, ENV, "TooManyRequests"),
    ("lowercase-code", arm("requestdisallowedbypolicy"), LOGIC, "requestdisallowedbypolicy"),
    ("uppercase-code", arm("ALLOCATIONFAILED"), ENV, "ALLOCATIONFAILED"),
    # nested details: the cause decides, at any depth; a logic cause wins
    (
        "deployment-failed-policy",
        deployment_failed(arm("RequestDisallowedByPolicy")),
        LOGIC,
        "RequestDisallowedByPolicy",
    ),
    (
        "three-levels-quota",
        deployment_failed(arm("ResourceDeploymentFailure", "m", arm("ResourceQuotaExceeded"))),
        ENV,
        "ResourceQuotaExceeded",
    ),
    (
        "mixed-env-first",
        deployment_failed(arm("AllocationFailed"), arm("AuthorizationFailed")),
        LOGIC,
        "AuthorizationFailed",
    ),
    (
        "mixed-logic-first",
        deployment_failed(arm("InvalidParameter"), arm("AnotherOperationInProgress")),
        LOGIC,
        "InvalidParameter",
    ),
    (
        "mixed-across-levels",
        deployment_failed(
            arm("AnotherOperationInProgress"),
            arm("X", "m", arm("Y", "m", arm("ParentResourceNotFound"))),
        ),
        LOGIC,
        "ParentResourceNotFound",
    ),
    (
        "wrapper-invalid-template-deployment-quota",
        arm("InvalidTemplateDeployment", "not valid", arm("QuotaExceeded")),
        ENV,
        "QuotaExceeded",
    ),
    (
        "wrapper-conflict-name-taken",
        arm("Conflict", "m", arm("StorageAccountAlreadyTaken")),
        LOGIC,
        "StorageAccountAlreadyTaken",
    ),
    (
        "undeciding-details-fall-back-to-own-code",
        arm("InvalidTemplateDeployment", "m", arm("SomethingElse", "no hint")),
        LOGIC,
        "InvalidTemplateDeployment",
    ),
    ("deployment-failed-alone", deployment_failed(), LOGIC, "DeploymentFailed"),
    ("unknown-code", arm("FluxCapacitorMisaligned", "no hint"), LOGIC, "FluxCapacitorMisaligned"),
    # environmental codes
    *(
        (f"env-{code}", deployment_failed(arm(code)), ENV, code)
        for code in (
            "Throttled",
            "RequestThrottled",
            "SubscriptionRequestsThrottled",
            "ServerBusy",
            "ServiceUnavailable",
            "InternalServerError",
            "GatewayTimeout",
            "BadGateway",
            "RequestTimeout",
            "OperationTimedOut",
            "Timeout",
            "AnotherOperationInProgress",
            "DeploymentActive",
            "DeploymentInterrupted",
            "ResourceGroupBeingDeleted",
            "SkuNotAvailable",
            "ZonalAllocationFailed",
            "OverconstrainedAllocationRequest",
            "RetryableError",
            "PrincipalNotFound",
        )
    ),
    ("env-code-pattern-throttled", arm("StorageAccountThrottled"), ENV, "StorageAccountThrottled"),
    (
        "operation-not-allowed-quota",
        arm("OperationNotAllowed", QUOTA_MESSAGE),
        ENV,
        "OperationNotAllowed",
    ),
    (
        "operation-not-allowed-sku",
        arm("OperationNotAllowed", "The operation is not allowed on this SKU."),
        LOGIC,
        "OperationNotAllowed",
    ),
    # logic codes
    *(
        (f"logic-{code}", deployment_failed(arm(code)), LOGIC, code)
        for code in (
            "InvalidTemplateDeployment",
            "MissingParameter",
            "InvalidRequestContent",
            "InvalidResourceType",
            "NoRegisteredProviderFound",
            "AuthenticationFailed",
            "InvalidAuthenticationToken",
            "LinkedAuthorizationFailed",
            "ResourceNotFound",
            "ResourceGroupNotFound",
            "DeploymentNameLengthLimitExceeded",
            "InvalidDeploymentName",
            "AccountNameInvalid",
            "TemplateResourceCircularDependency",
        )
    ),
    # messages, for codes that decide nothing
    (
        "bad-request-rate-limit",
        arm("BadRequest", "Rate limit exceeded, retry later."),
        ENV,
        "BadRequest",
    ),
    (
        "bad-request-too-many",
        arm("BadRequest", "Too many requests for this scope."),
        ENV,
        "BadRequest",
    ),
    (
        "temporarily-unavailable",
        deployment_failed(arm("Failed", "The backend is temporarily unavailable.")),
        ENV,
        "Failed",
    ),
    ("try-again-later", arm("BadRequest", "Please try again later."), ENV, "BadRequest"),
    ("retry-in-seconds", arm("BadRequest", "Retry the request in 30 seconds."), ENV, "BadRequest"),
    ("retry-after", arm("BadRequest", "Retry after the interval given."), ENV, "BadRequest"),
    (
        "correct-and-try-again-is-not-a-wait",
        {
            "error": arm(
                "BadRequest", "The SKU is invalid. Please correct the request and try again."
            )
        },
        LOGIC,
        "BadRequest",
    ),
    # Conflict: environmental only when another operation holds the resource
    (
        "conflict-another-operation",
        arm("Conflict", "Another operation on this or dependent resource is in progress."),
        ENV,
        "Conflict",
    ),
    (
        "conflict-parent-busy",
        deployment_failed(
            arm(
                "Conflict",
                "Another operation is being performed on the parent resource '/subscriptions/"
                "x/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/ai'. "
                "Please try again later.",
            )
        ),
        ENV,
        "Conflict",
    ),
    (
        "conflict-being-deleted",
        arm("Conflict", "The resource group 'rg' is being deleted."),
        ENV,
        "Conflict",
    ),
    (
        "conflict-site-name-taken",
        deployment_failed(arm("Conflict", "Website with given name web-dev already exists.")),
        LOGIC,
        "Conflict",
    ),
    (
        "conflict-vault-name-in-use",
        deployment_failed(arm("Conflict", "Vault name 'kv-dev' is already in use.")),
        LOGIC,
        "Conflict",
    ),
    (
        "conflict-state-not-allowed",
        arm("Conflict", "Disk resizing is allowed only when the VM is deallocated."),
        LOGIC,
        "Conflict",
    ),
    ("conflict-no-message", deployment_failed(arm("Conflict")), LOGIC, "Conflict"),
    (
        "conflict-retry-in-seconds",
        arm("Conflict", "The site is busy. Try again in 30 seconds."),
        ENV,
        "Conflict",
    ),
    ("deployment-canceled", arm("DeploymentCanceled", "was canceled"), LOGIC, "DeploymentCanceled"),
    (
        "timed-out",
        arm("ResourceOperationFailure", "The request timed out."),
        ENV,
        "ResourceOperationFailure",
    ),
    ("capacity", arm("BadRequest", "Insufficient capacity in zone 2."), ENV, "BadRequest"),
    (
        "capacity-property-is-not-a-shortage",
        {"error": arm("BadRequest", "sku.capacity must be between 1 and 10."), "status": 400},
        LOGIC,
        "BadRequest",
    ),
    (
        "parameter-not-provided",
        deployment_failed(
            arm("BadRequest", "The value for the template parameter 'p' is not provided.")
        ),
        LOGIC,
        "BadRequest",
    ),
    ("message-without-code", arm(None, "Rate limit reached."), ENV, None),
    # shapes around the error: LRO status, deployment operation status, HTTP status names
    (
        "lro-status-body",
        {"status": "Failed", "error": deployment_failed(arm("AllocationFailed"))},
        ENV,
        "AllocationFailed",
    ),
    (
        "operation-status-name-429",
        {"statusCode": "TooManyRequests", "statusMessage": {}},
        ENV,
        None,
    ),
    ("operation-status-503", {"statusCode": 503, "error": arm("Whatever", "x")}, ENV, "Whatever"),
    (
        "operation-status-400",
        {"statusCode": "BadRequest", "error": arm("Whatever", "x")},
        LOGIC,
        "Whatever",
    ),
    ("empty-mapping", {}, LOGIC, None),
    ("odata-object", ODataV4Format(deployment_failed(arm("ServerBusy"))), ENV, "ServerBusy"),
    (
        "sdk-error-model",
        ErrorResponse(deployment_failed(arm("SkuNotAvailable"))),
        ENV,
        "SkuNotAvailable",
    ),
    # HTTP errors: codes first, then Retry-After, then the status
    ("http-502-html", http_error(502, "<html>Bad gateway</html>"), ENV, None),
    ("http-408", http_error(408), ENV, None),
    ("http-501", http_error(501), LOGIC, None),
    ("http-409-no-code", http_error(409), LOGIC, None),
    ("http-400-retry-after", http_error(400, "{}", **{"Retry-After": "3"}), ENV, None),
    (
        "http-429-logic-code-wins",
        http_error(429, '{"error": {"code": "AuthorizationFailed", "message": "no"}}'),
        LOGIC,
        "AuthorizationFailed",
    ),
    (
        "http-400-unknown-code",
        http_error(
            400,
            '{"error": {"code": "Nope", "message": "x", '
            '"details": [{"code": "Deeper", "message": "y"}]}}',
        ),
        LOGIC,
        "Deeper",
    ),
    ("http-error-no-response", HttpResponseError(message="Operation failed"), LOGIC, None),
    ("incomplete-read", IncompleteReadError("cut off"), ENV, None),
    # transport
    ("service-request-error", ServiceRequestError("no route"), ENV, None),
    ("service-response-error", ServiceResponseError("reset"), ENV, None),
    ("service-request-timeout", ServiceRequestTimeoutError("slow"), ENV, None),
    ("service-response-timeout", ServiceResponseTimeoutError("slow"), ENV, None),
    ("requests-connection-error", requests.exceptions.ConnectionError("down"), ENV, None),
    ("requests-read-timeout", requests.exceptions.ReadTimeout("slow"), ENV, None),
    ("requests-http-error-503", requests_http_error(503), ENV, None),
    ("requests-http-error-404", requests_http_error(404), LOGIC, None),
    ("urllib3-protocol-error", urllib3.exceptions.ProtocolError("Connection aborted."), ENV, None),
    ("urllib3-new-connection", urllib3.exceptions.NewConnectionError(None, "refused"), ENV, None),  # type: ignore[arg-type]
    ("builtin-timeout", TimeoutError("slow"), ENV, None),
    ("connection-reset", ConnectionResetError(errno.ECONNRESET, "reset"), ENV, None),
    ("connection-refused", ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ENV, None),
    ("oserror-econnreset", OSError(errno.ECONNRESET, "reset"), ENV, None),
    ("oserror-econnrefused", OSError(errno.ECONNREFUSED, "refused"), ENV, None),
    ("dns-temporary", socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), ENV, None),
    (
        "dns-unknown-host",
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        LOGIC,
        None,
    ),
    ("untrusted-certificate", cert_error(), LOGIC, None),
    ("invalid-url", requests.exceptions.InvalidURL("http://"), LOGIC, None),
    (
        "oserror-no-errno",
        OSError("Could not find a suitable TLS CA certificate bundle"),
        LOGIC,
        None,
    ),
    ("file-not-found", FileNotFoundError(errno.ENOENT, "main.json"), LOGIC, None),
    ("plain-bug", KeyError("properties"), LOGIC, None),
    # causes
    (
        "wrapped-transport",
        chained(RuntimeError("deploy failed"), ServiceResponseError("x")),
        ENV,
        None,
    ),
    ("wrapped-bug", chained(RuntimeError("deploy failed"), ValueError("x")), LOGIC, None),
    ("no-response-not-found", ResourceNotFoundError("gone"), LOGIC, None),
]
ExceptionGroup = getattr(builtins, "ExceptionGroup", None)  # Python 3.11+
if ExceptionGroup is not None:  # exception groups (a concurrent verify may raise one)
    CASES += [
        (
            "group-logic-wins",
            ExceptionGroup("probes", [TimeoutError("slow"), ResourceNotFoundError("gone")]),
            LOGIC,
            None,
        ),
        (
            "group-all-env",
            ExceptionGroup("p", [TimeoutError("a"), ConnectionResetError()]),
            ENV,
            None,
        ),
    ]


@pytest.mark.parametrize(
    ("error", "kind", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_classification_table(error: Any, kind: FailureKind, code: str | None) -> None:
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code) == (kind, code), verdict.reason
    assert verdict.reason


def test_reason_names_the_code_and_where_it_was_found() -> None:
    verdict = classify_failure(
        deployment_failed(arm("ResourceDeploymentFailure", "m", arm("ResourceQuotaExceeded", "q")))
    )
    assert verdict.reason == (
        "ARM code ResourceQuotaExceeded in the details of DeploymentFailed → "
        "ResourceDeploymentFailure is environmental: quota or capacity in the subscription or "
        "region is exhausted"
    )
    assert verdict.arm_message == "q"


@pytest.mark.parametrize(
    ("error", "match"),
    [
        (KeyError("x"), r"^KeyError is not an ARM, HTTP or network error: treated as a logic"),
        (arm("Mystery"), r"^no rule knows ARM code Mystery and there is no HTTP error status"),
        (http_error(503), r"^no ARM error; HTTP status 503 is a transient server condition"),
        (cert_error(), r"TLS certificate is not trusted \(self-signed certificate\)"),
        (
            chained(RuntimeError("x"), ServiceRequestError("y")),
            r"\(the cause of RuntimeError\)$",
        ),
    ],
    ids=["unknown-exception", "unknown-code", "status-only", "certificate", "cause"],
)
def test_reason_says_why(error: Any, match: str) -> None:
    assert re.search(match, classify_failure(error).reason), classify_failure(error).reason


def test_classify_rejects_what_it_cannot_read() -> None:
    with pytest.raises(TypeError, match=r"classify_failure takes an exception.*not int"):
        classify_failure(42)  # type: ignore[arg-type]


# -- real SDK exceptions from the local ARM ---------------------------------------------------
STORAGE = {
    "type": "Microsoft.Storage/storageAccounts",
    "apiVersion": "2023-01-01",
    "name": "victim",
    "location": "westeurope",
    "sku": {"name": "Standard_LRS"},
    "kind": "StorageV2",
}


def body(resources: list[dict[str, Any]], **template: Any) -> dict[str, Any]:
    tpl = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources, **template}
    return {"properties": {"mode": "Incremental", "template": tpl, "parameters": {}}}


@pytest.fixture(scope="module")
def module_arm() -> Iterator[LocalArm]:
    with LocalArm(config=LocalArmConfig(retry_after=0)) as running:
        yield running


@pytest.fixture
def local_arm(module_arm: LocalArm) -> LocalArm:
    module_arm.backend.runner.wait_idle()
    module_arm.store.reset()
    module_arm.backend.faults.replace(FaultPlanSpec())
    module_arm.config.resource_delay_s = 0.0
    module_arm.connection.resource_client().resource_groups.create_or_update(
        "rg", {"location": "westeurope"}
    )
    return module_arm


def faults(local_arm: LocalArm, *rules: FaultRule) -> None:
    local_arm.backend.faults.replace(FaultPlanSpec(seed=3, rules=list(rules)))


def raised(call: Any) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "TooManyRequests"), (503, "ServiceUnavailable"), (500, "InternalServerError")],
    ids=["429", "503", "500"],
)
def test_sdk_status_errors_after_retries_are_environmental(
    local_arm: LocalArm, status: int, code: str
) -> None:
    faults(local_arm, FaultRule(kind="status", status=status, operation="ResourceGroups_Get"))
    client = local_arm.connection.resource_client(retry_total=0)
    error = raised(lambda: client.resource_groups.get("rg"))
    assert isinstance(error, HttpResponseError) and error.status_code == status
    assert classify_failure(error) == Classification(
        ENV,
        code,
        error.error.message,  # type: ignore[union-attr]
        status,
        f"ARM code {code} is environmental: "
        + (
            "ARM or a resource provider is throttling requests"
            if status == 429
            else "a transient server-side error"
        ),
    )


def test_sdk_429_after_azure_core_retries_run_out(local_arm: LocalArm) -> None:
    faults(local_arm, FaultRule(kind="status", status=429, retry_after=0, times=3))
    client = local_arm.connection.resource_client(retry_status=2, retry_backoff_factor=0.01)
    error = raised(lambda: client.resource_groups.get("rg"))
    assert len(local_arm.backend.faults.injected) == 3  # the first try and azure-core's 2 retries
    assert (classify_failure(error).kind, classify_failure(error).http_status) == (ENV, 429)


def test_sdk_throttling_reported_as_bad_request_is_environmental(local_arm: LocalArm) -> None:
    faults(
        local_arm,
        FaultRule(
            kind="status",
            status=400,
            arm_code="BadRequest",
            arm_message="Rate limit exceeded, retry later.",
            retry_after=None,
        ),
    )
    error = raised(lambda: local_arm.connection.resource_client().resource_groups.get("rg"))
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.http_status) == (ENV, "BadRequest", 400)
    assert verdict.reason == (
        "the message of ARM error BadRequest reports a rate limit, which is environmental"
    )


@pytest.mark.parametrize(
    ("retry_after", "kind"), [(None, LOGIC), (2, ENV)], ids=["plain-400", "400-with-retry-after"]
)
def test_sdk_400_without_a_known_code(
    local_arm: LocalArm, retry_after: int | None, kind: FailureKind
) -> None:
    faults(local_arm, FaultRule(kind="status", status=400, arm_code="Odd", retry_after=retry_after))
    client = local_arm.connection.resource_client(retry_total=0)
    verdict = classify_failure(raised(lambda: client.resource_groups.get("rg")))
    assert (verdict.kind, verdict.arm_code, verdict.http_status) == (kind, "Odd", 400)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("RequestDisallowedByPolicy", LOGIC),
        ("AllocationFailed", ENV),
        ("ResourceQuotaExceeded", ENV),
        ("InvalidTemplateDeployment", LOGIC),
    ],
    ids=["policy", "allocation", "quota", "invalid-template-deployment"],
)
def test_sdk_failed_deployment_is_judged_by_its_detail(
    local_arm: LocalArm, code: str, kind: FailureKind
) -> None:
    faults(
        local_arm,
        FaultRule(
            kind="deployment_error", resource_name="victim", arm_code=code, arm_message="why not"
        ),
    )
    deployments = local_arm.connection.deployments_client(retry_total=0)
    error = raised(
        lambda: deployments.deployments.begin_create_or_update("rg", "d1", body([STORAGE])).result()
    )
    assert isinstance(error, HttpResponseError)
    assert error.error is not None and error.error.code == "DeploymentFailed"
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.arm_message) == (kind, code, "why not")
    assert verdict.http_status is None  # the failure came from polling (200), not a status
    assert verdict.arm_target is not None
    assert verdict.arm_target.endswith("/providers/Microsoft.Storage/storageAccounts/victim")
    assert verdict.reason.startswith(f"ARM code {code} in the details of DeploymentFailed is ")
    # the deployment's stored error (an SDK model) says the same
    stored = deployments.deployments.get("rg", "d1").properties.error
    assert classify_failure(stored) == verdict


def test_sdk_invalid_template_is_logic(local_arm: LocalArm) -> None:
    deployments = local_arm.connection.deployments_client(retry_total=0)
    broken = body([{"type": "x", "name": "n", "apiVersion": "1"}])
    error = raised(lambda: deployments.deployments.begin_create_or_update("rg", "d", broken))
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.http_status) == (LOGIC, "InvalidTemplate", 400)


def test_sdk_missing_parameter_is_logic(local_arm: LocalArm) -> None:
    deployments = local_arm.connection.deployments_client(retry_total=0)
    needs_p = body([], parameters={"p": {"type": "string"}})
    error = raised(lambda: deployments.deployments.begin_create_or_update("rg", "d", needs_p))
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code) == (LOGIC, "InvalidTemplate")
    assert "'p' is not provided" in (verdict.arm_message or "")


def test_sdk_resource_group_not_found_is_logic(local_arm: LocalArm) -> None:
    deployments = local_arm.connection.deployments_client(retry_total=0)
    error = raised(
        lambda: deployments.deployments.begin_create_or_update("nope", "d", body([STORAGE]))
    )
    assert isinstance(error, ResourceNotFoundError)
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.http_status) == (
        LOGIC,
        "ResourceGroupNotFound",
        404,
    )


def test_sdk_wrong_token_is_logic(local_arm: LocalArm) -> None:
    connection = dataclasses.replace(local_arm.connection, token="wrong")
    error = raised(lambda: connection.resource_client(retry_total=0).resource_groups.get("rg"))
    assert isinstance(error, ClientAuthenticationError)
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.http_status) == (
        LOGIC,
        "InvalidAuthenticationToken",
        401,
    )


def test_sdk_deployment_active_is_environmental(local_arm: LocalArm) -> None:
    local_arm.config.resource_delay_s = 0.4  # three resources: the first PUT runs ~1.2 s
    deployments = local_arm.connection.deployments_client(retry_total=0).deployments
    three = body([{**STORAGE, "name": f"sts{i}"} for i in range(3)])
    running = deployments.begin_create_or_update("rg", "busy", three)
    error = raised(lambda: deployments.begin_create_or_update("rg", "busy", three))
    running.result()
    assert isinstance(error, ResourceExistsError)
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.http_status) == (ENV, "DeploymentActive", 409)


def test_sdk_cancelled_deployment_is_logic(local_arm: LocalArm) -> None:
    local_arm.config.resource_delay_s = 0.2
    deployments = local_arm.connection.deployments_client(retry_total=0).deployments
    many = [{**STORAGE, "name": f"sts{i}"} for i in range(6)]
    running = deployments.begin_create_or_update("rg", "stop-me", body(many))
    deployments.cancel("rg", "stop-me")
    error = raised(running.result)
    assert deployments.get("rg", "stop-me").properties.provisioning_state == "Canceled"
    verdict = classify_failure(error)
    assert (verdict.kind, verdict.arm_code, verdict.arm_message) == (
        LOGIC,
        None,
        "Operation failed or canceled",
    )
    assert verdict.reason.endswith("a cancelled deployment is not retried")


def test_sdk_connection_reset_is_environmental(local_arm: LocalArm) -> None:
    faults(local_arm, FaultRule(kind="reset", operation="ResourceGroups_Get"))
    client = local_arm.connection.resource_client(retry_total=0)
    error = raised(lambda: client.resource_groups.get("rg"))
    verdict = classify_failure(error)
    assert verdict.kind is ENV, verdict.reason
    # usually the connection drops before any answer; on a loaded machine the reset can cut
    # the local ARM's own 500 answer short, or lose the race with it
    transport = ("the connection failed while ", "the response body was cut off", "a network")
    assert verdict.reason.startswith(transport) or (verdict.arm_code, verdict.http_status) == (
        "ConnectionReset",
        500,
    ), f"{type(error).__name__}: {verdict.reason}"


def test_sdk_connection_refused_is_environmental(local_arm: LocalArm) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connection = dataclasses.replace(local_arm.connection, base_url=f"https://127.0.0.1:{port}")
    error = raised(lambda: connection.resource_client(retry_total=0).resource_groups.get("rg"))
    assert isinstance(error, ServiceRequestError)
    assert classify_failure(error).kind is ENV


def test_sdk_untrusted_certificate_is_logic(local_arm: LocalArm) -> None:
    connection = dataclasses.replace(local_arm.connection, ca_file=True)  # system CAs only
    error = raised(lambda: connection.resource_client(retry_total=0).resource_groups.get("rg"))
    assert isinstance(error, ServiceRequestError)
    verdict = classify_failure(error)
    assert verdict.kind is LOGIC
    assert "TLS certificate is not trusted" in verdict.reason


# -- the failures an op raises -------------------------------------------------------------
def plain(failure: dg.Failure) -> dict[str, Any]:
    return {k: v.value for k, v in failure.metadata.items()}


def test_logic_failure_metadata_and_description(local_arm: LocalArm) -> None:
    faults(
        local_arm,
        FaultRule(
            kind="deployment_error",
            resource_name="victim",
            arm_code="RequestDisallowedByPolicy",
            arm_message="Resource 'victim' was disallowed by policy 'no-storage'.",
        ),
    )
    deployments = local_arm.connection.deployments_client(retry_total=0)
    error = raised(
        lambda: deployments.deployments.begin_create_or_update("rg", "d", body([STORAGE])).result()
    )
    failure = DeploymentFailure.from_error(
        error, retry_number=2, description="Deploying dev failed."
    )
    assert isinstance(failure, LogicFailure) and failure.allow_retries is False
    assert plain(failure) == {
        "failure_kind": "logic",
        "arm_code": "RequestDisallowedByPolicy",
        "arm_message": "Resource 'victim' was disallowed by policy 'no-storage'.",
        "http_status": None,
        "retry_number": 2,
    }
    assert failure.description is not None
    first, second = failure.description.split("\n")
    assert first == "Deploying dev failed."
    assert second.startswith(
        "Logic failure (not retried): RequestDisallowedByPolicy: Resource 'victim' was "
        "disallowed by policy 'no-storage'. Target: /subscriptions/"
    )
    assert second.endswith(
        "Fix the template, the parameters, the permissions or the policy "
        "named above, then run the job again."
    )


def test_environmental_failure_metadata_has_http_status(local_arm: LocalArm) -> None:
    faults(local_arm, FaultRule(kind="status", status=503))
    client = local_arm.connection.resource_client(retry_total=0)
    failure = DeploymentFailure.from_error(raised(lambda: client.resource_groups.get("rg")))
    assert isinstance(failure, EnvironmentalFailure) and failure.allow_retries is True
    assert plain(failure) == {
        "failure_kind": "environmental",
        "arm_code": "ServiceUnavailable",
        "arm_message": "The service is temporarily unavailable.",
        "http_status": 503,
        "retry_number": 0,
    }
    assert failure.description is not None
    assert failure.description.startswith(
        "Environmental failure (retried by the op's RetryPolicy): ServiceUnavailable: "
    )


def test_failure_for_a_bug_points_at_the_stack_trace() -> None:
    failure = DeploymentFailure.from_error(KeyError("properties"))
    assert isinstance(failure, LogicFailure) and failure.allow_retries is False
    assert failure.metadata["arm_code"].value is None
    assert failure.description == (
        "Logic failure (not retried): 'properties' Why: KeyError is not an ARM, HTTP or network "
        "error: treated as a logic failure (a bug is not fixed by retrying). Fix the cause shown "
        "in the step's error and stack trace, then run the job again."
    )


def test_own_failures_carry_every_key_and_their_own_metadata() -> None:
    failure = LogicFailure(
        "2 resources would be deleted", arm_code="DestructiveChange", metadata={"destructive": True}
    )
    assert isinstance(failure, DeploymentFailure) and isinstance(failure, dg.Failure)
    assert (failure.allow_retries, failure.description) == (False, "2 resources would be deleted")
    assert plain(failure) == {
        "failure_kind": "logic",
        "arm_code": "DestructiveChange",
        "arm_message": None,
        "http_status": None,
        "retry_number": 0,
        "destructive": True,
    }
    moment = EnvironmentalFailure("gone", arm_code="DeploymentNotFound", http_status=404)
    assert moment.allow_retries is True
    assert plain(moment)["failure_kind"] == "environmental"


def test_the_base_is_not_raised_and_the_structure_is_not_overridden() -> None:
    with pytest.raises(TypeError, match="DeploymentFailure is the base: raise LogicFailure"):
        DeploymentFailure("which kind?")
    with pytest.raises(ValueError, match=r"LogicFailure: pass arm_code, failure_kind as arg"):
        LogicFailure("x", metadata={"failure_kind": "environmental", "arm_code": "X"})


def test_facts_read_back_from_metadata_values_and_plain_values() -> None:
    failure = EnvironmentalFailure("slow", arm_code="GatewayTimeout", http_status=504)
    facts = FailureFacts("environmental", "GatewayTimeout", None, 504, 0)
    assert failure.facts == facts
    assert FailureFacts.from_metadata(failure.metadata) == facts
    assert FailureFacts.from_metadata(plain(failure)) == facts
    assert FailureFacts.from_metadata({"arm_code": "X"}) is None  # no failure kind: no facts
    assert FailureFacts.from_metadata(None) is None


def test_from_error_keeps_a_failure_of_the_hierarchy_and_stamps_the_attempt() -> None:
    own = LogicFailure("bad manifest", arm_code="InvalidManifest")
    assert DeploymentFailure.from_error(own) is own
    again = DeploymentFailure.from_error(own, retry_number=3)
    assert isinstance(again, LogicFailure)
    assert (again.facts.retry_number, again.description) == (3, "bad manifest")


def test_masked_removes_a_secret_from_every_text() -> None:
    secret = "s3cr3t-value"
    failure = EnvironmentalFailure(
        f"ARM said: the value '{secret}' is odd",
        arm_code="Throttled",
        arm_message=f"'{secret}' again",
        http_status=429,
        retry_number=1,
        metadata={
            "echo": secret,
            "json": dg.MetadataValue.json({"deep": [f"x{secret}x"]}),
            "md": dg.MetadataValue.md(f"**{secret}**"),
            "count": 2,
        },
    )
    clean = failure.masked(SecretMask([secret]))
    assert isinstance(clean, EnvironmentalFailure)
    assert clean.description == "ARM said: the value '[secure value]' is odd"
    assert str(clean) == clean.description  # what Dagster's error info shows
    assert plain(clean) == {
        "failure_kind": "environmental",
        "arm_code": "Throttled",
        "arm_message": "'[secure value]' again",
        "http_status": 429,
        "retry_number": 1,
        "echo": "[secure value]",
        "json": {"deep": ["x[secure value]x"]},
        "md": "**[secure value]**",
        "count": 2,
    }


# -- the RetryPolicy --------------------------------------------------------------------------
def test_retry_policy_values() -> None:
    policy = retry_policy()
    assert (policy.max_retries, policy.delay, policy.backoff, policy.jitter) == (
        5,
        5.0,
        dg.Backoff.EXPONENTIAL,
        dg.Jitter.PLUS_MINUS,
    )


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5], ids=lambda n: f"retry-{n}")
def test_retry_delays_grow_exponentially_with_jitter(attempt: int) -> None:
    policy = retry_policy(max_retries=5, base_delay_s=2.0)
    centre = (2**attempt - 1) * 2.0
    delays = [policy.calculate_delay(attempt) for _ in range(200)]
    assert all(centre - 2.0 <= d <= centre + 2.0 for d in delays)
    assert max(delays) - min(delays) > 1.0  # jitter spreads them


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_retries": -1}, r"max_retries must be 0 or more, not -1"),
        ({"base_delay_s": -0.5}, r"base_delay_s must be 0 or more, not -0.5"),
    ],
    ids=["negative-retries", "negative-delay"],
)
def test_retry_policy_rejects_negative_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        retry_policy(**kwargs)


# -- the Dagster contract the pipeline relies on ----------------------------------------------
def run_failing_op(
    error: BaseException, *, max_retries: int = 2, secret: str | None = None
) -> tuple[dg.ExecuteInProcessResult, int, list[dg.EventLogEntry]]:
    """Run a one-op job whose op raises ``error`` inside a failure boundary (which redacts
    ``secret``); the result, the attempts it made and the run's stored events."""
    attempts: list[int] = []

    @dg.op(retry_policy=retry_policy(max_retries=max_retries, base_delay_s=0.01))
    def flaky(context: dg.OpExecutionContext) -> None:
        attempts.append(context.retry_number)
        with failure_boundary(context) as boundary:
            if secret:
                boundary.add_secrets([secret])
            raise error

    @dg.job
    def one_op() -> None:
        flaky()

    with dg.DagsterInstance.ephemeral() as instance:
        result = one_op.execute_in_process(raise_on_error=False, instance=instance)
        stored = list(instance.all_logs(result.run_id))
    return result, len(attempts), stored


def events(result: dg.ExecuteInProcessResult, event_type: dg.DagsterEventType) -> list[Any]:
    return [e for e in result.all_events if e.event_type == event_type]


def attempt_records(stored: list[dg.EventLogEntry]) -> list[FailureFacts | None]:
    """The facts of the step's engine events (attempt records), in order."""
    return [
        FailureFacts.from_metadata(e.dagster_event.event_specific_data.metadata)
        for e in stored
        if e.step_key and e.dagster_event and e.dagster_event.event_type_value == "ENGINE_EVENT"
    ]


def test_step_up_for_retry_keeps_no_failure_metadata() -> None:
    """Why the boundary logs an attempt record: Dagster's retry event holds only the error
    and the wait (if this fails, Dagster now keeps metadata: read it from there instead)."""
    from dagster._core.execution.plan.objects import StepRetryData

    assert StepRetryData._fields == ("error", "seconds_to_wait")


def test_logic_failure_is_not_retried() -> None:
    result, attempts, stored = run_failing_op(
        HttpResponseError(
            response=FakeResponse(400, '{"error": {"code": "InvalidTemplate", "message": "bad"}}')
        )
    )  # type: ignore[arg-type]
    assert not result.success
    assert attempts == 1
    assert events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY) == []
    assert attempt_records(stored) == []  # only an environmental failure is recorded
    (failure,) = events(result, dg.DagsterEventType.STEP_FAILURE)
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert FailureFacts.from_metadata(metadata) == FailureFacts(
        "logic", "InvalidTemplate", "bad", 400
    )
    assert failure.step_failure_data.error.cls_name == "LogicFailure"


def test_environmental_failure_is_retried_until_the_policy_gives_up() -> None:
    result, attempts, stored = run_failing_op(TimeoutError("slow"), max_retries=2)
    assert not result.success
    assert attempts == 3
    assert len(events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)) == 2
    (failure,) = events(result, dg.DagsterEventType.STEP_FAILURE)
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert FailureFacts.from_metadata(metadata) == FailureFacts(
        "environmental", None, None, None, retry_number=2
    )
    # each attempt is recorded before Dagster reports its retry (or its final failure)
    kinds = [
        (
            e.dagster_event.event_type_value,
            getattr(e.dagster_event.event_specific_data, "metadata", {}).get("retry_number"),
        )
        for e in stored
        if e.step_key == "flaky"
        and e.dagster_event
        and e.dagster_event.event_type_value
        in ("ENGINE_EVENT", "STEP_UP_FOR_RETRY", "STEP_FAILURE")
    ]
    assert [k for k, _ in kinds] == [
        "ENGINE_EVENT",
        "STEP_UP_FOR_RETRY",
        "ENGINE_EVENT",
        "STEP_UP_FOR_RETRY",
        "ENGINE_EVENT",
        "STEP_FAILURE",
    ]
    assert [r.retry_number for r in attempt_records(stored) if r] == [0, 1, 2]


def test_a_bug_in_an_op_is_a_logic_failure_with_its_stack_trace() -> None:
    result, attempts, _ = run_failing_op(KeyError("properties"))
    assert (result.success, attempts) == (False, 1)  # without the boundary: retried twice
    (failure,) = events(result, dg.DagsterEventType.STEP_FAILURE)
    error = failure.step_failure_data.error
    assert error.cls_name == "LogicFailure"
    assert error.cause is not None and error.cause.cls_name == "KeyError"


def test_the_boundary_redacts_every_text_and_drops_the_cause() -> None:
    secret = "canary-boundary-5521"
    error = HttpResponseError(
        response=FakeResponse(
            503,
            f'{{"error": {{"code": "ServiceUnavailable", "message": "echo {secret}"}}}}',
        )
    )  # type: ignore[arg-type]
    result, attempts, stored = run_failing_op(error, max_retries=1, secret=secret)
    assert (result.success, attempts) == (False, 2)
    (failure,) = events(result, dg.DagsterEventType.STEP_FAILURE)
    raised = failure.step_failure_data.error.cause  # Dagster's "Exceeded max_retries" wraps it
    assert raised is not None and raised.cls_name == "EnvironmentalFailure"
    assert (raised.cause, raised.context) == (None, None)  # the SDK error's text held the secret
    records = [r for r in attempt_records(stored) if r]
    assert [(r.arm_code, r.arm_message, r.http_status) for r in records] == [
        ("ServiceUnavailable", "echo [secure value]", 503)
    ] * 2
    texts = [repr(e) for e in stored]
    assert not [t for t in texts if secret in t]
    assert any("[secure value]" in t for t in texts)


def test_environmental_failure_then_success_through_the_local_arm(local_arm: LocalArm) -> None:
    faults(local_arm, FaultRule(kind="status", status=429, operation="ResourceGroups_Get", times=1))
    client = local_arm.connection.resource_client(retry_total=0)
    seen: list[int] = []

    @dg.op(retry_policy=retry_policy(max_retries=3, base_delay_s=0.01))
    def read_group(context: dg.OpExecutionContext) -> str:
        seen.append(context.retry_number)
        with failure_boundary(context):
            return client.resource_groups.get("rg").name

    @dg.job
    def read() -> None:
        read_group()

    with dg.DagsterInstance.ephemeral() as instance:
        result = read.execute_in_process(raise_on_error=False, instance=instance)
        stored = list(instance.all_logs(result.run_id))
    assert result.success
    assert seen == [0, 1]
    (retry,) = events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert "TooManyRequests" in str(retry.event_specific_data.error.to_string())
    (record,) = attempt_records(stored)
    assert record == FailureFacts(
        "environmental",
        "TooManyRequests",
        "The request is being throttled. Retry after the time given.",
        429,
        0,
    )


def test_the_description_starts_with_the_cause_in_one_line() -> None:
    """What the boundary raises: the UI shows the cause first, as the CLI prints it."""
    with_message = LogicFailure(
        "The plan deletes 2 resource(s); rerun with allow_destructive: true …",
        arm_code="DestructiveChange",
        arm_message="2 resource(s) would be deleted",
    )
    assert with_message.facts.headline() == (
        "Logic failure, DestructiveChange: 2 resource(s) would be deleted"
    )
    headed = with_message.headed()
    assert headed.description == (
        "Logic failure, DestructiveChange: 2 resource(s) would be deleted\n"
        "The plan deletes 2 resource(s); rerun with allow_destructive: true …"
    )
    assert headed.headed() is headed  # once only
    assert headed.metadata == with_message.metadata
    code_only = LogicFailure("Secure parameter 'x' is 5 characters long.", arm_code="TooShort")
    assert code_only.headed().description == (
        "Logic failure, TooShort: Secure parameter 'x' is 5 characters long."
    )
    neither = LogicFailure("parameters/dev.yaml: deployment.modee: unknown key")
    assert neither.headed() is neither  # the description is the cause itself
    long = EnvironmentalFailure("x", arm_code="Throttled", arm_message="y" * 500 + "\nsecond")
    assert long.facts.headline() == "Environmental failure, Throttled: " + "y" * 239 + "…"
    assert long.facts.advice().startswith("it is about the moment and was retried")
    assert with_message.facts.advice().startswith("review the deletions; to apply them")
    assert code_only.facts.advice("lint").startswith("fix what lint found")
