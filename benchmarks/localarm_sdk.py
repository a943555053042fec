"""Benchmark: the local ARM through the official SDK over HTTPS on this machine.

Figures: what-if of a 1,000-resource template (target < 2 s), deploying it (target < 3 s),
100 sequential small deployments, and the process's peak memory (RSS).

    .venv/bin/python benchmarks/localarm_sdk.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_expand import generated_template
from machine import machine_description

from bicep_assets.armlocal import LocalArm, LocalArmConfig


def timed(label: str, action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"{label:<48} {elapsed * 1000:8.0f} ms")
    return result, elapsed


def main() -> None:
    print(f"machine: {machine_description()}")
    with LocalArm(config=LocalArmConfig(retry_after=0)) as arm:
        conn = arm.connection
        conn.resource_client().resource_groups.create_or_update(
            "rg-bench", {"location": "westeurope"}
        )
        client = conn.deployments_client(polling_interval=0.05)
        ops = client.deployments
        body = {"properties": {"mode": "Incremental", "template": generated_template(1000)}}

        first, _ = timed(
            "what-if, 1,000 resources (empty group)",
            lambda: ops.begin_what_if("rg-bench", "big", body).result(),
        )
        assert len(first.properties.changes) == 1000
        deployed, _ = timed(
            "deploy, 1,000 resources",
            lambda: ops.begin_create_or_update("rg-bench", "big", body).result(),
        )
        assert deployed.properties.provisioning_state == "Succeeded"
        again, _ = timed(
            "what-if again, 1,000 resources (all exist)",
            lambda: ops.begin_what_if("rg-bench", "big", body).result(),
        )
        assert {c.change_type for c in again.properties.changes} == {"NoChange"}

        small = {"properties": {"mode": "Incremental", "template": generated_template(3)}}

        def sequential() -> None:
            for i in range(100):
                result = ops.begin_create_or_update("rg-bench", f"small{i}", small).result()
                assert result.properties.provisioning_state == "Succeeded"

        _, elapsed = timed("100 sequential small deployments (3 resources)", sequential)
        print(f"{'  per deployment':<48} {elapsed * 10:8.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory (RSS, whole process)':<48} {peak:8.0f} MB")


if __name__ == "__main__":
    main()
