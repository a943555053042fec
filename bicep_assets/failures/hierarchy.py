"""The failure hierarchy: ``DeploymentFailure`` and its two kinds, the structure they carry,
and the boundary an op runs its body in (see the package docstring for the whole picture).

This is the one module that builds a ``dg.Failure`` (tests/test_boundaries.py holds that).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import dagster as dg

from ..armlocal.engine import SecretMask
from ..dagster_private import EngineEventData
from .classification import FailureInput, FailureKind, classify_failure
from .scrubbing import scrub_metadata, scrub_metadata_value, scrub_model

T = TypeVar("T")


@dataclass(frozen=True)
class FailureFacts:
    """The structure every failure carries, under these metadata keys (``None`` is stored
    as a null value, never left out)."""

    failure_kind: str  # "logic" or "environmental"
    arm_code: str | None = None  # ARM's error code, or the code of bicep_assets' own check
    arm_message: str | None = None
    http_status: int | None = None
    retry_number: int = 0  # the attempt that failed: 0 for the first

    KEYS: ClassVar[tuple[str, ...]] = (
        "failure_kind",
        "arm_code",
        "arm_message",
        "http_status",
        "retry_number",
    )

    def metadata(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.KEYS}

    def headline(self) -> str:
        """The cause in one line, for a person: ``Logic failure, DestructiveChange: 2
        resource(s) would be deleted`` — the first line of the failure's description, and
        what ``bicep-assets`` prints first when a run fails."""
        message = _first_line(self.arm_message)
        what = ": ".join(part for part in (self.arm_code, message) if part)
        return f"{self.failure_kind.capitalize()} failure" + (f", {what}" if what else "")

    def advice(self, step: str | None = None) -> str:
        """What to do about it, in one sentence."""
        if self.arm_code in ADVICE:
            return ADVICE[self.arm_code]
        if self.failure_kind == FailureKind.ENVIRONMENTAL.value:
            return (
                "it is about the moment and was retried while retries remained: check Azure "
                "service health, quota and capacity, or wait for the other operation, then run "
                "again"
            )
        if step == "lint":
            return "fix what lint found in the template or the parameters, then run again"
        if self.arm_code or self.http_status is not None:
            return (
                "fix the template, the parameters, the permissions or the policy it names, "
                "then run again"
            )
        return "fix the cause below, then run again (--debug shows the stack trace)"

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> FailureFacts | None:
        """The facts in a ``STEP_FAILURE``'s or an attempt record's metadata (``MetadataValue``
        or plain values); ``None`` when it carries no failure kind."""
        values = {key: getattr(value, "value", value) for key, value in (metadata or {}).items()}
        kind = values.get("failure_kind")
        if kind not in {k.value for k in FailureKind}:
            return None
        return cls(
            failure_kind=str(kind),
            arm_code=_text(values.get("arm_code")),
            arm_message=_text(values.get("arm_message")),
            http_status=_int(values.get("http_status")),
            retry_number=_int(values.get("retry_number")) or 0,
        )


ADVICE = {
    "DestructiveChange": (
        "review the deletions; to apply them, answer y at the terminal, or run again with "
        "--allow-destructive (--yes), or set gate.allow_destructive in the launchpad"
    ),
    "DestructiveChangeDeclined": (
        "nothing was deployed; change the template so that it keeps these resources, or run "
        "again and answer y"
    ),
    "HealthCheckFailed": (
        "the deployment is in place but a check failed: fix the resource or the check listed "
        "below, then run again"
    ),
    "DeploymentCanceled": "someone canceled the deployment in ARM: launch a new run to deploy",
    "Interrupted": "the run was stopped on purpose: run it again when you want it to go on",
    "ApprovedPlanRequired": (
        "make a plan (bicep-assets plan <env>), review it, then apply it: bicep-assets apply "
        "<env> --plan ID"
    ),
    "PlanChanged": (
        "what would be deployed is not what was reviewed: make a new plan, review it, then "
        "apply it by its id"
    ),
    "PlanExpired": "the plan is too old to trust: make a new plan, review it, then apply it",
    "PlanNotFound": "use the plan id that bicep-assets plan printed (or the plan run's id)",
    "PlanOfAnotherEnvironment": "use a plan of this environment, or apply this one to its own",
    "InvalidPlanId": "use the plan id that bicep-assets plan printed (or the plan run's id)",
}
"""What to do, for the codes bicep_assets raises itself (others get their kind's advice)."""

HEADLINE_MESSAGE_LIMIT = 240


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    line = lines[0].strip() if lines else ""
    if len(line) > HEADLINE_MESSAGE_LIMIT:
        line = line[: HEADLINE_MESSAGE_LIMIT - 1].rstrip() + "…"
    return line


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class DeploymentFailure(dg.Failure):
    """A failure of bicep_assets, carrying :class:`FailureFacts` as metadata. Raise a
    subclass, or build one with :meth:`from_error`."""

    kind: ClassVar[FailureKind]

    def __init__(
        self,
        description: str,
        *,
        arm_code: str | None = None,
        arm_message: str | None = None,
        http_status: int | None = None,
        retry_number: int = 0,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if type(self) is DeploymentFailure:
            raise TypeError(
                "DeploymentFailure is the base: raise LogicFailure or EnvironmentalFailure, "
                "or build one with DeploymentFailure.from_error(error)"
            )
        extra = dict(metadata or {})
        if clash := sorted(set(extra) & set(FailureFacts.KEYS)):
            raise ValueError(f"{type(self).__name__}: pass {', '.join(clash)} as arguments")
        self.facts = FailureFacts(self.kind.value, arm_code, arm_message, http_status, retry_number)
        self.extra_metadata = extra
        super().__init__(
            description=description,
            metadata={**self.facts.metadata(), **extra},
            allow_retries=self.kind is FailureKind.ENVIRONMENTAL,
        )

    @staticmethod
    def from_error(
        error: FailureInput, *, description: str | None = None, retry_number: int = 0
    ) -> DeploymentFailure:
        """The failure for a caught exception or an ARM error: logic or environmental as
        :func:`.classification.classify_failure` decides; the description is its verdict
        (after ``description``, when given)."""
        if isinstance(error, DeploymentFailure):
            return error.for_attempt(retry_number)
        verdict = classify_failure(error)
        text = verdict.describe()
        failure_type = EnvironmentalFailure if verdict.retryable else LogicFailure
        return failure_type(
            text if description is None else f"{description}\n{text}",
            arm_code=verdict.arm_code,
            arm_message=verdict.arm_message,
            http_status=verdict.http_status,
            retry_number=retry_number,
        )

    def _replace(self, **changes: Any) -> DeploymentFailure:
        fields = {
            "description": self.description or "",
            "arm_code": self.facts.arm_code,
            "arm_message": self.facts.arm_message,
            "http_status": self.facts.http_status,
            "retry_number": self.facts.retry_number,
            "metadata": self.extra_metadata,
            **changes,
        }
        description = fields.pop("description")
        return type(self)(description, **fields)

    def headed(self) -> DeploymentFailure:
        """This failure with its description starting with :meth:`FailureFacts.headline` (the
        cause in one line, which the UI shows first). Without an ARM message, the headline
        leads the description's first line; without a code either, the description is the
        cause itself and stays as it is."""
        facts = self.facts
        headline = facts.headline()
        description = self.description or ""
        if description.startswith(headline) or not (facts.arm_code or facts.arm_message):
            return self
        if facts.arm_message:
            return self._replace(description=f"{headline}\n{description}".rstrip("\n"))
        first, newline, rest = description.partition("\n")
        return self._replace(description=f"{headline}: {first}{newline}{rest}")

    def for_attempt(self, retry_number: int) -> DeploymentFailure:
        """This failure, of the attempt ``retry_number`` (0 for the first)."""
        if retry_number == self.facts.retry_number:
            return self
        return self._replace(retry_number=retry_number)

    def masked(self, mask: SecretMask) -> DeploymentFailure:
        """This failure with the secrets of ``mask`` masked in its description, its ARM
        message and its metadata (ARM's error messages can echo the secure values they were
        sent); codes and identifiers are kept."""
        if not mask:
            return self
        return self._replace(
            description=mask.text(self.description or ""),
            arm_message=scrub_metadata_value(self.facts.arm_message, mask),
            metadata=scrub_metadata(self.extra_metadata, mask),
        )


class LogicFailure(DeploymentFailure):
    """What we asked for is wrong (template, parameters, permissions, policy, manifest, a
    failed check): never retried."""

    kind = FailureKind.LOGIC


class EnvironmentalFailure(DeploymentFailure):
    """The moment is wrong (throttling, 5xx, timeouts, quota, a busy resource): the op's
    RetryPolicy retries it."""

    kind = FailureKind.ENVIRONMENTAL


def attempt_record(failure: DeploymentFailure, step: str) -> tuple[str, EngineEventData]:
    """The message and data of the ``ENGINE_EVENT`` logged for a failed attempt."""
    facts = failure.facts
    status = f", HTTP {facts.http_status}" if facts.http_status is not None else ""
    message = (
        f"{step} attempt {facts.retry_number + 1} failed: {facts.failure_kind} failure "
        f"({facts.arm_code or 'no ARM code'}{status})."
    )
    if failure.allow_retries:
        message += " The op's RetryPolicy retries it while retries remain."
    return message, EngineEventData(metadata=facts.metadata())


class ScrubbedLog:
    """The op's logger, masking the run's secrets in every line."""

    def __init__(self, boundary: FailureBoundary) -> None:
        self._boundary = boundary

    def _write(self, level: str, message: str) -> None:
        log = self._boundary.context.log
        getattr(log, level)(self._boundary.mask.text(str(message)))

    def debug(self, message: str) -> None:
        self._write("debug", message)

    def info(self, message: str) -> None:
        self._write("info", message)

    def warning(self, message: str) -> None:
        self._write("warning", message)

    def error(self, message: str) -> None:
        self._write("error", message)


class FailureBoundary:
    """An op's boundary: what leaves the op — its failure, log lines, outputs, metadata,
    materializations — leaves through here, with the run's secrets masked (see
    :func:`failure_boundary`)."""

    def __init__(self, context: dg.OpExecutionContext) -> None:
        self.context = context
        self.mask = SecretMask()
        self.log = ScrubbedLog(self)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Mask ``values`` in everything that leaves the op from now on. A failure is then
        raised without its cause, whose text could hold them."""
        self.mask = self.mask.with_secrets(values)

    def scrub(self, value: T) -> T:
        """``value`` (text, a JSON value or a pydantic model) with the secrets masked;
        identifiers (ids, names, types, paths, change types) are kept."""
        if isinstance(value, str):
            return self.mask.text(value)  # type: ignore[return-value]
        return scrub_model(value, self.mask)

    def metadata(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        """Metadata with the secrets masked (see :mod:`.scrubbing`)."""
        return scrub_metadata(metadata, self.mask)

    def output(self, value: T, metadata: Mapping[str, Any] | None = None) -> dg.Output[T]:
        """The op's output: the value (stored by the IO manager) and its metadata, scrubbed."""
        return dg.Output(self.scrub(value), metadata=self.metadata(metadata))

    def materialize(
        self, asset_key: dg.AssetKey, description: str, metadata: Mapping[str, Any]
    ) -> None:
        """Log an asset materialization, scrubbed."""
        self.context.log_event(
            dg.AssetMaterialization(
                asset_key=asset_key,
                description=self.mask.text(description),
                metadata=self.metadata(metadata),
            )
        )

    def observe(
        self, asset_key: dg.AssetKey, description: str, metadata: Mapping[str, Any]
    ) -> None:
        """Log an asset observation, scrubbed."""
        self.context.log_event(
            dg.AssetObservation(
                asset_key=asset_key,
                description=self.mask.text(description),
                metadata=self.metadata(metadata),
            )
        )

    def finish(self, failure: DeploymentFailure) -> DeploymentFailure:
        """``failure`` as the op raises it: of this attempt, masked; an environmental one
        is first logged as the attempt record."""
        context = self.context
        failure = failure.for_attempt(context.retry_number).masked(self.mask).headed()
        if failure.kind is FailureKind.ENVIRONMENTAL:
            step_context = context.get_step_execution_context()
            message, data = attempt_record(failure, step_context.step.key)
            dg.DagsterEvent.engine_event(step_context, message, data)
        return failure


INTERRUPTED = "Interrupted"


def interrupted(step: str) -> LogicFailure:
    """The failure of a step stopped by Ctrl-C: never retried (a person asked to stop)."""
    return LogicFailure(
        f"Interrupted (Ctrl-C) while step '{step}' was running: the run stops here and is not "
        "retried. An ARM deployment that had started goes on in ARM (the local ARM embedded "
        "in the command ends it as interrupted when the command exits).",
        arm_code=INTERRUPTED,
        arm_message=f"interrupted while {step} was running",
    )


@contextmanager
def failure_boundary(context: dg.OpExecutionContext) -> Iterator[FailureBoundary]:
    """Run an op's body: whatever fails in it leaves as a :class:`DeploymentFailure` (see
    :meth:`FailureBoundary.finish`), and what it logs and returns goes through the boundary's
    ``log``, ``output`` and ``materialize``. ``RetryRequested`` passes through untouched."""
    boundary = FailureBoundary(context)
    try:
        yield boundary
    except dg.RetryRequested:
        raise
    except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
        # Ctrl-C (Dagster raises its own error for it inside a step): a person stopped the
        # run, which no retry may undo — the step fails as interrupted, the rest is skipped
        raise boundary.finish(interrupted(context.get_step_execution_context().step.key)) from None
    except DeploymentFailure as failure:
        raised = boundary.finish(failure)
        if raised is failure and not boundary.mask:
            raise
        cause = None if boundary.mask else failure.__cause__
        raise raised.with_traceback(failure.__traceback__) from cause
    except Exception as error:
        raised = boundary.finish(DeploymentFailure.from_error(error))
        raise raised from (None if boundary.mask else error)


def retry_policy(max_retries: int = 5, base_delay_s: float = 5.0) -> dg.RetryPolicy:
    """The RetryPolicy for ops that call ARM: exponential backoff with ± jitter.

    Dagster waits ``(2**n - 1) * base_delay_s ± base_delay_s`` (uniform) before retry ``n``
    (1-based): with the defaults about 5, 15, 35, 75 and 155 s, each ± 5 s.
    """
    if max_retries < 0:
        raise ValueError(f"retry_policy: max_retries must be 0 or more, not {max_retries}")
    if base_delay_s < 0:
        raise ValueError(f"retry_policy: base_delay_s must be 0 or more, not {base_delay_s}")
    return dg.RetryPolicy(
        max_retries=max_retries,
        delay=base_delay_s,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )
