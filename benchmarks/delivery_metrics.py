"""Benchmark: the delivery metrics over half a year of deployments, and a history to look at.

Makes a project that is a git repository with a commit every few hours over ``--weeks``
weeks (``git fast-import``, committer times spread over the period), runs each scenario of
``benchmarks/audit.py`` once with the real pipeline, and replays ``--runs`` runs shaped like
them over the same weeks through the instance's APIs (as that benchmark does), in three
environments: successes, policy denials (failed deployments, each restored by a later
success), environmental retries and drift plans. Each replayed deployment deploys the newest
commit made at least an hour before it. Then, in this process: the ``audit_refresh`` job in
full (history tables, ``deployed_commits`` reading every successful deployment from git,
``deployment_metrics`` with its chart), one more run and an incremental refresh.

    .venv/bin/python benchmarks/delivery_metrics.py [--runs 520] [--weeks 26] [--home DIR]

``--home DIR`` keeps the DAGSTER_HOME (measured again when it holds a history; its project
is ``DIR/project``): ``bicep-assets ui
--project DIR/project`` with ``DAGSTER_HOME=DIR`` shows the asset ``audit/deployment_metrics``
with its charts (how docs/images/metrics.png was made).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit import SECRET, record_scenarios, replay
from machine import machine_description

from bicep_assets.audit.definitions import audit_definitions

ENVIRONMENTS = ("dev", "staging", "prod")
WEEK_S = 7 * 24 * 3600.0
# the mix of the history: mostly successes, a denial now and then, drift plans
MIX = ["ok"] * 14 + ["policy"] * 2 + ["retry"] * 2 + ["plan"] * 2


def make_commits(project: Path, start: float, end: float) -> list[tuple[float, str]]:
    """A commit every 2 to 10 hours between ``start`` and ``end``: (committer time, sha)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(project)], check=True)
    stream, times, moment, index = [], [], start, 0
    while moment < end:
        index += 1
        stamp = int(moment)
        message = f"change {index}\n"
        content = f"{index}\n"
        stream.append(
            f"commit refs/heads/main\nmark :{index}\n"
            f"committer Bench <bench@example.test> {stamp} +0000\n"
            f"data {len(message)}\n{message}"
            f"M 644 inline CHANGES\ndata {len(content)}\n{content}\n"
        )
        times.append(stamp)
        moment += random.uniform(2, 10) * 3600
    marks = project / ".git" / "bench-marks"
    subprocess.run(
        ["git", "-C", str(project), "fast-import", "--quiet", f"--export-marks={marks}"],
        input="".join(stream), text=True, check=True,
    )  # fmt: skip
    shas = dict(line.split() for line in marks.read_text().splitlines())
    return [(t, shas[f":{i + 1}"]) for i, t in enumerate(times)]


def generate(home: Path, runs: int, weeks: int) -> None:
    random.seed(15)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    project = home / "project"
    scenarios = record_scenarios(project)
    (home / "scenarios.pickle").write_bytes(pickle.dumps(scenarios))
    end = time.time() - 3600
    start = end - weeks * WEEK_S
    commits = make_commits(project, start - 86400, end)
    started = time.perf_counter()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        pending_failure: dict[str, bool] = {}
        for i in range(runs):
            env = ENVIRONMENTS[i % len(ENVIRONMENTS)]
            moment = start + (i + random.random()) * (end - start) / runs
            name = "ok" if pending_failure.get(env) else random.choice(MIX)
            pending_failure[env] = name == "policy"
            made = [sha for t, sha in commits if t <= moment - 3600] or [commits[0][1]]
            replay(instance, scenarios[name], env, moment, made[-1])
    print(
        f"generated {runs} runs over {weeks} weeks ({len(commits)} commits) "
        f"in {time.perf_counter() - started:.0f} s"
    )


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds per step, by the asset's name (step keys are ``audit__<table>``)."""
    return {
        s.step_key.rsplit("__", 1)[-1]: (s.end_time or 0) - (s.start_time or 0)
        for s in instance.get_run_step_stats(run_id)
    }


def measure(home: Path) -> None:
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["BENCH_APP_SECRET"] = SECRET
    project = home / "project"
    for stale in home.glob("deployment_history.duckdb*"):
        stale.unlink()  # a full refresh of every table, deployed_commits included
    with dg.DagsterInstance.from_config(str(home)) as instance:
        job = audit_definitions(project_dir=project).resolve_job_def("audit_refresh")

        def refresh(full: bool) -> tuple[float, dict[str, float]]:
            config = {"ops": {"deployment_history": {"config": {"full_rebuild": full}}}}
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance, run_config=config)
            assert result.success
            return time.perf_counter() - started, step_seconds(instance, result.run_id)

        full, full_steps = refresh(True)
        sha = subprocess.run(
            ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        scenarios = pickle.loads((home / "scenarios.pickle").read_bytes())
        replay(instance, scenarios["ok"], "prod", time.time(), sha)
        incremental, steps = refresh(False)
    chart = home / "deployment_metrics.png"
    with duckdb.connect(str(home / "deployment_history.duckdb"), read_only=True) as connection:
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM audit.deployment_runs), "
            "(SELECT count(*) FROM audit.deployed_commits), "
            "(SELECT count(*) FROM audit.deployment_metrics)"
        ).fetchall()[0]
    print(f"machine: {machine_description()}")
    print(f"history: {counts[0]} runs; {counts[1]} deployed_commits rows; {counts[2]} metric rows")
    print(
        f"full refresh: audit_refresh job {full:.2f} s; deployed_commits step "
        f"{full_steps.get('deployed_commits', float('nan')):.2f} s (git, every successful "
        f"deployment), deployment_metrics step {full_steps.get('deployment_metrics', 0):.2f} s "
        "(metrics and chart)"
    )
    print(
        f"one new run: audit_refresh job {incremental:.2f} s; deployed_commits step "
        f"{steps.get('deployed_commits', 0):.2f} s, deployment_metrics step "
        f"{steps.get('deployment_metrics', 0):.2f} s"
    )
    print(f"chart: {chart} ({chart.stat().st_size / 1000:.0f} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=520)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--home", type=Path, help="DAGSTER_HOME to make (must not exist)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="metrics-bench-")) / "home"
    if (home / "scenarios.pickle").exists():
        print(f"{home}: measuring the history made before")
    elif home.exists() and any(home.iterdir()):
        sys.exit(f"{home} exists and holds no complete history: give a new folder")
    else:
        generate(home, args.runs, args.weeks)
    measure(home)


if __name__ == "__main__":
    main()
