"""Drift: what runs in Azure no longer matches what was deployed.

An environment with ``triggers.drift_schedule`` gets a schedule ``drift_<env>`` that runs
``plan_<env>`` (trigger tag ``schedule``). When any ``plan_<env>`` run succeeds, the
``drift_checks`` sensor judges it and records the verdict on the asset ``azure/<env>`` as the
asset check ``drift``:

- the plan changes nothing → passed (Azure matches the template);
- the plan has creates/modifies/deletes, the environment's last deploy succeeded, and the
  plan is of the same template and parameters as that deploy (their lint hashes agree) →
  **drift**: failed, severity WARN, with the counts and the diff;
- otherwise the changes are expected, not drift (never deployed, last deploy failed, the
  template or parameters changed since, or the plan started before the deploy ended): no
  verdict, and the sensor logs why.

``azure/<env>`` is declared here as an external asset: ``deploy`` materializes it (git SHA,
template hash, deployment id); the check can also be executed from the UI, which judges the
latest successful plan.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster import DagsterEventType, DagsterInstance, RunRecord, RunsFilter

from ..environments import EnvironmentSpec, job_name
from ..failures import LogicFailure
from ..pipeline.jobs import TRIGGER_TAG
from ..pipeline.provenance import GIT_SHA_TAG

__all__ = [
    "DRIFT_CHECK",
    "DriftVerdict",
    "azure_asset_key",
    "azure_asset_specs",
    "build_drift_checks",
    "build_drift_sensor",
    "drift_schedules",
    "judge_drift",
]

DRIFT_CHECK = "drift"
_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
_CHANGE_COUNTS = ("creates", "modifies", "deletes")


def azure_asset_key(environment: str) -> dg.AssetKey:
    """``azure/<env>``: the environment as it runs in Azure."""
    return dg.AssetKey(["azure", environment])


def azure_asset_specs(environments: Mapping[str, EnvironmentSpec]) -> list[dg.AssetSpec]:
    """One external asset per environment; ``deploy_<env>`` materializes it."""
    return [
        dg.AssetSpec(
            azure_asset_key(name),
            description=f"{name} as deployed in Azure: {spec.scope.describe()}. Materialized "
            f"by {job_name('deploy', name)}; the check "
            f"'{DRIFT_CHECK}' says whether a plan found changes nobody deployed.",
            group_name="azure",
            kinds={"azure"},
            metadata={
                "scope_kind": spec.scope.kind,
                "scope_id": spec.scope.scope_id,
                **({"resource_group": spec.scope.group} if spec.scope.resource_group else {}),
                "location": spec.scope.location,
            },
        )
        for name, spec in environments.items()
    ]


def drift_schedules(
    environments: Mapping[str, EnvironmentSpec], jobs: Mapping[str, dg.JobDefinition]
) -> list[dg.ScheduleDefinition]:
    """``drift_<env>``: ``plan_<env>`` on the manifest's ``triggers.drift_schedule``."""
    schedules: list[dg.ScheduleDefinition] = []
    for name, spec in environments.items():
        cron = spec.triggers.drift_schedule
        if cron is None:
            continue
        plan = jobs[job_name("plan", name)]
        schedules.append(
            dg.ScheduleDefinition(
                name=f"drift_{plan.name.removeprefix('plan_')}",
                cron_schedule=cron,
                execution_timezone=spec.triggers.drift_timezone,
                job=plan,
                tags={TRIGGER_TAG: "schedule"},
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description=f"Drift check of {name}: {plan.name} at '{cron}' "
                f"({spec.triggers.drift_timezone}); the verdict lands on azure/{name}.",
            )
        )
    return schedules


@dataclass
class DriftVerdict:
    """``passed`` True (in sync), False (drift) or None (not judged, ``reason`` says why)."""

    environment: str
    passed: bool | None
    reason: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def _check_fields(self) -> dict[str, Any]:
        assert self.passed is not None, "an unjudged plan has no check verdict"
        return {
            "asset_key": azure_asset_key(self.environment),
            "check_name": DRIFT_CHECK,
            "passed": self.passed,
            "severity": dg.AssetCheckSeverity.WARN,
            "description": self.reason,
            "metadata": self.metadata,
        }

    def evaluation(self) -> dg.AssetCheckEvaluation:
        """The verdict as a check evaluation on ``azure/<env>`` (judged verdicts only)."""
        return dg.AssetCheckEvaluation(**self._check_fields())

    def result(self) -> dg.AssetCheckResult:
        """The verdict as the result of an executed check."""
        return dg.AssetCheckResult(**self._check_fields())


def _step_outputs(instance: DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """``{step: {metadata key: value}}`` of a run's step outputs."""
    found: dict[str, dict[str, Any]] = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_OUTPUT):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        metadata = event.step_output_data.metadata
        found[event.step_key] = {key: value.value for key, value in metadata.items()}
    return found


def _last_finished_deploy(instance: DagsterInstance, environment: str) -> RunRecord | None:
    records = instance.get_run_records(
        RunsFilter(job_name=job_name("deploy", environment), statuses=_FINISHED), limit=20
    )
    return max(records, key=lambda r: r.end_time or 0.0, default=None)


def judge_drift(instance: DagsterInstance, environment: str, plan_run_id: str) -> DriftVerdict:
    """Whether the successful ``plan_<env>`` run ``plan_run_id`` found drift."""
    plan_record = instance.get_run_record_by_id(plan_run_id)
    outputs = _step_outputs(instance, plan_run_id)
    plan = outputs.get("plan")
    if plan_record is None or plan is None:
        return DriftVerdict(environment, None, f"run {plan_run_id} has no plan output")
    counts = {key: int(plan.get(key) or 0) for key in _CHANGE_COUNTS}
    metadata: dict[str, Any] = {
        **counts,
        "plan_run": dg.MetadataValue.dagster_run(plan_run_id),
        "git_sha": plan_record.dagster_run.tags.get(GIT_SHA_TAG, ""),
    }
    if not any(counts.values()):
        return DriftVerdict(environment, True, "in sync: the plan changes nothing", metadata)
    deploy = _last_finished_deploy(instance, environment)
    changes = ", ".join(f"{n} {key}" for key, n in counts.items() if n)
    if deploy is None:
        return DriftVerdict(environment, None, f"{changes}, but {environment} was never deployed")
    if deploy.dagster_run.status != dg.DagsterRunStatus.SUCCESS:
        return DriftVerdict(
            environment,
            None,
            f"{changes}, expected: the last deploy (run {deploy.dagster_run.run_id[:8]}) "
            f"ended {deploy.dagster_run.status.value}",
        )
    if (deploy.end_time or 0.0) > (plan_record.start_time or 0.0):
        return DriftVerdict(
            environment, None, f"{changes}, but the plan started before the last deploy ended"
        )
    deployed_lint = _step_outputs(instance, deploy.dagster_run.run_id).get("lint", {})
    planned_lint = outputs.get("lint", {})
    for key in ("template_hash", "parameters_hash"):
        if deployed_lint.get(key) and planned_lint.get(key) != deployed_lint.get(key):
            return DriftVerdict(
                environment,
                None,
                f"{changes}, expected: the {key.removesuffix('_hash')} changed since the last "
                f"deploy (run {deploy.dagster_run.run_id[:8]}) — an undeployed change, not drift",
            )
    metadata["last_deploy_run"] = dg.MetadataValue.dagster_run(deploy.dagster_run.run_id)
    if plan.get("diff"):
        metadata["diff"] = dg.MetadataValue.md(str(plan["diff"]))
    return DriftVerdict(
        environment,
        False,
        f"drift: {changes} since the last successful deploy "
        f"(run {deploy.dagster_run.run_id[:8]}) of the same template and parameters",
        metadata,
    )


def build_drift_sensor(
    environments: Mapping[str, EnvironmentSpec], jobs: Mapping[str, dg.JobDefinition]
) -> dg.SensorDefinition | None:
    """``drift_checks``: judges every successful ``plan_<env>`` run, one per tick (see the
    module docstring); ``None`` without environments."""
    plan_jobs = {job_name("plan", name): name for name in environments}
    if not plan_jobs:
        return None

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="drift_checks",
        monitored_jobs=[jobs[name] for name in plan_jobs],
        minimum_interval_seconds=15,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records drift on azure/<env> (asset check 'drift') after each successful "
        "plan_<env> run.",
    )
    def drift_checks(context: dg.RunStatusSensorContext) -> dg.SensorResult | dg.SkipReason:
        """Judge a finished plan: changes nobody deployed are drift on the environment."""
        # one answer per plan run: Dagster allows a SensorResult only as a tick's sole result
        environment = plan_jobs[context.dagster_run.job_name]
        verdict = judge_drift(context.instance, environment, context.dagster_run.run_id)
        if verdict.passed is None:
            return dg.SkipReason(f"{environment}: no drift verdict: {verdict.reason}")
        context.log.info(f"{environment}: {verdict.reason}")
        return dg.SensorResult(asset_events=[verdict.evaluation()])

    return drift_checks


def build_drift_checks(environments: Mapping[str, EnvironmentSpec]) -> Sequence[Any]:
    """The ``drift`` check of every ``azure/<env>``, executable from the UI: it judges the
    latest successful ``plan_<env>`` run."""
    if not environments:
        return []
    specs = [
        dg.AssetCheckSpec(
            DRIFT_CHECK,
            asset=azure_asset_key(name),
            description=f"Whether the latest plan_{name} found changes nobody deployed.",
        )
        for name in environments
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name="drift_of_environments")
    def drift_of_environments(context: dg.AssetCheckExecutionContext) -> Any:
        """Judge the latest successful plan of each selected environment for drift."""
        for key in sorted(context.selected_asset_check_keys, key=str):
            environment = key.asset_key.path[-1]
            records = context.instance.get_run_records(
                RunsFilter(
                    job_name=job_name("plan", environment),
                    statuses=[dg.DagsterRunStatus.SUCCESS],
                ),
                limit=1,
            )
            latest = records[0] if records else None
            if latest is None:
                raise LogicFailure(f"{environment}: no successful plan_{environment} run to judge")
            verdict = judge_drift(context.instance, environment, latest.dagster_run.run_id)
            if verdict.passed is None:
                raise LogicFailure(f"{environment}: cannot judge drift: {verdict.reason}")
            yield verdict.result()

    return [drift_of_environments]
