"""Benchmark: writing 1,000 resources to the local ARM's SQLite store (a file, WAL).

Three shapes, each with ``synchronous=NORMAL`` (the default) and ``FULL``:
- one transaction of 1,000 resource puts (a bulk import);
- 1,000 transactions of one put each;
- 1,000 deployment steps, each one transaction: resource + its operation + progress.
Prints the best and median of several runs, in ms, for a fresh file each run.

    .venv/bin/python benchmarks/store_writes.py [--runs 5] [--resources 1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from machine import machine_description

from bicep_assets.armlocal.state.store import ArmStore, deployment_id

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/bench"


def storage_account(index: int) -> dict[str, Any]:
    """A storage account's GET body of a realistic size (~1 kB of JSON)."""
    name = f"stbench{index:05d}"
    return {
        "id": f"{RG}/providers/Microsoft.Storage/storageAccounts/{name}",
        "name": name,
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "location": "westeurope",
        "tags": {"env": "bench", "index": str(index)},
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "kind": "StorageV2",
        "properties": {
            "provisioningState": "Succeeded",
            "minimumTlsVersion": "TLS1_2",
            "supportsHttpsTrafficOnly": True,
            "primaryEndpoints": {
                kind: f"https://{name}.{kind}.core.windows.net/"
                for kind in ("blob", "queue", "table", "file", "dfs", "web")
            },
            "primaryLocation": "westeurope",
            "statusOfPrimary": "available",
            "creationTime": "2026-01-01T00:00:00.0000000Z",
        },
    }


def step_operation(index: int, target: str) -> dict[str, Any]:
    return {
        "id": f"{deployment_id(RG, 'bench')}/operations/{index:016X}",
        "operationId": f"{index:016X}",
        "properties": {
            "provisioningOperation": "Create",
            "provisioningState": "Succeeded",
            "timestamp": "2026-01-01T00:00:00.0000000Z",
            "duration": "PT0.1S",
            "statusCode": "Created",
            "targetResource": {
                "id": target,
                "resourceType": "Microsoft.Storage/storageAccounts",
                "resourceName": target.rsplit("/", 1)[-1],
            },
        },
    }


def one_transaction(store: ArmStore, bodies: list[dict[str, Any]]) -> None:
    with store.transaction():
        for body in bodies:
            store.put_resource(body)


def one_transaction_each(store: ArmStore, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        store.put_resource(body)


def deployment_steps(store: ArmStore, bodies: list[dict[str, Any]]) -> None:
    record = {
        "id": deployment_id(RG, "bench"),
        "name": "bench",
        "properties": {"provisioningState": "Running", "correlationId": "bench"},
    }
    store.put_deployment(RG, "bench", record, {"resources": []})
    for index, body in enumerate(bodies):
        record["properties"]["outputResources"] = [{"id": body["id"]}]
        with store.transaction():
            store.put_resource(body)
            store.put_operation(record["id"], step_operation(index, body["id"]))
            store.update_deployment(RG, "bench", record)


SHAPES: dict[str, Callable[[ArmStore, list[dict[str, Any]]], None]] = {
    "puts in one transaction": one_transaction,
    "puts, one transaction each": one_transaction_each,
    "deployment steps (3 writes each)": deployment_steps,
}


def measure(shape: str, synchronous: Any, resources: int, runs: int) -> tuple[float, float]:
    bodies = [storage_account(i) for i in range(resources)]
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            store = ArmStore(Path(folder) / "arm.db", synchronous=synchronous)
            store.create_or_update_resource_group(SUB, "bench", location="westeurope")
            start = time.perf_counter()
            SHAPES[shape](store, bodies)
            timings.append(time.perf_counter() - start)
            assert len(store.list_resources(SUB, "bench")) == resources
            store.close()
    return min(timings), statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--resources", type=int, default=1000)
    args = parser.parse_args()
    import sqlite3

    print(f"machine: {machine_description()}, SQLite {sqlite3.sqlite_version}")
    for shape in SHAPES:
        for synchronous in ("NORMAL", "FULL"):
            best, median = measure(shape, synchronous, args.resources, args.runs)
            print(
                f"{args.resources} {shape:34s} synchronous={synchronous:6s}: "
                f"best {best * 1000:7.1f} ms, median {median * 1000:7.1f} ms"
            )


if __name__ == "__main__":
    main()
