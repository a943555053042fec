"""Custom verify checks as plugins: the interface a plugin implements, and how verify finds,
configures and runs one.

A distribution registers a check under the entry point group ``bicep_assets.checks``::

    [project.entry-points."bicep_assets.checks"]
    tls_expiry = "bicep_assets_tls_expiry:TlsExpiryCheck"

and a manifest names it (``health_checks.custom: [{check: tls_expiry, host: ..., min_days:
14}]``). The object registered is either

- a **class** (best: subclass :class:`CustomCheck`) with an optional ``Config`` — a pydantic
  model of its own keys, validated when the manifest loads — built once per run as
  ``cls(config)`` and called as ``instance(context) -> CheckOutcome``; or
- a **function** ``check(context) -> CheckOutcome``, which takes no keys of its own.

``context`` (:class:`CheckContext`) carries the deployment's non-secure outputs, the
environment's name, the attempt's timeout and the CA bundle verify trusts. Every entry also
takes ``timeout_s`` and ``retries``, applied as to HTTP probes: each attempt must finish within
the timeout, and a failed attempt (not ok, raised, or too slow) is tried again up to
``retries`` times, the probes' ``retry_delay_s`` apart. A check that is not installed, cannot
be imported, raises, returns something else or hangs is a failed check whose detail names the
plugin; the other checks run as usual. A hung attempt's thread cannot be stopped (Python has no
way to): it is a daemon thread, left behind without holding the run up.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .models import CheckResult

__all__ = [
    "ENTRY_POINT_GROUP",
    "RESERVED_KEYS",
    "CheckContext",
    "CheckOutcome",
    "CheckPlugin",
    "CustomCheck",
    "PluginConfigError",
    "PluginError",
    "installed_checks",
    "load_check",
    "run_custom_check",
]

ENTRY_POINT_GROUP = "bicep_assets.checks"
# the keys of a health_checks.custom entry that are verify's, not the plugin's
RESERVED_KEYS = ("check", "timeout_s", "retries")

log = logging.getLogger("bicep_assets.check_plugins")


@dataclass(frozen=True)
class CheckContext:
    """What a custom check is given when it runs."""

    outputs: Mapping[str, Any]  # the deployment's non-secure outputs, by name, plain values
    environment: str  # the environment's name (the manifest's file stem)
    timeout_s: float  # the budget of this attempt; the check should time out its own I/O
    ca_bundle: str | None = None  # an extra CA file (PEM) verify trusts, e.g. the local ARM's


@dataclass(frozen=True)
class CheckOutcome:
    """What a custom check returns: its verdict, a one-line detail a person reads, and
    optionally its own latency (default: measured around the call) and what it checked
    (default: the entry's name)."""

    ok: bool
    detail: str = ""
    latency_ms: float | None = None
    target: str | None = None


class CustomCheck:
    """Base class of a check plugin with keys of its own: set ``Config`` to a pydantic model
    of them (validated when the manifest loads, with ``{outputs.NAME}`` placeholders as
    written, then again with them rendered before the run), implement ``__call__``."""

    Config: ClassVar[type[BaseModel] | None] = None

    def __init__(self, config: BaseModel | None) -> None:
        self.config = config

    def __call__(self, context: CheckContext) -> CheckOutcome:
        raise NotImplementedError


class PluginError(Exception):
    """A check plugin is not installed, cannot be loaded, or is not a check."""


class PluginConfigError(PluginError):
    """An entry's keys do not fit the plugin's ``Config``; the message names each key."""


class _NoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class CheckPlugin:
    """A check plugin found through its entry point."""

    name: str
    target: Any  # the class or function the entry point names
    distribution: str  # "name version" of the distribution registering it

    @property
    def config_model(self) -> type[BaseModel]:
        model = getattr(self.target, "Config", None) if inspect.isclass(self.target) else None
        return model if model is not None else _NoConfig

    def validate(self, config: Mapping[str, Any]) -> BaseModel:
        """``config`` as the plugin's ``Config`` (``PluginConfigError`` naming each key)."""
        try:
            return self.config_model.model_validate(dict(config))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                key = ".".join(str(p) for p in error["loc"]) or "(entry)"
                message = error["msg"]
                if error["type"] == "extra_forbidden":
                    known = ", ".join(self.config_model.model_fields) or "none"
                    message = f"not a key of this check (its keys: {known})"
                problems.append(f"{key}: {message}")
            raise PluginConfigError(
                f"check '{self.name}' ({self.distribution}): " + "; ".join(problems)
            ) from None

    def build(self, config: BaseModel) -> Callable[[CheckContext], Any]:
        """The callable one attempt calls: an instance of a class, or the function itself."""
        if inspect.isclass(self.target):
            if self.config_model is _NoConfig:
                return self.target(None)
            return self.target(config)
        return self.target


def installed_checks() -> dict[str, list[metadata.EntryPoint]]:
    """The entry points of the group, by name (a name two distributions register is listed
    twice, and refused by :func:`load_check`)."""
    found: dict[str, list[metadata.EntryPoint]] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, []).append(entry)
    return found


def _distribution(entry: metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else f"entry point {entry.value}"


def load_check(name: str) -> CheckPlugin:
    """The plugin registered as ``name``; ``PluginError`` when none is installed, two are,
    its module does not import, or the object is neither a class nor a function."""
    installed = installed_checks()
    entries = installed.get(name, [])
    if not entries:
        known = ", ".join(sorted(installed)) or "none"
        raise PluginError(
            f"check '{name}' is not installed: no distribution registers it in the entry point "
            f"group '{ENTRY_POINT_GROUP}' (installed checks: {known}); install the package "
            "that provides it where the runs execute"
        )
    if len({e.value for e in entries}) > 1:
        owners = " and ".join(_distribution(e) for e in entries)
        raise PluginError(f"check '{name}' is registered by {owners}: uninstall one of them")
    entry = entries[0]
    try:
        target = entry.load()
    except Exception as exc:
        raise PluginError(
            f"check '{name}' ({_distribution(entry)}) could not be loaded from "
            f"'{entry.value}': {type(exc).__name__}: {_short(str(exc))}"
        ) from None
    if not callable(target):
        raise PluginError(
            f"check '{name}' ({_distribution(entry)}): '{entry.value}' is a "
            f"{type(target).__name__}, not a check class or function"
        )
    return CheckPlugin(name, target, _distribution(entry))


def run_custom_check(
    name: str,
    config: Mapping[str, Any],
    context: CheckContext,
    *,
    retries: int,
    retry_delay_s: float,
) -> CheckResult:
    """Run the plugin ``name`` with ``config`` (placeholders already rendered): at most
    ``retries`` + 1 attempts, each within ``context.timeout_s``. Never raises: whatever goes
    wrong is a failed ``custom`` check whose detail names the plugin."""
    started = time.perf_counter()
    try:
        plugin = load_check(name)
        check = plugin.build(plugin.validate(config))
    except Exception as exc:  # not installed, misconfigured, or its constructor raised
        detail = str(exc) if isinstance(exc, PluginError) else _raised(name, "setting up", exc)
        return _result(name, None, False, detail, started)
    attempts = retries + 1
    number = 0
    while True:
        number += 1
        attempt_started = time.perf_counter()
        ok, detail, target, latency = _attempt(name, check, context)
        if latency is None:
            latency = round((time.perf_counter() - attempt_started) * 1000, 1)
        if ok or number >= attempts:
            if number > 1:
                detail += f" (attempt {number} of {attempts})"
            return CheckResult(
                kind="custom",
                target=_target(name, target),
                ok=ok,
                detail=_short(detail, 300),
                latency_ms=latency,
            )
        log.debug("custom check %s attempt %d/%d: %s", name, number, attempts, detail)
        time.sleep(retry_delay_s)


def _attempt(
    name: str, check: Callable[[CheckContext], Any], context: CheckContext
) -> tuple[bool, str, str | None, float | None]:
    """One call in a daemon thread, waited for at most ``context.timeout_s``."""
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["value"] = check(context)
        except BaseException as exc:  # reported, never raised into verify
            box["error"] = exc

    thread = threading.Thread(target=call, name=f"custom-check-{name}", daemon=True)
    thread.start()
    thread.join(context.timeout_s)
    if thread.is_alive():
        return False, f"did not finish within {context.timeout_s:g} s (timeout_s)", None, None
    if "error" in box:
        return False, _raised(name, "running", box["error"]), None, None
    value = box.get("value")
    if not isinstance(value, CheckOutcome):
        return (
            False,
            f"check '{name}' returned {type(value).__name__}, not a CheckOutcome",
            None,
            None,
        )
    latency = value.latency_ms
    with contextlib.suppress(TypeError, ValueError):
        latency = None if latency is None else float(latency)
    return (
        bool(value.ok),
        str(value.detail or ("ok" if value.ok else "failed")),
        value.target,
        (latency if isinstance(latency, float) else None),
    )


def _raised(name: str, when: str, exc: BaseException) -> str:
    log.debug("custom check %s raised while %s", name, when, exc_info=exc)
    text = _short(str(exc))
    suffix = f": {text}" if text else ""
    return f"check '{name}' raised {type(exc).__name__} while {when}{suffix}"


def _target(name: str, target: str | None) -> str:
    return f"{name} {target}" if target else name


def _result(name: str, target: str | None, ok: bool, detail: str, started: float) -> CheckResult:
    return CheckResult(
        kind="custom",
        target=_target(name, target),
        ok=ok,
        detail=_short(detail, 300),
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
