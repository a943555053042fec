"""Which environments a set of changed paths affects.

An environment is affected by a change to its manifest, its parameters file, its template and
every file that template pulls in, recursively: Bicep ``module`` and ``import … from`` paths,
``using``/``extends`` in ``.bicepparam`` files, the files of ``loadTextContent`` and its kin,
and ARM ``templateLink.relativePath`` in nested deployments. Registry (``br:``) and template
spec (``ts:``) modules and ``templateLink.uri`` are not files of the repository and are skipped.

Everything works on repository-relative POSIX paths and a ``read(path) -> bytes | None``
function (a file at one commit, or ``None`` when there is none), so the same code reads a
checkout, a commit through ``git cat-file``, or a dict in a test.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "EnvironmentFiles",
    "affected_environments",
    "arm_references",
    "bicep_references",
    "environment_files",
    "index_by_path",
    "join_path",
]

Reader = Callable[[str], bytes | None]

# one token of Bicep: a (multi-line) string, a comment, a word, or any other character
_BICEP_TOKEN = re.compile(
    r"(?P<multi>'''[\s\S]*?''')"
    r"|(?P<string>'(?:\\.|[^'\\\n])*')"
    r"|(?P<comment>//[^\n]*|/\*[\s\S]*?\*/)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<other>\S)"
)
_LOAD_FUNCTIONS = {
    "loadTextContent",
    "loadJsonContent",
    "loadYamlContent",
    "loadFileAsBase64",
}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}
_NOT_A_FILE = re.compile(r"^(?:br|ts)(?:[:/])|^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def join_path(base_file: str, relative: str) -> str | None:
    """``relative`` (as written in ``base_file``) as a repository path; ``None`` when it is
    absolute, leaves the repository, or is not a local file at all (``br:…``, a URL)."""
    relative = relative.replace("\\", "/")
    if not relative or relative.startswith("/") or _NOT_A_FILE.match(relative):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), relative))
    if joined == ".." or joined.startswith("../") or joined == ".":
        return None
    return joined


def _bicep_string(token: str) -> str | None:
    """A Bicep string literal's value; ``None`` when it interpolates (``${…}``)."""
    if token.startswith("'''"):
        return token[3:-3]
    body = token[1:-1]
    value, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            value.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        if char == "$" and body.startswith("${", i):
            return None
        value.append(char)
        i += 1
    return "".join(value)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    for match in _BICEP_TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "comment":
            continue
        yield ("string" if kind == "multi" else kind), match.group(0)


def bicep_references(text: str) -> list[str]:
    """The paths a ``.bicep``/``.bicepparam`` file names, as written: ``module x 'p'``,
    ``import … from 'p'``, ``using 'p'``, ``extends 'p'`` and ``loadTextContent('p')`` (and
    the other ``load*`` functions). Comments and the insides of other strings are ignored."""
    tokens = list(_tokens(text))
    found: list[str] = []

    def string_at(index: int) -> str | None:
        if index < len(tokens) and tokens[index][0] == "string":
            return _bicep_string(tokens[index][1])
        return None

    for i, (kind, value) in enumerate(tokens):
        if kind != "word":
            continue
        path: str | None = None
        if value == "module" and i + 1 < len(tokens) and tokens[i + 1][0] == "word":
            path = string_at(i + 2)
        elif value in ("using", "extends") or (value == "from" and _after_import(tokens, i)):
            path = string_at(i + 1)
        elif value.rsplit(".", 1)[-1] in _LOAD_FUNCTIONS and tokens[i + 1 : i + 2] == [
            ("other", "(")
        ]:
            path = string_at(i + 2)
        if path:
            found.append(path)
    return found


def _after_import(tokens: list[tuple[str, str]], index: int) -> bool:
    """Whether the ``from`` at ``index`` ends ``import {…}`` or ``import * as name``."""
    j = index - 1
    if j >= 0 and tokens[j][1] == "}":
        depth = 0
        while j >= 0:
            depth += {"}": 1, "{": -1}.get(tokens[j][1], 0)
            if depth == 0:
                break
            j -= 1
        return j >= 1 and tokens[j - 1] == ("word", "import")
    words = [value for _, value in tokens[max(0, j - 3) : j + 1]]
    return len(words) == 4 and words[:3] == ["import", "*", "as"] and tokens[j][0] == "word"


def arm_references(template: Any) -> list[str]:
    """The ``templateLink.relativePath`` values of an ARM template's nested deployments (at
    any depth), as written; expressions (``[…]``) cannot be followed and are skipped."""
    found: list[str] = []
    stack = [template]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            link = node.get("templateLink")
            if isinstance(link, dict):
                relative = link.get("relativePath")
                if isinstance(relative, str) and relative and not relative.startswith("["):
                    found.append(relative)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def _references_of(path: str, data: bytes) -> list[str]:
    lowered = path.lower()
    if lowered.endswith((".bicep", ".bicepparam")):
        return bicep_references(_text(data))
    if lowered.endswith(".json"):
        try:
            return arm_references(json.loads(_text(data)))
        except ValueError:
            return []
    return []


def template_files(read: Reader, path: str) -> set[str]:
    """``path`` and every repository file it pulls in, recursively (cycles are fine). A
    referenced file that does not exist is still listed: creating it is a change."""
    seen: set[str] = set()
    pending = [path]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        data = read(current)
        if data is None:
            continue
        for written in _references_of(current, data):
            joined = join_path(current, written)
            if joined is not None and joined not in seen:
                pending.append(joined)
    return seen


@dataclass(frozen=True)
class EnvironmentFiles:
    """The repository files one environment is made of; ``problem`` says why the list may be
    short (an unreadable manifest: then only the manifest itself is known)."""

    environment: str
    paths: frozenset[str]
    problem: str | None = None


def environment_files(read: Reader, environment: str, manifest: str) -> EnvironmentFiles:
    """The files of the environment whose manifest is at ``manifest`` (repository path)."""
    data = read(manifest)
    if data is None:
        return EnvironmentFiles(environment, frozenset({manifest}), f"{manifest} does not exist")
    try:
        document = yaml.safe_load(_text(data))
    except yaml.YAMLError as exc:
        return EnvironmentFiles(environment, frozenset({manifest}), f"{manifest}: {exc}")
    if not isinstance(document, Mapping):
        return EnvironmentFiles(environment, frozenset({manifest}), f"{manifest}: not a mapping")
    paths = {manifest}
    for key in ("template", "parameters_file"):
        written = document.get(key)
        if isinstance(written, str):
            joined = join_path(manifest, written)
            if joined is not None:
                paths |= template_files(read, joined)
    return EnvironmentFiles(environment, frozenset(paths))


def index_by_path(files: Iterable[EnvironmentFiles]) -> dict[str, set[str]]:
    """``{path: environments made of it}``."""
    index: dict[str, set[str]] = {}
    for entry in files:
        for path in entry.paths:
            index.setdefault(path, set()).add(entry.environment)
    return index


def affected_environments(changed: Iterable[str], index: Mapping[str, set[str]]) -> set[str]:
    """The environments any of the ``changed`` paths belongs to."""
    hit: set[str] = set()
    for path in changed:
        hit |= index.get(path, set())
    return hit
