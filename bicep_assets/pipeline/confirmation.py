"""The gate's question to the person who launched the run, when a plan deletes resources.

``bicep-assets deploy`` executes the job in its own process (the in-process executor), so the
gate step runs in the same process as the command that is attached to the terminal. The
command lends the gate a way to ask — :func:`asking` installs a callback for the time the job
executes — and the gate calls :func:`confirm_deletions`:

- ``allow_destructive`` (run config; ``--allow-destructive`` / ``--yes``): approved, no question;
- no callback (a run launched from the UI, a sensor, a schedule, or the CLI without a
  terminal): the gate refuses the deletions as before (``DestructiveChange``);
- a callback: the person is asked, the plan (printed when the plan step ended) above the
  question; "y" approves, anything else fails the gate as a logic failure
  (``DestructiveChangeDeclined``).

The answer is the person's only: it is never read from run config, so re-executing the run
from the UI asks nobody and refuses again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

from ..failures import LogicFailure
from ..models import Plan

Ask = Callable[[Plan], bool]
"""Shows the deletions of a plan and returns whether the person approved them."""

_lock = threading.Lock()
_ask: Ask | None = None


@contextmanager
def asking(ask: Ask) -> Iterator[None]:
    """While the block runs, a gate in this process asks ``ask`` about a destructive plan."""
    global _ask
    with _lock:
        previous, _ask = _ask, ask
    try:
        yield
    finally:
        with _lock:
            _ask = previous


def confirm_deletions(plan: Plan, *, allow_destructive: bool) -> tuple[bool, str | None]:
    """Whether the gate may let ``plan``'s deletions through, and who approved them
    (``"by run config"``, ``"at the terminal"``, or ``None`` when nothing is deleted or nobody
    approved). A "no" at the terminal raises a :class:`LogicFailure`."""
    if not plan.deletions:
        return allow_destructive, None
    if allow_destructive:
        return True, "by run config"
    with _lock:
        ask = _ask
    if ask is None:
        return False, None
    if ask(plan):
        return True, "at the terminal"
    deleted = [c.resource_id for c in plan.deletions]
    raise LogicFailure(
        f"The plan deletes {len(deleted)} resource(s) and the person at the terminal answered "
        "no: nothing was deployed.\n" + "\n".join(f"  - {rid}" for rid in deleted),
        arm_code="DestructiveChangeDeclined",
        arm_message=f"{len(deleted)} deletion(s) declined at the confirmation prompt",
        metadata={
            "destructive": True,
            "allow_destructive": False,
            "deleted_resources": dg.MetadataValue.json(deleted),
        },
    )
