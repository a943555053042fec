"""Dagster's local compute log manager, with helper processes that leave Ctrl-C to the run.

While a step runs, Dagster's ``LocalComputeLogManager`` captures its stdout and stderr into
files and mirrors them back to the terminal through helper processes it starts for each
stream: ``tail -F`` and a Python script watching for orphans. They belong to the terminal's
foreground process group, so Ctrl-C reached them as well as the run: the run stopped as
documented (exit 130, one line), and each watcher printed a ``KeyboardInterrupt`` traceback
over it. Here those helpers are started with SIGINT blocked (a blocked signal stays blocked in
a child across ``exec``, and neither ``tail`` nor Python unblock it): they ignore Ctrl-C and
end as before — terminated by Dagster when the step ends, or by the watcher when the run's
process is gone. The run's own thread blocks SIGINT only while the helpers start; a Ctrl-C
pressed in those milliseconds is delivered when it is unblocked, so none is lost.

The project's dagster.yaml names this class; ``base_dir`` defaults to
``$DAGSTER_HOME/storage``, where Dagster keeps compute logs by default (the instance's own
folder, which Dagster gives the manager when it loads it).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import dagster as dg

from .dagster_private import CapturedLogContext, LocalComputeLogManager


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread (and in the processes it starts) within the block."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class InterruptSafeComputeLogManager(LocalComputeLogManager):
    """``LocalComputeLogManager`` whose helper processes ignore Ctrl-C (module docstring)."""

    def __init__(
        self,
        base_dir: str | None = None,
        polling_timeout: float | None = None,
        inst_data: Any = None,
    ) -> None:
        super().__init__(base_dir, polling_timeout, inst_data)  # type: ignore[arg-type]

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            "base_dir": dg.Field(dg.StringSource, is_required=False),
            "polling_timeout": dg.Field(float, is_required=False),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: dict[str, Any]
    ) -> InterruptSafeComputeLogManager:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance: Any) -> None:
        super().register_instance(instance)
        if self._base_dir is None:
            self._base_dir = os.path.join(instance.root_directory, "storage")

    @contextlib.contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Generator[CapturedLogContext, None, None]:
        with contextlib.ExitStack() as stack:
            with sigint_blocked():  # the helpers start here, and inherit the blocked SIGINT
                captured = stack.enter_context(super().capture_logs(log_key))
            yield captured
