"""Architectural boundaries that keep the project easy to change (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bicep_assets"


def imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


ARMLOCAL_FILES = sorted((PACKAGE / "armlocal").rglob("*.py"))


@pytest.mark.parametrize(
    "path", ARMLOCAL_FILES, ids=[str(p.relative_to(PACKAGE)) for p in ARMLOCAL_FILES]
)
def test_armlocal_never_imports_dagster(path: Path) -> None:
    dagster = {
        m
        for m in imported_modules(path.read_text(encoding="utf-8"))
        if m.split(".")[0].startswith("dagster")
    }
    assert not dagster, f"{path} imports {sorted(dagster)}; armlocal must stay Dagster-free"


def test_the_boundary_test_sees_the_engine_and_dagster_imports() -> None:
    assert any(p.name == "evaluator.py" for p in ARMLOCAL_FILES)
    assert "dagster" in imported_modules("import dagster as dg\n")
    assert "dagster._core" in imported_modules("from dagster._core import x\n")
