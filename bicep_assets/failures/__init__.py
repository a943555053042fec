"""The failures bicep_assets raises: one hierarchy of ``dg.Failure`` that carries structure.

::

    dg.Failure
    └── DeploymentFailure        failure_kind, arm_code, arm_message, http_status, retry_number
        ├── LogicFailure         allow_retries=False: what we asked for is wrong
        └── EnvironmentalFailure allow_retries=True: the moment is wrong; the RetryPolicy retries

Every failure an op, a resource or a check raises is one of these; nothing else in the
package builds a ``dg.Failure`` (a boundary test holds that). Two ways in:

- :meth:`DeploymentFailure.from_error` — the one path from a caught exception (or an ARM
  error mapping): :func:`classify_failure` (:mod:`.classification`, with the ARM code tables
  in :mod:`.codes`) decides the subclass; its verdict becomes the description and the
  structure;
- ``LogicFailure(message, arm_code=..., ...)`` — for what bicep_assets judges itself (a lint
  error, a destructive plan, a failed health check, a bad manifest), and for a step stopped
  by Ctrl-C (``arm_code`` :data:`INTERRUPTED`: never retried).

An op runs its body inside :func:`failure_boundary`: any other exception leaves it through
``from_error``; every failure leaves it stamped with the attempt's ``retry_number`` and with
the run's secure values (registered with ``add_secrets``) masked, its cause then dropped, and
its description starting with the cause in one line (``FailureFacts.headline()``: kind, ARM
code, message), which the UI shows first and ``bicep-assets`` prints first.
The boundary is also the op's way out for everything else: its log lines (``boundary.log``),
its output and metadata (``boundary.output``) and materializations (``boundary.materialize``)
pass the same mask (:mod:`.scrubbing`), so no value leaves an op unscrubbed.

What the event log holds (the vocabulary the audit and the alerts read, never message text):

- ``STEP_FAILURE``: the failure's metadata always has the five keys of :class:`FailureFacts`
  (``null`` when unknown), then the op's own keys (lint's diagnostics, verify's checks, …).
- ``STEP_UP_FOR_RETRY`` keeps no metadata: Dagster records only the error and the wait
  (``StepRetryData``). So for an environmental failure the boundary first logs an
  ``ENGINE_EVENT`` on the step whose metadata is the same five keys — the *attempt record*;
  the audit pairs it with the ``STEP_UP_FOR_RETRY`` of that step that follows it.
"""

from .classification import Classification, FailureInput, FailureKind, classify_failure
from .hierarchy import (
    INTERRUPTED,
    DeploymentFailure,
    EnvironmentalFailure,
    FailureBoundary,
    FailureFacts,
    LogicFailure,
    failure_boundary,
    retry_policy,
)

__all__ = [
    "INTERRUPTED",
    "Classification",
    "DeploymentFailure",
    "EnvironmentalFailure",
    "FailureBoundary",
    "FailureFacts",
    "FailureInput",
    "FailureKind",
    "LogicFailure",
    "classify_failure",
    "failure_boundary",
    "retry_policy",
]
