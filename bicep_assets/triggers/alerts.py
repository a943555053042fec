"""Failure alerts: one short message per failed run of an environment's job, to a Slack or
Microsoft Teams incoming webhook.

The message names the environment, the job, the step that failed with its failure kind
(``logic``/``environmental``) and ARM code (from the failure's metadata, DESIGN.md "The event
log vocabulary"), the git SHA and a link to the run in the Dagster UI. It never carries
parameter values or ARM's message text.

The webhook URL is read when a run fails, never at import: the ``alert_webhook`` resource's
``webhook_url`` (give it a ``dg.EnvVar``) or else the environment variable named by
``webhook_url_env_var`` (``BICEP_ASSETS_ALERT_WEBHOOK``). With neither, the sensor logs that
alerts are off. Slack messages go through ``slack_sdk``'s ``WebhookClient`` (what dagster-slack
is built on; its own resource and sensor need a bot token, not a webhook); Teams messages are
dagster-msteams' cards (an Adaptive Card for a Teams workflow URL, a hero card for a legacy
Office 365 connector, as dagster-msteams chooses), posted with its client.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import dagster as dg
from dagster_msteams import Card, MSTeamsResource
from pydantic import Field
from slack_sdk.webhook import WebhookClient

from ..dagster_private import AdaptiveCard
from ..failures import FailureFacts
from ..pipeline.jobs import ENVIRONMENT_TAG, TRIGGER_TAG
from ..pipeline.provenance import GIT_SHA_TAG

__all__ = ["AlertWebhook", "FailureAlert", "build_failure_alert_sensor", "failure_alert"]

_TEAMS_HOSTS = (
    ".webhook.office.com",
    ".logic.azure.com",
    ".powerautomate.com",
    ".powerplatform.com",
)


@dataclass(frozen=True)
class FailureAlert:
    """What a failure message says."""

    environment: str
    job: str
    run_id: str
    step: str
    failure_kind: str
    arm_code: str
    git_sha: str
    trigger: str

    def lines(self, run_url: str) -> list[str]:
        """The message as plain lines (markdown links are added per format)."""
        code = f" {self.arm_code}" if self.arm_code else ""
        return [
            f"{self.job} failed: environment {self.environment}",
            f"{self.step}: {self.failure_kind} failure{code}",
            f"commit {self.git_sha[:12] or 'unknown'} (trigger: {self.trigger or 'unknown'})",
            run_url,
        ]


def failure_alert(context: dg.RunFailureSensorContext) -> FailureAlert:
    """The alert for a failed run: the last failed step's kind and ARM code (the final
    attempt after retries), or ``run`` when the run failed outside any step."""
    run = context.dagster_run
    step, kind, code = "run", "run", ""
    failures: Sequence[dg.DagsterEvent] = context.get_step_failure_events()
    if failures:
        event = failures[-1]
        step = event.step_key or "run"
        data = event.step_failure_data
        metadata = data.user_failure_data.metadata if data and data.user_failure_data else {}
        facts = FailureFacts.from_metadata(metadata)
        kind = facts.failure_kind if facts else "unclassified"
        code = (facts.arm_code if facts else None) or ""
    return FailureAlert(
        environment=run.tags.get(ENVIRONMENT_TAG, "?"),
        job=run.job_name,
        run_id=run.run_id,
        step=step,
        failure_kind=kind,
        arm_code=code,
        git_sha=run.tags.get(GIT_SHA_TAG, ""),
        trigger=run.tags.get(TRIGGER_TAG, ""),
    )


class AlertWebhook(dg.ConfigurableResource):
    """Where failure alerts go: a Slack or Teams incoming webhook (see the module docstring)."""

    webhook_url: str | None = Field(
        default=None, description="The webhook URL; default: the variable webhook_url_env_var."
    )
    webhook_url_env_var: str = "BICEP_ASSETS_ALERT_WEBHOOK"
    format: Literal["auto", "slack", "teams"] = Field(
        default="auto",
        description="auto: Teams for *.webhook.office.com and Power Automate/Logic Apps "
        "workflow URLs, else Slack.",
    )
    dagster_url: str | None = Field(
        default=None,
        description="The Dagster UI's base URL for run links; default: the variable "
        "dagster_url_env_var, else http://localhost:3000.",
    )
    dagster_url_env_var: str = "BICEP_ASSETS_DAGSTER_URL"
    timeout_s: float = 10.0

    def resolved_url(self) -> str | None:
        """The webhook URL, read now (``None``: alerts are off)."""
        return self.webhook_url or dg.EnvVar(self.webhook_url_env_var).get_value() or None

    def resolved_format(self, url: str) -> Literal["slack", "teams"]:
        if self.format != "auto":
            return self.format
        host = (urlparse(url).hostname or "").lower()
        return "teams" if host.endswith(_TEAMS_HOSTS) else "slack"

    def run_url(self, run_id: str) -> str:
        base = self.dagster_url or dg.EnvVar(self.dagster_url_env_var).get_value()
        return f"{(base or 'http://localhost:3000').rstrip('/')}/runs/{run_id}"

    def payload(self, alert: FailureAlert, url: str) -> dict[str, Any]:
        """The JSON body posted for ``alert`` in the webhook's format."""
        link = self.run_url(alert.run_id)
        title, failure, commit, _ = alert.lines(link)
        if self.resolved_format(url) == "teams":
            run_link = f"[Run {alert.run_id[:8]}]({link})"
            if self._teams(url).is_legacy_webhook():  # an Office 365 connector: a hero card
                legacy = Card()
                legacy.add_attachment("\n\n".join([f"**{title}**", failure, commit, run_link]))
                return legacy.payload
            card = AdaptiveCard()  # a Teams workflow: an Adaptive Card
            for line in (f"**{title}**", failure, commit, run_link):
                card.add_attachment(line)
            return card.payload
        text = f"*{title}*\n{failure}\n{commit}\n<{link}|Run {alert.run_id[:8]}>"
        return {
            "text": f"{title}: {failure} ({link})",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }

    def _teams(self, url: str) -> Any:
        return MSTeamsResource(hook_url=url, timeout=self.timeout_s).get_client()

    def post(self, alert: FailureAlert) -> bool:
        """Post ``alert``; ``False`` when no webhook is configured. A refused post raises."""
        url = self.resolved_url()
        if not url:
            return False
        body = self.payload(alert, url)
        if self.resolved_format(url) == "teams":
            self._teams(url).post_message(payload=body)
            return True
        client = WebhookClient(url, timeout=int(max(1, self.timeout_s)), retry_handlers=[])
        response = client.send(text=body["text"], blocks=body["blocks"])
        if not 200 <= response.status_code < 300:
            raise RuntimeError(
                f"Slack webhook answered {response.status_code}: {str(response.body)[:200]}"
            )
        return True


def build_failure_alert_sensor() -> dg.SensorDefinition:
    """``deployment_failure_alerts``: one message per failed deploy/plan run."""

    @dg.run_failure_sensor(
        name="deployment_failure_alerts",
        minimum_interval_seconds=15,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Posts one short message per failed deploy_<env>/plan_<env> run to the "
        "webhook in BICEP_ASSETS_ALERT_WEBHOOK (Slack or Teams).",
    )
    def deployment_failure_alerts(
        context: dg.RunFailureSensorContext, alert_webhook: AlertWebhook
    ) -> None:
        """Tell the team a deployment or plan failed: environment, step, ARM code, commit."""
        if ENVIRONMENT_TAG not in context.dagster_run.tags:
            return
        alert = failure_alert(context)
        if alert_webhook.post(alert):
            context.log.info(f"alerted: {alert.job} run {alert.run_id[:8]} ({alert.step})")
        else:
            context.log.warning(
                f"{alert.job} run {alert.run_id[:8]} failed, but no alert webhook is configured "
                f"(set {alert_webhook.webhook_url_env_var})"
            )

    return deployment_failure_alerts
