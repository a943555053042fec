"""Dagster on PostgreSQL: ``BICEP_ASSETS_POSTGRES_URL`` chooses the storage of every command,
and each way the setting can be wrong is one line naming it, without the password, before
anything is written (docs/operations.md#running-it-for-a-team)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from bicep_assets.instance import (
    POSTGRES_URL_VAR,
    EnvironmentHeld,
    StorageSettingError,
    check_postgres_url,
    environment_held,
    instance_yaml,
    redact_url,
    scrub_password,
    with_driver,
)

from .cli_helpers import project_in_git
from .conftest import CliRun, DagsterDev, copy_for_dagster_dev, hold_environment_elsewhere
from .postgres_cluster import PASSWORD, CuttableProxy, PostgresCluster

SECRETS = {"DEV_APP_SECRET": "dev-secret-value-1234"}


def test_plan_and_deploy_store_their_runs_in_postgres(
    tmp_path: Path, cli_here: CliRun, postgres_url: str
) -> None:
    project, home = project_in_git(tmp_path / "project"), tmp_path / "home"
    env = {**SECRETS, POSTGRES_URL_VAR: postgres_url}
    planned = cli_here(project, "plan", "dev", home=home, env=env)
    assert planned.returncode == 0, planned.stderr
    deployed = cli_here(project, "deploy", "dev", home=home, env=env)
    assert deployed.returncode == 0, deployed.stderr
    exported = cli_here(project, "audit", "export", "--env", "dev", home=home, env=env)
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(exported.stdout)["runs"]) == 2

    written = (home / "dagster.yaml").read_text()
    assert yaml.safe_load(written)["storage"] == {
        "postgres": {"postgres_url": {"env": POSTGRES_URL_VAR}}
    }
    # the queue's per-environment limit is the project's, unchanged
    project_config = yaml.safe_load((project / "dagster.yaml").read_text())
    assert yaml.safe_load(written)["run_coordinator"] == project_config["run_coordinator"]
    # the password is in no file under DAGSTER_HOME, nor in what the commands printed
    for path in home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    for done in (planned, deployed, exported):
        assert PASSWORD not in done.stdout + done.stderr
    assert not list(home.glob("history/runs/*.db")), "SQLite run shards were written"

    instance = dg.DagsterInstance.from_config(str(home))
    with instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == ["deploy_dev", "plan_dev"]
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        # Dagster's own view of its configuration (the UI's "Configuration" page)
        assert PASSWORD not in instance.info_str()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_ui_on_postgres_shows_the_runs_stored_there(
    tmp_path: Path, cli_here: CliRun, postgres_url: str
) -> None:
    """``bicep-assets ui`` with the variable set: dagster dev's webserver on PostgreSQL (its
    configuration page says so, without the password) shows the run a CLI stored there; no
    SQLite run storage is created, and the password is in no file and not in dagster dev's
    output. (The daemon launching runs on PostgreSQL: tests/test_team_processes.py.)"""
    home = copy_for_dagster_dev(tmp_path)
    (home / "dagster.yaml").unlink()  # bicep-assets ui writes it
    env = {**SECRETS, POSTGRES_URL_VAR: postgres_url}
    planned = cli_here(home.parent / "project", "plan", "dev", home=home, env=env)
    assert planned.returncode == 0, planned.stderr
    dev = DagsterDev(tmp_path, env={POSTGRES_URL_VAR: postgres_url})
    try:
        query = "{ instance { info } runsOrError { ... on Runs { results { jobName status } } } }"
        answer = requests.post(
            f"http://127.0.0.1:{dev.start_ui()}/graphql", json={"query": query}, timeout=60
        ).json()["data"]
    finally:
        dev.stop()
    assert "run_storage: PostgresRunStorage" in answer["instance"]["info"]
    assert PASSWORD not in answer["instance"]["info"]
    assert {"jobName": "plan_dev", "status": "SUCCESS"} in answer["runsOrError"]["results"]
    assert yaml.safe_load((home / "dagster.yaml").read_text())["storage"] == {
        "postgres": {"postgres_url": {"env": POSTGRES_URL_VAR}}
    }
    assert not list(home.glob("history/**/*.db")), "SQLite run storage was written"
    for path in [*home.rglob("*"), dev.log_path]:
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_runs_on_several_hosts_hold_an_environment_through_postgres(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a run's hold is an advisory lock in the shared database, so it holds
    for every host (each process here has a DAGSTER_HOME of its own, as hosts would); the
    database ends it when the process holding it dies."""
    url = with_driver(postgres_url)  # as the CLI sets it for its processes
    monkeypatch.setenv(POSTGRES_URL_VAR, url)
    homes = [tmp_path / "host-a", tmp_path / "host-b"]
    for home in homes:
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml("", postgres_url))
    holder = hold_environment_elsewhere(homes[0], "dev", {POSTGRES_URL_VAR: url})
    try:
        with dg.DagsterInstance.from_config(str(homes[1])) as instance:
            with (
                pytest.raises(EnvironmentHeld, match=r"^dev is held by another deployment run"),
                environment_held(instance, "dev", timeout_s=0),
            ):
                pass
            with environment_held(instance, "prod", timeout_s=0):  # others are free
                pass
            holder.kill()  # SIGKILL: the connection drops, the server ends the session
            holder.wait(30)
            with environment_held(instance, "dev", timeout_s=10, poll_s=0.05):
                pass
        assert not (homes[1] / "locks").exists()  # no lock file: the database holds it
    finally:
        holder.kill()
        holder.wait(30)


def test_postgres_gone_when_a_run_takes_its_environment_is_one_line_without_the_password(
    tmp_path: Path, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run takes its environment's hold with a connection of its own: when the server is
    gone by then, the hold fails with one line naming the environment and what PostgreSQL's
    client said, the password scrubbed (the run's resource makes it an environmental failure,
    retried)."""
    proxy = CuttableProxy(postgres_cluster.port)
    url = with_driver(proxy.url(postgres_cluster.create_database()))
    monkeypatch.setenv(POSTGRES_URL_VAR, url)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml("", url))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        proxy.cut()
        with (
            pytest.raises(EnvironmentHeld) as held,
            environment_held(instance, "dev", timeout_s=0),
        ):
            pass
    message = str(held.value)
    assert message.startswith("dev: cannot take the environment's lock on PostgreSQL ("), message
    assert "\n" not in message and PASSWORD not in message


@pytest.mark.parametrize(
    ("change", "code", "expected"),
    [
        ({"password": "wrong-password-123"}, 2, "refused the user name or password"),
        ({"database": "no_such_db"}, 2, 'database "no_such_db" does not exist'),
        ({"port": "1"}, 1, "PostgreSQL cannot be reached"),
        ({"scheme": "mysql"}, 2, "not a PostgreSQL URL"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it_and_nothing_is_written(
    tmp_path: Path,
    cli_here: CliRun,
    postgres_cluster,
    change: dict[str, str],
    code: int,
    expected: str,
) -> None:
    password = change.get("password", PASSWORD)
    url = postgres_cluster.url(change.get("database", "postgres"), password=password)
    if "port" in change:
        url = url.replace(f":{postgres_cluster.port}/", f":{change['port']}/")
    if "scheme" in change:
        url = url.replace("postgresql://", f"{change['scheme']}://")
    project, home = project_in_git(tmp_path / "project"), tmp_path / "home"
    done = cli_here(project, "deploy", "dev", home=home, env={**SECRETS, POSTGRES_URL_VAR: url})
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {POSTGRES_URL_VAR}="), done.stderr
    assert expected in lines[0]
    assert password not in done.stdout + done.stderr and ":***@" in lines[0]
    assert "Traceback" not in done.stderr
    assert not home.exists()  # nothing written


def test_the_setting_and_a_storage_of_the_projects_own_are_refused_together(
    tmp_path: Path, cli_here: CliRun, postgres_url: str
) -> None:
    project, home = project_in_git(tmp_path / "project"), tmp_path / "home"
    config = project / "dagster.yaml"
    config.write_text(config.read_text() + "\nstorage:\n  sqlite:\n    base_dir: x\n")
    done = cli_here(
        project, "plan", "dev", home=home, env={**SECRETS, POSTGRES_URL_VAR: postgres_url}
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {POSTGRES_URL_VAR} is set and the project's dagster.yaml chooses storage "
        "itself (storage): keep one of them"
    )
    assert not home.exists()


def test_redact_url_and_the_instance_yaml_never_hold_the_password() -> None:
    url = "postgresql://dagster:s3cr3t-Pa55@db.example.com:5432/dagster"
    assert redact_url(url) == "postgresql://dagster:***@db.example.com:5432/dagster"
    assert redact_url("postgresql://db/dagster") == "postgresql://db/dagster"
    text = instance_yaml("telemetry:\n  enabled: false\n", url)
    assert "s3cr3t" not in text
    assert yaml.safe_load(text) == {
        "telemetry": {"enabled": False},
        "storage": {"postgres": {"postgres_url": {"env": POSTGRES_URL_VAR}}},
    }
    assert instance_yaml("telemetry:\n  enabled: false\n", None) == (
        "telemetry:\n  enabled: false\n"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg2://dagster@db:5432/dagster?password=QueryPassw0rd",
            "postgresql+psycopg2://dagster@db:5432/dagster?password=***",
        ),
        (
            "postgresql://u:pw%40rd@db/dagster?sslmode=require&password=Other1",
            "postgresql://u:***@db/dagster?sslmode=require&password=***",
        ),
        (
            "postgresql://dagster:Hunter@2Secret@db:5432/dagster",
            "postgresql://dagster:***@db:5432/dagster",
        ),
    ],
    ids=["query", "both", "unencoded-at"],
)
def test_every_form_of_password_is_masked(url: str, shown: str) -> None:
    """libpq takes a password in the query string too, and a server reading an unencoded
    '@' as the end of the user information quotes the rest of the password as a host."""
    assert redact_url(url) == shown
    text = 'could not translate host name "2Secret@db" (QueryPassw0rd, pw@rd, Other1)'
    scrubbed = scrub_password(text, url)
    for password in ("2Secret", "QueryPassw0rd", "pw@rd", "Other1"):
        assert (password in url.replace("%40", "@")) == (password not in scrubbed)


def test_an_unencoded_at_in_the_password_is_refused_naming_the_fix() -> None:
    with pytest.raises(StorageSettingError) as refused:
        check_postgres_url("postgresql://dagster:Hunter@2Secret@db:5432/dagster")
    assert str(refused.value) == (
        f"{POSTGRES_URL_VAR}=postgresql://dagster:***@db:5432/dagster: the user name or "
        "password holds an '@': percent-encode it (%40; and ':' as %3A, '/' as %2F) so that "
        "the host is what follows the last '@'"
    )
    assert refused.value.exit_code == 2


def test_storage_lost_mid_command_is_environmental_not_a_bug(
    cli_here: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dagster-postgres gives up retrying when the server goes away during a run: the command
    says so in one line, exit 1 (try again), not 'a bug' (exit 3); the password stays out."""
    import sqlalchemy.exc
    from dagster_postgres.utils import DagsterPostgresException

    import bicep_assets.cli as cli

    url = f"postgresql://dagster:{PASSWORD}@127.0.0.1:9/dagster"
    lost = [
        DagsterPostgresException("too many retries for DB connection"),
        sqlalchemy.exc.OperationalError(
            "SELECT 1", {}, Exception(f'connection to "{url}" failed: Connection refused')
        ),
    ]
    for error in lost:

        def gone(args: object, error: Exception = error) -> int:
            raise error

        monkeypatch.setattr(cli, "_run", gone)
        done = cli_here(tmp_path, "plan", "dev", env={POSTGRES_URL_VAR: url})
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: Dagster's storage stopped answering (")
        assert "a bug" not in done.stderr and PASSWORD not in done.stderr
    # without PostgreSQL, an OperationalError is not a server away: still reported as a bug
    done = cli_here(tmp_path, "plan", "dev", env={POSTGRES_URL_VAR: None})
    assert done.returncode == 3 and "a bug in bicep-assets" in done.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_postgres_going_away_mid_run_is_one_warning_and_one_error(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    """The server stops answering while a deploy plans (its connections cut, new ones
    refused): one warning line when Dagster starts retrying, one error line when it gives up,
    exit 1 — not the ~100 lines of Dagster's retries, no traceback, no password."""
    proxy = CuttableProxy(postgres_cluster.port)
    url = proxy.url(postgres_cluster.create_database())
    project, home = project_in_git(tmp_path / "project"), tmp_path / "home"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("bicep-assets")), "deploy", "dev"],
        cwd=project,
        env={**os.environ, **SECRETS, "DAGSTER_HOME": str(home), POSTGRES_URL_VAR: url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        before = []
        for line in process.stderr:  # progress is on stderr
            before.append(line)
            if line.startswith("plan    started"):
                break
        proxy.cut()
        after = process.stderr.read()
        assert process.wait(timeout=240) == 1, "".join(before) + after
    finally:
        proxy.cut()
        process.kill()
        process.wait()
    lines = after.splitlines()
    notices = [line for line in lines if line.startswith("warning: PostgreSQL is not answering")]
    assert len(notices) == 1, after
    assert "connection to server at" in notices[0] and "further retries not shown" in notices[0]
    assert lines[-1].startswith("error: Dagster's storage stopped answering ("), after
    assert "Retrying failed database" not in after and "Traceback" not in after
    assert PASSWORD not in "".join(before) + after
    assert len(lines) <= 6, after  # Dagster's own "Exception while writing logger call" lines


def test_a_postgres_home_opened_without_the_setting_is_refused(
    tmp_path: Path, cli_here: CliRun
) -> None:
    """A CI runner that lost the variable would start a SQLite history beside the team's:
    refused, naming the folder and the variable, the instance file left as it was."""
    project, home = project_in_git(tmp_path / "project"), tmp_path / "home"
    home.mkdir()
    text = instance_yaml(
        (project / "dagster.yaml").read_text(encoding="utf-8"), "postgresql://h/db"
    )
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    done = cli_here(project, "plan", "dev", home=home, env={**SECRETS, POSTGRES_URL_VAR: None})
    assert done.returncode == 2
    assert done.stderr == (
        f"error: DAGSTER_HOME {home}: keeps its runs in PostgreSQL (its dagster.yaml was written "
        f"with {POSTGRES_URL_VAR} set), but {POSTGRES_URL_VAR} is not set: set it, or point "
        "DAGSTER_HOME at another folder for a SQLite instance of its own. Nothing was written.\n"
    )
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == text
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]
