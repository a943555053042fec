"""The ``git`` CLI, as the push sensor needs it: branch heads, ancestry, first-parent history
with the paths each commit changed, diffs between commits, blobs at a commit, and fetching a
remote into a local cache.

Every call is one ``git`` process with a timeout and no terminal prompt (a remote asking for a
password fails at once instead of hanging a sensor tick). Failures raise :class:`GitError`
naming the command, the folder and git's own message.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["BlobReader", "Commit", "Git", "GitError", "redact_url"]

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_url(text: str) -> str:
    """``https://user:token@host/repo`` → ``https://***@host/repo`` (in any text)."""
    return _USERINFO.sub("***@", text)


class GitError(RuntimeError):
    """A git command that failed; the message names the command, the folder and why."""


@dataclass(frozen=True)
class Commit:
    """One commit of a branch's history and the paths it changed (a merge: against its first
    parent, i.e. everything the merge brought in)."""

    sha: str
    paths: frozenset[str]


class Git:
    """The git CLI in one folder (a checkout or a bare repository)."""

    def __init__(self, directory: Path, *, executable: str = "git", timeout_s: float = 60.0):
        self.directory = directory
        self.executable = executable
        self.timeout_s = timeout_s

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",  # fail instead of asking for credentials
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "LC_ALL": "C",
        }

    def run(self, *args: str, ok_codes: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
        """Run ``git ARGS`` in the folder; :class:`GitError` on an exit code not in ``ok_codes``."""
        command = [self.executable, *args]
        try:
            done = subprocess.run(
                command,
                cwd=self.directory,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="surrogateescape",
                timeout=self.timeout_s,
                env=self._env(),
                check=False,
            )
        except FileNotFoundError:
            raise GitError(
                f"git executable {self.executable!r} not found: install git or set "
                "git_executable on the git_repository resource"
            ) from None
        except NotADirectoryError:
            raise GitError(f"{self.directory}: not a folder") from None
        except subprocess.TimeoutExpired:
            raise GitError(
                f"git {redact_url(' '.join(args))} in {self.directory} took longer than "
                f"{self.timeout_s:g} s"
            ) from None
        if done.returncode not in ok_codes:
            message = redact_url(done.stderr.strip() or done.stdout.strip())
            raise GitError(
                f"git {redact_url(' '.join(args))} in {self.directory} failed "
                f"(exit {done.returncode}): {message[-1500:]}"
            )
        return done

    # -- refs and ancestry ---------------------------------------------------------------
    def refs(self, prefix: str) -> dict[str, str]:
        """``{name below prefix: sha}`` for every ref under ``prefix`` (e.g. ``refs/heads/``)."""
        done = self.run("for-each-ref", "--format=%(objectname) %(refname)", prefix)
        heads: dict[str, str] = {}
        for line in done.stdout.splitlines():
            sha, _, ref = line.partition(" ")
            heads[ref.removeprefix(prefix)] = sha
        return heads

    def commit_exists(self, sha: str) -> bool:
        """Whether ``sha`` names a commit this repository has."""
        done = self.run("cat-file", "-e", f"{sha}^{{commit}}", ok_codes=(0, 1, 128))
        return done.returncode == 0

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or one of its ancestors."""
        done = self.run("merge-base", "--is-ancestor", ancestor, descendant, ok_codes=(0, 1))
        return done.returncode == 0

    def merge_base(self, first: str, second: str) -> str | None:
        """The best common ancestor of two commits (``None``: unrelated histories)."""
        done = self.run("merge-base", first, second, ok_codes=(0, 1))
        return done.stdout.strip() or None

    def show_prefix(self) -> str:
        """The folder's path inside its checkout (``""`` at the top, else ``"sub/dir/"``)."""
        return self.run("rev-parse", "--show-prefix").stdout.strip()

    # -- history and diffs ---------------------------------------------------------------
    def first_parent_history(self, since: str, until: str) -> list[Commit]:
        """The commits of ``until``'s first-parent line that ``since`` does not have, newest
        first, each with the paths it changed against its first parent (a rename counts as
        both paths)."""
        done = self.run(
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--no-renames",
            "--name-only",
            "-z",
            "--format=%x1e%H",
            f"{since}..{until}",
        )
        return parse_history(done.stdout)

    def changed_paths(self, first: str, second: str) -> frozenset[str]:
        """Paths whose content differs between two commits (renames as both paths)."""
        done = self.run("diff", "--no-renames", "--name-only", "-z", first, second)
        return frozenset(p for p in done.stdout.split("\0") if p)

    # -- remote --------------------------------------------------------------------------
    def fetch(self, url: str, refspecs: Iterable[str]) -> None:
        """``git fetch URL REFSPEC…`` (forced updates allowed: a force-push is fetched too)."""
        self.run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", url, *refspecs)

    def blobs(self) -> BlobReader:
        """A reader of file contents at any commit (one ``git cat-file --batch`` process)."""
        return BlobReader(self)


def parse_history(text: str) -> list[Commit]:
    """Parse ``git log -z --name-only --format=%x1e%H`` output."""
    commits: list[Commit] = []
    for chunk in text.split("\x1e")[1:]:
        sha, *paths = chunk.split("\0")
        if paths:
            paths[0] = paths[0].removeprefix("\n")
        commits.append(Commit(sha.strip(), frozenset(p for p in paths if p)))
    return commits


class BlobReader:
    """File contents at a commit through one long-lived ``git cat-file --batch``: each read is
    a line written and an answer read, not a process."""

    def __init__(self, git: Git) -> None:
        self._git = git
        self._process: subprocess.Popen[bytes] | None = None
        self._cache: dict[tuple[str, str], bytes | None] = {}

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    [self._git.executable, "cat-file", "--batch"],
                    cwd=self._git.directory,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=self._git._env(),
                )
            except FileNotFoundError:
                raise GitError(f"git executable {self._git.executable!r} not found") from None
        return self._process

    def read(self, commit: str, path: str) -> bytes | None:
        """The file at ``path`` (repository-relative) in ``commit``; ``None`` when there is
        no such file (or it is a folder)."""
        key = (commit, path)
        if key in self._cache:
            return self._cache[key]
        if "\n" in path:
            self._cache[key] = None
            return None
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(f"{commit}:{path}\n".encode())
        process.stdin.flush()
        header = process.stdout.readline().decode("utf-8", "surrogateescape").split()
        if not header:
            raise GitError(f"git cat-file --batch in {self._git.directory} stopped answering")
        content: bytes | None = None
        if len(header) == 3 and header[1] in ("blob", "tree", "commit", "tag"):
            body = process.stdout.read(int(header[2]) + 1)[:-1]  # content, then a newline
            content = body if header[1] == "blob" else None
        self._cache[key] = content
        return content

    def read_at(self, commit: str) -> Callable[[str], bytes | None]:
        """``read`` bound to one commit: ``path -> bytes | None``."""
        return lambda path: self.read(commit, path)

    def close(self) -> None:
        """End the ``git cat-file`` process."""
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=self._git.timeout_s)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
