"""Benchmark: the official Azure CLI against ``bicep-assets arm``, side by side, on one running
``bicep-assets emulator serve`` (default ``Retry-After: 1``, as a user runs it).

For the example template (``infra/main.json``): ``deployment group what-if`` and
``deployment group create``, each the median of several runs, both as separate processes
(start-up included, as a user types them). The target: az at most 1.3 times ``bicep-assets arm``.

    .venv/bin/python benchmarks/az_vs_arm.py [--runs 5] [--az PATH]

az comes from ``BICEP_ASSETS_AZ``, ``--az``, or the tests' cache (installed on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from machine import machine_description  # noqa: E402

from tests.interop.az_cli import az_executable  # noqa: E402

TOKEN = "az-vs-arm-benchmark-token"
PARAMS = ["environmentName=dev", "appSecret=Benchmark-Secret-Value-1"]


def _run(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(command)}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--az", type=Path, default=None)
    args = parser.parse_args()
    az = str(args.az or az_executable())
    cli = str(Path(sys.executable).with_name("bicep-assets"))
    print(f"machine: {machine_description()}")
    with tempfile.TemporaryDirectory() as work:
        server = subprocess.Popen(
            [cli, "emulator", "serve", "--token", TOKEN, "--cert-dir", work],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            described = json.loads(server.stdout.readline())
            base, ca = described["base_url"], described["ca_file"]
            exports = subprocess.run(
                [cli, "emulator", "az-env", "--endpoint", base, "--token", TOKEN, "--ca-file", ca],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_"))}
            for line in exports.splitlines():
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = shlex.split(value)[0]
            _run([az, "login", "--identity", "-o", "none"], env)
            _run([az, "group", "create", "-n", "rg-az", "-l", "westeurope", "-o", "none"], env)
            arm = [cli, "arm", "--endpoint", base, "--token", TOKEN, "--ca-file", ca]
            _run([*arm, "group", "create", "-n", "rg-arm", "-l", "westeurope"])
            template = str(ROOT / "infra" / "main.json")
            az_params = ["-p", *PARAMS]
            arm_params = [x for p in PARAMS for x in ("-p", p)]
            cases = {
                "deployment group what-if": (
                    [
                        az,
                        "deployment",
                        "group",
                        "what-if",
                        "-g",
                        "rg-az",
                        "-f",
                        template,
                        *az_params,
                        "--no-pretty-print",
                        "-o",
                        "none",
                    ],
                    [
                        *arm,
                        "-o",
                        "json",
                        "deployment",
                        "group",
                        "what-if",
                        "-g",
                        "rg-arm",
                        "-f",
                        template,
                        *arm_params,
                    ],
                ),
                "deployment group create": (
                    [
                        az,
                        "deployment",
                        "group",
                        "create",
                        "-g",
                        "rg-az",
                        "-f",
                        template,
                        *az_params,
                        "-n",
                        "bench",
                        "-o",
                        "none",
                    ],
                    [
                        *arm,
                        "-o",
                        "json",
                        "deployment",
                        "group",
                        "create",
                        "-g",
                        "rg-arm",
                        "-f",
                        template,
                        "-n",
                        "bench",
                        *arm_params,
                    ],
                ),
            }
            print(
                f"{'operation (median of ' + str(args.runs) + ')':<34} {'az':>8} "
                f"{'arm':>8} {'az/arm':>7}"
            )
            for label, (az_command, arm_command) in cases.items():
                az_times = [_run(az_command, env) for _ in range(args.runs)]
                arm_times = [_run(arm_command) for _ in range(args.runs)]
                az_median, arm_median = statistics.median(az_times), statistics.median(arm_times)
                print(
                    f"{label:<34} {az_median:7.2f}s {arm_median:7.2f}s "
                    f"{az_median / arm_median:6.2f}x"
                )
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
