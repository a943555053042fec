"""Three ``bicep-assets emulator serve`` processes on one state file, through the SDK.

A runs a slow deployment; B starting on the same file leaves it alone, reports it Running
and refuses to start it again (``DeploymentActive``); of two racing PUTs of one name, one
in A and one in B, exactly one starts. Then A is killed mid-deployment: C starting on the
file marks A's deployment interrupted, and leaves B's running deployment alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .server.conftest import deploy_body, storage, template
from .server.test_standalone_crash import connect, serve

DELAY = "0.3"  # seconds per resource: long enough to act while a deployment runs
SLOW = 25  # resources: ~7.5 s, several times what starting another emulator takes
ENDLESS = 1000  # resources: ~5 min; canceled once the test has seen what it needs


@pytest.fixture
def emulators() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def start(
    emulators: list[subprocess.Popen[str]], state: Path, certs: Path
) -> tuple[subprocess.Popen[str], Any]:
    """An emulator on ``state``, and an SDK deployments client connected to it."""
    process, info = serve(state, certs, "--resource-delay", DELAY)
    emulators.append(process)
    connection = connect(info)
    connection.resource_client().resource_groups.create_or_update("rg", {"location": "westeurope"})
    return process, connection.deployments_client()


def slow(prefix: str, count: int) -> dict[str, Any]:
    return deploy_body(template([storage(f"{prefix}{i}") for i in range(count)]))


def wait_for_operations(client: Any, name: str, done: int) -> None:
    """Until deployment ``name`` has at least ``done`` Succeeded operations."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [
            o.properties.provisioning_state for o in client.deployment_operations.list("rg", name)
        ]
        if states.count("Succeeded") >= done:
            return
        time.sleep(0.05)
    pytest.fail(f"deployment {name!r} did not reach {done} finished operations")


def state_of(client: Any, name: str) -> str:
    state = client.deployments.get("rg", name).properties.provisioning_state
    return str(getattr(state, "value", state))  # the SDK's enum, or a string it does not know


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_emulators_sharing_a_state_file(
    tmp_path: Path, emulators: list[subprocess.Popen[str]]
) -> None:
    state = tmp_path / "arm.sqlite"
    process_a, a = start(emulators, state, tmp_path / "certs-a")
    running = a.deployments.begin_create_or_update("rg", "slow", slow("slow", SLOW))
    wait_for_operations(a, "slow", 1)

    # B starts while A deploys: A's deployment is A's, alive, and stays Running
    _, b = start(emulators, state, tmp_path / "certs-b")
    assert state_of(b, "slow") == "Running"
    with pytest.raises(HttpResponseError) as refused:
        b.deployments.begin_create_or_update("rg", "slow", slow("other", 1))
    assert refused.value.status_code == 409
    assert refused.value.error.code == "DeploymentActive"
    assert refused.value.error.message.startswith(
        "Unable to edit or replace deployment 'slow': previous deployment from '"
    )
    assert running.result().properties.provisioning_state == "Succeeded"
    assert state_of(b, "slow") == "Succeeded"
    operations = list(b.deployment_operations.list("rg", "slow"))
    assert [o.properties.provisioning_state for o in operations] == ["Succeeded"] * SLOW

    # a PUT of one name in A and one in B at once: exactly one starts
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def race(client: Any) -> None:
        barrier.wait()
        try:
            client.deployments.begin_create_or_update("rg", "race", slow("race", 6))
            outcomes.append("accepted")
        except HttpResponseError as exc:
            outcomes.append(str(exc.error.code))

    racers = [threading.Thread(target=race, args=(client,)) for client in (a, b)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert sorted(outcomes) == ["DeploymentActive", "accepted"]
    wait_for_operations(a, "race", 6)
    assert len(list(a.deployment_operations.list("rg", "race"))) == 6  # one run, not two

    # A dies mid-deployment while B runs one of its own; C starts on the file
    a.deployments.begin_create_or_update("rg", "doomed", slow("doomed", 12))
    b.deployments.begin_create_or_update("rg", "b-own", slow("bown", ENDLESS))
    wait_for_operations(a, "doomed", 2)
    wait_for_operations(b, "b-own", 1)
    os.kill(process_a.pid, signal.SIGKILL)
    process_a.wait(timeout=30)
    _, c = start(emulators, state, tmp_path / "certs-c")

    record = c.deployments.get("rg", "doomed")
    assert record.properties.provisioning_state == "Failed"
    assert record.properties.error.code == "DeploymentInterrupted"
    assert f"(pid {process_a.pid} on " in record.properties.error.message
    assert state_of(b, "doomed") == "Failed"  # one state, whoever reads it
    assert state_of(c, "b-own") == "Running"  # B is alive: its deployment is left alone
    b.deployments.cancel("rg", "b-own")
    deadline = time.monotonic() + 60
    while state_of(c, "b-own") == "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state_of(c, "b-own") == "Canceled"  # B went on running it until told to stop
    again = c.deployments.begin_create_or_update("rg", "doomed", slow("again", 1)).result()
    assert again.properties.provisioning_state == "Succeeded"
