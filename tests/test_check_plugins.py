"""Check plugins found through the entry point group ``bicep_assets.checks``: the bad day —
a plugin that raises, hangs, returns nonsense, is not installed, does not import or is
misconfigured — is a failed check (or a manifest error) naming the plugin and the key, never a
traceback, and the other checks run as usual."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bicep_assets.check_plugins import (
    ENTRY_POINT_GROUP,
    CheckContext,
    PluginError,
    load_check,
    run_custom_check,
)
from bicep_assets.environments import ManifestError, load_environment
from bicep_assets.resources.probes import Check, run_checks

from .check_plugin_dists import write_distribution

PLUGINS = """
import threading, time
from pydantic import BaseModel, ConfigDict, Field
from bicep_assets.check_plugins import CheckOutcome, CustomCheck

FLAKY = {"calls": 0}
RELEASE = threading.Event()

def always_ok(context):
    return CheckOutcome(True, f"outputs: {sorted(context.outputs)}", target="everything")

def raises(context):
    raise RuntimeError("the plugin broke")

def hangs(context):
    RELEASE.wait(30)
    return CheckOutcome(True, "too late")

def returns_text(context):
    return "fine"

def flaky(context):
    FLAKY["calls"] += 1
    return CheckOutcome(FLAKY["calls"] >= 3, f"call {FLAKY['calls']}")

class Threshold(CustomCheck):
    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str
        min_percent: int = Field(ge=0, le=100)

    def __call__(self, context):
        return CheckOutcome(self.config.min_percent <= 50, f"{self.config.url}: checked",
                            latency_ms=7.5)
"""


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = write_distribution(
        tmp_path / "site",
        "test-checks",
        {"test_checks": PLUGINS, "broken_checks": "import not_a_module_anywhere\n"},
        {
            "always_ok": "test_checks:always_ok",
            "raises": "test_checks:raises",
            "hangs": "test_checks:hangs",
            "returns_text": "test_checks:returns_text",
            "flaky": "test_checks:flaky",
            "threshold": "test_checks:Threshold",
            "broken": "broken_checks:check",
            "not_callable": "test_checks:FLAKY",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    loaded = sys.modules.get("test_checks")
    if loaded is not None:
        loaded.RELEASE.set()  # let a hung thread finish
    for module in ("test_checks", "broken_checks", "other_checks"):
        sys.modules.pop(module, None)  # the next test loads its own copy


CONTEXT = CheckContext(outputs={"webHost": "example.test"}, environment="dev", timeout_s=2)


def run(name: str, config: dict | None = None, *, timeout_s: float = 2, retries: int = 0):
    context = CheckContext(outputs=CONTEXT.outputs, environment="dev", timeout_s=timeout_s)
    return run_custom_check(name, config or {}, context, retries=retries, retry_delay_s=0.01)


def test_a_plugin_is_found_through_its_entry_point_and_run(plugins: Path) -> None:
    result = run("always_ok")
    assert (result.kind, result.target, result.ok) == ("custom", "always_ok everything", True)
    assert result.detail == "outputs: ['webHost']"
    plugin = load_check("threshold")
    assert plugin.distribution == "test-checks 1.0"
    good = run("threshold", {"url": "https://x.test", "min_percent": 20})
    assert (good.ok, good.detail, good.latency_ms) == (True, "https://x.test: checked", 7.5)
    assert run("threshold", {"url": "https://x.test", "min_percent": 80}).ok is False


def test_a_plugin_that_raises_is_a_failed_check_naming_it(plugins: Path) -> None:
    result = run("raises", retries=1)
    assert not result.ok
    assert result.detail == (
        "check 'raises' raised RuntimeError while running: the plugin broke (attempt 2 of 2)"
    )
    assert "Traceback" not in result.detail


def test_a_plugin_that_hangs_fails_at_its_timeout(plugins: Path) -> None:
    started = time.monotonic()
    result = run("hangs", timeout_s=0.3)
    assert time.monotonic() - started < 2
    assert not result.ok
    assert result.detail == "did not finish within 0.3 s (timeout_s)"


def test_failed_attempts_are_retried_like_probes(plugins: Path) -> None:
    assert run("flaky", retries=1).ok is False  # calls 1 and 2 fail
    result = run("flaky", retries=5)  # call 3 passes: the first attempt of this run
    assert result.ok and result.detail == "call 3"
    assert run("returns_text").detail == "check 'returns_text' returned str, not a CheckOutcome"


def test_a_missing_or_broken_plugin_is_a_failed_check_listing_what_is_installed(
    plugins: Path,
) -> None:
    missing = run("tls_expiri")
    assert not missing.ok and missing.target == "tls_expiri"
    assert missing.detail.startswith(
        f"check 'tls_expiri' is not installed: no distribution registers it in the entry point "
        f"group '{ENTRY_POINT_GROUP}' (installed checks: always_ok, broken, flaky, hangs,"
    )
    broken = run("broken")
    assert broken.detail == (
        "check 'broken' (test-checks 1.0) could not be loaded from 'broken_checks:check': "
        "ModuleNotFoundError: No module named 'not_a_module_anywhere'"
    )
    with pytest.raises(PluginError, match="'test_checks:FLAKY' is a dict, not a check class"):
        load_check("not_callable")


def test_two_distributions_registering_one_name_are_refused(
    plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = write_distribution(
        tmp_path / "other",
        "other-checks",
        {"other_checks": PLUGINS},
        {"raises": "other_checks:raises"},
    )
    monkeypatch.syspath_prepend(str(other))
    result = run("raises")
    assert "registered by" in result.detail and "other-checks 1.0" in result.detail
    assert "test-checks 1.0" in result.detail


def test_one_bad_plugin_leaves_the_other_checks_alone(plugins: Path) -> None:
    checks = [
        Check("custom", name, lambda name=name: run(name, timeout_s=0.3))
        for name in ("hangs", "raises", "always_ok", "nowhere")
    ]
    results = run_checks(checks)
    assert [r.ok for r in results] == [False, False, True, False]


def manifest(tmp_path: Path, custom: list[dict]) -> Path:
    project = tmp_path / "project"
    (project / "parameters").mkdir(parents=True, exist_ok=True)
    (project / "main.json").write_text("{}", encoding="utf-8")
    path = project / "parameters" / "dev.yaml"
    body = {
        "template": "../main.json",
        "scope": {"resource_group": "rg-dev", "location": "westeurope"},
        "health_checks": {"custom": custom},
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def test_a_plugins_config_is_validated_when_the_manifest_loads(
    plugins: Path, tmp_path: Path
) -> None:
    path = manifest(
        tmp_path,
        [{"check": "threshold", "url": "{outputs.webUrl}", "min_percent": 20, "retries": 1}],
    )
    spec = load_environment(path, display_name="parameters/dev.yaml")
    (entry,) = spec.health_checks.custom
    assert (entry.check, entry.retries, entry.timeout_s) == ("threshold", 1, 10.0)
    assert entry.config == {"url": "{outputs.webUrl}", "min_percent": 20}
    assert spec.referenced_outputs() == {"webUrl"}

    path = manifest(tmp_path, [{"check": "threshold", "url": "x", "min_percnt": 20}])
    with pytest.raises(ManifestError) as error:
        load_environment(path, display_name="parameters/dev.yaml")
    message = str(error.value)
    assert message == (
        "parameters/dev.yaml: health_checks.custom[0]: check 'threshold' (test-checks 1.0): "
        "min_percent: Field required; min_percnt: not a key of this check (its keys: url, "
        "min_percent) at line 7"
    )

    path = manifest(tmp_path, [{"check": "always_ok", "verbose": True}])
    with pytest.raises(ManifestError, match=r"verbose: not a key of this check \(its keys: none\)"):
        load_environment(path)
    path = manifest(tmp_path, [{"check": "always_ok", "timeout_s": 0}])
    with pytest.raises(ManifestError, match=r"health_checks\.custom\[0\]\.timeout_s"):
        load_environment(path)
    path = manifest(tmp_path, [{"check": "always_ok", "x": "{outputs.}"}])
    with pytest.raises(ManifestError, match="unknown placeholder"):
        load_environment(path)


def test_a_plugin_not_installed_where_the_manifest_loads_is_left_to_verify(
    tmp_path: Path,
) -> None:
    path = manifest(tmp_path, [{"check": "somewhere_else", "anything": 1}])
    (entry,) = load_environment(path).health_checks.custom
    assert entry.config == {"anything": 1}


def test_the_cli_refuses_a_misconfigured_check_before_a_run_exists(
    plugins: Path, tmp_path: Path, cli_here: Any
) -> None:
    path = manifest(tmp_path, [{"check": "threshold", "url": "x", "min_percent": 101}])
    home = tmp_path / "home"
    done = cli_here(path.parents[1], "plan", "dev", home=home)
    assert done.returncode == 2, done
    assert "health_checks.custom[0]: check 'threshold' (test-checks 1.0): min_percent: " in (
        done.stderr
    )
    assert "Traceback" not in done.stderr + done.stdout
    assert not list(home.glob("**/*.db"))  # no run was stored
