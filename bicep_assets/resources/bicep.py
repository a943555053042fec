"""The Bicep CLI as a Dagster resource: build, lint (SARIF), build-params and version.

The CLI is found through the resource's ``executable`` (a path, or a name looked up on PATH),
then ``bicep`` on PATH, then ``az bicep`` (Azure CLI) when ``use_az`` is set. Every call is one
process (``subprocess.run``, no shell) with a timeout.

The process contract, as the official CLI implements it (Azure/bicep ``src/Bicep.Cli``):

- ``bicep build --stdout FILE``: the ARM template JSON on stdout. Diagnostics go to stderr,
  one a line: ``FILE(LINE,COL) : Error BCP057: message [https://aka.ms/...]`` (``FILE`` is a
  path or a ``file://`` URI depending on the version; levels Error, Warning, Info). Exit code
  1 when there is any error, else 0.
- ``bicep lint --diagnostics-format sarif FILE``: a SARIF 2.1 log on stdout (``runs[].results[]``
  with ``ruleId``, ``level`` error/warning/note, ``message.text`` and a physical location whose
  region has ``startLine`` and the column as ``charOffset``). Exit code 1 when a result is an
  error.
- ``bicep build-params --stdout FILE.bicepparam``: one JSON object on stdout,
  ``{"parametersJson": "<parameters file as text>", "templateJson": "<template as text>" | null,
  "templateSpecId": ... | null}`` (the format az CLI and Az PowerShell depend on).
- ``bicep --version``: ``Bicep CLI version 0.30.23 (ec3612496f)``.

Through the Azure CLI the same commands are ``az bicep build --file FILE --stdout``,
``az bicep lint --file FILE --diagnostics-format sarif``,
``az bicep build-params --file FILE --stdout`` and ``az bicep version``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import dagster as dg
from pydantic import Field

from ..models import Diagnostic

INSTALL_HELP = (
    "Install the Bicep CLI (https://aka.ms/bicep-install) or the Azure CLI and run "
    "`az bicep install`, or set the BicepCli resource's `executable` to the bicep binary."
)
_DIAGNOSTIC_LINE = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\)\s*:\s*"
    r"(?P<level>Error|Warning|Info)\s+(?P<code>[^\s:]+)\s*:\s*(?P<message>.*)$"
)
_LEVELS = {"error": "error", "warning": "warning", "info": "info", "note": "info", "none": "info"}
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.-]+)?")
_TAIL_LINES = 20


class BicepError(Exception):
    """The Bicep CLI failed, or reported errors: what ran, its exit code, what it said."""

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        exit_code: int | None = None,
        diagnostics: Sequence[Diagnostic] = (),
        stderr: str = "",
    ) -> None:
        super().__init__(message)
        self.command = list(command)
        self.exit_code = exit_code
        self.diagnostics = list(diagnostics)
        self.stderr = stderr


class BicepNotFoundError(BicepError):
    """No Bicep CLI could be found (configured path, PATH, or the Azure CLI)."""


class BicepCli(dg.ConfigurableResource):
    """Compiles and lints Bicep files with the official Bicep CLI (or ``az bicep``)."""

    executable: str | None = Field(
        default=None,
        description="Path to the bicep executable (or a name looked up on PATH). Unset: "
        "`bicep` on PATH, then `az bicep` when use_az is true.",
    )
    use_az: bool = Field(
        default=True, description="Fall back to the Azure CLI's `az bicep` when bicep is absent."
    )
    timeout_s: float = Field(
        default=120, gt=0, description="Seconds one Bicep CLI call may take before it is killed."
    )

    # -- finding the CLI ----------------------------------------------------------------------
    def resolve(self) -> list[str]:
        """The command prefix that runs the CLI: ``[bicep]`` or ``[az, "bicep"]`` (full paths)."""
        if self.executable:
            found = _which(self.executable)
            if found is None:
                raise BicepNotFoundError(
                    f"The Bicep CLI configured in BicepCli.executable ({self.executable!r}) does "
                    f"not exist or is not executable. {INSTALL_HELP}"
                )
            return [found, "bicep"] if _is_az(found) else [found]
        found = shutil.which("bicep")
        if found:
            return [found]
        if self.use_az:
            az = shutil.which("az")
            if az:
                return [az, "bicep"]
        where = "`bicep` is not on PATH" + (" and neither is `az`" if self.use_az else "")
        raise BicepNotFoundError(f"No Bicep CLI found: {where}. {INSTALL_HELP}")

    # -- commands -----------------------------------------------------------------------------
    def build(self, template: Path) -> dict[str, Any]:
        """Compile a ``.bicep`` file to its ARM template JSON; errors raise :class:`BicepError`."""
        template = Path(template)
        prefix = self.resolve()
        args = (
            ["build", "--file", str(template), "--stdout"]
            if _via_az(prefix)
            else ["build", "--stdout", str(template)]
        )
        result = self._run(prefix, args, template)
        if result.returncode != 0:
            raise self._failure("bicep build", template, result)
        return _json_object(result, template, "bicep build")

    def lint(self, template: Path) -> list[Diagnostic]:
        """Run the Bicep linter on a ``.bicep`` file: its findings, errors included."""
        template = Path(template)
        prefix = self.resolve()
        args = (
            ["lint", "--file", str(template), "--diagnostics-format", "sarif"]
            if _via_az(prefix)
            else ["lint", "--diagnostics-format", "sarif", str(template)]
        )
        result = self._run(prefix, args, template)
        try:
            log = json.loads(result.stdout)
        except ValueError:
            log = None
        if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
            raise BicepError(
                _process_message(
                    f"bicep lint of {template} printed no SARIF log", result, _command(result)
                ),
                command=_command(result),
                exit_code=result.returncode,
                diagnostics=parse_diagnostic_lines(result.stderr, template),
                stderr=result.stderr,
            )
        return sarif_diagnostics(log, template)

    def build_params(self, params: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Compile a ``.bicepparam`` file: its ARM ``parameters`` object, and the template
        compiled from its ``using`` file when the CLI includes it (else ``None``)."""
        params = Path(params)
        prefix = self.resolve()
        args = (
            ["build-params", "--file", str(params), "--stdout"]
            if _via_az(prefix)
            else ["build-params", "--stdout", str(params)]
        )
        result = self._run(prefix, args, params)
        if result.returncode != 0:
            raise self._failure("bicep build-params", params, result)
        output = _json_object(result, params, "bicep build-params")
        fields = {key.lower(): value for key, value in output.items()}
        parameters_file = _embedded_json(fields.get("parametersjson"), params, "parametersJson")
        if not isinstance(parameters_file, dict):
            raise BicepError(
                f"bicep build-params of {params} printed no 'parametersJson' object; got keys "
                f"{sorted(output)}.",
                command=_command(result),
                exit_code=result.returncode,
            )
        parameters = parameters_file.get("parameters", {})
        if not isinstance(parameters, dict):
            raise BicepError(f"The parameters compiled from {params} are not a JSON object.")
        template = _embedded_json(fields.get("templatejson"), params, "templateJson")
        return parameters, template if isinstance(template, dict) else None

    def version(self) -> str:
        """The Bicep CLI's version number (``0.30.23``)."""
        prefix = self.resolve()
        args = ["version"] if _via_az(prefix) else ["--version"]
        result = self._run(prefix, args, None)
        text = f"{result.stdout}\n{result.stderr}"
        if result.returncode != 0:
            raise BicepError(
                _process_message("Asking the Bicep CLI for its version failed", result),
                command=_command(result),
                exit_code=result.returncode,
                stderr=result.stderr,
            )
        match = _VERSION.search(result.stdout) or _VERSION.search(text)
        return match.group(0) if match else result.stdout.strip()

    # -- running ------------------------------------------------------------------------------
    def _run(
        self, prefix: list[str], args: list[str], subject: Path | None
    ) -> subprocess.CompletedProcess[str]:
        if subject is not None and not subject.is_file():
            raise BicepError(f"{subject}: no such file (given to the Bicep CLI).")
        command = [*prefix, *args]
        try:
            return subprocess.run(
                command,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                stdin=subprocess.DEVNULL,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = _decode(exc.stderr)
            raise BicepError(
                f"`{shlex.join(command)}` did not finish within {self.timeout_s:g} s and was "
                "stopped (raise BicepCli.timeout_s if the file is large)." + _tail_text(stderr),
                command=command,
                stderr=stderr,
            ) from None
        except OSError as exc:
            raise BicepError(
                f"`{shlex.join(command)}` could not be started: {exc}. {INSTALL_HELP}",
                command=command,
            ) from None

    def _failure(
        self, what: str, subject: Path, result: subprocess.CompletedProcess[str]
    ) -> BicepError:
        diagnostics = parse_diagnostic_lines(result.stderr, subject)
        errors = [d for d in diagnostics if d.severity == "error"]
        if errors:
            listed = "\n".join(f"  {d.location}: {d.code}: {d.message}" for d in errors[:20])
            more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
            message = (
                f"{what} found {len(errors)} error{'s' if len(errors) != 1 else ''} in "
                f"{subject}:\n{listed}{more}"
            )
        else:
            message = _process_message(f"{what} of {subject} failed", result)
        return BicepError(
            message,
            command=_command(result),
            exit_code=result.returncode,
            diagnostics=diagnostics,
            stderr=result.stderr,
        )


# -- parsing the CLI's output -------------------------------------------------------------------


def parse_diagnostic_lines(stderr: str, subject: Path | None = None) -> list[Diagnostic]:
    """Diagnostics from the CLI's default format (``FILE(LINE,COL) : Level CODE: message``)."""
    found: list[Diagnostic] = []
    for raw in stderr.splitlines():
        match = _DIAGNOSTIC_LINE.match(raw.strip())
        if match is None:
            continue
        path = display_path(match["file"], subject)
        found.append(
            Diagnostic(
                severity=_LEVELS[match["level"].lower()],  # type: ignore[arg-type]
                code=match["code"],
                message=match["message"].strip(),
                location=f"{path}:{match['line']}:{match['col']}",
            )
        )
    return found


def sarif_diagnostics(log: dict[str, Any], subject: Path | None = None) -> list[Diagnostic]:
    """Diagnostics from a SARIF 2.1 log (the Bicep linter's ``--diagnostics-format sarif``)."""
    found: list[Diagnostic] = []
    for run in log.get("runs") or []:
        if not isinstance(run, dict):
            continue
        for result in run.get("results") or []:
            if not isinstance(result, dict):
                continue
            level = str(result.get("level") or "warning").lower()  # SARIF's default level
            message = result.get("message")
            text = message.get("text", "") if isinstance(message, dict) else str(message or "")
            found.append(
                Diagnostic(
                    severity=_LEVELS.get(level, "warning"),  # type: ignore[arg-type]
                    code=str(result.get("ruleId") or "bicep"),
                    message=str(text).strip(),
                    location=_sarif_location(result, subject),
                )
            )
    return found


def _sarif_location(result: dict[str, Any], subject: Path | None) -> str:
    locations = result.get("locations") or []
    physical = locations[0].get("physicalLocation") if locations else None
    if not isinstance(physical, dict):
        return str(subject) if subject else ""
    artifact = physical.get("artifactLocation") or {}
    uri = artifact.get("uri") if isinstance(artifact, dict) else None
    path = display_path(str(uri), subject) if uri else (str(subject) if subject else "")
    region = physical.get("region")
    region = region if isinstance(region, dict) else {}
    line = region.get("startLine")
    column = region.get("startColumn") or region.get("charOffset")
    if line is None:
        return path
    return f"{path}:{line}:{column}" if column is not None else f"{path}:{line}"


def display_path(reported: str, subject: Path | None) -> str:
    """A reported file (path or ``file://`` URI) as the user wrote it when it is ``subject``."""
    text = reported.strip()
    if text.lower().startswith("file:"):
        parsed = urlparse(text)
        text = url2pathname(parsed.path)
    if subject is None:
        return text
    try:
        if Path(text).resolve() == Path(subject).resolve():
            return str(subject)
        relative = Path(text).resolve().relative_to(Path(subject).resolve().parent)
        return str(Path(subject).parent / relative)
    except (OSError, ValueError):
        return text


def _json_object(
    result: subprocess.CompletedProcess[str], subject: Path, what: str
) -> dict[str, Any]:
    try:
        value = json.loads(result.stdout)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise BicepError(
            _process_message(f"{what} of {subject} printed no JSON object", result),
            command=_command(result),
            exit_code=result.returncode,
            stderr=result.stderr,
        )
    return value


def _embedded_json(text: Any, subject: Path, field: str) -> Any:
    if text is None or isinstance(text, dict):
        return text
    try:
        return json.loads(str(text))
    except ValueError as exc:
        raise BicepError(
            f"bicep build-params of {subject}: '{field}' is not valid JSON ({exc})."
        ) from None


# -- small helpers --------------------------------------------------------------------------------


def _which(executable: str) -> str | None:
    if os.sep in executable or (os.altsep and os.altsep in executable):
        path = Path(executable).expanduser()
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(executable)


def _is_az(path: str) -> bool:
    return Path(path).stem.lower() == "az"


def _via_az(prefix: list[str]) -> bool:
    return len(prefix) == 2 and prefix[1] == "bicep"


def _command(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [str(a) for a in result.args]


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


def _tail_text(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return "\nstderr (last lines):\n  " + "\n  ".join(lines[-_TAIL_LINES:])


def _process_message(
    what: str, result: subprocess.CompletedProcess[str], command: list[str] | None = None
) -> str:
    command = command or _command(result)
    return f"{what}: `{shlex.join(command)}` exited with code {result.returncode}." + (
        _tail_text(result.stderr) or " It printed nothing on stderr."
    )


__all__ = [
    "INSTALL_HELP",
    "BicepCli",
    "BicepError",
    "BicepNotFoundError",
    "display_path",
    "parse_diagnostic_lines",
    "sarif_diagnostics",
]
