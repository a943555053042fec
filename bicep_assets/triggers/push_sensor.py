"""The push sensor: a commit that changes an environment deploys it.

Each tick reads the head of every watched branch and the commits since the sensor's cursor
for that branch (its first-parent line: a merge counts with everything it brought in). For
every environment that opted in (``triggers.deploy_on_push``) it requests one ``deploy_<env>``
run at the newest commit that changed the environment's files; older commits of the same tick
are skipped and recorded (run tag ``bicep_assets/skipped_shas`` and the tick's log).

Safety rules:

- The first tick on a branch only records its head: switching the sensor on deploys nothing.
- A force-push (the cursor is no longer an ancestor of the head) is logged and compared
  against the new history: environments changed by the commits that are new since the common
  ancestor, or whose files differ between the old and the new head, deploy at a *new* commit.
  A branch rewound to an older commit (nothing new) deploys nothing: an old commit is never
  deployed by the sensor.
- A run deploys the project folder's files, so a request waits (the branch's cursor stays)
  until that folder's copy of the environment's files matches the commit.
- A repository that cannot be read or fetched is a skipped tick with the reason; the cursor
  stays where it was.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from ..environments import EnvironmentSpec, job_name
from ..pipeline.jobs import TRIGGER_TAG
from ..pipeline.provenance import GIT_SHA_TAG
from .affected import EnvironmentFiles, environment_files, index_by_path
from .git import BlobReader, Commit, GitError
from .repository import GitRepository, OpenedRepository

__all__ = [
    "BRANCH_TAG",
    "REWRITTEN_FROM_TAG",
    "SKIPPED_SHAS_TAG",
    "PushEvaluation",
    "PushRun",
    "WatchedEnvironment",
    "build_push_sensor",
    "evaluate_push",
    "watched_environments",
]

BRANCH_TAG = "bicep_assets/branch"
SKIPPED_SHAS_TAG = "bicep_assets/skipped_shas"
REWRITTEN_FROM_TAG = "bicep_assets/rewritten_from"
SENSOR_NAME = "deploy_on_push"
MAX_SKIPPED_IN_TAG = 40


@dataclass(frozen=True)
class WatchedEnvironment:
    """An environment that deploys on push: its job, branch and manifest (project path)."""

    name: str
    job_name: str
    branch: str
    manifest: str


@dataclass(frozen=True)
class PushRun:
    """One deployment to request: ``environment`` at ``sha`` (newest first in ``skipped``:
    the older commits of this tick that changed it too)."""

    environment: str
    job_name: str
    branch: str
    sha: str
    skipped: tuple[str, ...] = ()
    rewritten_from: str | None = None

    @property
    def run_key(self) -> str:
        return f"{self.environment}:{self.sha}"

    def tags(self) -> dict[str, str]:
        tags = {GIT_SHA_TAG: self.sha, TRIGGER_TAG: "sensor", BRANCH_TAG: self.branch}
        if self.skipped:
            shown = list(self.skipped[:MAX_SKIPPED_IN_TAG])
            if len(self.skipped) > MAX_SKIPPED_IN_TAG:
                shown.append(f"+{len(self.skipped) - MAX_SKIPPED_IN_TAG} more")
            tags[SKIPPED_SHAS_TAG] = ",".join(shown)
        if self.rewritten_from:
            tags[REWRITTEN_FROM_TAG] = self.rewritten_from
        return tags


@dataclass
class PushEvaluation:
    """What one tick decided: runs to request, the new cursor, and what to log."""

    runs: list[PushRun] = field(default_factory=list)
    cursor: dict[str, str] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (level, message)

    def note(self, level: str, message: str) -> None:
        self.notes.append((level, message))


def watched_environments(environments: Mapping[str, EnvironmentSpec]) -> list[WatchedEnvironment]:
    """The environments whose manifests say ``deploy_on_push: true``."""
    return [
        WatchedEnvironment(
            name=name,
            job_name=job_name("deploy", name),
            branch=spec.triggers.branch,
            manifest=f"parameters/{spec.manifest_path.name}",
        )
        for name, spec in environments.items()
        if spec.triggers.deploy_on_push
    ]


def _short(sha: str) -> str:
    return sha[:12]


def evaluate_push(
    repo: OpenedRepository,
    watched: Sequence[WatchedEnvironment],
    cursor: Mapping[str, str],
) -> PushEvaluation:
    """The runs to request for every watched branch since ``cursor`` (``{branch: sha}``)."""
    result = PushEvaluation()
    by_branch: dict[str, list[WatchedEnvironment]] = {}
    for env in watched:
        by_branch.setdefault(env.branch, []).append(env)
    with repo.git.blobs() as blobs:
        for branch in sorted(by_branch):
            _evaluate_branch(repo, blobs, branch, by_branch[branch], cursor.get(branch), result)
    return result


def _evaluate_branch(
    repo: OpenedRepository,
    blobs: BlobReader,
    branch: str,
    watched: list[WatchedEnvironment],
    old: str | None,
    result: PushEvaluation,
) -> None:
    head = repo.heads.get(branch)
    names = ", ".join(env.name for env in watched)
    if head is None:
        reason = repo.fetch_errors.get(branch, "no such branch")
        result.note("warning", f"branch {branch} ({names}): cannot read it: {reason}")
        if old:
            result.cursor[branch] = old
        return
    if old is None:
        result.note("info", f"branch {branch}: watching from {_short(head)} ({names})")
        result.cursor[branch] = head
        return
    if old == head:
        result.cursor[branch] = head
        return
    rewritten_from: str | None = None
    extra: frozenset[str] = frozenset()
    if repo.git.commit_exists(old) and repo.git.is_ancestor(old, head):
        commits = repo.git.first_parent_history(old, head)
        has_new = True
    elif not repo.git.commit_exists(old):
        result.note(
            "warning",
            f"branch {branch}: history rewritten and the previous head {_short(old)} is gone: "
            f"nothing to compare {_short(head)} with, so nothing is deployed; the sensor now "
            f"watches from {_short(head)} (deploy {names} by hand if they need it)",
        )
        result.cursor[branch] = head
        return
    else:
        rewritten_from = old
        base = repo.git.merge_base(old, head)
        commits = repo.git.first_parent_history(base, head) if base else []
        has_new = base != head
        extra = repo.git.changed_paths(old, head)
        result.note(
            "warning",
            f"branch {branch}: force-push detected: {_short(old)} is no longer an ancestor of "
            f"{_short(head)}; comparing against the new history"
            + (
                f" from their common ancestor {_short(base)} ({len(commits)} new commits)"
                if base
                else " (no common ancestor)"
            ),
        )
    read = blobs.read_at(head)
    files = {
        env.name: environment_files(read, env.name, repo.repo_path(env.manifest)) for env in watched
    }
    runs = _newest_per_environment(
        watched, files, commits, extra, head if has_new else None, branch, rewritten_from, result
    )
    held = False
    for run in runs:
        stale = _stale_files(repo, blobs, head, files[run.environment])
        if stale:
            held = True
            result.note(
                "warning",
                f"{run.environment}: waiting: the project folder's copy differs from "
                f"{_short(run.sha)} at {', '.join(stale[:5])} — update it (git pull) and the "
                "next tick requests the run",
            )
            continue
        result.runs.append(run)
        skipped = ", ".join(_short(sha) for sha in run.skipped[:10])
        if len(run.skipped) > 10:
            skipped += f" and {len(run.skipped) - 10} more (run tag {SKIPPED_SHAS_TAG})"
        result.note(
            "info",
            f"{run.environment}: deploy {_short(run.sha)} from {branch}"
            + (f" (newest of {len(run.skipped) + 1}; skipped {skipped})" if skipped else ""),
        )
    result.cursor[branch] = old if held else head


def _newest_per_environment(
    watched: list[WatchedEnvironment],
    files: Mapping[str, EnvironmentFiles],
    commits: list[Commit],
    extra: frozenset[str],
    new_head: str | None,
    branch: str,
    rewritten_from: str | None,
    result: PushEvaluation,
) -> list[PushRun]:
    for entry in files.values():
        if entry.problem:
            result.note("warning", f"{entry.environment}: {entry.problem}")
    index = index_by_path(files.values())
    touching: dict[str, list[str]] = {}
    for commit in commits:  # newest first
        hit: set[str] = set()
        for path in commit.paths:
            hit |= index.get(path, set())
        for env in hit:
            touching.setdefault(env, []).append(commit.sha)
    differing: set[str] = set()
    for path in extra:
        differing |= index.get(path, set())
    runs: list[PushRun] = []
    for env in watched:
        shas = touching.get(env.name)
        if shas:
            sha, skipped = shas[0], tuple(shas[1:])
        elif env.name in differing and new_head is not None:
            sha, skipped = new_head, ()
        else:
            if env.name in differing:
                result.note(
                    "warning",
                    f"{env.name}: its files differ from the rewritten history's "
                    f"{_short(rewritten_from or '')}, but branch {branch} was only rewound to "
                    "an older commit: not deploying an old commit (deploy by hand if needed)",
                )
            continue
        runs.append(PushRun(env.name, env.job_name, branch, sha, skipped, rewritten_from))
    return runs


def _stale_files(
    repo: OpenedRepository, blobs: BlobReader, head: str, files: EnvironmentFiles
) -> list[str]:
    """The environment's files whose copy in the project folder differs from ``head``."""
    stale: list[str] = []
    for path in sorted(files.paths):
        on_disk = repo.disk_path(path)
        local = on_disk.read_bytes() if on_disk.is_file() else None
        if local != blobs.read(head, path):
            stale.append(path)
    return stale


def parse_cursor(text: str | None) -> dict[str, str]:
    """The sensor's cursor: ``{branch: last seen head}`` as JSON (empty when unset)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def build_push_sensor(
    environments: Mapping[str, EnvironmentSpec],
    jobs: Mapping[str, dg.JobDefinition],
    *,
    minimum_interval_seconds: int = 30,
) -> dg.SensorDefinition | None:
    """The ``deploy_on_push`` sensor (``None`` when no environment opts in)."""
    watched = watched_environments(environments)
    if not watched:
        return None
    branches = {env.branch for env in watched}

    @dg.sensor(
        name=SENSOR_NAME,
        jobs=[jobs[env.job_name] for env in watched],
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Deploys the environments a git push changed ("
        + ", ".join(f"{env.name} on {env.branch}" for env in watched)
        + "): one run per environment at the newest commit that changed it.",
    )
    def deploy_on_push(
        context: dg.SensorEvaluationContext, git_repository: GitRepository
    ) -> dg.SensorResult:
        """Deploy every environment whose files a git push changed, at its newest commit."""
        cursor = parse_cursor(context.cursor)
        try:
            repo = git_repository.open(branches, home=context.instance.root_directory)
            evaluation = evaluate_push(repo, watched, cursor)
        except GitError as exc:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"cannot read the repository {git_repository.display_url}: {exc}"
                ),
                cursor=context.cursor,
            )
        for level, message in evaluation.notes:
            getattr(context.log, level)(message)
        requests = [
            dg.RunRequest(run_key=run.run_key, job_name=run.job_name, tags=run.tags())
            for run in evaluation.runs
        ]
        new_cursor = json.dumps(evaluation.cursor, sort_keys=True)
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=new_cursor)
        summary = "; ".join(message for _, message in evaluation.notes) or "no new commits"
        return dg.SensorResult(skip_reason=dg.SkipReason(summary), cursor=new_cursor)

    return deploy_on_push
