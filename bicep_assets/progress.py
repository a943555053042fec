"""What ``bicep-assets deploy|plan|apply`` prints while the run executes, read from the run's
own events as they are stored.

The command executes the job in its own process; :meth:`Progress.on_event` is registered
with ``DagsterInstance.add_event_listener`` for the run id, so each event of the run reaches
it as soon as the instance has stored it — the same events the UI's event log shows, which
stays as it is. Dagster's console logger is turned down to errors (``--debug`` keeps it), so
a person reads lines of our own:

- on stderr, progress: each step as it starts and ends (with what it found), the ops' own
  messages (the deployment operations, with the plan's change type beside each), warnings,
  retries;
- on stdout, results: the plan as soon as the plan step has ended (before the gate and the
  deployment), then the outcome the command prints when the run is over.

Every message has passed the op's failure boundary, so secure values are masked already.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import dagster as dg

from .failures import FailureFacts

STEP_WIDTH = 7  # "deploy " / "verify ": the step names line up
NOT_EXECUTED = re.compile(r"Dependencies for step \S+ (failed|were not executed)")


@dataclass
class StepFailure:
    """A failed step as the command reports it once the run is over."""

    step: str
    facts: FailureFacts | None
    description: str
    error: Any = None  # Dagster's SerializableErrorInfo: the stack traces, for --debug


@dataclass
class Progress:
    """Prints the run's progress; remembers the failures for the end of the run."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    failures: list[StepFailure] = field(default_factory=list)
    plan_printed: bool = False
    started: float = field(default_factory=time.monotonic)
    _outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _attempts: dict[str, FailureFacts] = field(default_factory=dict)

    def line(self, step: str | None, text: str) -> None:
        prefix = f"{step:<{STEP_WIDTH}} " if step else ""
        for number, part in enumerate(text.splitlines() or [""]):
            print((prefix if number == 0 else " " * len(prefix)) + part, file=self.err, flush=True)

    def on_event(self, entry: Any) -> None:
        """One stored event of the run (a ``dagster.EventLogEntry``)."""
        step = entry.step_key
        event = entry.dagster_event
        if event is None:
            self._message(step, entry.level, entry.user_message or "")
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.line(step, "started")
        elif kind == dg.DagsterEventType.STEP_OUTPUT and step:
            data = event.step_output_data
            metadata = getattr(data, "metadata", None) or {}
            self._outputs[step] = {k: getattr(v, "value", v) for k, v in metadata.items()}
        elif kind == dg.DagsterEventType.STEP_SUCCESS and step:
            seconds = (event.step_success_data.duration_ms or 0) / 1000
            summary = step_summary(step, self._outputs.get(step, {}))
            self.line(step, f"ok in {seconds:.1f} s" + (f": {summary}" if summary else ""))
            if step == "plan":
                self.print_plan(self._outputs.get("plan", {}))
        elif kind == dg.DagsterEventType.ENGINE_EVENT and step:
            # a failed attempt's record (see failures/): what the retry below is about
            metadata = getattr(event.engine_event_data, "metadata", None)
            facts = FailureFacts.from_metadata(metadata)
            if facts is not None:
                self._attempts[step] = facts
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY and step:
            wait = event.step_retry_data.seconds_to_wait or 0
            facts = self._attempts.pop(step, None)
            cause = f": {facts.headline()}" if facts else ""
            self.line(step, f"retrying in {wait:.1f} s{cause}")
        elif kind == dg.DagsterEventType.STEP_RESTARTED:
            self.line(step, "started again")
        elif kind == dg.DagsterEventType.STEP_FAILURE and step:
            self.failures.append(_failure(step, event))
            self.line(step, failure_report(self.failures[-1])[0].split(" ", 1)[1])

    def _message(self, step: str | None, level: int, text: str) -> None:
        if NOT_EXECUTED.match(text):  # Dagster's own: a step after a failed one
            self.line(step, "skipped")
        elif level >= logging.WARNING:
            self.line(step, f"warning: {text}")
        elif level >= logging.INFO and step != "verify":  # verify: counted at its end
            self.line(step, text)

    def print_plan(self, metadata: dict[str, Any]) -> None:
        """The plan as a person reads it in a terminal: the markdown diff without markup."""
        diff = metadata.get("diff")
        if not isinstance(diff, str) or self.plan_printed:
            return
        self.plan_printed = True
        print(terminal_plan(diff), file=self.out, flush=True)


def terminal_plan(markdown: str) -> str:
    """The plan step's markdown diff as plain lines: the title, the counts, the changes."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("```"):
            continue
        if line.startswith("#"):
            line = line.lstrip("#").strip().replace("`", "")
        lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def step_summary(step: str, metadata: dict[str, Any]) -> str:
    """What a step found, in a few words, from its output's metadata."""
    if step == "lint":
        findings = metadata.get("diagnostics")
        count = len(getattr(findings, "records", None) or [])
        template = metadata.get("template", "")
        found = f"{count} finding(s)" if count else "no findings"
        return f"{template}, {found}" if template else ""
    if step == "plan" and "creates" in metadata:
        return (
            f"{metadata['creates']} to create, {metadata['modifies']} to modify, "
            f"{metadata['deletes']} to delete, {metadata['no_change']} unchanged"
            + (f", {metadata['detaches']} to detach" if metadata.get("detaches") else "")
            + (
                f"; {metadata['write_only']} write-only value(s) written again, not compared"
                if metadata.get("write_only")
                else ""
            )
        )
    if step == "gate":
        deleted = metadata.get("deleted_resources") or []
        return f"{len(deleted)} deletion(s) approved" if deleted else "nothing to delete"
    if step == "deploy" and "provisioning_state" in metadata:
        stack = str(metadata.get("stack_id") or "")
        if stack:  # a deployment stack: its name, then its deployment's
            stack_name = stack.rsplit("/", 1)[-1]
            return (
                f"{metadata['provisioning_state']} (stack {stack_name}, deployment "
                f"{metadata.get('deployment_name', '')})"
            )
        return f"{metadata['provisioning_state']} ({metadata.get('deployment_name', '')})"
    if step == "verify":
        records = getattr(metadata.get("checks"), "records", None) or []
        return f"{len(records)} check(s) passed"
    return ""


def _failure(step: str, event: Any) -> StepFailure:
    data = event.step_failure_data
    user = data.user_failure_data if data is not None else None
    error = data.error if data is not None else None
    if user is not None:
        facts = FailureFacts.from_metadata(user.metadata)
        return StepFailure(step, facts, user.description or "", error)
    return StepFailure(step, None, error.message.strip() if error else "", error)


def failure_report(failure: StepFailure) -> list[str]:
    """The lines ``bicep-assets`` prints for a failed step, the cause first: ``STEP failed:
    KIND failure, CODE: MESSAGE``, what to do, then the rest of the failure's description."""
    facts = failure.facts
    if facts is None:  # not raised by a bicep_assets op: Dagster's own error
        first, *rest = failure.description.splitlines() or ["(no message)"]
        return [f"{failure.step} failed: {first}", *(f"  {line}" for line in rest)]
    headline = facts.headline()
    details = failure.description.splitlines()
    if details and details[0].startswith(headline):  # headed by the failure boundary
        headline = details.pop(0)
    elif details and not (facts.arm_code or facts.arm_message):
        headline = f"{headline}: {details.pop(0)}"  # the description is the cause itself
    lines = [f"{failure.step} failed: {headline[0].lower()}{headline[1:]}"]
    lines.append(f"  what to do: {facts.advice(failure.step)}")
    lines += [f"  {line}" if line and not line.startswith(" ") else line for line in details]
    return lines
