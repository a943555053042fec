"""How long one tick of the push sensor takes: 500 new commits, 50 environments.

Generates a deployment repository with ``git fast-import`` (50 manifests, each with its own
Bicep template that pulls in a shared module, an own module, a type import and a text file;
then 500 commits changing one to three files each: environment files, the shared module,
docs), checks it out, and evaluates the real ``deploy_on_push`` sensor with a real Dagster
instance and the cursor at the first commit. Each tick reads the history, works out every
environment's files at the head, requests the newest commit per environment and checks the
project folder matches. Prints the best and median of 5 ticks with the machine.
Target: <= 1 s.

    .venv/bin/python benchmarks/push_sensor.py [--environments 50] [--commits 500]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
from machine import machine_description

from bicep_assets.definitions import build_definitions
from bicep_assets.triggers import GitRepository

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def _environment_files(name: str) -> dict[str, str]:
    manifest = (
        f"template: ../infra/{name}.bicep\n"
        f"parameters_file: {name}.parameters.json\n"
        f"scope: {{resource_group: rg-{name}, location: westeurope}}\n"
        "triggers: {deploy_on_push: true}\n"
    )
    template = (
        "import {siteConfig} from 'types.bicep'\n"
        "module shared 'modules/shared.bicep' = { name: 'shared' }\n"
        f"module app 'modules/{name}-app.bicep' = {{ name: 'app' }}\n"
    )
    return {
        f"parameters/{name}.yaml": manifest,
        f"parameters/{name}.parameters.json": json.dumps({"size": {"value": 1}}),
        f"infra/{name}.bicep": template,
        f"infra/modules/{name}-app.bicep": f"var s = loadTextContent('../../files/{name}.sh')\n",
        f"files/{name}.sh": "echo 0\n",
    }


def _changeable(name: str) -> list[str]:
    return [
        f"parameters/{name}.parameters.json",
        f"infra/modules/{name}-app.bicep",
        f"files/{name}.sh",
    ]


def generated_repository(
    root: Path, *, environments: int, commits: int, seed: int = 7
) -> tuple[str, str, dict[str, str]]:
    """A checked-out repository at ``root``: (first commit, head, {env: newest commit that
    changed it}) — what one tick from the first commit must request."""
    names = [f"env{i:02d}" for i in range(environments)]
    files: dict[str, str] = {
        "infra/types.bicep": "@export()\ntype siteConfig = { alwaysOn: bool }\n",
        "infra/modules/shared.bicep": "param location string = resourceGroup().location\n",
        "README.md": "# deployments\n",
    }
    for name in names:
        files.update(_environment_files(name))
    rng = random.Random(seed)
    stream: list[bytes] = []
    touched: list[set[str]] = []  # per commit mark - 1: environments it changed

    def commit(mark: int, changes: dict[str, str], parent: int | None) -> None:
        lines = [
            "commit refs/heads/main",
            f"mark :{mark}",
            f"committer Bench <bench@example.com> {1_700_000_000 + mark} +0000",
            "data 8",
            f"c{mark:06d}",
        ]
        if parent is not None:
            lines.append(f"from :{parent}")
        body = "\n".join(lines).encode() + b"\n"
        for path, text in changes.items():
            data = text.encode()
            body += f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"
        stream.append(body + b"\n")

    commit(1, files, None)
    touched.append(set(names))
    for index in range(commits):
        mark = index + 2
        roll = rng.random()
        changes: dict[str, str] = {}
        hit: set[str] = set()
        if roll < 0.02:
            changes["infra/modules/shared.bicep"] = f"// {index}\nparam location string\n"
            hit = set(names)
        elif roll < 0.15:
            changes[f"docs/note-{index % 17}.md"] = f"note {index}\n"
        else:
            for name in rng.sample(names, rng.randint(1, 3)):
                path = rng.choice(_changeable(name))
                changes[path] = f"// change {index}\n"  # references kept: same files
                if path.endswith(".json"):
                    changes[path] = json.dumps({"size": {"value": index}})
                elif path.endswith(".bicep"):
                    changes[path] += _environment_files(name)[path]
                hit.add(name)
        commit(mark, changes, mark - 1)
        touched.append(hit)

    root.mkdir(parents=True)
    run = {"cwd": root, "check": True, "capture_output": True, "env": GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], **run)
    marks = root / ".git" / "bench-marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        input=b"".join(stream),
        **run,
    )
    subprocess.run(["git", "checkout", "-q", "-f", "main"], **run)
    sha_of = {}
    for line in marks.read_text().splitlines():
        mark, sha = line.split()
        sha_of[int(mark[1:])] = sha
    newest: dict[str, str] = {}
    for mark in range(len(touched), 1, -1):  # newest first, the first commit excluded
        for name in touched[mark - 1]:
            newest.setdefault(name, sha_of[mark])
    return sha_of[1], sha_of[len(touched)], newest


def measure(environments: int = 50, commits: int = 500, runs: int = 5) -> tuple[list[float], int]:
    """Seconds per tick (``runs`` ticks over the same commits) and the runs requested."""
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp:
        root = Path(tmp) / "deployments"
        first, head, newest = generated_repository(root, environments=environments, commits=commits)
        definitions = build_definitions(root)
        sensor = definitions.resolve_sensor_def("deploy_on_push")
        home = Path(tmp) / "home"
        home.mkdir()
        cursor = json.dumps({"main": first})
        times: list[float] = []
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            for _ in range(runs):
                context = dg.build_sensor_context(
                    instance=instance,
                    cursor=cursor,
                    resources={"git_repository": GitRepository(url=str(root))},
                )
                context.log.setLevel(logging.WARNING)  # not the tick's 50 "deploy …" lines
                started = time.perf_counter()
                result = sensor.evaluate_tick(context)
                times.append(time.perf_counter() - started)
                requested = {r.run_key for r in result.run_requests}
                expected = {f"{env}:{sha}" for env, sha in newest.items()}
                assert requested == expected, sorted(requested ^ expected)[:5]
                assert json.loads(result.cursor) == {"main": head}
        return times, len(requested)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=50)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    times, requested = measure(args.environments, args.commits, args.runs)
    print(f"machine: {machine_description()}")
    print(
        f"push sensor tick: {args.commits} new commits, {args.environments} environments, "
        f"{requested} runs requested: best {min(times) * 1000:.0f} ms, "
        f"median {statistics.median(times) * 1000:.0f} ms (target <= 1000 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
