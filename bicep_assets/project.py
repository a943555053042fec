"""Where the project is: the folder holding ``parameters/`` (and dagster.yaml, infra/)."""

from __future__ import annotations

from pathlib import Path


def find_project_dir(start: Path | None = None) -> Path:
    """The working directory or the nearest parent with ``parameters/``, else the checkout
    this package lives in."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "parameters").is_dir():
            return folder
    return Path(__file__).resolve().parents[1]
