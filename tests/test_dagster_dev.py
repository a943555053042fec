"""A real ``dagster dev`` (webserver + daemon, the repository's workspace.yaml and
dagster.yaml) on a copy of the project, shared by this module's two tests: deploy_dev launched
over GraphQL succeeds; and the review path in a real browser — Playwright drives Debian's
Chromium (headless): open plan_prod's launchpad, launch it, read the plan's summary in its
run's event list, follow the apply link to deploy_prod's launchpad (the plan id filled in),
launch, and see the deployment succeed. Screenshots of every stage are
written to ``artifacts/browser/`` (ignored by git; the path is printed).

Chromium: ``apt-get install -y chromium`` (``.ci/run`` installs it when missing, and so does
the test itself on a Debian machine run as root)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

pytestmark = pytest.mark.slow  # a real `dagster dev` and a real browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
LOCATION = "/locations/__repository__@bicep_assets.definitions"
RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})")
FINISHED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def installed_chromium() -> Path:
    """Debian's Chromium, installed first when it is missing and this is a Debian machine run
    as root (a fresh CI machine; ``.ci/run`` installs it before the suite, so that the suite's
    time does not include it); else the test fails saying how to install it."""
    if not CHROMIUM.exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "chromium"],
        ):
            subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
    assert CHROMIUM.exists(), "no /usr/bin/chromium: apt-get install -y chromium (.ci/run does)"
    return CHROMIUM


def wait_for_code_location(base: str, timeout_s: float = 180.0) -> None:
    """Until the webserver has loaded the code location (its jobs exist only then)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = requests.post(f"{base}/graphql", json={"query": LOCATIONS}, timeout=10).json()
        entries = answer["data"]["workspaceOrError"].get("locationEntries") or []
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            return
        time.sleep(0.5)
    pytest.fail(f"the code location did not load in {timeout_s:.0f} s")


def finished_run(home: Path, run_id: str, timeout_s: float = 180.0) -> DagsterRun:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with DagsterInstance.from_config(str(home)) as instance:
            run = instance.get_run_by_id(run_id)
            if run is not None and run.status in FINISHED:
                if run.status != DagsterRunStatus.SUCCESS:
                    failures = [e.message for e in instance.all_logs(run_id) if e.level >= 40]
                    pytest.fail(f"run {run_id} of {run.job_name} ended {run.status}: {failures}")
                return run
        time.sleep(0.5)
    pytest.fail(f"run {run_id} did not finish in {timeout_s:.0f} s")


@pytest.mark.timeout(420)
def test_review_a_plan_then_apply_it_from_the_ui(shared_dagster_dev: tuple[int, Path]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = installed_chromium()
    port, home = shared_dagster_dev
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    wait_for_code_location(base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(120_000)  # a loaded CI machine: the UI can be slow
        page = context.new_page()
        try:
            review_and_apply(base, home, context, page)
        except BaseException:
            for number, opened in enumerate(context.pages):  # what the browser showed
                opened.screenshot(path=str(ARTIFACTS / f"failure-{number}.png"), full_page=True)
            raise
        finally:
            browser.close()


def review_and_apply(base: str, home: Path, context: Any, page: Any) -> None:
    """The review path, from plan_prod's launchpad to a successful deploy_prod."""
    from playwright.sync_api import expect

    # expect() has a timeout of its own (5 s), not the context's: on a loaded machine the
    # launchpad's config check alone can take longer before the button is enabled
    expect.set_options(timeout=120_000)

    def shot(name: str, on: Any = None) -> None:
        (on or page).screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    # 1. plan_prod's launchpad: its defaults, then launch
    page.goto(f"{base}{LOCATION}/jobs/plan_prod/playground")
    launch = page.get_by_role("button", name="Launch run")
    expect(launch).to_be_enabled()
    shot("1-plan_prod-launchpad")
    launch.click()
    page.wait_for_url(RUN_URL)
    plan_id = RUN_URL.search(page.url).group(1)  # type: ignore[union-attr]
    planned = finished_run(home, plan_id)
    assert planned.job_name == "plan_prod"

    # 2. its run page: the summary line readable in the event list, the apply link
    # (a write-only count too when an earlier test of the shared home deployed prod already)
    summary = re.compile(rf"0 to delete(, \d+ write-only \(not compared\))? \(plan {plan_id}\)")
    expect(page.get_by_text(summary).first).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"\d+ to create, 0 to modify, 0 to delete")).first
    ).to_be_visible()
    apply = page.locator('a[href*="/jobs/deploy_prod/playground/setup"]').first
    expect(apply).to_be_visible()
    shot("2-plan-run")

    # 3. the apply link opens deploy_prod's launchpad with the plan id filled in
    with context.expect_page() as opened:
        apply.click()
    launchpad = opened.value
    launchpad.wait_for_url(re.compile(r"/jobs/deploy_prod/playground$"))
    expect(launchpad.get_by_text(plan_id).first).to_be_visible()
    expect(launchpad.get_by_text("allow_destructive: false").first).to_be_visible()
    button = launchpad.get_by_role("button", name="Launch run")
    expect(button).to_be_enabled()
    shot("3-deploy_prod-launchpad", launchpad)
    button.click()
    launchpad.wait_for_url(RUN_URL)
    deploy_id = RUN_URL.search(launchpad.url).group(1)  # type: ignore[union-attr]

    # 4. the deployment succeeds, with the reviewed plan as its approved plan
    deployed = finished_run(home, deploy_id, timeout_s=240)
    assert deployed.job_name == "deploy_prod"
    assert deployed.run_config["ops"]["gate"]["config"]["approved_plan"] == plan_id
    expect(launchpad.get_by_text("Success").first).to_be_visible()
    shot("4-deploy_prod-run", launchpad)


@pytest.mark.timeout(300)
def test_dagster_dev_loads_and_runs_deploy_dev_over_graphql(
    shared_dagster_dev: tuple[int, Path],
) -> None:
    """The code location loads, and deploy_dev launched over GraphQL (the quickstart's
    environment, no approved plan needed) succeeds in a run process of the daemon's."""
    port, home = shared_dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    deadline = time.monotonic() + 60
    while True:  # the code location loads in the background
        try:
            run_id = client.submit_job_execution("deploy_dev")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    status = client.get_run_status(run_id)
    deadline = time.monotonic() + 180
    while (
        status
        not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
        and time.monotonic() < deadline
    ):
        time.sleep(1)
        status = client.get_run_status(run_id)
    if status != DagsterRunStatus.SUCCESS:
        with DagsterInstance.from_config(str(home)) as instance:
            failures = [
                e.message
                for e in instance.all_logs(run_id)
                if e.level >= 40 or (e.dagster_event and e.dagster_event.is_failure)
            ]
        pytest.fail(f"run {run_id} ended {status}: {failures}")
