"""The exit-code table of docs/operations.md, row by row: each row's situation is produced
for real and ``bicep-assets`` (a process of its own: tests/cli_helpers.py) must exit with the
code the row says, without a traceback."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from tests.cli_helpers import run_bicep_assets
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("bicep-assets"))
DOC = REPO / "docs" / "operations.md"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def exit_code_rows() -> list[tuple[int, str]]:
    """(code, "when" cell) of every row of the table under "### Exit codes"."""
    text = DOC.read_text(encoding="utf-8").split("### Exit codes", 1)[1]
    rows = []
    for line in text.splitlines():
        match = re.match(r"^\| (\d+) \| (.+?) \| .*\|$", line)
        if match:
            rows.append((int(match[1]), match[2]))
        elif rows and not line.startswith("|"):
            break
    return rows


class Setup:
    """A project (the shipped example) and a DAGSTER_HOME in a temporary folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.project = tmp_path / "project"
        for item in ("infra", "parameters"):
            shutil.copytree(REPO / item, self.project / item)
        shutil.copyfile(REPO / "dagster.yaml", self.project / "dagster.yaml")
        self.home = tmp_path / "home"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "DEV_APP_SECRET": "exit-codes-test-secret",
        }

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``bicep-assets ARGS`` as a process of its own, with the variables of ``env`` too."""
        return run_bicep_assets(list(args), cwd=self.project, env={**self.env(), **env})

    def write(self, relative: str, text: str) -> Path:
        path = self.project / relative
        path.write_text(text, encoding="utf-8")
        return path

    def hold_lock(self, environment: str) -> int:
        """Hold the per-environment lock a CLI deploy takes, as a running deploy would."""
        locks = self.home / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(locks / f"{environment}.lock", os.O_CREAT | os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd


def _lint_fails(s: Setup) -> subprocess.CompletedProcess[str]:
    outputs = {"x": {"type": "string", "value": "[parameters('nope')]"}}
    body = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": [], "outputs": outputs}
    s.write("infra/lint.json", json.dumps(body))
    s.write(
        "parameters/lint.yaml",
        "template: ../infra/lint.json\nscope: {resource_group: rg-lint, location: westeurope}\n",
    )
    return s.run("plan", "lint")


def _busy(s: Setup) -> subprocess.CompletedProcess[str]:
    fd = s.hold_lock("dev")
    try:
        return s.run("deploy", "dev", "--wait-timeout", "0")
    finally:
        os.close(fd)


def _arm_error(s: Setup) -> subprocess.CompletedProcess[str]:
    return s.run("arm", "--state", str(s.tmp / "arm.sqlite"), "group", "show", "-n", "missing")


def _engine_refuses(s: Setup) -> subprocess.CompletedProcess[str]:
    body = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {"count": {"type": "int"}},
        "resources": [],
    }
    path = s.write("infra/count.json", json.dumps(body))
    return s.run("expand", "-f", str(path), "-p", "count=abc")


def _unreachable(s: Setup) -> subprocess.CompletedProcess[str]:
    ca = s.write("ca.pem", "")
    endpoint = f"https://127.0.0.1:{free_port()}"
    return s.run(
        "arm", "--endpoint", endpoint, "--token", "t", "--ca-file", str(ca), "group", "list"
    )


def _broken_manifest(s: Setup) -> subprocess.CompletedProcess[str]:
    manifest = s.project / "parameters" / "dev.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("mode: Incremental", "modee: Incremental"),
        encoding="utf-8",
    )
    return s.run("plan", "dev")


def _unusable_file(s: Setup) -> subprocess.CompletedProcess[str]:
    notes = s.write("notes.txt", "some notes")
    return s.run("arm", "--state", str(notes), "group", "list")


def _bug(s: Setup) -> subprocess.CompletedProcess[str]:
    """A bug planted in the real CLI process: nothing else reaches this path on purpose."""
    program = (
        "import sys\nimport bicep_assets.cli as cli\n"
        "def broken(args):\n    raise KeyError('planted')\n"
        "cli._expand = broken\nsys.exit(cli.main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program, "expand", "-f", "main.json"],
        cwd=s.project,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _interrupted(s: Setup) -> subprocess.CompletedProcess[str]:
    """Ctrl-C while a deploy waits for the environment (SIGINT, as a terminal sends it)."""
    fd = s.hold_lock("dev")
    try:
        process = subprocess.Popen(
            [CLI, "deploy", "dev", "--wait-timeout", "300"],
            cwd=s.project,
            env=s.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        line = process.stderr.readline()  # it says that it waits (progress: on stderr)
        assert line == "waiting: another bicep-assets deploy of dev is running\n", line
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, line + stderr)
    finally:
        os.close(fd)


def _short_secret(s: Setup) -> subprocess.CompletedProcess[str]:
    return s.run("plan", "dev", DEV_APP_SECRET="short")


def _with_postgres_url(s: Setup, url: str) -> subprocess.CompletedProcess[str]:
    return s.run("plan", "dev", BICEP_ASSETS_POSTGRES_URL=url)


SCENARIOS: dict[str, Callable[[Setup], subprocess.CompletedProcess[str]]] = {
    "it did what was asked": lambda s: s.run("plan", "dev"),
    "a run failed (lint, plan, gate, deploy or verify); the run is in the history": _lint_fails,
    "another run of the environment was still in progress at `--wait-timeout`": _busy,
    'ARM answered with an error (`arm` prints it as `{"error": …}`)': _arm_error,
    "the template engine refused the template (`expand` prints ARM's error)": _engine_refuses,
    "a running local ARM could not be reached: about the moment, so try again": _unreachable,
    "the PostgreSQL server of `BICEP_ASSETS_POSTGRES_URL` could not be reached, or stopped "
    "answering during the command": (
        lambda s: _with_postgres_url(s, f"postgresql://u:p@127.0.0.1:{free_port()}/db")
    ),
    "`BICEP_ASSETS_POSTGRES_URL` wrong: not a PostgreSQL URL, user or password refused, no such "
    "database, or set beside a storage the project's `dagster.yaml` chooses ([Running it for a "
    "team](#running-it-for-a-team))": lambda s: _with_postgres_url(s, "mysql://x"),
    "a command line argparse refuses (usage)": lambda s: s.run("deploy"),
    "no such environment": lambda s: s.run("deploy", "staging"),
    "a manifest that does not load": _broken_manifest,
    "a `--param` the template refuses, or a secure parameter's environment variable not set": (
        lambda s: s.run("plan", "dev", "--param", "appServiceSku=Huge")
    ),
    "a secure parameter's value shorter than 8 characters: too short to be masked": (_short_secret),
    "an input file that cannot be used: template, parameters, fault plan, `--state`": (
        _unusable_file
    ),
    "a folder that cannot be used: `--project`, `DAGSTER_HOME`, or its `dagster.yaml`": (
        lambda s: s.run("deploy", "dev", "--project", str(s.tmp / "nowhere"))
    ),
    "`emulator serve` cannot listen on `--host` / `--port`": (
        lambda s: s.run("emulator", "serve", "--host", "not a host")
    ),
    (
        "`emulator az-env` given an endpoint that is not an `https://host:port` base URL, an "
        "empty token, or a CA file that cannot be read or holds no certificate"
    ): lambda s: s.run(
        "emulator",
        "az-env",
        "--endpoint",
        "http://x",
        "--token",
        "t",
        "--ca-file",
        str(s.tmp / "ca.pem"),
    ),
    "`audit export` finds no such run or environment": (
        lambda s: s.run("audit", "export", "--env", "staging")
    ),
    "an unexpected error — a bug in bicep-assets: one line says so and suggests `--debug`": _bug,
    "interrupted (Ctrl-C)": _interrupted,
    "`apply --plan` given something that is not a plan id (a run id: 36 characters), or a "
    "plan the environment cannot apply: not saved in `DAGSTER_HOME`, another environment's, "
    "older than `max_plan_age`; `deploy` of an environment that requires an approved plan": (
        lambda s: s.run("apply", "dev", "--plan", "0f8c2c4e-5b1a-4e8e-9a8e-3c1f2d4b5a6c")
    ),
}


def test_every_row_has_a_scenario() -> None:
    assert sorted(when for _, when in exit_code_rows()) == sorted(SCENARIOS)


@pytest.mark.parametrize(("code", "when"), exit_code_rows(), ids=lambda v: str(v)[:40])
def test_the_documented_exit_code(code: int, when: str, tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    done = SCENARIOS[when](setup)
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    if code in (2, 3):  # mistakes and bugs: one line, nothing on stdout
        assert done.stdout == "" and done.stderr.startswith(("error: ", "usage: "))
        if setup.home.exists():  # refused before any run was created
            with dg.DagsterInstance.from_config(str(setup.home)) as instance:
                assert instance.get_runs() == []
    if code == 130:
        assert done.stderr.endswith("interrupted\n")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ctrl_c_on_a_terminal_during_a_step_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """Ctrl-C as a terminal sends it — SIGINT to the whole foreground process group — while
    the deploy step waits on ARM. Dagster's compute-log helpers (``tail -F`` and a Python
    watcher per stream) are in that group: they ignore it (bicep_assets/compute_logs.py), so
    the one line of an interrupted run is all the terminal gets, and they are gone after."""
    setup = Setup(tmp_path)
    arm = LocalArm(config=LocalArmConfig(resource_delay_s=1.0, retry_after=0)).start()
    try:
        env = {
            **setup.env(),
            "BICEP_ASSETS_LOCAL_ARM_ENDPOINT": arm.base_url,
            "BICEP_ASSETS_LOCAL_ARM_TOKEN": arm.config.token,
            "BICEP_ASSETS_LOCAL_ARM_CA_FILE": str(arm.ca_file),
        }
        process = subprocess.Popen(
            [CLI, "deploy", "dev"],
            cwd=setup.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own group, as a terminal's foreground job
        )
        assert process.stderr is not None
        lines = []
        while not (line := process.stderr.readline()).startswith("deploy  Create "):
            assert line, "".join(lines)  # the command ended before deploy created a resource
            lines.append(line)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        arm.stop()
    stderr = "".join(lines) + line + stderr
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    assert "Traceback" not in stdout
    assert stderr.splitlines()[-1].startswith("interrupted (Ctrl-C): deploy_dev stopped after ")
    with pytest.raises(ProcessLookupError):  # nothing of the group is left
        for _ in range(100):
            os.killpg(process.pid, 0)
            time.sleep(0.05)
    # the step's output was still captured where Dagster keeps it
    assert list((setup.home / "storage").glob("*/compute_logs/*.err"))
