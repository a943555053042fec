"""Fault injection: the failures Azure produces, on demand and reproducibly.

A :class:`FaultPlan` is a list of rules and a seed. Request rules answer matching requests
with an HTTP error (429/500/503 with ``Retry-After``, or any ARM error such as throttling
reported as ``400 BadRequest "Rate limit ..."``), reset the connection, or add latency.
Resource rules fail a deployment of matching resources with a chosen ARM error, report
Resource Health ``Unavailable``, or make a web app's health endpoint answer a status.
Probabilities draw from one ``random.Random(seed)``: the same seed and the same sequence
of requests give the same faults.

Rules are plain JSON (``bicep-assets emulator serve --faults faults.json``, or
``PUT /_localarm/faults`` on a running service), validated strictly::

    {"seed": 7, "rules": [
      {"kind": "status", "operation": "Deployments_*", "status": 429, "probability": 0.3},
      {"kind": "deployment_error", "resource_type": "Microsoft.Web/sites",
       "arm_code": "ResourceQuotaExceeded", "arm_message": "Quota exceeded"},
      {"kind": "health", "resource_name": "app-*", "availability_state": "Unavailable"}]}
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_MESSAGES = {
    429: ("TooManyRequests", "The request is being throttled. Retry after the time given."),
    500: ("InternalServerError", "The server encountered an internal error."),
    502: ("BadGateway", "The gateway received an invalid response."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The gateway timed out."),
}


class FaultRule(BaseModel):
    """One fault. Matching fields left empty match everything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["status", "reset", "latency", "deployment_error", "health", "site_status"]
    # request matching (status, reset, latency)
    operation: str | None = Field(None, description="ARM operation name, glob (Deployments_*)")
    method: str | None = None
    path: str | None = Field(None, description="regular expression searched in the path")
    # resource matching (deployment_error, health, site_status)
    resource_type: str | None = Field(None, description="glob, case-insensitive")
    resource_name: str | None = Field(None, description="glob, case-insensitive")
    probability: float = Field(1.0, ge=0.0, le=1.0)
    times: int | None = Field(None, ge=1, description="apply at most this many times")
    status: int = Field(503, ge=400, le=599)
    retry_after: int | None = Field(1, ge=0)
    delay_s: float = Field(0.0, ge=0.0, le=600.0)
    arm_code: str | None = None
    arm_message: str | None = None
    availability_state: Literal["Available", "Unavailable", "Degraded", "Unknown"] = "Unavailable"

    @field_validator("path")
    @classmethod
    def _regular_expression(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.kind == "deployment_error" and not self.arm_code:
            raise ValueError("a deployment_error rule needs 'arm_code'")
        if self.kind == "latency" and self.delay_s <= 0:
            raise ValueError("a latency rule needs 'delay_s' > 0")
        return self

    def error_code_and_message(self) -> tuple[str, str]:
        code, message = DEFAULT_MESSAGES.get(self.status, ("Error", "Injected fault."))
        return self.arm_code or code, self.arm_message or message


class FaultPlanSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)


class FaultPlanError(ValueError):
    """A fault plan that does not validate; the message names each rule and key, one line."""


def read_fault_plan(data: object) -> FaultPlanSpec:
    """``data`` (parsed JSON) as a fault plan, else :class:`FaultPlanError`: e.g. ``rules[0]
    (status): path: '(' is not a regular expression: missing ), …``."""
    try:
        return FaultPlanSpec.model_validate(data)
    except ValidationError as exc:
        raise FaultPlanError("; ".join(_describe(e, data) for e in exc.errors())) from None


def _describe(error: Any, data: object) -> str:
    loc = list(error["loc"])
    where = ""
    if loc[:1] == ["rules"] and len(loc) > 1 and isinstance(loc[1], int):
        where = f"rules[{loc[1]}]"
        rules = data.get("rules") if isinstance(data, dict) else None
        rule = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        if isinstance(rule, dict) and isinstance(rule.get("kind"), str):
            where += f" ({rule['kind']})"
        loc = loc[2:]
    key = ".".join(str(part) for part in loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    return ": ".join(part for part in (where, key, message) if part)


class FaultPlan:
    """The rules in force and the seeded random source that decides probabilistic ones."""

    def __init__(self, rules: list[FaultRule] | None = None, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.replace(FaultPlanSpec(seed=seed, rules=list(rules or [])))

    @classmethod
    def from_json(cls, data: object) -> FaultPlan:
        """The plan in ``data`` (parsed JSON); :class:`FaultPlanError` when it is not one."""
        spec = read_fault_plan(data)
        return cls(spec.rules, seed=spec.seed)

    def replace(self, spec: FaultPlanSpec) -> None:
        with self._lock:
            self.spec = spec
            self._random = random.Random(spec.seed)
            self._used = [0] * len(spec.rules)
            self.injected: list[dict[str, object]] = []

    def to_json(self) -> dict[str, object]:
        return {**self.spec.model_dump(mode="json"), "injected": list(self.injected)}

    # -- matching -----------------------------------------------------------------------
    def _fire(self, index: int, rule: FaultRule, what: str) -> bool:
        """Whether ``rule`` applies now (times left, probability drawn); records it if so."""
        if rule.times is not None and self._used[index] >= rule.times:
            return False
        if rule.probability < 1.0 and self._random.random() >= rule.probability:
            return False
        self._used[index] += 1
        self.injected.append({"rule": index, "kind": rule.kind, "at": what})
        return True

    def request_faults(self, operation: str, method: str, path: str) -> list[FaultRule]:
        """The request rules that fire for this request (latency first, then one error)."""
        fired: list[FaultRule] = []
        with self._lock:
            for index, rule in enumerate(self.spec.rules):
                if rule.kind not in ("status", "reset", "latency"):
                    continue
                if rule.operation and not fnmatch.fnmatchcase(
                    operation.lower(), rule.operation.lower()
                ):
                    continue
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if rule.path and not re.search(rule.path, path, re.IGNORECASE):
                    continue
                if rule.kind != "latency" and any(f.kind != "latency" for f in fired):
                    continue
                if self._fire(index, rule, f"{method} {path}"):
                    fired.append(rule)
        return fired

    def resource_rule(self, kind: str, resource_type: str, resource_name: str) -> FaultRule | None:
        """The first rule of ``kind`` matching a resource that fires."""
        with self._lock:
            for index, rule in enumerate(self.spec.rules):
                if rule.kind != kind:
                    continue
                if rule.resource_type and not fnmatch.fnmatchcase(
                    resource_type.lower(), rule.resource_type.lower()
                ):
                    continue
                if rule.resource_name and not fnmatch.fnmatchcase(
                    resource_name.lower(), rule.resource_name.lower()
                ):
                    continue
                if self._fire(index, rule, f"{resource_type}/{resource_name}"):
                    return rule
        return None
