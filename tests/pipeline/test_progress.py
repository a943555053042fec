"""The CLI's progress lines (bicep_assets/progress.py) from a real run's events as the
instance stores them: retries, a failure after retries."""

from __future__ import annotations

import io
import re
import uuid

from bicep_assets.armlocal import FaultRule
from bicep_assets.progress import Progress, failure_report
from tests.pipeline.conftest import Project, storage, template


def test_a_retried_step_says_so_and_the_last_failure_comes_first(project: Project) -> None:
    path = project.write_template("main.json", template([storage("progress1")]))
    project.write_manifest("dev", template=path, retry={"max_retries": 1, "base_delay_s": 0.01})
    project.arm.connection.resource_client().resource_groups.create_or_update(
        "rg-dev", {"location": "westeurope"}
    )
    project.faults(FaultRule(kind="status", status=503, operation="Deployments_WhatIf"))
    out, err = io.StringIO(), io.StringIO()
    progress = Progress(out=out, err=err)
    run_id = str(uuid.uuid4())
    project.instance.add_event_listener(run_id, progress.on_event)
    job = project.job("plan_dev", sdk_retry_total=0, sdk_retry_status=0)
    result = job.execute_in_process(instance=project.instance, run_id=run_id, raise_on_error=False)
    assert not result.success
    lines = err.getvalue().splitlines()
    assert lines[:3] == ["lint    started", lines[1], "plan    started"]
    assert re.fullmatch(
        r"plan    retrying in \d+\.\d s: Environmental failure, ServiceUnavailable: The "
        r"service is temporarily unavailable\.",
        lines[3],
    ), lines
    assert lines[4:6] == ["plan    started again", lines[5]]
    assert lines[5].startswith("plan    failed: environmental failure, ServiceUnavailable: ")
    assert out.getvalue() == ""  # no plan was made
    (failure,) = progress.failures
    report = failure_report(failure)
    assert report[0] == lines[5].replace("plan    ", "plan ", 1)
    assert report[1].startswith("  what to do: it is about the moment and was retried")
