"""Benchmark: expanding generated templates of 1,000 and 2,000 resources.

Each template has storage accounts in copy loops (400 per loop), an app service plan and
web apps chained by dependsOn, ~5 expressions per resource (names, locations, tags,
properties, resourceId dependencies). Prints the expression count, the best and median of
several runs, and the 2,000/1,000 ratio (target: 1,000 resources < 1 s, ratio <= 2.2).

    .venv/bin/python benchmarks/engine_expand.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from machine import machine_description

from bicep_assets.armlocal.engine import expand
from bicep_assets.armlocal.engine.expressions import is_expression

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
LOOP = 400
PLAN_ID = "[resourceId('Microsoft.Web/serverfarms', variables('planName'))]"
STORAGE_NAME = f"[format('st{{0}}0x{{1}}', parameters('prefix'), mod(copyIndex(), {LOOP}))]"


def generated_template(resources: int) -> dict[str, Any]:
    """A template with exactly ``resources`` resources: half storage (copy loops), half a
    dependsOn chain of web apps (copy loops, serial batches) on one plan."""
    storage = resources // 2
    sites = resources - storage - 1
    declared: list[dict[str, Any]] = [
        {
            "type": "Microsoft.Web/serverfarms",
            "apiVersion": "2022-09-01",
            "name": "[variables('planName')]",
            "location": "[parameters('location')]",
            "sku": {"name": "P1v3"},
        }
    ]
    for loop, start in enumerate(range(0, storage, LOOP)):
        count = min(LOOP, storage - start)
        declared.append(
            {
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2023-01-01",
                "name": f"[format('st{{0}}{loop}x{{1}}', parameters('prefix'), copyIndex())]",
                "location": "[parameters('location')]",
                "copy": {"name": f"storage{loop}", "count": count},
                "sku": {
                    "name": "[if(equals(mod(copyIndex(), 2), 0), 'Standard_LRS', 'Standard_ZRS')]"
                },
                "kind": "StorageV2",
                "tags": "[union(variables('tags'), createObject('index', string(copyIndex())))]",
                "properties": {
                    "minimumTlsVersion": "TLS1_2",
                    "supportsHttpsTrafficOnly": "[not(empty(parameters('prefix')))]",
                },
            }
        )
    for loop, start in enumerate(range(0, sites, LOOP)):
        count = min(LOOP, sites - start)
        declared.append(
            {
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-09-01",
                "name": f"[format('app-{{0}}-{loop}-{{1}}', parameters('prefix'), copyIndex())]",
                "location": "[parameters('location')]",
                "copy": {"name": f"sites{loop}", "count": count, "mode": "serial", "batchSize": 50},
                "dependsOn": [PLAN_ID],
                "properties": {
                    "serverFarmId": PLAN_ID,
                    "httpsOnly": True,
                    "siteConfig": {
                        "appSettings": [
                            {"name": "INDEX", "value": "[string(copyIndex())]"},
                            {
                                "name": "STORAGE",
                                "value": STORAGE_NAME,
                            },
                        ]
                    },
                },
            }
        )
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "prefix": {"type": "string", "defaultValue": "bench"},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
        },
        "variables": {
            "planName": "[format('plan-{0}', parameters('prefix'))]",
            "tags": {"owner": "bench", "env": "[parameters('prefix')]"},
        },
        "resources": declared,
    }


def expression_count(template: dict[str, Any]) -> int:
    """Expressions evaluated: each expression string once per copy instance."""

    def count(value: Any) -> int:
        if isinstance(value, str):
            return 1 if is_expression(value) else 0
        if isinstance(value, dict):
            return sum(count(v) for v in value.values())
        if isinstance(value, list):
            return sum(count(v) for v in value)
        return 0

    total = 0
    for declared in template["resources"]:
        body = {k: v for k, v in declared.items() if k != "copy"}
        total += count(body) * declared.get("copy", {}).get("count", 1)
    return total


def measure(resources: int, runs: int) -> tuple[float, float, int]:
    template = generated_template(resources)
    text = json.dumps(template)
    timings = []
    for _ in range(runs):
        fresh = json.loads(text)  # no cache of parsed JSON between runs
        start = time.perf_counter()
        expansion = expand(fresh)
        timings.append(time.perf_counter() - start)
        assert len(expansion.resources) == resources
    return min(timings), statistics.median(timings), expression_count(template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine_description()}")
    results = {}
    for size in (1000, 2000):
        best, median, expressions = measure(size, args.runs)
        results[size] = best
        print(
            f"{size:5d} resources, {expressions:6d} expressions: "
            f"best {best * 1000:7.1f} ms, median {median * 1000:7.1f} ms"
        )
    ratio = results[2000] / results[1000]
    print(
        f"2000/1000 ratio: {ratio:.2f} (target <= 2.2); "
        f"1000 resources target < 1000 ms: {'met' if results[1000] < 1 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
