"""Every mistake in what ``bicep-assets`` is given exits 2 with one ``error: …`` line per
problem on stderr and no traceback, before anything is written; the CLI runs as a real
process from the project folder, the way the README runs it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
import requests

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from tests.cli_helpers import run_bicep_assets
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "cli-errors-test-secret"
MINIMAL = "template: ../infra/main.json\nscope:\n  resource_group: rg-bad\n  location: westeurope\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The shipped examples (dev, landing, prod), plus files a mistaken manifest can point at."""
    root = tmp_path / "project"
    for item in ("infra", "parameters"):
        shutil.copytree(REPO / item, root / item)
    shutil.copyfile(REPO / "dagster.yaml", root / "dagster.yaml")
    (root / "parameters" / "broken.parameters.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "outside.json").write_text("{}", encoding="utf-8")
    (tmp_path / "outside.parameters.json").write_text("{}", encoding="utf-8")
    return root


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(cli_here: Run) -> Run:
    """``run(cwd, *args, home=None, **env)``: :func:`run_process`'s command through the entry
    point in this process (see ``cli_here``)."""

    def in_this_process(
        cwd: Path, *args: str, home: Path | None = None, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        return cli_here(cwd, *args, home=home, env={"DEV_APP_SECRET": SECRET, **env})

    return in_this_process


def run_process(
    cwd: Path, *args: str, home: Path | None = None, **env: str | None
) -> subprocess.CompletedProcess[str]:
    """``bicep-assets ARGS`` as a process of its own in ``cwd``; DAGSTER_HOME unset unless
    given (the default is then ``.dagster_home`` in the project); ``env`` adds variables (None
    removes one)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "DEV_APP_SECRET")}
    environ["DEV_APP_SECRET"] = SECRET
    if home is not None:
        environ["DAGSTER_HOME"] = str(home)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return run_bicep_assets(list(args), cwd=cwd, env=environ)


def assert_input_error(done: subprocess.CompletedProcess[str], *lines: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert (done.returncode, done.stderr) == (2, "".join(f"error: {line}\n" for line in lines))
    assert done.stdout == ""


# (case, manifest text or bytes, the error after "parameters/bad.yaml: ", or after
# "parameters/bad.yaml" when it starts with ":line:column"); {project} and {outside} stand
# for the project folder and its parent.
MANIFEST_MISTAKES: list[tuple[str, str | bytes, str]] = [
    (
        "unknown key",
        MINIMAL + "deploymentx: 1\n",
        "deploymentx: unknown key (did you mean 'deployment'?) at line 5",
    ),
    (
        "unknown nested key",
        MINIMAL + "deployment:\n  modee: Complete\n",
        "deployment.modee: unknown key (did you mean 'mode'?) at line 6",
    ),
    (
        "unknown key, nothing close",
        MINIMAL + "retry:\n  colour: red\n",
        "retry.colour: unknown key; allowed here: max_retries, base_delay_s at line 6",
    ),
    (
        "wrong type: integer",
        MINIMAL + "retry:\n  max_retries: five\n",
        "retry.max_retries: must be an integer, not 'five' at line 6",
    ),
    (
        "wrong type: boolean",
        MINIMAL + "deployment:\n  rollback_on_error: 'yes'\n",
        "deployment.rollback_on_error: must be true or false, not 'yes' at line 6",
    ),
    (
        "wrong type: string",
        MINIMAL + "  subscription_id: 1234\n",
        "scope.subscription_id: must be a string, not 1234 at line 5",
    ),
    (
        "not one of the choices",
        MINIMAL + "deployment:\n  mode: incremental\n",
        "deployment.mode: must be 'Incremental' or 'Complete', not 'incremental' at line 6",
    ),
    (
        "out of bounds",
        MINIMAL + "retry:\n  max_retries: 51\n",
        "retry.max_retries: must be less than or equal to 50, not 51 at line 6",
    ),
    ("missing template key", MINIMAL.split("\n", 1)[1], "template: required key is missing"),
    (
        "missing template file",
        MINIMAL.replace("main.json", "nope.json"),
        "template: '../infra/nope.json' does not exist (looked for {project}/infra/nope.json); "
        "the path is relative to the manifest at line 1",
    ),
    (
        "template of the wrong kind",
        MINIMAL.replace("main.json", "main.txt"),
        "template: '../infra/main.txt' must be a .bicep or an ARM .json file at line 1",
    ),
    (
        "template outside the project folder",
        MINIMAL.replace("../infra/main.json", "../../outside.json"),
        "template: '../../outside.json' is outside the project folder {project}: keep the files "
        "a manifest names inside the project at line 1",
    ),
    (
        "parameters file outside the project folder",
        MINIMAL + "parameters_file: ../../outside.parameters.json\n",
        "parameters_file: '{outside}/outside.parameters.json' is outside the project folder "
        "{project}: keep the files a manifest names inside the project at line 5",
    ),
    (
        "parameters file that is not JSON",
        MINIMAL + "parameters_file: broken.parameters.json\n",
        "parameters_file: parameters file '{project}/parameters/broken.parameters.json' is not "
        "valid JSON: expected ':' after the property name 'not' at line 1, column 6",
    ),
    ("missing scope", MINIMAL.split("scope:")[0], "scope: required key is missing"),
    (
        "scope not a mapping",
        "template: ../infra/main.json\nscope: westeurope\n",
        "scope: must be a mapping, not 'westeurope' at line 2",
    ),
    (
        "bad location",
        MINIMAL.replace("westeurope", "'not a region!!'"),
        "scope.location: must be an Azure region name such as westeurope, not 'not a region!!' "
        "at line 4",
    ),
    (
        "bad resource group",
        MINIMAL.replace("rg-bad", "'rg bad.'"),
        "scope.resource_group: must be a resource group name (1-90 letters, digits, '-', '_', "
        "'.', '(' or ')', not ending in '.'), not 'rg bad.' at line 3",
    ),
    (
        "duplicate key",
        MINIMAL + "template: ../infra/main.json\n",
        "template: duplicate key at line 5, column 1 (first at line 1); YAML would silently keep "
        "only the last one: remove one",
    ),
    (
        "invalid YAML",
        "template: [../infra/main.json\nscope: {}\n",
        ":2:6: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence)",
    ),
    (
        "a tab in YAML",
        "template: ../infra/main.json\nscope:\n\tresource_group: rg\n",
        ":3:1: invalid YAML: found character '\\t' that cannot start any token (while scanning "
        "for the next token)",
    ),
    (
        "a Python object tag",
        MINIMAL + "tags: !!python/object/apply:os.system ['true']\n",
        ":5:7: invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    ("empty file", "", "the manifest is empty; it needs at least template and scope"),
    (
        "only comments",
        "# nothing yet\n",
        "the manifest is empty; it needs at least template and scope",
    ),
    (
        "a list",
        "- template: ../infra/main.json\n",
        "the manifest must be a mapping of keys (template, scope, ...), not a list",
    ),
    (
        "a scalar",
        "just text\n",
        "the manifest must be a mapping of keys (template, scope, ...), not a str",
    ),
    ("not UTF-8", b"template: \xff\xfe\n", "not UTF-8 text"),
    (
        "a reserved key",
        MINIMAL + "name: other\n",
        "name: not a manifest key (an environment is named after its file); remove it",
    ),
    (
        "a secure value written out",
        MINIMAL + "secure_parameters:\n  appSecret:\n    value: hunter2\n",
        "secure_parameters.appSecret.value: a secure value is never written in a manifest: give "
        "env: VARIABLE, or key_vault: VAULT_ID with secret: NAME at line 7",
    ),
    (
        "a parameter both plain and secure",
        MINIMAL + "parameters:\n  appSecret: x\nsecure_parameters:\n  appSecret: {env: X}\n",
        "secure_parameters: appSecret also in parameters; a secure parameter is given only by "
        "reference: remove it from parameters at line 7",
    ),
    (
        "a key vault that is no resource id",
        MINIMAL + "secure_parameters:\n  appSecret: {key_vault: nope, secret: s}\n",
        "secure_parameters.appSecret.key_vault: must be a key vault resource id: "
        "/subscriptions/{{id}}/resourceGroups/{{group}}/providers/Microsoft.KeyVault/vaults/"
        "{{name}} at line 6",
    ),
    (
        "an HTTP check without a scheme",
        MINIMAL + "health_checks:\n  http:\n    - url: example.com\n",
        "health_checks.http[0].url: 'example.com' must start with http:// or https:// (or a "
        "placeholder) at line 7",
    ),
    (
        "a TCP check without a port",
        MINIMAL + "health_checks:\n  tcp:\n    - host: db.example.com\n",
        "health_checks.tcp[0]: no port for 'db.example.com': add port: N or write host:port at "
        "line 7",
    ),
    (
        "an unknown placeholder",
        MINIMAL + "health_checks:\n  http:\n    - url: 'https://{foo}/'\n",
        "health_checks.http[0].url: unknown placeholder '{{foo}}' in 'https://{{foo}}/': use "
        "{{outputs.NAME}} with the name of a deployment output at line 7",
    ),
    (
        "a bad cron schedule",
        MINIMAL + "triggers:\n  drift_schedule: '0 25 * * *'\n",
        "triggers.drift_schedule: '0 25 * * *' is not a cron schedule: five fields, minute hour "
        "day-of-month month day-of-week, e.g. '0 6 * * 1-5' (06:00 on weekdays), or "
        "@daily/@hourly at line 6",
    ),
    (
        "a bad time zone",
        MINIMAL + "triggers:\n  drift_schedule: '@daily'\n  drift_timezone: Mars/Base\n",
        "triggers.drift_timezone: 'Mars/Base' is not an IANA time zone; use a name such as UTC "
        "or Europe/Amsterdam at line 7",
    ),
    (
        "a bad tag name",
        MINIMAL + "tags:\n  a/b: x\n",
        "tags.a/b: must be a tag name without <, >, %, &, \\, ? or /, not 'a/b' at line 6",
    ),
    (
        "YAML aliases that explode",
        "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
        "the manifest holds more than 10,000 values once its YAML aliases (*name) are expanded; "
        "write the values out or use fewer aliases",
    ),
    (
        "too large",
        MINIMAL + "# " + "x" * (1024 * 1024) + "\n",
        "the manifest is larger than 1024 KB; a manifest holds settings, not data",
    ),
]


# these run as a process of their own, as a person runs them; the others call the same
# entry point in this process (a process costs a second: the table would take a minute)
IN_A_PROCESS = {
    "unknown key",
    "template outside the project folder",
    "invalid YAML",
    "empty file",
    "not UTF-8",
}


@pytest.mark.parametrize(
    ("case", "text", "error"),
    [pytest.param(*row, id=row[0]) for row in MANIFEST_MISTAKES],
)
def test_a_manifest_mistake_exits_2_before_anything_is_written(
    project: Path,
    case: str,
    text: str | bytes,
    error: str,
    run: Run,
) -> None:
    path = project / "parameters" / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    if case in IN_A_PROCESS:
        done = run_process(project, "plan", "bad")
    else:
        done = run(project, "plan", "bad")
    expected = error.format(project=project.resolve(), outside=project.parent.resolve())
    separator = "" if expected.startswith(":") else ": "  # file:line:column for YAML syntax
    assert_input_error(done, f"parameters/bad.yaml{separator}{expected}")
    assert not (project / ".dagster_home").exists()


def test_manifests_that_are_not_files(project: Path, run: Run) -> None:
    (project / "parameters" / "folder.yaml").mkdir()
    assert_input_error(
        run(project, "deploy", "folder"),
        "parameters/folder.yaml: cannot read the manifest: Is a directory",
    )
    (project / "parameters" / "gone.yaml").symlink_to(project / "nowhere.yaml")
    assert_input_error(run(project, "plan", "gone"), "parameters/gone.yaml: no such manifest file")
    shutil.copyfile(project / "parameters" / "dev.yaml", project / "parameters" / "dev.yml")
    assert_input_error(
        run(project, "plan", "dev"),
        "parameters/dev.yml: environment 'dev' maps to the same jobs as parameters/dev.yaml "
        "(deploy_dev); rename one of them",
    )
    (project / "parameters" / "dev.yml").unlink()
    (project / "parameters" / "my env.yaml").write_text(MINIMAL, encoding="utf-8")
    assert_input_error(
        run(project, "plan", "my env"),
        "parameters/my env.yaml: environment name 'my env' (the file name) cannot name a "
        "Dagster job: rename the file using letters, digits, '_' and '-'",
    )
    assert not (project / ".dagster_home").exists()


def test_a_broken_manifest_does_not_stop_the_others(project: Path, run: Run) -> None:
    (project / "parameters" / "broken.yaml").write_text(MINIMAL + "colour: red\n", "utf-8")
    done = run(project, "plan", "dev")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "plan_dev succeeded" in done.stdout
    assert "Traceback" not in done.stderr


def test_what_a_deploy_is_given_is_checked_before_a_run_exists(
    project: Path, tmp_path: Path, run: Run
) -> None:
    home = tmp_path / "home"
    with dg.DagsterInstance.from_config(str(_prepared(home))) as instance:
        assert instance.get_runs_count() == 0
    before = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    cases: list[tuple[tuple[str, ...], dict[str, str | None], list[str]]] = [
        (
            ("deploy", "../../etc/passwd"),
            {},
            ["no environment '../../etc/passwd' (environments: dev, landing, prod)"],
        ),
        (
            ("deploy", "staging"),
            {},
            ["no environment 'staging' (environments: dev, landing, prod)"],
        ),
        (
            ("plan", "dev", "--param", "nope=1"),
            {},
            [
                "--param: 'nope' is not a parameter of the template (its parameters: appSecret, "
                "appServiceSku, environmentName, location, storageSku)."
            ],
        ),
        (
            ("deploy", "dev", "--param", "appServiceSku=Huge"),
            {},
            [
                "--param: Parameter 'appServiceSku' (string) does not accept 'Huge': The "
                "provided value 'Huge' for the template parameter 'appServiceSku' is not valid. "
                "The parameter value is not part of the allowed value(s): 'B1,B2,S1,P1v3,P2v3'."
            ],
        ),
        (
            ("deploy", "dev", "--param", "appSecret=hunter2-hunter2"),
            {},
            [
                "--param: Parameter 'appSecret' is secure (securestring) and cannot be "
                "overridden in run config, which is stored in clear text; give it as a secure "
                "parameter of the environment manifest (environment variable or Key Vault "
                "reference)."
            ],
        ),
        (("plan", "dev", "--param", "novalue"), {}, ["--param 'novalue' is not NAME=VALUE"]),
        (
            ("deploy", "dev", "--param", "nope=1"),
            {"DEV_APP_SECRET": None},
            [
                "parameters/dev.yaml: secure_parameters.appSecret: environment variable "
                "DEV_APP_SECRET is not set; set it in the environment of the command (the value "
                "is read at the ARM call and stored nowhere)",
                "--param: 'nope' is not a parameter of the template (its parameters: appSecret, "
                "appServiceSku, environmentName, location, storageSku).",
            ],
        ),
    ]
    for args, env, lines in cases:
        assert_input_error(run(project, *args, home=home, **env), *lines)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs_count() == 0
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == before


def _prepared(home: Path) -> Path:
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


def test_unusable_folders_and_instances(project: Path, tmp_path: Path, run: Run) -> None:
    assert_input_error(
        run(project, "deploy", "dev", "--project", str(tmp_path / "nowhere")),
        f"--project {tmp_path / 'nowhere'}: no such folder",
    )
    not_a_folder = tmp_path / "home-file"
    not_a_folder.write_text("x", encoding="utf-8")
    assert_input_error(
        run(project, "plan", "dev", home=not_a_folder),
        f"DAGSTER_HOME {not_a_folder}: cannot be used as Dagster's folder (File exists)",
    )
    (project / "dagster.yaml").write_text("colour: red\n", encoding="utf-8")
    home = tmp_path / "home"
    shown = f"{home}/dagster.yaml (the project's dagster.yaml, copied)"
    assert_input_error(
        run(project, "plan", "dev", home=home),
        f'{shown}: Received unexpected config entry "colour" at the root',
    )
    assert_input_error(
        run(project, "audit", "export", "--env", "dev", home=home),
        f'{shown}: Received unexpected config entry "colour" at the root',
    )
    (project / "dagster.yaml").write_text("run_coordinator: [\n", encoding="utf-8")
    assert_input_error(
        run(project, "plan", "dev", home=home),
        f"{shown}: invalid YAML: expected the node content, but found '<stream end>' at line 2, "
        "column 1",
    )


def test_local_arm_commands_given_what_they_cannot_use(tmp_path: Path, run: Run) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database", encoding="utf-8")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    faults = tmp_path / "faults.json"
    faults.write_text(
        json.dumps({"rules": [{"kind": "latency", "delay_s": 1}, {"kind": "status", "path": "("}]}),
        encoding="utf-8",
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    cases: list[tuple[tuple[str, ...], str]] = [
        (
            ("arm", "--state", str(text), "group", "list"),
            f"--state {text}: '{text}' cannot be opened as a local ARM state file (file is not "
            "a database); point the local ARM at an SQLite file it wrote, or at a new file",
        ),
        (
            ("arm", "--state", str(folder), "group", "list"),
            f"--state {folder}: '{folder}' cannot be opened as a local ARM state file (unable to "
            "open database file); point the local ARM at an SQLite file it wrote, or at a new "
            "file",
        ),
        (
            ("arm", "--state", str(other), "group", "list"),
            f"--state {other}: '{other}' is an SQLite database of something else (it has "
            "tables, but not the local ARM's); point the local ARM at a file it wrote, or at a "
            "new file",
        ),
        (
            ("arm", "group", "list"),
            "give --state FILE, or --endpoint, --token and --ca-file of a running local ARM "
            "(missing: --endpoint, --token, --ca-file)",
        ),
        (
            ("emulator", "serve", "--state", str(text)),
            f"--state {text}: '{text}' cannot be opened as a local ARM state file (file is not "
            "a database); point the local ARM at an SQLite file it wrote, or at a new file",
        ),
        (
            ("emulator", "serve", "--host", "not a host"),
            "--host 'not a host' is not a host name or address of this machine (Name or "
            "service not known)",
        ),
        (
            ("emulator", "serve", "--faults", str(faults)),
            f"fault plan '{faults}': rules[1] (status): path: '(' is not a regular expression: "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            ("emulator", "serve", "--faults", str(folder)),
            f"fault plan '{folder}': Is a directory",
        ),
        (
            ("emulator", "serve", "--cert-dir", str(text / "ca")),
            f"--cert-dir {text / 'ca'}: Not a directory",
        ),
        (("expand", "-f", str(folder)), f"template file '{folder}' is a folder, not a file"),
    ]
    for args, line in cases:
        assert_input_error(run(tmp_path, *args), line)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_input_error(
            run(tmp_path, "emulator", "serve", "--port", str(port)),
            f"--port {port}: cannot listen on 127.0.0.1: Address already in use",
        )
    assert other.stat().st_size > 0 and text.read_text(encoding="utf-8") == "not a database"
    with sqlite3.connect(other) as connection:  # nothing was added to it
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("t",)]


def test_an_unreachable_local_arm_is_environmental_exit_1(tmp_path: Path, run: Run) -> None:
    port = free_port()  # nothing listens there
    ca = tmp_path / "ca.pem"
    ca.write_text("", encoding="utf-8")
    done = run(
        tmp_path,
        *("arm", "--endpoint", f"https://127.0.0.1:{port}", "--token", "t", "--ca-file", str(ca)),
        *("group", "list"),
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"error: cannot reach the local ARM at https://127.0.0.1:{port}: [Errno 111] Connection "
        "refused\n"
    )


def test_a_fault_rule_with_a_bad_regex_is_a_400_from_the_admin_api() -> None:
    with LocalArm(config=LocalArmConfig(retry_after=0)) as arm:
        conn = arm.connection
        answer = requests.put(
            f"{conn.base_url}/_localarm/faults",
            json={"rules": [{"kind": "status", "path": "[a-"}]},
            headers={"Authorization": f"Bearer {conn.token}"},
            verify=conn.ca_file,
            timeout=10,
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == {
            "code": "InvalidFaultPlan",
            "message": "rules[0] (status): path: '[a-' is not a regular expression: unterminated "
            "character set at position 0",
        }
        still = requests.get(
            f"{conn.base_url}/_localarm/faults",
            headers={"Authorization": f"Bearer {conn.token}"},
            verify=conn.ca_file,
            timeout=10,
        )
        assert still.json()["rules"] == []


BUG = (
    "import sys\n"
    "import bicep_assets.cli as cli\n"
    "def broken(args):\n"
    "    raise KeyError('a bug planted by the test')\n"
    "cli._expand = broken\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def test_an_unexpected_error_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """A bug planted in the real CLI process (nothing else can reach this path on purpose)."""
    command = [sys.executable, "-c", BUG, "expand", "-f", "main.json"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        "error: unexpected KeyError: 'a bug planted by the test' — a bug in bicep-assets; run "
        "again with --debug for the traceback\n"
    )
    for debug in (["--debug", "expand", "-f", "x"], ["expand", "-f", "x", "--debug"]):
        traced = subprocess.run(
            [sys.executable, "-c", BUG, *debug],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert traced.returncode == 1
        assert traced.stderr.startswith("Traceback (most recent call last):")
        assert traced.stderr.endswith("KeyError: 'a bug planted by the test'\n")


def test_workload_identity_without_its_token_file_is_refused_before_a_run(
    project: Path, tmp_path: Path, run: Run
) -> None:
    (project / "parameters" / "wi.yaml").write_text(
        MINIMAL.replace("rg-bad", "rg-wi")
        + "parameters: {environmentName: wi}\n"
        + "secure_parameters:\n  appSecret: {env: DEV_APP_SECRET}\n"
        + "identity:\n  kind: workload_identity\n"
        + "  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"
        + "  client_id: 9b2c6a0e-1f3d-4e5a-8b7c-6d5e4f3a2b1c\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    done = run(
        project, "plan", "wi", "--target", "azure", home=home, AZURE_FEDERATED_TOKEN_FILE=None
    )
    assert_input_error(
        done,
        "parameters/wi.yaml: identity.kind is workload_identity, but AZURE_FEDERATED_TOKEN_FILE "
        "is not set: write the job's OIDC token to a file and set the variable to its path (the "
        "README's multi-subscription setup), or use another identity.kind",
    )
    assert not home.exists()
