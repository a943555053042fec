"""verify: the deployment converged — provisioning state, Resource Health, HTTP/TCP probes."""

import re
import time
from functools import partial
from typing import Any

import dagster as dg
from azure.core.exceptions import HttpResponseError
from dagster import OpExecutionContext

from ..environments import EnvironmentSpec, Identity, ManifestError, render_placeholders
from ..failures import EnvironmentalFailure, FailureBoundary, LogicFailure, failure_boundary
from ..models import CheckResult, CompiledTemplate, DeploymentResult, HealthReport
from ..resources.arm import ArmClient
from ..resources.environment import DeploymentEnvironment
from ..resources.probes import Check, Probes, http_probe, redact_url, run_checks, tcp_probe
from .custom_checks import custom_checks
from .metadata import table
from .rollback import RollbackOutcome, roll_back, started_rollback
from .secrets import run_secure_values

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_GROUP = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/?$", re.IGNORECASE)


def _type_of(resource_id: str) -> str:
    if _GROUP.match(resource_id):
        return "Microsoft.Resources/resourceGroups"
    tail = resource_id[resource_id.lower().rfind("/providers/") + len("/providers/") :]
    parts = tail.split("/")
    return "/".join([parts[0], *parts[1::2]])


def subscription_in(resource_id: str, default: str) -> str:
    """The subscription a resource id lies in (``default`` above subscriptions): a template
    may deploy into several subscriptions, and each is read through its own client."""
    match = _SUBSCRIPTION.match(resource_id)
    return match.group(1) if match else default


def is_checked_resource(resource_id: str) -> bool:
    """Whether verify reads the provisioning state of an output resource: any resource, at
    any scope (resource groups too), but not a scope itself (a subscription, a management
    group: deployments do not create those here)."""
    return "/providers/" in resource_id.lower() or bool(_GROUP.match(resource_id))


def provisioning_check(
    arm: ArmClient,
    compiled: CompiledTemplate,
    subscription_id: str,
    resource_id: str,
    identity: Identity | None = None,
) -> Check:
    def check() -> CheckResult:
        started = time.monotonic()
        rtype = _type_of(resource_id)
        sub = subscription_in(resource_id, subscription_id)
        version = compiled.api_versions.get(rtype.lower()) or arm.api_version_for(
            subscription_id=sub, resource_type=rtype, identity=identity
        )
        body = arm.get_resource(
            subscription_id=sub, resource_id=resource_id, api_version=version, identity=identity
        )
        latency = (time.monotonic() - started) * 1000
        if body is None:
            return CheckResult(
                kind="provisioning_state",
                target=resource_id,
                ok=False,
                detail="resource not found",
                latency_ms=latency,
            )
        state = (body.get("properties") or {}).get("provisioningState", "Succeeded")
        return CheckResult(
            kind="provisioning_state",
            target=resource_id,
            ok=state == "Succeeded",
            detail=state,
            latency_ms=latency,
        )

    return Check("provisioning_state", resource_id, check)


def health_check(
    arm: ArmClient, subscription_id: str, resource_id: str, identity: Identity | None = None
) -> Check:
    def check() -> CheckResult:
        started = time.monotonic()
        try:
            status = arm.availability(
                subscription_id=subscription_in(resource_id, subscription_id),
                resource_id=resource_id,
                identity=identity,
            )
        except HttpResponseError as exc:
            latency = (time.monotonic() - started) * 1000
            if exc.status_code in (404, 400):  # the type is not covered by Resource Health
                return CheckResult(
                    kind="resource_health",
                    target=resource_id,
                    ok=True,
                    detail="not reported by Resource Health",
                    latency_ms=latency,
                )
            raise
        latency = (time.monotonic() - started) * 1000
        props = status.get("properties") or {}
        state = props.get("availabilityState", "Unknown")
        return CheckResult(
            kind="resource_health",
            target=resource_id,
            ok=state in ("Available", "Unknown"),
            detail=f"{state}: {props.get('summary', '')}".strip(": "),
            latency_ms=latency,
        )

    return Check("resource_health", resource_id, check)


def build_checks(
    spec: EnvironmentSpec,
    compiled: CompiledTemplate,
    result: DeploymentResult,
    arm: ArmClient,
    probes: Probes,
) -> list[Check]:
    """Every check the manifest asks for, run concurrently by :func:`run_checks`."""
    checks: list[Check] = []
    sub = spec.scope.subscription
    config = spec.health_checks
    resources = [r for r in result.output_resources if is_checked_resource(r)]
    if config.provisioning_state:
        checks.extend(provisioning_check(arm, compiled, sub, r, spec.identity) for r in resources)
    if config.resource_health:
        checks.extend(
            health_check(arm, sub, r, spec.identity)
            for r in resources
            if "/providers/" in r.lower()  # Resource Health reports resources, not groups
        )
    # the local ARM's web apps are served with a certificate from its own CA
    session = probes.session() if probes.ca_bundle else None
    tls: bool | str = True if session is not None else (arm.ca_bundle or True)
    try:
        for http in config.http:
            url = render_placeholders(http.url, result.outputs)
            checks.append(
                Check(
                    "http",
                    redact_url(url),
                    partial(
                        http_probe,
                        url,
                        expected_status=http.expected_status,
                        timeout_s=http.timeout_s,
                        retries=http.retries,
                        retry_delay_s=probes.retry_delay_s,
                        verify=tls,
                        session=session,
                    ),
                )
            )
        for tcp in config.tcp:
            host, port = tcp.endpoint(result.outputs)
            checks.append(
                Check(
                    "tcp",
                    f"{host}:{port}",
                    partial(
                        tcp_probe,
                        host,
                        port,
                        timeout_s=tcp.timeout_s,
                        retries=tcp.retries,
                        retry_delay_s=probes.retry_delay_s,
                    ),
                )
            )
    except ManifestError as exc:
        raise LogicFailure(str(exc), arm_code="InvalidHealthCheck") from None
    checks += custom_checks(
        config.custom,
        result.outputs,
        environment=spec.name,
        ca_bundle=probes.ca_bundle or arm.ca_bundle,
        retry_delay_s=probes.retry_delay_s,
    )
    return checks


def checks_table(checks: list[CheckResult]) -> Any:
    return table(
        (c.model_dump() for c in checks),
        {
            "kind": "string",
            "target": "string",
            "ok": "bool",
            "detail": "string",
            "latency_ms": "float",
        },
    )


def _judge(
    spec: EnvironmentSpec,
    compiled: CompiledTemplate,
    result: DeploymentResult,
    arm: ArmClient,
    probes: Probes,
) -> list[CheckResult]:
    """Every check's result for ``result`` (a deployment of ``compiled``)."""
    checks = build_checks(spec, compiled, result, arm, probes)
    return run_checks(checks, max_workers=probes.max_workers)


def _roll_back(
    context: OpExecutionContext,
    boundary: FailureBoundary,
    spec: EnvironmentSpec,
    arm: ArmClient,
    probes: Probes,
    report: HealthReport,
    verdict: str,
) -> RollbackOutcome:
    """The rollback (rollback.py); a passing error on the way is retried with both verdicts
    said so far (the retry resumes the rollback)."""
    try:
        return roll_back(
            context,
            boundary,
            spec,
            arm,
            report.checks,
            lambda compiled, result: _judge(spec, compiled, result, arm, probes),
        )
    except EnvironmentalFailure as exc:
        raise EnvironmentalFailure(
            f"{verdict}\nThe rollback was interrupted by a passing error; a retry of verify "
            f"resumes it (re-attaching to its deployment): {exc.description}",
            arm_code=exc.facts.arm_code,
            arm_message=exc.facts.arm_message,
            http_status=exc.facts.http_status,
            metadata={"checks": checks_table(report.checks)},
        ) from None


@dg.op(out=dg.Out(HealthReport))
def verify(
    context: OpExecutionContext,
    compiled: CompiledTemplate,
    result: DeploymentResult,
    environment: DeploymentEnvironment,
    arm: ArmClient,
    probes: Probes,
) -> dg.Output[HealthReport]:
    """Check that what was deployed is healthy; any failing check fails the run."""
    with failure_boundary(context) as boundary:
        spec = environment.load()
        boundary.add_secrets(run_secure_values(spec))
        rolling_back = spec.deployment.rollback_on_verify_failure
        resumed = started_rollback(context, spec.name) if rolling_back else None
        if resumed is not None:
            # an earlier attempt failed these checks and began a rollback: judging the
            # half-restored environment again would say nothing about this run's deployment
            boundary.log.info(
                "An earlier attempt of verify failed these checks and began a rollback: "
                "resuming the rollback."
            )
            report = HealthReport(environment=spec.name, checks=resumed)
        else:
            report = HealthReport(
                environment=spec.name, checks=_judge(spec, compiled, result, arm, probes)
            )
        for check in report.checks:
            log = boundary.log.info if check.ok else boundary.log.error
            log(f"{check.kind} {check.target}: {'ok' if check.ok else 'FAILED'} ({check.detail})")
        metadata: dict[str, Any] = {"checks": checks_table(report.checks)}
        if result.stack_id:  # deployed as a deployment stack: which one was verified
            metadata["stack_id"] = result.stack_id
        failed = [c for c in report.checks if not c.ok]
        if failed and all(c.inconclusive for c in failed):
            raise EnvironmentalFailure(
                f"{len(failed)} of {len(report.checks)} health check(s) could not be judged "
                "(reading the state failed for a passing reason): "
                + "; ".join(f"{c.kind} {c.target}: {c.detail}" for c in failed[:10]),
                arm_code="HealthCheckInconclusive",
                arm_message=failed[0].detail,
                metadata=metadata,
            )
        if failed:
            verdict = f"{len(failed)} of {len(report.checks)} health check(s) failed: " + "; ".join(
                f"{c.kind} {c.target}: {c.detail}" for c in failed[:10]
            )
            if rolling_back:  # never for the rollback's own checks: a rollback never loops
                outcome = _roll_back(context, boundary, spec, arm, probes, report, verdict)
                verdict = f"{verdict}\n{outcome.sentence}"
                metadata.update(outcome.metadata(checks_table))
            raise LogicFailure(
                verdict,
                arm_code="HealthCheckFailed",
                arm_message=failed[0].detail,
                metadata=metadata,
            )
        return boundary.output(report, metadata)
