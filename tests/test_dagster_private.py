"""Dagster's private APIs are imported in one module (bicep_assets/dagster_private.py), which
lists each with the versions it was checked against; pyproject.toml pins that range."""

from __future__ import annotations

import ast
import importlib
import re
from importlib.metadata import version
from pathlib import Path

import tomllib

from bicep_assets import dagster_private

PACKAGE = Path(__file__).resolve().parents[1] / "bicep_assets"
PRIVATE = re.compile(r"^(dagster\._|dagster_[a-z]+\.[a-z_]+)")


def private_imports() -> dict[str, set[str]]:
    """{module file: the private Dagster names it imports}."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and PRIVATE.match(node.module):
                names = {alias.name for alias in node.names}
                found.setdefault(str(path.relative_to(PACKAGE.parent)), set()).update(names)
    return found


def test_private_dagster_imports_live_in_one_module() -> None:
    found = private_imports()
    elsewhere = {
        name: module
        for module, names in found.items()
        if module != "bicep_assets/dagster_private.py"
        for name in names
    }
    assert elsewhere == dagster_private.IMPORTED_ELSEWHERE
    listed = set(dagster_private.PRIVATE_APIS)
    assert found["bicep_assets/dagster_private.py"] | set(elsewhere) <= listed


def test_every_listed_api_exists_in_the_installed_dagster() -> None:
    for name, (where, _) in dagster_private.PRIVATE_APIS.items():
        module_name = where.split(" ", 1)[0]
        if "." in name:  # an attribute or method of a storage class
            owner, attribute = name.split(".")
            if attribute.startswith("_") or attribute == "postgres_url":
                continue  # instance attributes: exercised by the audit and storage tests
            module = importlib.import_module(module_name)
            assert hasattr(getattr(module, owner, None) or module, attribute), name
            continue
        assert hasattr(importlib.import_module(module_name), name), name


def test_pyproject_pins_the_range_the_apis_were_checked_against() -> None:
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    pins = {re.split(r"[<>=]", d, maxsplit=1)[0]: d for d in pyproject["project"]["dependencies"]}
    checked = dagster_private.CHECKED_WITH
    assert pins["dagster"] == f"dagster>={checked['dagster']},<1.14"
    assert pins["dagster-postgres"] == f"dagster-postgres>={checked['dagster-postgres']},<0.30"
    assert version("dagster") == checked["dagster"]
    assert version("dagster-postgres") == checked["dagster-postgres"]
