"""Architectural boundaries that keep the project easy to change (see docs/architecture.md).

Every import counts here — at module level, inside a function, or under ``TYPE_CHECKING`` —
because a maintainer has to understand all of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bicep_assets"

# The command-line entry points import the Dagster side of the project inside the commands
# that need it, so `bicep-assets expand` or `bicep-assets arm …` start without loading Dagster.
LAZY_ENTRY_POINTS = {"cli.py", "runs.py"}

# The package's rooms, lowest first: a room imports only rooms before it in this list.
ROOMS = [
    "project",
    "manifest_yaml",
    "models",
    "check_plugins",
    "armlocal",
    "dagster_private",
    "compute_logs",
    "instance",
    "environments",
    "failures",
    "resources",
    "pipeline",
    "triggers",
    "audit",
    "definitions",
    "progress",
    "runs",
    "cli",
]

# armlocal's rooms, lowest first: a room imports only rooms before it in this list.
ARMLOCAL_ROOMS = ["engine", "state", "service", "http", "cli"]


@dataclass(frozen=True)
class Import:
    target: str  # the module imported, absolute
    names: tuple[str, ...]  # for `from X import a, b`: a, b
    line: int
    in_function: bool


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every import statement of a module, relative ones resolved to absolute names."""
    tree = ast.parse(source)
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        inside = id(node) in in_function
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, (), node.lineno, inside)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = tuple(alias.name for alias in node.names)
            yield Import(target, names, node.lineno, inside)


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the project modules it imports (a name imported from a package that is itself
    a submodule counts as that submodule)."""
    files = sorted(root.rglob("*.py"))
    modules = {module_name(path, root): path for path in files}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        for imp in imports_of(source, name, is_package=path.name == "__init__.py"):
            if imp.target not in modules:
                continue
            submodules = {f"{imp.target}.{n}" for n in imp.names} & modules.keys()
            graph[name].update(submodules or {imp.target})
            if len(submodules) < len(imp.names):
                graph[name].add(imp.target)
        graph[name].discard(name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_anywhere_in_the_package() -> None:
    found = circles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_the_circle_finder_sees_a_circle_through_a_function_level_import(
    tmp_path: Path,
) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "a.py").write_text("from .sub import b\n")
    (root / "sub" / "b.py").write_text("def f():\n    from ..c import x\n")
    (root / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import y\n"
    )
    (root / "d.py").write_text("from . import a\n")
    assert circles(import_graph(root)) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", package_files(), ids=_relative)
def test_project_modules_are_imported_at_the_top(path: Path) -> None:
    if _relative(path) in LAZY_ENTRY_POINTS:
        return
    hidden = [
        f"line {imp.line}: {imp.target}"
        for imp in imports_of(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
        if imp.in_function and imp.target.startswith("bicep_assets")
    ]
    assert not hidden, f"{_relative(path)} imports project modules inside functions: {hidden}"


ARMLOCAL_FILES = sorted((PACKAGE / "armlocal").rglob("*.py"))


@pytest.mark.parametrize("path", ARMLOCAL_FILES, ids=_relative)
def test_armlocal_never_imports_dagster(path: Path) -> None:
    dagster = {
        imp.target
        for imp in imports_of(path.read_text(encoding="utf-8"), module_name(path))
        if imp.target.split(".")[0].startswith("dagster")
    }
    assert not dagster, f"{path} imports {sorted(dagster)}; armlocal must stay Dagster-free"


def _top_room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


@pytest.mark.parametrize("path", package_files(), ids=_relative)
def test_rooms_import_only_the_rooms_below_them(path: Path) -> None:
    module = module_name(path)
    room = _top_room(module)
    if room == "":  # bicep_assets/__init__.py
        return
    assert room in ROOMS, f"{room} is a new room: place it in ROOMS (tests/test_boundaries.py)"
    allowed = set(ROOMS[: ROOMS.index(room) + 1])
    wrong = sorted(
        imp.target
        for imp in imports_of(
            path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py"
        )
        if imp.target.startswith("bicep_assets.") and _top_room(imp.target) not in allowed
    )
    assert not wrong, f"{_relative(path)} (room {room!r}) imports {wrong}"


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 or (len(parts) == 3 and parts[2] in ARMLOCAL_ROOMS) else None


@pytest.mark.parametrize("path", ARMLOCAL_FILES, ids=_relative)
def test_armlocal_rooms_import_only_the_rooms_below_them(path: Path) -> None:
    module = module_name(path)
    room = _room(module)
    if room is None:  # armlocal/__init__.py: the public API gathers every room
        return
    allowed = set(ARMLOCAL_ROOMS[: ARMLOCAL_ROOMS.index(room) + 1])
    wrong = sorted(
        imp.target
        for imp in imports_of(
            path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py"
        )
        if imp.target.startswith("bicep_assets.")
        and (
            not imp.target.startswith("bicep_assets.armlocal.") or _room(imp.target) not in allowed
        )
    )
    assert not wrong, f"{_relative(path)} (room {room!r}) imports {wrong}"


@pytest.mark.parametrize(
    "path", [p for p in package_files() if "armlocal" not in p.parts], ids=_relative
)
def test_outside_armlocal_only_its_public_api_and_engine_are_imported(path: Path) -> None:
    private = sorted(
        imp.target
        for imp in imports_of(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
        if imp.target.startswith("bicep_assets.armlocal.")
        and not imp.target.startswith("bicep_assets.armlocal.engine")
    )
    assert not private, (
        f"{_relative(path)} imports {private}; import from bicep_assets.armlocal instead"
    )


def test_the_boundary_tests_see_the_rooms_and_the_imports() -> None:
    names = {module_name(p) for p in ARMLOCAL_FILES}
    for room in ARMLOCAL_ROOMS:
        assert f"bicep_assets.armlocal.{room}" in names
    assert _room("bicep_assets.armlocal.service.behaviors.web") == "service"
    assert _room("bicep_assets.armlocal") is None
    found = list(imports_of("def f():\n    from ..x import y\n", "bicep_assets.pipeline.plan"))
    assert found == [Import("bicep_assets.x", ("y",), 2, True)]
    assert [i.target for i in imports_of("import dagster as dg\n", "m")] == ["dagster"]


# -- one failure hierarchy ------------------------------------------------------------------
FAILURES_MODULE = PACKAGE / "failures" / "hierarchy.py"


def bare_failures(source: str) -> list[int]:
    """The lines that build or subclass Dagster's ``Failure`` itself (``dg.Failure(...)``,
    ``dagster.Failure(...)``, ``Failure(...)`` imported from dagster, ``class X(dg.Failure)``)."""
    tree = ast.parse(source)
    modules: set[str] = set()  # names bound to the dagster module
    classes: set[str] = set()  # names bound to dagster's Failure
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "dagster")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "dagster":
            classes.update(a.asname or a.name for a in node.names if a.name == "Failure")

    def is_failure(expr: ast.expr) -> bool:
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            return expr.attr == "Failure" and expr.value.id in modules
        return isinstance(expr, ast.Name) and expr.id in classes

    lines = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Call) and is_failure(node.func))
        or (isinstance(node, ast.ClassDef) and any(is_failure(b) for b in node.bases))
    ]
    return sorted(lines)


def test_no_bare_dagster_failure_outside_the_hierarchy() -> None:
    found = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != FAILURES_MODULE and (lines := bare_failures(path.read_text(encoding="utf-8")))
    }
    assert found == {}, (
        f"bare dg.Failure at {found}: raise LogicFailure/EnvironmentalFailure or "
        "DeploymentFailure.from_error(error) from bicep_assets.failures"
    )


def test_the_failure_test_sees_every_spelling() -> None:
    assert bare_failures(FAILURES_MODULE.read_text(encoding="utf-8")) != []  # the base class
    assert bare_failures("import dagster as dg\n\nraise dg.Failure('x')\n") == [3]
    assert bare_failures("import dagster\nraise dagster.Failure(description='x')\n") == [2]
    assert bare_failures("from dagster import Failure as F\nclass Mine(F):\n    pass\n") == [2]
    assert bare_failures("from dagster._core.definitions.events import Failure\nFailure()\n") == [2]
    assert (
        bare_failures("import dagster as dg\nraise LogicFailure('x')\nexcept_ = dg.Failure\n") == []
    )


# -- one secrets boundary -------------------------------------------------------------------
OP_MODULES = sorted((PACKAGE / "pipeline").glob("*.py"))


def unscrubbed_exits(source: str) -> list[str]:
    """What leaves an op without its boundary's mask: ``context.log.<level>(…)``,
    ``context.log_event(…)``, ``dg.Output(…)`` / ``Output(…)``, ``dg.AssetMaterialization(…)``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        text = ast.unparse(func)
        if text.startswith("context.log") or text in {
            "dg.Output",
            "Output",
            "dg.AssetMaterialization",
            "AssetMaterialization",
        }:
            found.append(f"{node.lineno}: {text}")
    return found


def test_ops_log_and_return_only_through_their_boundary() -> None:
    """Every value leaving an op passes the run's secret mask: the ops of pipeline/ log,
    return and materialize through ``failure_boundary``'s ``log``, ``output`` and
    ``materialize`` (bicep_assets/failures/hierarchy.py), never through ``context`` directly."""
    found = {
        path.name: lines
        for path in OP_MODULES
        if (lines := unscrubbed_exits(path.read_text(encoding="utf-8")))
    }
    assert found == {}
    assert unscrubbed_exits("context.log.info('x')\nreturn dg.Output(1)\n") == [
        "1: context.log.info",
        "2: dg.Output",
    ]
