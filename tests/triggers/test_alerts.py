"""Failure alerts: real failed runs (an ARM policy denial, a lint error) against the local ARM,
the run-failure sensor evaluated with a real instance, and a local HTTP receiver that must get
exactly one well-formed message per failed run, in Slack and in Teams format."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import pytest

from bicep_assets.armlocal import FaultRule
from bicep_assets.triggers import AlertWebhook
from tests.pipeline.conftest import Project, storage, template

from .conftest import SensorTicks, pipeline_definitions

CANARY = "alert-canary-Secure-3c9e"
SHA = "0123456789abcdef0123456789abcdef01234567"
UI = "http://dagster.example:3000"


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[str, str, Any]] = []  # (path, content type, JSON body)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append(
            (self.path, self.headers.get("Content-Type", ""), json.loads(body))
        )
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def failed_runs(
    pipeline: Project, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, str]]:
    """The alert sensor's starting cursor, then: a successful plan, a deploy denied by policy
    and a plan whose lint fails. Returns (cursor, {job/step: run id})."""
    monkeypatch.setenv("ALERT_CANARY", CANARY)
    secure = {"pw": {"type": "securestring"}}
    path = pipeline.write_template("main.json", template([storage("alert1")], parameters=secure))
    pipeline.write_manifest("dev", template=path, secure_parameters={"pw": {"env": "ALERT_CANARY"}})
    ticks = SensorTicks(
        pipeline_definitions(pipeline),
        "deployment_failure_alerts",
        instance,
        alert_webhook=AlertWebhook(webhook_url="http://127.0.0.1:9/unused"),
    )
    start = ticks.tick(None).cursor
    tags = {"bicep_assets/git_sha": SHA}
    assert pipeline.run("plan_dev", tags=tags).success
    pipeline.faults(
        FaultRule(
            kind="deployment_error",
            resource_name="alert1",
            arm_code="RequestDisallowedByPolicy",
            arm_message=f"Denied; the request carried {CANARY}.",
        )
    )
    denied = pipeline.run("deploy_dev", tags=tags)
    assert not denied.success
    broken = storage("[parameters('missing')]")
    pipeline.write_template("main.json", template([broken], parameters=secure))
    linted = pipeline.run("plan_dev", tags=tags)
    assert not linted.success
    return start, {"deploy": denied.run_id, "lint": linted.run_id}


def text_of(body: Any, kind: str) -> str:
    if kind == "slack":
        assert set(body) == {"text", "blocks"}
        (block,) = body["blocks"]
        assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
        return block["text"]["text"]
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"]
    assert all(item["type"] == "TextBlock" for item in card["body"])
    return "\n".join(item["text"] for item in card["body"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_one_well_formed_message_per_failed_run(
    pipeline: Project,
    instance: dg.DagsterInstance,
    receiver: Receiver,
    failed_runs: tuple[str, dict[str, str]],
    kind: str,
) -> None:
    start, runs = failed_runs
    webhook = AlertWebhook(webhook_url=f"{receiver.url}/hook/{kind}", format=kind, dagster_url=UI)
    ticks = SensorTicks(
        pipeline_definitions(pipeline), "deployment_failure_alerts", instance, alert_webhook=webhook
    )
    cursor = ticks.tick(start).cursor
    ticks.tick(cursor)  # nothing new: nothing is sent twice
    assert [(path, ctype.split(";")[0]) for path, ctype, _ in receiver.posts] == [
        (f"/hook/{kind}", "application/json")
    ] * 2
    texts = [text_of(body, kind) for _, _, body in receiver.posts]
    link = "<{url}|Run {short}>" if kind == "slack" else "[Run {short}]({url})"
    bold = "*{}*" if kind == "slack" else "**{}**"
    expected = [
        (runs["deploy"], "deploy_dev", "deploy: logic failure RequestDisallowedByPolicy"),
        (runs["lint"], "plan_dev", "lint: logic failure arm-undefined-parameter"),
    ]
    for text, (run_id, job, failure) in zip(texts, expected, strict=True):
        assert text.splitlines() == [
            bold.format(f"{job} failed: environment dev"),
            failure,
            f"commit {SHA[:12]} (trigger: ui)",
            link.format(url=f"{UI}/runs/{run_id}", short=run_id[:8]),
        ]
    assert CANARY not in json.dumps([body for _, _, body in receiver.posts])


@pytest.mark.slow
def test_without_a_webhook_the_sensor_says_alerts_are_off(
    pipeline: Project,
    instance: dg.DagsterInstance,
    failed_runs: tuple[str, dict[str, str]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    start, runs = failed_runs
    webhook = AlertWebhook(webhook_url_env_var="BICEP_ASSETS_TEST_UNSET_WEBHOOK")
    ticks = SensorTicks(
        pipeline_definitions(pipeline), "deployment_failure_alerts", instance, alert_webhook=webhook
    )
    capfd.readouterr()
    ticks.tick(start)
    assert (
        f"deploy_dev run {runs['deploy'][:8]} failed, but no alert webhook is configured "
        "(set BICEP_ASSETS_TEST_UNSET_WEBHOOK)" in capfd.readouterr().err
    )


def test_the_webhook_and_ui_url_are_read_from_the_environment_when_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook = AlertWebhook()  # built before the variables exist, as at import time
    assert webhook.resolved_url() is None
    monkeypatch.setenv("BICEP_ASSETS_ALERT_WEBHOOK", "https://hooks.slack.com/services/T/B/x")
    monkeypatch.setenv("BICEP_ASSETS_DAGSTER_URL", "https://dagster.corp/")
    assert webhook.resolved_url() == "https://hooks.slack.com/services/T/B/x"
    assert webhook.run_url("abc") == "https://dagster.corp/runs/abc"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", "slack"),
        ("https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def", "teams"),
        ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual", "teams"),
        ("https://default1.environment.api.powerplatform.com/powerautomate/x", "teams"),
        ("http://127.0.0.1:8080/hook", "slack"),
    ],
    ids=["slack", "teams-connector", "teams-workflow", "power-automate", "other"],
)
def test_auto_format_by_webhook_host(url: str, kind: str) -> None:
    assert AlertWebhook().resolved_format(url) == kind
