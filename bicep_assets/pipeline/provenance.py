"""Facts about a run read when it runs, not when the code location loaded: which commit of the
project it deploys, whether the checkout had uncommitted changes, and which ARM it targets.

The code location is loaded once and may live for days: a ``git pull`` without a reload, or a
run config that points the ``arm`` resource at Azure, would make facts fixed at load time
wrong. lint, the first step of every run, reads them and tags the run:

- ``bicep_assets/git_sha`` — what the launcher said (the CLI's ``--git-sha``, the git-push
  sensor's commit) or else the checkout's ``HEAD``. When the launcher named another commit
  than the checkout's, the checkout's goes into ``bicep_assets/checkout_git_sha`` and a
  warning says that the files deployed are the checkout's;
- ``bicep_assets/git_dirty`` — ``true`` (with a warning listing files) when the project has
  uncommitted changes: the deployed files are then not exactly any commit;
- ``bicep_assets/target`` — ``local`` or ``azure``, as the ``arm`` resource is configured for
  this run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

TARGET_TAG = "bicep_assets/target"
GIT_SHA_TAG = "bicep_assets/git_sha"
CHECKOUT_GIT_SHA_TAG = "bicep_assets/checkout_git_sha"
GIT_DIRTY_TAG = "bicep_assets/git_dirty"
SCOPE_KIND_TAG = "bicep_assets/scope_kind"  # resourceGroup, subscription, managementGroup, tenant
SCOPE_TAG = "bicep_assets/scope"  # the ARM id of the scope deployed to

_SHOWN_CHANGES = 5


@dataclass(frozen=True)
class GitState:
    """The project's checkout: its commit ("" outside git) and files with uncommitted changes."""

    sha: str
    changed: tuple[str, ...]


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def read_git_state(project_dir: Path) -> GitState:
    """The checkout's ``HEAD`` and the project's uncommitted changes (tracked files changed,
    files not ignored and not yet added), read now."""
    sha = (_git(project_dir, "rev-parse", "HEAD") or "").strip()
    if not sha:
        return GitState("", ())
    status = _git(project_dir, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    changed = tuple(line[3:] for line in (status or "").splitlines() if len(line) > 3)
    return GitState(sha, changed)


@dataclass(frozen=True)
class LaunchFacts:
    tags: dict[str, str]
    warnings: list[str]


def launch_facts(launched_tags: dict[str, str], project_dir: Path, target: str) -> LaunchFacts:
    """The tags to add to a run launched with ``launched_tags``, and what to warn about."""
    state = read_git_state(project_dir)
    tags = {TARGET_TAG: target}
    warnings: list[str] = []
    launched = launched_tags.get(GIT_SHA_TAG, "")
    if launched:
        if state.sha and launched != state.sha:
            tags[CHECKOUT_GIT_SHA_TAG] = state.sha
            warnings.append(
                f"The run was launched for commit {launched[:12]}, but the project's checkout "
                f"is at {state.sha[:12]}: the files deployed are the checkout's."
            )
    elif state.sha:
        tags[GIT_SHA_TAG] = state.sha
    if state.changed:
        tags[GIT_DIRTY_TAG] = "true"
        shown = ", ".join(state.changed[:_SHOWN_CHANGES])
        more = len(state.changed) - _SHOWN_CHANGES
        warnings.append(
            f"The project has uncommitted changes ({shown}"
            + (f" and {more} more" if more > 0 else "")
            + "): what is deployed is not exactly any commit."
        )
    return LaunchFacts(tags, warnings)
