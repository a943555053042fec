"""The Bicep CLI resource against a stand-in executable that keeps the real CLI's process
contract (arguments, stdout/stderr formats, exit codes), plus the real CLI when installed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.models import Diagnostic
from bicep_assets.resources.bicep import (
    BicepCli,
    BicepError,
    BicepNotFoundError,
    parse_diagnostic_lines,
    sarif_diagnostics,
)

STANDIN = Path(__file__).with_name("bicep_standin.py")
REPO = Path(__file__).resolve().parents[2]


def install_standin(folder: Path, name: str = "bicep") -> Path:
    """Write the stand-in CLI into ``folder`` as an executable script called ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_text(f"#!{sys.executable}\n" + STANDIN.read_text(encoding="utf-8"))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def calls(folder: Path) -> list[dict[str, Any]]:
    log = folder / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return tmp_path / "bin"


@pytest.fixture
def bicep(bin_dir: Path) -> BicepCli:
    return BicepCli(executable=str(install_standin(bin_dir)))


@pytest.fixture
def isolated_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds only an empty folder (the test adds executables to it)."""
    folder = tmp_path / "path"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


# -- build ---------------------------------------------------------------------------------------


def test_build_returns_the_template_printed_on_stdout(
    bicep: BicepCli, bin_dir: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "main.bicep", "param name string")
    template = bicep.build(source)
    assert template["metadata"] == {"compiledFrom": "main.bicep"}
    assert template["contentVersion"] == "1.0.0.0"
    assert calls(bin_dir) == [{"prog": "bicep", "args": ["build", "--stdout", str(source)]}]


def test_build_with_only_warnings_succeeds(bicep: BicepCli, tmp_path: Path) -> None:
    source = write(tmp_path / "main.bicep", "WARNING no-unused-params Parameter 'x' is unused.")
    assert bicep.build(source)["resources"] == []


@pytest.mark.parametrize("uris", [False, True], ids=["paths", "file-uris"])
def test_build_errors_raise_with_the_parsed_diagnostics(
    bicep: BicepCli, tmp_path: Path, uris: bool
) -> None:
    source = write(
        tmp_path / "main.bicep",
        "URIS" if uris else "// plain paths",
        'ERROR BCP057 The name "nme" does not exist in the current context.',
        "WARNING no-unused-params Parameter 'x' is declared but never used. [https://aka.ms/x]",
    )
    with pytest.raises(BicepError, match=r"bicep build found 1 error in .*main\.bicep") as info:
        bicep.build(source)
    error = info.value
    assert error.exit_code == 1
    assert error.diagnostics == [
        Diagnostic(
            severity="error",
            code="BCP057",
            message='The name "nme" does not exist in the current context.',
            location=f"{source}:2:3",
        ),
        Diagnostic(
            severity="warning",
            code="no-unused-params",
            message="Parameter 'x' is declared but never used. [https://aka.ms/x]",
            location=f"{source}:3:3",
        ),
    ]
    assert f'{source}:2:3: BCP057: The name "nme"' in str(error)


def test_build_of_a_missing_file_names_it(bicep: BicepCli, tmp_path: Path) -> None:
    with pytest.raises(BicepError, match=r"absent\.bicep: no such file"):
        bicep.build(tmp_path / "absent.bicep")


def test_build_that_prints_no_json_is_an_error(bicep: BicepCli, tmp_path: Path) -> None:
    source = write(tmp_path / "main.bicep", "NOJSON")
    with pytest.raises(BicepError, match=r"printed no JSON object.*exited with code 0"):
        bicep.build(source)


# -- lint ----------------------------------------------------------------------------------------


def test_lint_maps_sarif_results_to_diagnostics(
    bicep: BicepCli, bin_dir: Path, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "main.bicep",
        "param location string = 'westeurope'",
        "WARNING no-hardcoded-location A resource location should not use a hard-coded string.",
        "INFO use-recent-api-versions Use a more recent API version.",
    )
    assert bicep.lint(source) == [
        Diagnostic(
            severity="warning",
            code="no-hardcoded-location",
            message="A resource location should not use a hard-coded string.",
            location=f"{source}:2:3",
        ),
        Diagnostic(
            severity="info",
            code="use-recent-api-versions",
            message="Use a more recent API version.",
            location=f"{source}:3:3",
        ),
    ]
    assert calls(bin_dir)[-1]["args"] == ["lint", "--diagnostics-format", "sarif", str(source)]


def test_lint_reports_errors_although_the_cli_exits_1(bicep: BicepCli, tmp_path: Path) -> None:
    source = write(tmp_path / "main.bicep", 'ERROR BCP018 Expected the "}" character.')
    (diagnostic,) = bicep.lint(source)
    assert (diagnostic.severity, diagnostic.code, diagnostic.location) == (
        "error",
        "BCP018",
        f"{source}:1:3",
    )


def test_lint_of_a_clean_file_is_empty(bicep: BicepCli, tmp_path: Path) -> None:
    assert bicep.lint(write(tmp_path / "main.bicep", "param name string")) == []


def test_lint_on_a_cli_without_the_lint_command_fails_clearly(
    bicep: BicepCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_NO_LINT", "1")
    source = write(tmp_path / "main.bicep", "param name string")
    with pytest.raises(
        BicepError, match=r"(?s)printed no SARIF log.*exited with code 1.*Unrecognized command"
    ) as info:
        bicep.lint(source)
    assert info.value.exit_code == 1


# -- build-params --------------------------------------------------------------------------------


def test_build_params_returns_parameters_and_template(
    bicep: BicepCli, bin_dir: Path, tmp_path: Path
) -> None:
    reference = {"reference": {"keyVault": {"id": "/subscriptions/s/kv"}, "secretName": "pw"}}
    source = write(
        tmp_path / "dev.bicepparam",
        "using 'main.bicep'",
        'param name = "demo"',
        "param count = 3",
        f"param password = {json.dumps(reference)}",
    )
    parameters, template = bicep.build_params(source)
    assert parameters == {"name": {"value": "demo"}, "count": {"value": 3}, "password": reference}
    assert template == {"$schema": "x", "contentVersion": "1.0.0.0", "resources": []}
    assert calls(bin_dir)[-1]["args"] == ["build-params", "--stdout", str(source)]


def test_build_params_without_a_template_returns_none(bicep: BicepCli, tmp_path: Path) -> None:
    source = write(tmp_path / "dev.bicepparam", "NOTEMPLATE", 'param name = "x"')
    assert bicep.build_params(source) == ({"name": {"value": "x"}}, None)


def test_build_params_errors_raise_with_diagnostics(bicep: BicepCli, tmp_path: Path) -> None:
    source = write(tmp_path / "dev.bicepparam", "ERROR BCP035 The value is missing 'name'.")
    with pytest.raises(BicepError, match="bicep build-params found 1 error") as info:
        bicep.build_params(source)
    assert [(d.code, d.location) for d in info.value.diagnostics] == [("BCP035", f"{source}:1:3")]


# -- version, crashes and timeouts ---------------------------------------------------------------


def test_version_is_the_version_number(bicep: BicepCli, bin_dir: Path) -> None:
    assert bicep.version() == "0.30.23"
    assert calls(bin_dir) == [{"prog": "bicep", "args": ["--version"]}]


def test_a_crashing_cli_reports_command_exit_code_and_stderr(
    bicep: BicepCli, tmp_path: Path
) -> None:
    source = write(tmp_path / "main.bicep", "CRASH")
    with pytest.raises(
        BicepError,
        match=r"(?s)bicep build of .*main\.bicep failed: `.*bicep build --stdout .*main\.bicep` "
        r"exited with code 134\.\nstderr \(last lines\):\n  Unhandled exception\. "
        r"System\.NullReferenceException",
    ) as info:
        bicep.build(source)
    assert info.value.exit_code == 134
    assert info.value.command[1:] == ["build", "--stdout", str(source)]
    assert info.value.diagnostics == []


def test_a_hanging_cli_is_stopped_after_the_timeout(bin_dir: Path, tmp_path: Path) -> None:
    bicep = BicepCli(executable=str(install_standin(bin_dir)), timeout_s=0.5)
    source = write(tmp_path / "main.bicep", "SLEEP")
    with pytest.raises(BicepError, match=r"did not finish within 0\.5 s and was stopped"):
        bicep.build(source)


# -- finding the CLI -----------------------------------------------------------------------------


def test_bicep_is_found_on_path(isolated_path: Path, tmp_path: Path) -> None:
    found = install_standin(isolated_path)
    cli = BicepCli()
    assert cli.resolve() == [str(found)]
    assert cli.build(write(tmp_path / "main.bicep", "x"))["resources"] == []


def test_bicep_on_path_wins_over_az(isolated_path: Path) -> None:
    install_standin(isolated_path, "az")
    found = install_standin(isolated_path, "bicep")
    assert BicepCli().resolve() == [str(found)]


def test_az_bicep_is_the_fallback(isolated_path: Path, tmp_path: Path) -> None:
    az = install_standin(isolated_path, "az")
    cli = BicepCli()
    assert cli.resolve() == [str(az), "bicep"]
    source = write(tmp_path / "main.bicep", "WARNING no-unused-vars Variable 'v' is unused.")
    params = write(tmp_path / "dev.bicepparam", 'param name = "x"')
    assert cli.build(source)["metadata"] == {"compiledFrom": "main.bicep"}
    assert [d.code for d in cli.lint(source)] == ["no-unused-vars"]
    assert cli.build_params(params)[0] == {"name": {"value": "x"}}
    assert cli.version() == "0.29.47"
    assert [c["args"] for c in calls(isolated_path)] == [
        ["bicep", "build", "--file", str(source), "--stdout"],
        ["bicep", "lint", "--file", str(source), "--diagnostics-format", "sarif"],
        ["bicep", "build-params", "--file", str(params), "--stdout"],
        ["bicep", "version"],
    ]


def test_executable_may_name_the_azure_cli(bin_dir: Path) -> None:
    az = install_standin(bin_dir, "az")
    assert BicepCli(executable=str(az)).resolve() == [str(az), "bicep"]


def test_executable_may_be_a_name_on_path(isolated_path: Path) -> None:
    found = install_standin(isolated_path, "bicep-0.30")
    assert BicepCli(executable="bicep-0.30").resolve() == [str(found)]


def test_no_az_fallback_when_disabled(isolated_path: Path) -> None:
    install_standin(isolated_path, "az")
    with pytest.raises(BicepNotFoundError, match=r"`bicep` is not on PATH\. Install"):
        BicepCli(use_az=False).resolve()


def test_missing_cli_explains_how_to_install(isolated_path: Path, tmp_path: Path) -> None:
    with pytest.raises(BicepNotFoundError) as info:
        BicepCli().build(write(tmp_path / "main.bicep", "x"))
    message = str(info.value)
    assert "`bicep` is not on PATH and neither is `az`" in message
    assert "https://aka.ms/bicep-install" in message
    assert "az bicep install" in message
    assert "`executable`" in message


def test_a_configured_executable_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "tools" / "bicep"
    with pytest.raises(BicepNotFoundError, match=rf"BicepCli\.executable \('{missing}'\)"):
        BicepCli(executable=str(missing)).version()


def test_a_configured_file_that_is_not_executable_is_rejected(tmp_path: Path) -> None:
    plain = write(tmp_path / "bicep", "not a program")
    os.chmod(plain, 0o644)
    with pytest.raises(BicepNotFoundError, match="does not exist or is not executable"):
        BicepCli(executable=str(plain)).resolve()


# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '/src/main.bicep(12,5) : Error BCP057: The name "x" does not exist. [https://aka.ms/bcp]',
            Diagnostic(
                severity="error",
                code="BCP057",
                message='The name "x" does not exist. [https://aka.ms/bcp]',
                location="/src/main.bicep:12:5",
            ),
        ),
        (
            "file:///src/my%20infra/main.bicep(1,1) : Warning no-unused-params: Unused.",
            Diagnostic(
                severity="warning",
                code="no-unused-params",
                message="Unused.",
                location="/src/my infra/main.bicep:1:1",
            ),
        ),
        (
            "C:\\src\\main.bicep(3,7) : Info use-recent-api-versions: Newer API version.",
            Diagnostic(
                severity="info",
                code="use-recent-api-versions",
                message="Newer API version.",
                location="C:\\src\\main.bicep:3:7",
            ),
        ),
        ("Build failed: 0 Warning(s), 1 Error(s)", None),
        ("WARNING: Symbolic name support in ARM is experimental.", None),
    ],
    ids=["error-with-link", "file-uri", "windows-path", "summary-line", "other-warning"],
)
def test_diagnostic_lines(line: str, expected: Diagnostic | None) -> None:
    assert parse_diagnostic_lines(line) == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {"ruleId": "BCP081", "message": {"text": "Type not available."}},
            ("warning", "BCP081", "Type not available.", ""),
        ),
        (
            {
                "ruleId": "x",
                "level": "note",
                "message": {"text": "m"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "file:///a/b.bicep"},
                            "region": {"startLine": 4, "startColumn": 9, "charOffset": 1},
                        }
                    }
                ],
            },
            ("info", "x", "m", "/a/b.bicep:4:9"),
        ),
        (
            {
                "level": "error",
                "message": {"text": "m"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "b.bicep"}}}],
            },
            ("error", "bicep", "m", "b.bicep"),
        ),
    ],
    ids=["default-level-no-location", "start-column-wins", "no-rule-no-region"],
)
def test_sarif_results(result: dict[str, Any], expected: tuple[str, str, str, str]) -> None:
    (diagnostic,) = sarif_diagnostics({"version": "2.1.0", "runs": [{"results": [result]}]})
    assert (diagnostic.severity, diagnostic.code, diagnostic.message, diagnostic.location) == (
        expected
    )


# -- the real CLI --------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("bicep") is None, reason="the Bicep CLI is not on PATH")
def test_the_real_bicep_builds_and_lints_the_example() -> None:
    source = REPO / "infra" / "main.bicep"
    if not source.is_file():
        pytest.skip(f"no example template at {source}")
    cli = BicepCli(use_az=False)
    assert cli.version().count(".") >= 2
    template = cli.build(source)
    assert template["$schema"].endswith("deploymentTemplate.json#")
    assert template["resources"]
    assert [d for d in cli.lint(source) if d.severity == "error"] == []
