"""The deployment repository the push sensor watches: a local path (the project's own checkout
by default, or any bare repository) or a remote URL fetched with ``git`` into a cache under
``DAGSTER_HOME``."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from .git import Git, GitError, redact_url

__all__ = ["GitRepository", "OpenedRepository", "is_remote_url"]

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo.git
_REMOTE_REF = "refs/bicep-assets/remotes/"


def is_remote_url(url: str) -> bool:
    """Whether ``url`` is a remote to fetch (``https://``, ``ssh://``, ``file://``,
    ``git@host:path``) rather than a local folder read in place."""
    return "://" in url or bool(_SCP_LIKE.match(url))


@dataclass
class OpenedRepository:
    """A repository ready to read: its git, the branch heads, where the project sits in it
    (``prefix``, e.g. ``"deploy/"``) and the project folder the runs deploy from."""

    git: Git
    heads: dict[str, str]
    prefix: str
    project_dir: Path
    fetch_errors: dict[str, str]

    def repo_path(self, project_path: str) -> str:
        """A path relative to the project folder → relative to the repository."""
        return posixpath.normpath(posixpath.join(self.prefix, project_path))

    def disk_path(self, repo_path: str) -> Path:
        """Where a repository path is on disk, for the project folder the runs deploy from."""
        relative = posixpath.relpath(repo_path, self.prefix.rstrip("/") or ".")
        return (self.project_dir / relative).resolve()


class GitRepository(dg.ConfigurableResource):
    """The git repository whose pushes deploy environments (see the module docstring)."""

    url: str = Field(
        description="A local path (a checkout or a bare repository: read in place) or a remote "
        "URL (https://, ssh://, file://, git@host:path: fetched into cache_dir on every tick)."
    )
    project_dir: str | None = Field(
        default=None,
        description="The project folder the runs deploy from (the code location's). Default: "
        "url when it is a local path. A request waits until its files there match the commit.",
    )
    project_subdirectory: str = Field(
        default="",
        description="Where the project (parameters/) lives inside the repository; for a local "
        "checkout this is found from url (e.g. 'deploy/').",
    )
    cache_dir: str | None = Field(
        default=None, description="Remote only: where to fetch (default $DAGSTER_HOME/git-cache)."
    )
    git_executable: str = "git"
    timeout_s: float = Field(default=60.0, description="Each git command's time limit.")

    @property
    def remote(self) -> bool:
        return is_remote_url(self.url)

    @property
    def display_url(self) -> str:
        """The URL without credentials."""
        return redact_url(self.url)

    def open(self, branches: Iterable[str], *, home: str | None) -> OpenedRepository:
        """Fetch (remote) or read (local) the heads of ``branches``. A remote that cannot be
        fetched at all raises :class:`GitError`; a branch it lacks is listed in
        ``fetch_errors`` and has no head."""
        wanted = sorted(set(branches))
        subdirectory = self.project_subdirectory.strip("/")
        subdirectory = f"{subdirectory}/" if subdirectory else ""
        if not self.remote:
            folder = Path(self.url).expanduser().resolve()
            if not folder.is_dir():
                raise GitError(f"{folder}: no such folder (git_repository.url)")
            git = Git(folder, executable=self.git_executable, timeout_s=self.timeout_s)
            bare = git.run("rev-parse", "--is-bare-repository").stdout.strip() == "true"
            prefix = "" if bare else git.show_prefix()
            heads = git.refs("refs/heads/")
            project = Path(self.project_dir) if self.project_dir else folder / subdirectory
            return OpenedRepository(
                git=git,
                heads={b: heads[b] for b in wanted if b in heads},
                prefix=prefix + subdirectory,
                project_dir=project,
                fetch_errors={b: "no such branch" for b in wanted if b not in heads},
            )
        if not self.project_dir:
            raise GitError(
                f"git_repository: project_dir is required with a remote url "
                f"({self.display_url}): the folder the runs deploy from"
            )
        git = self._cache(home)
        errors: dict[str, str] = {}
        refspecs = [f"+refs/heads/{b}:{_REMOTE_REF}{b}" for b in wanted]
        try:
            git.fetch(self.url, refspecs)
        except GitError as exc:
            if len(wanted) <= 1 or "couldn't find remote ref" not in str(exc):
                raise
            for branch, refspec in zip(wanted, refspecs, strict=True):  # which one is missing
                try:
                    git.fetch(self.url, [refspec])
                except GitError as one:
                    errors[branch] = str(one)
        heads = git.refs(_REMOTE_REF)
        return OpenedRepository(
            git=git,
            heads={b: heads[b] for b in wanted if b in heads and b not in errors},
            prefix=subdirectory,
            project_dir=Path(self.project_dir),
            fetch_errors={b: errors.get(b, "no such branch") for b in wanted if b not in heads},
        )

    def _cache(self, home: str | None) -> Git:
        base = Path(self.cache_dir) if self.cache_dir else Path(home or ".") / "git-cache"
        folder = base / hashlib.sha256(self.url.encode()).hexdigest()[:16]
        git = Git(folder, executable=self.git_executable, timeout_s=self.timeout_s)
        if not (folder / "HEAD").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            git.run("init", "--bare", "--quiet")
        return git
