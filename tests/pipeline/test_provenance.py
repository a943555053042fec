"""Facts recorded when a run runs: the commit, a dirty checkout, the ARM target — read by lint,
not fixed when the code location loaded."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bicep_assets.pipeline.provenance import GitState, read_git_state

from .conftest import Project, step_events, storage, template


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def make_repo(root: Path) -> str:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return git(root, "rev-parse", "HEAD")


def lint_warnings(project: Project, run_id: str) -> list[str]:
    return [
        entry.user_message
        for entry in project.instance.all_logs(run_id)
        if entry.level >= 30 and entry.step_key == "lint"
    ]


def test_git_state_of_a_checkout(tmp_path: Path) -> None:
    assert read_git_state(tmp_path) == GitState("", ())  # not a repository
    (tmp_path / "main.json").write_text("{}")
    sha = make_repo(tmp_path)
    assert (read_git_state(tmp_path).sha, read_git_state(tmp_path).changed) == (sha, ())
    (tmp_path / "main.json").write_text('{"changed": true}')
    (tmp_path / "new.json").write_text("{}")
    assert sorted(read_git_state(tmp_path).changed) == ["main.json", "new.json"]


def test_each_run_records_the_commit_it_runs_from_not_the_one_at_load(project: Project) -> None:
    path = project.write_template("main.json", template([storage("prov1")]))
    project.write_manifest("dev", template=path)
    first_sha = make_repo(project.root)
    job = project.job("plan_dev")  # built once, like a code location that is never reloaded

    first = job.execute_in_process(instance=project.instance, raise_on_error=False)
    assert first.success
    tags = project.instance.get_run_by_id(first.run_id).tags
    assert tags["bicep_assets/git_sha"] == first_sha
    assert tags["bicep_assets/target"] == "local"
    assert "bicep_assets/git_dirty" not in tags

    (project.root / "infra" / "main.json").write_text(
        (project.root / "infra" / "main.json").read_text().replace("prov1", "prov2")
    )
    git(project.root, "commit", "-q", "-am", "second")  # a `git pull`, without a reload
    second_sha = git(project.root, "rev-parse", "HEAD")
    second = job.execute_in_process(instance=project.instance, raise_on_error=False)
    assert second.success
    assert project.instance.get_run_by_id(second.run_id).tags["bicep_assets/git_sha"] == second_sha
    (lint_output,) = step_events(second, "lint", "STEP_OUTPUT")
    metadata = lint_output.step_output_data.metadata
    assert (metadata["git_sha"].value, metadata["target"].value) == (second_sha, "local")


def test_a_dirty_checkout_is_tagged_and_warned_about(project: Project) -> None:
    path = project.write_template("main.json", template([storage("dirty1")]))
    project.write_manifest("dev", template=path)
    make_repo(project.root)
    (project.root / "infra" / "main.json").write_text(
        (project.root / "infra" / "main.json").read_text().replace("dirty1", "dirty2")
    )
    result = project.run("plan_dev")
    assert result.success
    tags = project.instance.get_run_by_id(result.run_id).tags
    assert tags["bicep_assets/git_dirty"] == "true"
    assert lint_warnings(project, result.run_id) == [
        "The project has uncommitted changes (infra/main.json): what is deployed is not "
        "exactly any commit."
    ]


def test_a_launcher_commit_is_kept_and_a_different_checkout_is_recorded(project: Project) -> None:
    path = project.write_template("main.json", template([storage("ci1")]))
    project.write_manifest("dev", template=path)
    checkout = make_repo(project.root)
    result = project.run("plan_dev", tags={"bicep_assets/git_sha": "abc1234"})
    tags = project.instance.get_run_by_id(result.run_id).tags
    assert (tags["bicep_assets/git_sha"], tags["bicep_assets/checkout_git_sha"]) == (
        "abc1234",
        checkout,
    )
    assert lint_warnings(project, result.run_id) == [
        f"The run was launched for commit abc1234, but the project's checkout is at "
        f"{checkout[:12]}: the files deployed are the checkout's."
    ]


def test_the_target_tag_is_the_runs_own_arm_target(project: Project) -> None:
    """A run configured for Azure is tagged azure (the job was built for local). Its template
    fails lint, so nothing reaches for Azure from this machine."""
    path = project.write_template("main.json", template([{"type": "broken"}]))
    project.write_manifest("dev", template=path)
    result = project.run(
        "plan_dev", run_config={"resources": {"arm": {"config": {"target": "azure"}}}}
    )
    assert not result.success
    assert [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"] == [
        "lint"
    ]
    assert project.instance.get_run_by_id(result.run_id).tags["bicep_assets/target"] == "azure"
