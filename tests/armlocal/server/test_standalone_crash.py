"""The standalone server (``bicep-assets emulator serve``) killed with SIGKILL during a
deployment: restarted on the same state file, the store is consistent and the deployment
is reported as failed (interrupted) — never half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bicep_assets.armlocal import LocalArmConnection

from .conftest import deploy_body, storage, template


def serve(state: Path, cert_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bicep_assets.cli",
            "emulator",
            "serve",
            "--state",
            str(state),
            "--cert-dir",
            str(cert_dir),
            "--token",
            "crash-test-token",
            "--retry-after",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    return process, json.loads(line)


def connect(info: dict[str, Any]) -> LocalArmConnection:
    return LocalArmConnection(
        info["base_url"], info["token"], info["ca_file"], info["subscription_id"]
    )


def test_kill_9_during_a_deployment_then_restart(tmp_path: Path) -> None:
    state = tmp_path / "arm.sqlite"
    process, info = serve(state, tmp_path / "certs1", "--resource-delay", "0.25")
    try:
        conn = connect(info)
        conn.resource_client().resource_groups.create_or_update("rg", {"location": "westeurope"})
        client = conn.deployments_client()
        client.deployments.begin_create_or_update(
            "rg", "big", deploy_body(template([storage(f"stk{i}") for i in range(12)]))
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = [
                o
                for o in client.deployment_operations.list("rg", "big")
                if o.properties.provisioning_state == "Succeeded"
            ]
            if len(done) >= 3:
                break
            time.sleep(0.05)
        assert len(done) >= 3
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    process, info = serve(state, tmp_path / "certs2")
    try:
        conn = connect(info)
        client = conn.deployments_client()
        record = client.deployments.get("rg", "big")
        assert record.properties.provisioning_state == "Failed"
        assert record.properties.error.code == "DeploymentInterrupted"
        operations = list(client.deployment_operations.list("rg", "big"))
        assert all(o.properties.provisioning_state in ("Succeeded", "Failed") for o in operations)
        succeeded = {
            o.properties.target_resource.id.lower()
            for o in operations
            if o.properties.provisioning_state == "Succeeded"
        }
        stored = list(conn.resource_client().resources.list_by_resource_group("rg"))
        # every resource ARM says it deployed is there, complete; nothing else is
        assert {r.id.lower() for r in stored} == succeeded
        assert all(r.properties["provisioningState"] == "Succeeded" for r in stored)
        assert 3 <= len(stored) < 12
        # and the store takes new work
        again = client.deployments.begin_create_or_update(
            "rg", "big", deploy_body(template([storage("after")]))
        ).result()
        assert again.properties.provisioning_state == "Succeeded"
    finally:
        process.terminate()
        process.wait(timeout=10)
