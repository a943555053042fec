"""Custom checks in verify, on the local ARM: the shipped example plugin (plugins/tls-expiry),
built and installed by pip, checks the web app's certificate beside the built-in checks; a
plugin that raises fails its own check only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ..check_plugin_dists import tls_plugin_site, write_distribution
from .conftest import Project, step_events, template

__all__ = ["tls_plugin_site"]  # the session fixture, used below

SITE = {
    "type": "Microsoft.Web/sites",
    "apiVersion": "2022-09-01",
    "name": "probed",
    "location": "westeurope",
    "properties": {},
}
OUTPUTS = {"webHost": {"type": "string", "value": "[reference('probed').defaultHostName]"}}
RAISING = """
from bicep_assets.check_plugins import CheckOutcome
def check(context):
    raise ValueError(f"cannot judge {context.outputs['webHost']}")
"""


def verify_rows(result: dg.ExecuteInProcessResult) -> list[tuple[str, bool, str]]:
    """verify's checks table: (``kind target``, ok, detail) in order."""
    (event,) = step_events(result, "verify", "STEP_FAILURE")
    rows = event.event_specific_data.user_failure_data.metadata["checks"].value.records
    return [(f"{r.data['kind']} {r.data['target']}", r.data["ok"], r.data["detail"]) for r in rows]


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {key: (ok, detail) for key, ok, detail in verify_rows(result)}


@pytest.fixture
def with_tls_plugin(tls_plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tls_plugin_site))
    return tls_plugin_site


def test_the_example_plugin_checks_the_web_apps_certificate(
    project: Project, with_tls_plugin: Path
) -> None:
    path = project.write_template("main.json", template([SITE], outputs=OUTPUTS))
    project.write_manifest(
        "dev",
        template=path,
        health_checks={
            "http": [{"url": "https://{outputs.webHost}/health", "retries": 0}],
            "custom": [
                {"check": "tls_expiry", "host": "{outputs.webHost}", "min_days": 7},
                {"check": "tls_expiry", "host": "{outputs.webHost}", "min_days": 400_000,
                 "retries": 0},
            ],
        },
    )  # fmt: skip
    result = project.run("deploy_dev")
    assert not result.success  # the local ARM's certificate lasts until 3000, not longer
    checks = checks_of(result)
    host = next(k for k in checks if k.startswith("custom tls_expiry")).split()[2]
    assert host.startswith("127.0.0.1:")
    rows = verify_rows(result)
    tls = [(ok, detail) for key, ok, detail in rows if key.startswith("custom tls_expiry")]
    assert len(tls) == 2
    (ok, good), (failed, bad) = tls
    assert ok and "day(s) left, at least 7 required" in good
    assert not failed and "day(s) left, fewer than 400000 required" in bad
    assert all(ok for key, (ok, _) in checks.items() if not key.startswith("custom"))
    (failure,) = step_events(result, "verify", "STEP_FAILURE")
    description = failure.event_specific_data.user_failure_data.description
    assert f"1 of {len(rows)} health check(s) failed: custom tls_expiry {host}: " in description


def test_a_raising_plugin_fails_only_its_own_check(
    project: Project, with_tls_plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = write_distribution(
        tmp_path / "raising",
        "raising-check",
        {"raising_check": RAISING},
        {"boom": "raising_check:check"},
    )
    monkeypatch.syspath_prepend(str(site))
    path = project.write_template("main.json", template([SITE], outputs=OUTPUTS))
    project.write_manifest(
        "dev",
        template=path,
        health_checks={
            "custom": [
                {"check": "boom", "retries": 0},
                {"check": "tls_expiry", "host": "{outputs.webHost}"},
                {"check": "tls_expiry", "host": "{outputs.noSuchOutput}"},
            ]
        },
    )
    result = project.run("deploy_dev")
    assert not result.success
    checks = checks_of(result)
    host = next(k for k in checks if k.startswith("custom tls_expiry 127")).split()[2]
    assert checks["custom boom"][0] is False
    assert checks["custom boom"][1].startswith(
        f"check 'boom' raised ValueError while running: cannot judge {host}"
    )
    assert [ok for key, (ok, _) in checks.items() if "tls_expiry 127" in key] == [True]
    assert checks["custom tls_expiry"] == (
        False,
        "check 'tls_expiry': '{outputs.noSuchOutput}': the deployment has no output "
        "'noSuchOutput' (its outputs: webHost)",
    )
    assert all(ok for key, (ok, _) in checks.items() if key.startswith("provisioning_state"))


def test_a_check_that_is_not_installed_fails_lint_before_anything_is_deployed(
    project: Project, with_tls_plugin: Path
) -> None:
    """A misspelt or missing plugin is lint's error (with the closest installed name), so a
    deployment never goes out to be judged by a check that cannot run."""
    path = project.write_template("main.json", template([SITE], outputs=OUTPUTS))
    project.write_manifest(
        "dev",
        template=path,
        health_checks={"custom": [{"check": "tls_expiri", "host": "{outputs.webHost}"}]},
    )
    result = project.run("deploy_dev")
    assert not result.success
    assert [e.step_key for e in result.all_events if e.is_step_failure] == ["lint"]
    assert project.deployments("rg-dev") == []
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "custom-check-missing" in message
    assert "check 'tls_expiri' is not installed (did you mean 'tls_expiry'?)" in message


ECHOING = """
import os
from bicep_assets.check_plugins import CheckOutcome
def check(context):
    secret = os.environ["DEV_APP_SECRET"]
    raise RuntimeError(f"the password is {secret}, or {secret[:9]}")
"""


def test_a_plugin_echoing_a_secure_value_is_masked(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "custom-Check-Canary-77aa"
    monkeypatch.setenv("DEV_APP_SECRET", secret)
    site = write_distribution(
        tmp_path / "site", "echoing", {"echoing_check": ECHOING}, {"echo": "echoing_check:check"}
    )
    monkeypatch.syspath_prepend(str(site))
    body = template([SITE], outputs=OUTPUTS, parameters={"appSecret": {"type": "securestring"}})
    project.write_manifest(
        "dev",
        template=project.write_template("main.json", body),
        secure_parameters={"appSecret": {"env": "DEV_APP_SECRET"}},
        health_checks={"custom": [{"check": "echo", "retries": 0}]},
    )
    result = project.run("deploy_dev")
    assert not result.success
    (ok, detail) = checks_of(result)["custom echo"]
    assert not ok
    assert detail == (
        "check 'echo' raised RuntimeError while running: the password is [secure value], or "
        "[secure value]"
    )
    for event in project.instance.all_logs(result.run_id):
        assert secret[:8] not in str(event), event.message
