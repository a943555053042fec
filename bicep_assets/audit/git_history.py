"""Commit facts the delivery metrics need, read from the project's git repository: which
commits a deployment delivered and when each was committed. Batched (one ``git`` process for
all the commit times of a refresh, one per deployment for its range) and never raising: a
folder that is no repository, or a commit it does not hold, yields nothing for it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

MAX_COMMITS_PER_DEPLOYMENT = 1000


class GitHistory:
    """The repository at ``folder`` (or none: every answer is empty)."""

    def __init__(self, folder: Path, *, timeout_s: float = 60.0) -> None:
        self.folder = folder
        self.timeout_s = timeout_s
        self.available = self._git("rev-parse", "--git-dir") is not None
        self._known: dict[str, bool] = {}

    def _git(self, *args: str, stdin: str | None = None) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.folder), *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    def known(self, shas: Iterable[str]) -> set[str]:
        """Which of ``shas`` name commits of the repository."""
        wanted = [s for s in dict.fromkeys(shas) if s and s not in self._known]
        if wanted and self.available:
            out = self._git("cat-file", "--batch-check", stdin="\n".join(wanted) + "\n") or ""
            answers = out.splitlines()
            for sha, answer in zip(wanted, answers, strict=False):
                self._known[sha] = answer.split()[1:2] == ["commit"]
        return {s for s in shas if self._known.get(s)}

    def delivered(self, sha: str, previous: str | None) -> list[str]:
        """The commits deploying ``sha`` delivered after ``previous`` (reachable from ``sha``
        and not from ``previous``, newest first, at most 1000); ``[sha]`` when there is no
        previous deployment, the range is empty (a redeploy, a rollback) or git cannot tell."""
        if (
            previous is None
            or previous == sha
            or not self.known([sha, previous])
            >= {
                sha,
                previous,
            }
        ):
            return [sha]
        out = self._git(
            "rev-list", f"--max-count={MAX_COMMITS_PER_DEPLOYMENT}", sha, f"^{previous}"
        )
        commits = (out or "").split()
        return commits or [sha]

    def commit_times(self, shas: Iterable[str]) -> dict[str, pd.Timestamp]:
        """The committer time (UTC) of each of ``shas`` the repository holds."""
        known = sorted(self.known(list(shas)))
        if not known:
            return {}
        out = self._git(
            "log", "--no-walk=unsorted", "--stdin", "--format=%H %ct", stdin="\n".join(known) + "\n"
        )
        times: dict[str, pd.Timestamp] = {}
        for line in (out or "").splitlines():
            sha, _, seconds = line.partition(" ")
            if seconds.strip().isdigit():
                times[sha] = pd.Timestamp(int(seconds), unit="s", tz="UTC")
        return times
