"""``bicep-assets deploy`` bypasses the run queue, so it waits while a run of the same
environment is in progress on the instance (or refuses with ``--wait-timeout 0``); and every
deployment run holds its environment from its start to its end, so a queued run and a CLI run
that both passed their checks at the same moment do not deploy at once."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.instance import EnvironmentHeld, environment_held
from bicep_assets.resources.environment import EnvironmentHold
from bicep_assets.triggers.exclusive import EnvironmentBusy, exclusive_environment
from tests.cli_helpers import run_bicep_assets, start_bicep_assets
from tests.conftest import hold_environment_elsewhere

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "deployments"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, root / item)
    shutil.copyfile(REPO / "dagster.yaml", root / "dagster.yaml")
    return root


def start_blocking_run(home: Path, environment: str = "dev") -> dg.DagsterRun:
    """A run of the environment in progress, as the daemon would have started it."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.add_run(
            dg.DagsterRun(
                job_name=f"deploy_{environment}",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
                tags={"bicep_assets/environment": environment},
            )
        )


def deploy_dev(project: Path, *args: str) -> list[str]:
    return ["deploy", "dev", "--project", str(project), *args]


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home), "DEV_APP_SECRET": "exclusive-secret"}


@pytest.mark.slow
def test_deploy_refuses_at_once_with_wait_timeout_zero(project: Path, home: Path) -> None:
    blocker = start_blocking_run(home)
    done = run_bicep_assets(deploy_dev(project, "--wait-timeout", "0"), cwd=project, env=env(home))
    assert done.returncode == 1, done.stderr[-2000:]
    assert (
        f"error: dev is busy: run {blocker.run_id} (deploy_dev, STARTED) is in progress; gave up "
        "after 0 s (--wait-timeout)" in done.stderr
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert [r.run_id for r in instance.get_runs()] == [blocker.run_id]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_deploy_waits_for_the_run_in_progress_then_deploys(
    project: Path, home: Path, tmp_path: Path
) -> None:
    blocker = start_blocking_run(home)
    log = tmp_path / "deploy.log"
    process = start_bicep_assets(deploy_dev(project), cwd=project, env=env(home), stdout=log)
    waiting = f"waiting: run {blocker.run_id} (deploy_dev, STARTED) is in progress for dev"
    deadline = time.monotonic() + 120
    while waiting not in log.read_text():  # until the CLI says it waits
        assert process.poll() is None or waiting in log.read_text(), log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.report_run_failed(blocker)
    assert process.wait(timeout=240) == 0, log.read_text()[-3000:]
    assert "deploy_dev succeeded" in log.read_text().split(waiting, 1)[1]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
        (mine,) = [r for run_id, r in records.items() if run_id != blocker.run_id]
        assert mine.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert mine.start_time >= records[blocker.run_id].end_time


def test_two_in_process_deploys_of_one_environment_exclude_each_other(home: Path) -> None:
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        exclusive_environment(instance, "dev", timeout_s=0),
    ):
        with (
            pytest.raises(EnvironmentBusy, match=r"dev: another bicep-assets deploy on this "),
            exclusive_environment(instance, "dev", timeout_s=0),
        ):
            pass
        with exclusive_environment(instance, "prod", timeout_s=0):  # others are free
            pass
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        exclusive_environment(instance, "dev", timeout_s=0),
    ):
        pass  # released


def test_a_run_holds_its_environment_until_it_ends_or_its_process_dies(home: Path) -> None:
    holder = hold_environment_elsewhere(home, "dev")
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            waited: list[bool] = []
            with (
                pytest.raises(EnvironmentHeld, match=r"^dev is held by another deployment run"),
                environment_held(
                    instance, "dev", timeout_s=0.3, poll_s=0.05, on_wait=lambda: waited.append(True)
                ),
            ):
                pass
            assert waited == [True]  # said once, not once per poll
            with environment_held(instance, "prod", timeout_s=0):  # others are free
                pass
            os.kill(holder.pid, signal.SIGKILL)  # a run worker killed -9
            holder.wait(30)
            with environment_held(instance, "dev", timeout_s=0):  # the kernel let it go
                pass
    finally:
        holder.kill()
        holder.wait(30)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_cli_run_started_while_another_run_holds_the_environment_waits_for_it(
    project: Path, home: Path, tmp_path: Path
) -> None:
    """The moment between the CLI's check and its run's start: another run (a run worker the
    daemon launched then) holds dev although no run shows as in progress yet. The CLI's run
    starts, says in its log that it waits, and deploys only after the other let go."""
    holder = hold_environment_elsewhere(home, "dev")
    try:
        log = tmp_path / "deploy.log"
        process = start_bicep_assets(
            deploy_dev(project, "--wait-timeout", "0"),  # the check before the run passes
            cwd=project,
            env=env(home),
            stdout=log,
        )
        waiting = "waiting: another deployment run holds dev; this run starts when it ends"
        deadline = time.monotonic() + 120
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while not any(
                waiting in (entry.user_message or "")
                for run in instance.get_runs()
                for entry in instance.all_logs(run.run_id)
            ):
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the run did not say it waits"
                time.sleep(0.2)
        released = time.time()
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(30)
        assert process.wait(timeout=240) == 0, log.read_text()[-3000:]
    finally:
        holder.kill()
        holder.wait(30)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        steps = [
            e.timestamp
            for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
        ]
    assert steps and min(steps) >= released  # not even lint ran while it was held


@dg.op(required_resource_keys={"environment_hold"})
def hold_step() -> None:
    """A step of a run that holds its environment, as deploy_<env>'s deploy does."""


@dg.graph
def one_step() -> None:
    hold_step()


def test_a_run_that_cannot_get_its_environment_in_time_fails_saying_so(home: Path) -> None:
    """``environment_hold``'s ``timeout_s`` ends the wait: the run fails before its first step,
    an environmental failure naming the environment (the queue or the CLI's wait normally make
    this impossible: it takes a run that holds dev outside them)."""
    holder = hold_environment_elsewhere(home, "dev")
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            hold = EnvironmentHold(environment="dev", timeout_s=0.3)
            job = one_step.to_job(resource_defs={"environment_hold": hold})
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        (init,) = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
        error = init.event_specific_data.error
        assert error.cls_name == "EnvironmentalFailure", error.to_string()
        assert "dev is held by another deployment run; gave up waiting for it" in error.message
        assert not [e for e in result.all_events if e.event_type_value == "STEP_START"]
    finally:
        holder.kill()
        holder.wait(30)
