"""What the ops pass to each other: pydantic models that never carry a secret value.

Secure parameters travel as references (:class:`SecureReference`: an environment variable
name or a Key Vault secret); their values are read only inside the call to ARM.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Diagnostic(BaseModel):
    """One finding of lint: the Bicep linter's or the ARM-level static checks'."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "warning", "info"]
    code: str
    message: str
    location: str = ""  # "infra/main.bicep:12:5" or "resources['site'].properties.x"


class SecureReference(BaseModel):
    """Where a secure parameter's value comes from — never the value itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str | None = None  # environment variable name
    key_vault_id: str | None = None  # /subscriptions/.../providers/Microsoft.KeyVault/vaults/kv
    secret_name: str | None = None
    secret_version: str | None = None

    def describe(self) -> str:
        if self.env:
            return f"{{env: {self.env}}}"
        version = f"/{self.secret_version}" if self.secret_version else ""
        return f"{{key_vault: {self.key_vault_id}, secret: {self.secret_name}{version}}}"


class CompiledTemplate(BaseModel):
    """Lint's result: the ARM JSON to deploy and its parameters (secure ones as references)."""

    # what is sent to ARM as it is: the op boundary never masks it (it holds no secure value;
    # masking a word of it would change the deployment), the rest of the model it does
    verbatim_fields: ClassVar[frozenset[str]] = frozenset({"template", "parameters"})

    environment: str
    template_path: str  # as written in the manifest (relative to the project)
    template: dict[str, Any]
    parameters: dict[str, Any] = Field(default_factory=dict)  # {name: {"value": ...}}, non-secure
    secure_parameters: dict[str, SecureReference] = Field(default_factory=dict)
    template_hash: str
    parameters_hash: str
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    api_versions: dict[str, str] = Field(default_factory=dict)  # lowercase type → apiVersion


class PropertyChange(BaseModel):
    path: str
    change_type: str  # Create | Delete | Modify | Array | NoEffect
    before: Any = None
    after: Any = None
    children: list[PropertyChange] = Field(default_factory=list)


class WhatIfChange(BaseModel):
    """One resource of the plan."""

    resource_id: str
    resource_type: str
    change_type: str  # Create | Delete | Modify | NoChange | Ignore | Deploy | Unsupported
    unsupported_reason: str | None = None
    delta: list[PropertyChange] = Field(default_factory=list)
    # a Create: the resource as it will be set (what-if's ``after``, without its id and type
    # and without noise or ignored paths); a Delete: the resource as it is (``before``)
    after: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    # paths of an existing resource the deployment writes but ARM cannot compare, because a
    # GET never returns them (a Key Vault secret's value): written on every deploy, shown to
    # the reviewer, never a change (never in ``delta``) and never with their value
    write_only: list[str] = Field(default_factory=list)

    @property
    def changed_paths(self) -> list[str]:
        return [d.path for d in self.delta if d.change_type != "NoEffect"]


class Plan(BaseModel):
    """What-if's answer, noise suppressed, with counts per change type."""

    environment: str
    changes: list[WhatIfChange] = Field(default_factory=list)
    approved: bool = False  # set by the gate
    approved_plan: str | None = None  # set by the gate: the saved plan this one matched
    # what the plan was made from, set by the plan step (compared with an approved plan)
    template_hash: str = ""
    parameters_hash: str = ""
    what_if_deployment_name: str = ""  # deployment().name during what-if
    target: str = ""  # local or azure
    parameters: dict[str, Any] = Field(default_factory=dict)  # name → value, non-secure only

    def count(self, change_type: str) -> int:
        return sum(1 for c in self.changes if c.change_type == change_type)

    @property
    def write_only(self) -> list[tuple[str, str]]:
        """``(resource id, path)`` of every write-only value the deployment writes again."""
        return [(c.resource_id, path) for c in self.changes for path in c.write_only]

    @property
    def deletions(self) -> list[WhatIfChange]:
        return [c for c in self.changes if c.change_type == "Delete"]


class SavedChange(WhatIfChange):
    """One resource of a saved plan: the change, and a fingerprint of what is compared."""

    fingerprint: str  # sha256 (16 hex) of the compared content (see pipeline/plan_review.py)
    detail_omitted: bool = False  # delta/after/before dropped to bound the record's size


class SavedPlan(BaseModel):
    """A plan as recorded for review (the ``plan`` metadata of a ``plans/<env>``
    materialization): what a deployment run with ``approved_plan: <plan_id>`` must match."""

    plan_id: str  # the run id of the run whose plan step made it
    environment: str
    job: str
    created_at: str  # ISO 8601, UTC
    git_sha: str = ""
    git_dirty: bool = False
    target: str = ""
    template_path: str = ""
    template_hash: str
    parameters_hash: str
    what_if_deployment_name: str = ""
    # the non-secure parameter values the plan was made with (a change is named, not hashed)
    parameters: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    changes: list[SavedChange] = Field(default_factory=list)
    truncated: bool = False  # some changes' details were left out (see ``note``)
    note: str = ""


class DeploymentResult(BaseModel):
    """What deploy leaves for verify: ids, non-secure outputs, the resources it touched."""

    environment: str
    deployment_name: str
    deployment_id: str
    correlation_id: str | None = None
    provisioning_state: str
    duration_s: float
    outputs: dict[str, Any] = Field(default_factory=dict)  # name → value, non-secure only
    output_resources: list[str] = Field(default_factory=list)
    stack_id: str | None = None  # the deployment stack's id when deployed as one


class CheckResult(BaseModel):
    """One verification check."""

    kind: Literal["provisioning_state", "resource_health", "http", "tcp", "custom"]
    target: str
    ok: bool
    detail: str = ""
    latency_ms: float = 0.0
    # the check could not judge: reading the state failed for a passing reason (a throttled or
    # unavailable ARM), which says nothing about the resource — verify retries rather than fail
    inconclusive: bool = False


class HealthReport(BaseModel):
    environment: str
    checks: list[CheckResult] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)
