"""The saved plans in the audit tables: ``plans``, ``planned_properties`` and
``deployment_runs.approved_plan``, through the ready queries exactly as docs/audit.md shows
them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bicep_assets.audit.queries import query_database

from .conftest import Project, refresh, resource_id, storage_env


def test_a_reviewed_plan_and_its_deployment_in_the_audit_tables(
    local_project: Project, tmp_path: Path
) -> None:
    storage_env(local_project, "dev", "keep1")
    planned = local_project.run("plan_dev")
    assert planned.success
    plan_id = planned.run_id
    applied = local_project.run(
        "deploy_dev", run_config={"ops": {"gate": {"config": {"approved_plan": plan_id}}}}
    )
    assert applied.success
    database = tmp_path / "history.duckdb"
    refresh(local_project, database)

    reviews = query_database(database, "plan_reviews")
    found = [
        (r.plan_id, r.job, r.creates, r.deploy_run_id, r.status, r.applied)
        for r in reviews.itertuples()
    ]
    # the reviewed plan, applied by the deploy run; the deploy run's own plan, applied by none
    # (2 creates: the new resource group, planned by ARM at subscription scope, and keep1)
    assert found[0] == (plan_id, "plan_dev", 2, applied.run_id, "success", True)
    assert found[1][:3] == (applied.run_id, "deploy_dev", 2)
    assert pd.isna(found[1][3])
    assert len(found) == 2

    properties = query_database(database, "plan_properties", plan_id=plan_id)
    keep1 = resource_id("rg-dev", "keep1")
    rows = [tuple(r)[1:] for r in properties.itertuples(index=False) if r.resource_id == keep1]
    assert ("Create", "sku.name", "Create", None, '"Standard_LRS"') in rows
    assert ("Create", "kind", "Create", None, '"StorageV2"') in rows
    assert ("Create", "location", "Create", None, '"westeurope"') in rows
    assert not any(path.startswith("properties.provisioningState") for _, path, *_ in rows)
