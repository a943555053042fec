"""A stand-in for the Bicep CLI (and for ``az bicep``) that keeps the real CLI's process
contract: arguments, stdout/stderr formats and exit codes. Tests copy it into a temporary
folder as an executable named ``bicep`` or ``az`` (see ``test_bicep.install_standin``).

What it does is driven by directives in the input file, one a line:
``ERROR|WARNING|INFO CODE message`` (a diagnostic at that line, column 3), ``CRASH`` (a .NET
style crash, exit 134), ``SLEEP`` (hang), ``NOJSON`` (garbage on stdout), ``NOTEMPLATE``
(build-params without templateJson), ``URIS`` (report files as file:// URIs) and
``param NAME = JSON`` (a .bicepparam value). With ``STANDIN_NO_LINT=1`` in the environment
it behaves like a CLI older than the ``lint`` command.
Every call is appended to ``calls.jsonl`` beside the executable.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(sys.argv[0]).resolve().parent
PROG = Path(sys.argv[0]).name
LEVELS = {"ERROR": ("Error", "error"), "WARNING": ("Warning", "warning"), "INFO": ("Info", "note")}


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def directives(path: Path) -> list[tuple[int, str, str, str]]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        word, _, rest = line.strip().partition(" ")
        if word in LEVELS:
            code, _, message = rest.partition(" ")
            found.append((number, word, code, message))
    return found


def flags(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}


def shown(path: Path, uris: bool) -> str:
    return path.resolve().as_uri() if uris else str(path.resolve())


def behave(path: Path) -> None:
    marks = flags(path)
    if "CRASH" in marks:
        print(
            "Unhandled exception. System.NullReferenceException: Object reference not set",
            file=sys.stderr,
        )
        print("   at Bicep.Cli.Program.Main(String[] args)", file=sys.stderr)
        sys.exit(134)
    if "SLEEP" in marks:
        time.sleep(60)
    if "NOJSON" in marks:
        print("this is not JSON")
        sys.exit(0)


def print_diagnostics(path: Path) -> bool:
    uris = "URIS" in flags(path)
    errors = False
    for line, word, code, message in directives(path):
        level = LEVELS[word][0]
        print(f"{shown(path, uris)}({line},3) : {level} {code}: {message}", file=sys.stderr)
        errors = errors or word == "ERROR"
    return errors


def build(path: Path) -> None:
    behave(path)
    if print_diagnostics(path):
        sys.exit(1)
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {"compiledFrom": path.name},
        "resources": [],
    }
    print(json.dumps(template, indent=2))


def lint(path: Path) -> None:
    if os.environ.get("STANDIN_NO_LINT"):
        fail("Unrecognized command or argument 'lint'.")
    behave(path)
    results = []
    for line, word, code, message in directives(path):
        results.append(
            {
                "ruleId": code,
                "level": LEVELS[word][1],
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": path.resolve().as_uri()},
                            "region": {"startLine": line, "charOffset": 3},
                        }
                    }
                ],
            }
        )
    log = {
        "$schema": "https://schemastore.azurewebsites.net/schemas/json/sarif-2.1.0-rtm.6.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "bicep"}}, "results": results}],
    }
    print(json.dumps(log, indent=2))
    sys.exit(1 if any(r["level"] == "error" for r in results) else 0)


def build_params(path: Path) -> None:
    if path.suffix != ".bicepparam":
        fail(f"{path} is not a .bicepparam file.")
    behave(path)
    if print_diagnostics(path):
        sys.exit(1)
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("param "):
            name, _, value = line[len("param ") :].partition("=")
            values[name.strip()] = json.loads(value)
    parameters = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            k: (v if isinstance(v, dict) and "reference" in v else {"value": v})
            for k, v in values.items()
        },
    }
    template = None
    if "NOTEMPLATE" not in flags(path):
        template = {"$schema": "x", "contentVersion": "1.0.0.0", "resources": []}
    out = {
        "parametersJson": json.dumps(parameters, indent=2),
        "templateJson": json.dumps(template) if template else None,
        "templateSpecId": None,
    }
    print(json.dumps(out))


def main() -> None:
    argv = sys.argv[1:]
    with (HERE / "calls.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"prog": PROG, "args": argv}) + "\n")
    if PROG.startswith("az"):
        if argv[:1] != ["bicep"]:
            fail(f"ERROR: '{' '.join(argv[:1])}' is misspelled or not recognized by the system.", 2)
        argv = argv[1:]
        if argv == ["version"]:
            print("Bicep CLI version 0.29.47 (132ade51bc)")
            return
        if len(argv) < 3 or argv[1] != "--file":
            fail("ERROR: the following arguments are required: --file/-f", 2)
        command, path, options = argv[0], Path(argv[2]), argv[3:]
    else:
        if argv == ["--version"]:
            print("Bicep CLI version 0.30.23 (ec3612496f)")
            return
        if len(argv) < 2:
            fail("Unrecognized command or argument.")
        command, path, options = argv[0], Path(argv[-1]), argv[1:-1]
    if not path.is_file():
        fail(f"An error occurred reading file. Could not find file '{path}'.")
    if command == "build" and options == ["--stdout"]:
        build(path)
    elif command == "lint" and options == ["--diagnostics-format", "sarif"]:
        lint(path)
    elif command == "build-params" and options == ["--stdout"]:
        build_params(path)
    else:
        fail(f"Unrecognized command or arguments: {' '.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
