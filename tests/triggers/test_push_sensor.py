"""The push sensor against real git repositories: commits, branches, merges, force-pushes and
remotes; evaluated with a real instance, asserting the exact run requests and cursors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bicep_assets.triggers import GitRepository

from .conftest import DeployRepo, SensorTicks, git

SENSOR = "sensor"


def requests(result: Any) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.run_key, r.job_name, dict(r.tags)) for r in result.run_requests or []]


def tags(sha: str, branch: str = "main", **extra: str) -> dict[str, str]:
    base = {
        "bicep_assets/git_sha": sha,
        "bicep_assets/trigger": SENSOR,
        "bicep_assets/branch": branch,
        "dagster/sensor_name": "deploy_on_push",
    }
    return {**base, **{f"bicep_assets/{key}": value for key, value in extra.items()}}


def cursor(**heads: str) -> str:
    return json.dumps(heads, sort_keys=True)


def test_the_first_tick_records_every_watched_branch_and_deploys_nothing(
    project: DeployRepo, push_ticks: SensorTicks
) -> None:
    result = push_ticks.tick(None)
    assert requests(result) == []
    start = project.head()
    assert result.cursor == cursor(main=start, release=start)
    assert "watching from" in (result.skip_message or "")
    again = push_ticks.tick(result.cursor)
    assert requests(again) == [] and again.cursor == result.cursor


CHANGES = [
    ("module", "infra/modules/web.bicep", "param environmentName string\n", ["dev"]),
    ("import", "infra/types.bicep", "@export()\ntype siteConfig = {}\n", ["dev"]),
    ("load-text-content", "infra/files/startup.sh", "echo changed\n", ["dev"]),
    ("parameters-file", "parameters/dev.parameters.json", "{}", ["dev"]),
    ("template", "infra/main.bicep", "param environmentName string\n", ["dev"]),
    ("new-unreferenced-file", "infra/modules/new.bicep", "", []),
    ("unrelated", "README.md", "# changed\n", []),
    ("not-opted-in", "parameters/stage.yaml", "template: ../infra/main.bicep\n", []),
    ("other-branch-env", "infra/nested/storage.json", "{}", []),
]


@pytest.mark.parametrize(
    ("path", "text", "deployed"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_a_commit_deploys_exactly_the_opted_in_environments_it_changes(
    project: DeployRepo, push_ticks: SensorTicks, path: str, text: str, deployed: list[str]
) -> None:
    start = push_ticks.tick(None).cursor
    project.write(path, text)
    sha = project.commit(f"change {path}")
    result = push_ticks.tick(start)
    assert requests(result) == [(f"{env}:{sha}", f"deploy_{env}", tags(sha)) for env in deployed]
    assert result.cursor == cursor(main=sha, release=project.head("release"))


def test_many_commits_in_one_tick_deploy_the_newest_and_record_the_skipped(
    project: DeployRepo, push_ticks: SensorTicks
) -> None:
    start = push_ticks.tick(None).cursor
    first = project.commit("web", {"infra/modules/web.bicep": "param environmentName string\n"})
    project.commit("docs", {"README.md": "# more\n"})
    second = project.commit("types", {"infra/types.bicep": "@export()\ntype a = {}\n"})
    newest = project.commit("params", {"parameters/dev.parameters.json": "{}"})
    project.commit("stage only", {"parameters/stage.yaml": "template: ../infra/main.bicep\n"})
    result = push_ticks.tick(start)
    assert requests(result) == [
        (f"dev:{newest}", "deploy_dev", tags(newest, skipped_shas=f"{second},{first}"))
    ]
    assert json.loads(result.cursor)["main"] == project.head()


def test_a_merge_commit_counts_everything_it_brought_in(
    project: DeployRepo, push_ticks: SensorTicks
) -> None:
    start = push_ticks.tick(None).cursor
    project.git("checkout", "-q", "-b", "feature")
    project.commit("feature: module", {"infra/modules/web.bicep": "param environmentName string\n"})
    project.commit("feature: docs", {"README.md": "# feature\n"})
    project.git("checkout", "-q", "main")
    project.commit("main: docs", {"docs/notes.md": "notes\n"})
    project.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    merge = project.head()
    result = push_ticks.tick(start)
    # the side branch's commits are not on main's first-parent line: the merge stands for them
    assert requests(result) == [(f"dev:{merge}", "deploy_dev", tags(merge))]

    project.git("checkout", "-q", "-b", "docs-only")
    project.commit("docs", {"README.md": "# docs only\n"})
    project.git("checkout", "-q", "main")
    project.git("merge", "-q", "--no-ff", "docs-only", "-m", "merge docs")
    quiet = push_ticks.tick(result.cursor)
    assert requests(quiet) == []
    assert json.loads(quiet.cursor)["main"] == project.head()


def test_each_environment_follows_its_own_branch(
    project: DeployRepo, push_ticks: SensorTicks
) -> None:
    start = push_ticks.tick(None).cursor
    on_main = project.commit("storage on main", {"infra/nested/storage.json": '{"resources": []}'})
    result = push_ticks.tick(start)
    assert requests(result) == []  # prod deploys from release only
    project.git("checkout", "-q", "release")
    on_release = project.commit("storage on release", {"infra/nested/storage.json": "{}"})
    result = push_ticks.tick(result.cursor)
    assert requests(result) == [
        (f"prod:{on_release}", "deploy_prod", tags(on_release, branch="release"))
    ]
    assert result.cursor == cursor(main=on_main, release=on_release)


def test_a_request_waits_until_the_project_folder_matches_the_commit(
    project: DeployRepo, push_ticks: SensorTicks
) -> None:
    start = push_ticks.tick(None).cursor
    project.git("checkout", "-q", "release")
    sha = project.commit("storage", {"infra/nested/storage.json": '{"changed": true}'})
    project.git("checkout", "-q", "main")  # the runs would deploy main's copy of prod's files
    held = push_ticks.tick(start)
    assert requests(held) == []
    assert held.cursor == start  # release's cursor stays: the next tick asks again
    assert "prod: waiting: the project folder's copy differs" in held.skip_message
    assert "infra/nested/storage.json" in held.skip_message
    project.git("checkout", "-q", "release")
    released = push_ticks.tick(held.cursor)
    assert requests(released) == [(f"prod:{sha}", "deploy_prod", tags(sha, branch="release"))]


def test_a_force_push_is_compared_against_the_new_history_and_never_deploys_old_commits(
    project: DeployRepo, push_ticks: SensorTicks, capfd: pytest.CaptureFixture[str]
) -> None:
    start = push_ticks.tick(None).cursor
    kept = project.commit("web", {"infra/modules/web.bicep": "param environmentName string\n"})
    project.commit("docs", {"README.md": "# docs\n"})
    dropped = project.commit("params", {"parameters/dev.parameters.json": '{"a": 1}'})
    deployed = push_ticks.tick(start)
    assert requests(deployed) == [
        (f"dev:{dropped}", "deploy_dev", tags(dropped, skipped_shas=kept))
    ]

    project.git("reset", "-q", "--hard", kept)  # the rewrite: docs and params are gone
    rewritten = project.commit("types", {"infra/types.bicep": "@export()\ntype b = {}\n"})
    capfd.readouterr()
    result = push_ticks.tick(deployed.cursor)
    assert requests(result) == [
        (f"dev:{rewritten}", "deploy_dev", tags(rewritten, rewritten_from=dropped))
    ]
    assert json.loads(result.cursor)["main"] == rewritten
    warning = f"force-push detected: {dropped[:12]} is no longer an ancestor of {rewritten[:12]}"
    assert warning in capfd.readouterr().err  # the tick's log

    # rewound to an older commit: dev's files differ, but nothing is new: no deployment
    project.git("reset", "-q", "--hard", kept)
    rewound = push_ticks.tick(result.cursor)
    assert requests(rewound) == []
    assert json.loads(rewound.cursor)["main"] == kept
    assert "force-push detected" in rewound.skip_message
    assert "only rewound to an older commit: not deploying an old commit" in rewound.skip_message


def test_a_push_to_a_remote_is_fetched_into_a_cache_under_dagster_home(
    project: DeployRepo, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(project.root), str(origin))
    remote = GitRepository(url=f"file://{origin}", project_dir=str(project.root))
    ticks = SensorTicks(project.definitions(), "deploy_on_push", instance, git_repository=remote)
    start = ticks.tick(None)
    assert start.cursor == cursor(main=project.head(), release=project.head())
    assert list((Path(instance.root_directory) / "git-cache").iterdir())

    sha = project.commit("web", {"infra/modules/web.bicep": "param environmentName string\n"})
    project.git("push", "-q", str(origin), "main")
    result = ticks.tick(start.cursor)
    assert requests(result) == [(f"dev:{sha}", "deploy_dev", tags(sha))]

    project.git("reset", "-q", "--hard", "HEAD~1")  # force-pushed to the remote
    forced = project.commit("types", {"infra/types.bicep": "@export()\ntype c = {}\n"})
    project.git("push", "-q", "--force", str(origin), "main")
    result = ticks.tick(result.cursor)
    assert requests(result) == [(f"dev:{forced}", "deploy_dev", tags(forced, rewritten_from=sha))]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///nonexistent/deployments.git", "file:///nonexistent/deployments.git"),
        ("https://ci:s3cr3t-token@127.0.0.1:9/deployments.git", "https://***@127.0.0.1:9/"),
    ],
    ids=["missing-repository", "refused-connection-with-credentials"],
)
def test_an_unreachable_remote_is_a_skipped_tick_with_the_reason(
    project: DeployRepo, instance: dg.DagsterInstance, url: str, shown: str
) -> None:
    remote = GitRepository(url=url, project_dir=str(project.root), timeout_s=20)
    ticks = SensorTicks(project.definitions(), "deploy_on_push", instance, git_repository=remote)
    previous = cursor(main="a" * 40, release="b" * 40)
    result = ticks.tick(previous)
    assert requests(result) == []
    assert result.cursor == previous
    assert result.skip_message.startswith(f"cannot read the repository {shown}")
    assert "git fetch" in result.skip_message
    assert "s3cr3t" not in result.skip_message


def test_a_local_folder_that_is_no_repository_is_a_skipped_tick(
    project: DeployRepo, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    ticks = SensorTicks(
        project.definitions(),
        "deploy_on_push",
        instance,
        git_repository=GitRepository(url=str(plain)),
    )
    result = ticks.tick(None)
    assert requests(result) == [] and result.cursor is None
    assert "not a git repository" in result.skip_message


def test_no_sensor_without_an_opted_in_environment(project: DeployRepo) -> None:
    for env in ("dev", "prod"):
        path = project.root / "parameters" / f"{env}.yaml"
        path.write_text(path.read_text().split("triggers:")[0], encoding="utf-8")
    names = {s.name for s in project.definitions().sensors}
    assert "deploy_on_push" not in names
    assert {"drift_checks", "deployment_failure_alerts"} <= names


@pytest.mark.parametrize(
    "configured",
    ["url-is-the-project-folder", "url-is-the-checkout-with-project-subdirectory"],
)
def test_the_project_in_a_subfolder_of_its_checkout(tmp_path: Path, configured: str) -> None:
    from .conftest import make_project

    checkout = tmp_path / "checkout"
    inner = make_project(checkout / "deploy")
    shutil.rmtree(inner.root / ".git")
    git(checkout, "init", "-q", "-b", "main")  # the outer repository tracks deploy/
    outer = DeployRepo(checkout)
    outer.commit("initial")
    outer.git("branch", "release")
    repository = (
        GitRepository(url=str(inner.root))
        if configured == "url-is-the-project-folder"
        else GitRepository(url=str(checkout), project_subdirectory="deploy")
    )
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        ticks = SensorTicks(
            inner.definitions(), "deploy_on_push", instance, git_repository=repository
        )
        start = ticks.tick(None).cursor
        sha = outer.commit("types", {"deploy/infra/types.bicep": "@export()\ntype d = {}\n"})
        outer.commit("docs at the top", {"README.md": "# top\n"})
        result = ticks.tick(start)
    assert requests(result) == [(f"dev:{sha}", "deploy_dev", tags(sha))]
